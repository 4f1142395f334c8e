// Search over a built data set's `vectors-<model>` shards, pure (no DOM, no node:*): the Node CLI
// (prebuild/search-cli.ts) reads shards from disk, the browser's search worker from HTTP range
// reads; both hand this module an AsyncBuffer per shard. Shards are decoded one row group at a
// time into VectorBlocks and fed to the exact streaming search (knn.ts), so memory stays at one
// row group however many vectors the data set has.
import { parquetRead } from 'hyparquet';
import type { AsyncBuffer, ColumnData, FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ParquetReadError, parquetColumnNames, readParquetMetadata, rowGroupStarts } from '../data/parquet-read.ts';
import { decodeFloat16 } from '../util/float16.ts';
import { KnnQuery, validateMetric, type KnnMetric, type KnnResult, type VectorBlock } from './knn.ts';

/** How the `embedding` BLOB column stores one vector (the manifest's EmbeddingInfo.dtype). */
export type StoredDtype = 'int8' | 'float16' | 'float32';

export class SearchInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchInputError';
  }
}

/**
 * The metric from the CLI/UI's options: `metric: 'cosine'`, or Minkowski with `p` (a number > 0,
 * or 'inf'/'Infinity'). Default L2. Throws SearchInputError naming the bad option.
 */
export function metricFromOptions(opts: { metric?: string; p?: string | number }): KnnMetric {
  const metric = (opts.metric ?? 'minkowski').toLowerCase();
  if (metric === 'cosine') {
    if (opts.p !== undefined) throw new SearchInputError('--p applies to Minkowski distance, not to --metric cosine');
    return { kind: 'cosine' };
  }
  if (metric !== 'minkowski' && metric !== 'l2' && metric !== 'euclidean') {
    throw new SearchInputError(`--metric must be cosine or minkowski, got '${opts.metric}'`);
  }
  if (opts.p === undefined) return { kind: 'minkowski', p: 2 };
  const raw = String(opts.p).trim();
  const p = /^(inf|infinity)$/i.test(raw) ? Infinity : raw === '' ? Number.NaN : Number(raw);
  if (Number.isNaN(p) || !(p > 0)) throw new SearchInputError(`--p must be a number > 0 or 'inf', got '${String(opts.p)}'`);
  return { kind: 'minkowski', p };
}

/** Bytes one stored vector takes in the BLOB column. */
export function storedRowBytes(dim: number, dtype: StoredDtype): number {
  return dtype === 'int8' ? dim : dtype === 'float16' ? 2 * dim : 4 * dim;
}

/**
 * Builds a VectorBlock from decoded columns: ids, BLOB bytes per row, and (int8 only) scales.
 * int8 codes are copied into one contiguous Int8Array (one allocation per block, not per row).
 */
export function vectorBlockFromColumns(
  ids: ArrayLike<number | bigint>,
  blobs: ArrayLike<unknown>,
  scales: ArrayLike<number> | null,
  dim: number,
  dtype: StoredDtype,
  name = 'vectors',
): VectorBlock {
  const n = ids.length;
  const bytes = storedRowBytes(dim, dtype);
  const idOut = new Uint32Array(n);
  for (let i = 0; i < n; i++) idOut[i] = Number(ids[i]);
  const raw = new Uint8Array(n * bytes);
  for (let i = 0; i < n; i++) {
    const b = blobs[i];
    if (!(b instanceof Uint8Array) || b.length !== bytes) {
      throw new ParquetReadError(`${name}: row ${i} (id ${idOut[i]}) has an embedding of ${b instanceof Uint8Array ? b.length : typeof b} bytes, expected ${bytes} (dim ${dim}, ${dtype})`, name);
    }
    raw.set(b, i * bytes);
  }
  if (dtype === 'int8') {
    if (!scales || scales.length < n) throw new ParquetReadError(`${name}: int8 vectors need a scale column`, name);
    return { kind: 'int8', ids: idOut, codes: new Int8Array(raw.buffer), scales: Float32Array.from(scales), dim };
  }
  // Little-endian BLOBs, as the prebuild writes them (typed-array views are little-endian on every supported platform).
  const rows = dtype === 'float32' ? new Float32Array(raw.buffer) : decodeFloat16(new Uint16Array(raw.buffer));
  return { kind: 'float32', ids: idOut, rows, dim };
}

