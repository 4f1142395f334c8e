// Reads what a query needs of an IVF partition index over HTTP: the head (header, centroids,
// partition offsets) by a Range request, never the id list after it (format 1 keeps one of 4 bytes
// per function: 80 MB at 20 million; a partition's ids come from the partitioned shards' id column).
//
// With the head's length and sha256 in the manifest (`ivf.head`, format 2) that is one request of
// exactly the head, checked like a whole file. Without it (older data sets) the reader asks for
// the first 64 KiB, learns the head's length from the header and asks for the rest if any; those
// bytes are checked for consistency (magic, sizes, offsets) but cannot be checked against a digest.
// A server that ignores Range and answers 200 sends the whole file: it is used (and, being whole,
// checked against the file's sha256). A 416 or a short body is an error that says so.
// searchIvfShards() then reads and scans only the probed partitions' row groups of the
// partition-sorted shards. Pure: no DOM, no node:*; `fetch` and shard opening are injected.
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { sha256Hex, type ManifestFile } from '../data/manifest.ts';
import { readParquetColumns, rowGroupStarts, toFloat32Array, toUint32Array } from '../data/parquet-read.ts';
import { vectorBlockFromColumns } from './dataset-search.ts';
import { parseIvfHead, parseIvfHeader, partitionRows, probePartitions, IvfFormatError, type IvfHeader, type IvfPartitions } from './ivf.ts';
import { KnnQuery, type KnnMetric } from './knn.ts';

export type IvfHead = IvfHeader & IvfPartitions;

export type IvfFetchFailure = 'missing' | 'corrupt' | 'network' | 'range';

export class IvfFetchError extends Error {
  constructor(
    readonly kind: IvfFetchFailure,
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'IvfFetchError';
  }
}

export interface IvfFileRef {
  /** The manifest's path (for messages). */
  path: string;
  /** The whole file's size and sha256, from the manifest. */
  bytes: number;
  sha256: string;
}

export interface IvfHeadRef {
  /** Bytes of the head (header + centroids + offsets) and their sha256, from the manifest. */
  bytes: number;
  sha256: string;
}

export interface ReadIvfHeadOptions {
  fetch?: typeof fetch;
  /** Hears the byte count of every response body. */
  onBytes?: (bytes: number) => void;
  /** First request's size when the manifest gives no head length (default 64 KiB). */
  probeBytes?: number;
}

export interface IvfHeadRead {
  head: IvfHead;
  /** Requests made and bytes received. */
  requests: number;
  bytes: number;
  /** Whether the server ignored Range and sent the whole file. */
  wholeFile: boolean;
  /** Whether the bytes used were checked against a sha256 from the manifest. */
  verified: boolean;
}

