// Shared helpers of the prebuild source tests: a throwaway cache, a quiet context, tar.gz building.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { createSourceContext, type CreateSourceContextOptions } from '../../../../prebuild/sources/index.ts';
import type { SourceContext } from '../../../../prebuild/sources/types.ts';

export interface TestContext {
  ctx: SourceContext;
  logs: string[];
  dir: string;
  cleanup: () => Promise<void>;
}

export async function makeTempDir(prefix = 'atlas-src-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function testContext(opts: CreateSourceContextOptions = {}): Promise<TestContext> {
  const dir = await makeTempDir();
  const logs: string[] = [];
  const ctx = createSourceContext({
    cacheDir: join(dir, 'cache'),
    log: (m) => logs.push(m),
    quiet: true,
    githubToken: null,
    ...opts,
  });
  return { ctx, logs, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface TarEntrySpec {
  path: string;
  /** File content; omit for directories and links. */
  data?: string | Uint8Array;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link';
  linkpath?: string;
}

/**
 * Builds a tar (gzipped unless `gzip: false`) from raw entries with node-tar's Header, so tests can
 * write names a well-behaved packer would refuse (`../evil.py`, `/etc/evil.py`, links).
 */
export function buildTar(entries: TarEntrySpec[], opts: { gzip?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const type = e.type ?? (e.data === undefined ? 'Directory' : 'File');
    const header = new Header({
      path: e.path,
      mode: type === 'Directory' ? 0o755 : 0o644,
      size: type === 'File' ? data.length : 0,
      type,
      linkpath: e.linkpath,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && data.length > 0) {
      blocks.push(data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return opts.gzip === false ? tar : gzipSync(tar);
}