/** Rows [rowStart, rowEnd) of one column from hyparquet's chunks (absolute row numbers). */
function stitch(chunks: ColumnData[], rowStart: number, rowEnd: number): unknown[] {
  const out: unknown[] = new Array<unknown>(rowEnd - rowStart);
  for (const c of chunks) {
    const from = Math.max(rowStart, c.rowStart);
    const to = Math.min(rowEnd, c.rowEnd);
    for (let r = from; r < to; r++) out[r - rowStart] = c.columnData[r - c.rowStart];
  }
  return out;
}

/**
 * Reads a vectors shard one row group at a time as VectorBlocks. Only id, embedding and (int8)
 * scale are read; BLOBs are kept as bytes (hyparquet would otherwise decode them as UTF-8 text).
 */
export async function* readVectorShard(
  file: AsyncBuffer,
  name: string,
  dim: number,
  dtype: StoredDtype,
  opts: { metadata?: FileMetaData; signal?: AbortSignal } = {},
): AsyncGenerator<VectorBlock> {
  const metadata = opts.metadata ?? (await readParquetMetadata(file, name));
  const columns = dtype === 'int8' ? ['id', 'embedding', 'scale'] : ['id', 'embedding'];
  const present = new Set(parquetColumnNames(metadata));
  const missing = columns.filter((c) => !present.has(c));
  if (missing.length) throw new ParquetReadError(`${name} has no column ${missing.join(', ')}: not a vectors shard`, name);
  const starts = rowGroupStarts(metadata);
  for (let g = 0; g + 1 < starts.length; g++) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('search aborted');
    const rowStart = starts[g]!;
    const rowEnd = starts[g + 1]!;
    if (rowEnd <= rowStart) continue;
    const got = new Map<string, ColumnData[]>(columns.map((c) => [c, []]));
    try {
      await parquetRead({ file, metadata, columns, rowStart, rowEnd, compressors, utf8: false, onChunk: (c) => got.get(c.columnName)?.push(c) });
    } catch (e) {
      throw new ParquetReadError(`${name} could not be decoded: ${e instanceof Error ? e.message : String(e)}`, name);
    }
    const ids = stitch(got.get('id')!, rowStart, rowEnd) as (number | bigint)[];
    const blobs = stitch(got.get('embedding')!, rowStart, rowEnd);
    const scales = dtype === 'int8' ? (stitch(got.get('scale')!, rowStart, rowEnd) as number[]) : null;
    yield vectorBlockFromColumns(ids, blobs, scales, dim, dtype, name);
  }
}

export interface DatasetSearchStats {
  rows: number;
  blocks: number;
  ms: number;
}

/** Exact top-k of one query over any stream of blocks (shards, partitions, uploads). */
export async function searchVectorSource(
  query: Float32Array,
  source: AsyncIterable<VectorBlock> | Iterable<VectorBlock>,
  k: number,
  metric: KnnMetric,
  signal?: AbortSignal,
): Promise<{ result: KnnResult; stats: DatasetSearchStats }> {
  validateMetric(metric);
  const t0 = performance.now();
  const s = new KnnQuery(query, k, metric);
  let blocks = 0;
  for await (const block of source) {
    if (signal?.aborted) throw signal.reason ?? new Error('search aborted');
    if (block.dim !== query.length) throw new SearchInputError(`the query has ${query.length} dimensions, the vectors ${block.dim}: embedded with another model?`);
    s.add(block);
    blocks++;
  }
  return { result: s.result(), stats: { rows: s.rowsScanned, blocks, ms: performance.now() - t0 } };
}

/** Whether a vector is all zeros (a query with no known term: every cosine distance would be 1). */
export function isZeroVector(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}