/** Reads the head of the index at `url` (the file `file` names), by range. */
export async function readIvfHead(url: string, file: IvfFileRef, headRef: IvfHeadRef | undefined, opts: ReadIvfHeadOptions = {}): Promise<IvfHeadRead> {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  let requests = 0;
  let received = 0;
  if (headRef && (headRef.bytes > file.bytes || headRef.bytes < 16)) {
    throw new IvfFetchError('corrupt', file.path, `the manifest gives ${file.path} a head of ${headRef.bytes} bytes in a file of ${file.bytes}`);
  }

  /** Bytes [start, stop) by a Range request; `whole` when the server sent the entire file instead. */
  const range = async (start: number, stop: number): Promise<{ body: Uint8Array; whole: boolean }> => {
    let res: Response;
    try {
      res = await doFetch(url, { headers: { Range: `bytes=${start}-${stop - 1}` } });
    } catch (e) {
      throw new IvfFetchError('network', file.path, `could not fetch ${file.path}: ${String(e)}`);
    }
    requests++;
    if (res.status === 404) throw new IvfFetchError('missing', file.path, `${file.path} is listed in the manifest but missing on the server (HTTP 404): the data set is incomplete`);
    if (res.status === 416) {
      throw new IvfFetchError('range', file.path, `the server refused bytes ${start}-${stop - 1} of ${file.path} (HTTP 416 Range Not Satisfiable): the file on the server is shorter than the manifest's ${file.bytes} bytes`);
    }
    if (res.status !== 200 && res.status !== 206) throw new IvfFetchError('network', file.path, `HTTP ${res.status} reading ${file.path}`);
    const body = new Uint8Array(await res.arrayBuffer());
    received += body.byteLength;
    opts.onBytes?.(body.byteLength);
    if (res.status === 200) {
      // The server ignored Range: this is the whole file; check it as one.
      if (body.byteLength !== file.bytes) throw new IvfFetchError('corrupt', file.path, `${file.path} is corrupt: it is ${body.byteLength} bytes, the manifest says ${file.bytes}`);
      const digest = await sha256Hex(body);
      if (digest !== file.sha256) throw new IvfFetchError('corrupt', file.path, `${file.path} is corrupt: its sha256 is ${digest}, the manifest says ${file.sha256}`);
      return { body, whole: true };
    }
    const cr = res.headers.get('content-range');
    const m = cr ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr.trim()) : null;
    if (cr && (!m || Number(m[1]) !== start)) throw new IvfFetchError('range', file.path, `the server answered bytes ${start}-${stop - 1} of ${file.path} with Content-Range '${cr}'`);
    if (m && m[3] !== '*' && Number(m[3]) !== file.bytes) {
      throw new IvfFetchError('corrupt', file.path, `${file.path} is ${m[3]} bytes on the server, the manifest says ${file.bytes}: the data set is out of date`);
    }
    if (body.byteLength !== stop - start) {
      throw new IvfFetchError('range', file.path, `short read: bytes ${start}-${stop - 1} of ${file.path} came back as ${body.byteLength} bytes, expected ${stop - start}`);
    }
    return { body, whole: false };
  };

  const parse = (bytes: Uint8Array): IvfHead => {
    try {
      return parseIvfHead(bytes);
    } catch (e) {
      if (e instanceof IvfFormatError) throw new IvfFetchError('corrupt', file.path, `${file.path}: ${e.message}`);
      throw e;
    }
  };
  const header = (bytes: Uint8Array): IvfHeader => {
    try {
      const h = parseIvfHeader(bytes);
      if (h.totalBytes !== file.bytes) throw new IvfFormatError(`its header implies ${h.totalBytes} bytes, the manifest says ${file.bytes}`);
      return h;
    } catch (e) {
      if (e instanceof IvfFormatError) throw new IvfFetchError('corrupt', file.path, `${file.path}: ${e.message}`);
      throw e;
    }
  };
  const done = (head: IvfHead, wholeFile: boolean, verified: boolean): IvfHeadRead => ({ head, requests, bytes: received, wholeFile, verified });

  if (headRef) {
    const { body, whole } = await range(0, headRef.bytes);
    if (whole) return done(parse(body), true, true);
    const digest = await sha256Hex(body);
    if (digest !== headRef.sha256) throw new IvfFetchError('corrupt', file.path, `${file.path} is corrupt: its first ${headRef.bytes} bytes hash to ${digest}, the manifest says ${headRef.sha256}`);
    const h = header(body);
    if (h.headBytes !== headRef.bytes) throw new IvfFetchError('corrupt', file.path, `${file.path}: its header gives a head of ${h.headBytes} bytes, the manifest ${headRef.bytes}`);
    return done(parse(body), false, true);
  }
  // No head length known: a first read that holds any header (and small heads whole), then the rest.
  const first = Math.min(file.bytes, Math.max(32, opts.probeBytes ?? 1 << 16));
  const a = await range(0, first);
  if (a.whole) return done(parse(a.body), true, true);
  const h = header(a.body);
  if (h.headBytes <= a.body.byteLength) return done(parse(a.body.subarray(0, h.headBytes)), false, false);
  const b = await range(a.body.byteLength, h.headBytes);
  if (b.whole) return done(parse(b.body), true, true);
  const joined = new Uint8Array(h.headBytes);
  joined.set(a.body, 0);
  joined.set(b.body, a.body.byteLength);
  return done(parse(joined), false, false);
}

export interface OpenIvfShard {
  file: AsyncBuffer;
  metadata: FileMetaData;
}

