// Downloads one file the manifest lists and checks it against the manifest (size and sha256), so
// a worker never computes on a truncated, stale or tampered file. Shared by the data and search
// workers.
import { sha256Hex, type ManifestFile } from '../../src/core/data/manifest.ts';

export type FileFailureKind = 'missing' | 'corrupt' | 'network';

export class FileFailure extends Error {
  constructor(
    readonly kind: FileFailureKind,
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

/** Fetches `url` (the file `f` names) and checks it; `onBytes` hears the bytes received. */
export async function fetchChecked(url: string, f: ManifestFile, onBytes?: (n: number) => void): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new FileFailure('network', f.path, `could not fetch ${f.path}: ${String(e)}`);
  }
  if (res.status === 404) {
    throw new FileFailure('missing', f.path, `${f.path} is listed in the manifest but missing on the server (HTTP 404): the data set is incomplete`);
  }
  if (!res.ok) throw new FileFailure('network', f.path, `HTTP ${res.status} fetching ${f.path}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  onBytes?.(bytes.byteLength);
  if (bytes.byteLength !== f.bytes) {
    throw new FileFailure('corrupt', f.path, `${f.path} is corrupt: it is ${bytes.byteLength} bytes, the manifest says ${f.bytes}`);
  }
  const digest = await sha256Hex(bytes);
  if (digest !== f.sha256) {
    throw new FileFailure('corrupt', f.path, `${f.path} is corrupt: its sha256 is ${digest}, the manifest says ${f.sha256}`);
  }
  return bytes;
}