export interface IvfShardSearch {
  ids: Uint32Array;
  distances: Float64Array;
  /** Vectors compared (rows of the probed partitions). */
  rows: number;
  /** Row groups read. */
  groups: number;
  /** Partitions probed (empty ones are never probed). */
  nprobe: number;
  nlist: number;
  usesSimd: boolean;
}

/**
 * IVF query over partition-sorted int8 shards (`id`, `embedding`, `scale`; the manifest's row
 * counts give each shard's first row): ranks the centroids, then requests every row group that
 * holds a probed partition's rows at once (`open` opens a shard, reading its footer; the caller
 * caches it), and scans exactly the probed rows of each group as it arrives.
 */
export async function searchIvfShards(
  index: IvfPartitions & { count: number },
  shards: readonly ManifestFile[],
  open: (f: ManifestFile) => Promise<OpenIvfShard>,
  query: Float32Array,
  k: number,
  metric: KnnMetric,
  nprobe: number,
): Promise<IvfShardSearch> {
  const starts: number[] = [];
  let acc = 0;
  for (const f of shards) {
    if (f.rows === undefined) throw new Error(`the manifest gives no row count for ${f.path}: cannot locate partitions in it`);
    starts.push(acc);
    acc += f.rows;
  }
  if (acc !== index.count) throw new Error(`the IVF shards hold ${acc} rows, the partition index ${index.count}: the data set is inconsistent`);
  if (query.length !== index.dim) throw new Error(`the query has ${query.length} dimensions, the IVF index ${index.dim}`);
  const parts = probePartitions(index, query, Math.min(nprobe, index.nlist), metric);
  // Probed partitions as row ranges of the partition-sorted table, then the row groups that hold
  // them, each read once (two partitions often share a row group).
  const ranges = Array.from(parts, (p) => partitionRows(index, p)).sort((x, y) => x.rowStart - y.rowStart);
  const wanted = (pos: number): boolean => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = ranges[mid]!;
      if (pos < r.rowStart) hi = mid - 1;
      else if (pos >= r.rowEnd) lo = mid + 1;
      else return true;
    }
    return false;
  };
  const overlaps = (a: number, b: number) => ranges.some((r) => r.rowStart < b && r.rowEnd > a);
  const q = new KnnQuery(query, k, metric);
  let rows = 0;
  let groups = 0;
  const touched = shards.map((f, s) => ({ f, first: starts[s]! })).filter(({ f, first }) => overlaps(first, first + f.rows!));
  const opened = await Promise.all(touched.map(async (t) => ({ ...t, ...(await open(t.f)) })));
  const reads: Promise<void>[] = [];
  for (const { f, first, file, metadata } of opened) {
    const groupStarts = rowGroupStarts(metadata);
    if (groupStarts[groupStarts.length - 1] !== f.rows) throw new Error(`${f.path} holds ${groupStarts[groupStarts.length - 1]} rows, the manifest says ${f.rows}`);
    for (let g = 0; g + 1 < groupStarts.length; g++) {
      const a = first + groupStarts[g]!;
      const b = first + groupStarts[g + 1]!;
      if (!overlaps(a, b)) continue;
      groups++;
      reads.push(
        readParquetColumns(file, f.path, ['id', 'embedding', 'scale'], { metadata, rowStart: groupStarts[g]!, rowEnd: groupStarts[g + 1]!, utf8: false }).then(({ columns, rows: n }) => {
          const keep: number[] = [];
          for (let i = 0; i < n; i++) if (wanted(a + i)) keep.push(i);
          const pick = <T,>(col: ArrayLike<T>) => keep.map((i) => col[i]!);
          q.add(vectorBlockFromColumns(pick(toUint32Array(columns.id!)), pick(columns.embedding!), pick(toFloat32Array(columns.scale!)), index.dim, 'int8', f.path));
          rows += keep.length;
        }),
      );
    }
  }
  await Promise.all(reads);
  const r = q.result();
  return { ids: r.ids, distances: r.distances, rows, groups, nprobe: parts.length, nlist: index.nlist, usesSimd: q.usesSimd };
}
