// Pure Parquet reading helpers over hyparquet: no DOM, no node:* imports, so the browser's data
// worker and the Node tests use the same code. Files are read through an AsyncBuffer: an in-memory
// buffer for files downloaded whole (and checked against the manifest's sha256), or HTTP range
// reads for the large `functions` shards, of which only a few columns or one row group are read.
import { parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, ColumnData, FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { ManifestFile } from './manifest.ts';

/** A file that is not the Parquet we expect (bad bytes, missing column, id not where it should be). */
export class ParquetReadError extends Error {
  constructor(
    message: string,
    /** The file's name as the manifest lists it. */
    readonly file: string,
  ) {
    super(message);
    this.name = 'ParquetReadError';
  }
}

export type DecodedColumn =
  | Uint8Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array
  | unknown[];

/** Columns by name, each as hyparquet decoded it (typed arrays for non-null numbers, else arrays). */
export type ColumnTable = Record<string, DecodedColumn>;

export interface RangeReadStats {
  requests: number;
  bytes: number;
}

/** An AsyncBuffer over bytes already in memory. */
export function memoryAsyncBuffer(bytes: ArrayBuffer | Uint8Array): AsyncBuffer {
  const buf =
    bytes instanceof Uint8Array
      ? (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
      : bytes;
  return { byteLength: buf.byteLength, slice: (start, end) => buf.slice(start, end) };
}

export interface HttpAsyncBufferOptions {
  fetch?: typeof fetch;
  /** Called with the byte count of every response body read. */
  onBytes?: (bytes: number) => void;
  /** Counts requests and bytes, for tests and the loading display. */
  stats?: RangeReadStats;
  /**
   * Slices asked for in the same tick whose gap is at most this many bytes are fetched with one
   * request (default 4 KiB): a projected read asks for a few column chunks per row group, and
   * hundreds of tiny requests cost more than the bytes in their gaps. Not more: with 32 KiB the
   * light-column read of the full corpus also pulled in every row group's content_hash chunk (the
   * last column, ~16 KiB, between one row group's columns and the next one's id): 4.35 MiB, 21% of
   * the map's first bytes (site-full.bench.ts). 0 turns merging off.
   */
  mergeGap?: number;
  /** Upper bound of one merged request (default 8 MiB). */
  maxRequestBytes?: number;
}

interface Pending {
  start: number;
  stop: number;
  resolve: (b: ArrayBuffer) => void;
  reject: (e: unknown) => void;
}

/**
 * An AsyncBuffer that reads a file of known size (from the manifest, so no HEAD request) with HTTP
 * Range requests, merging nearby slices asked for together. A server that ignores Range and answers
 * 200 with the whole file is tolerated: the whole body is kept and sliced from then on.
 */
export function httpAsyncBuffer(url: string, byteLength: number, opts: HttpAsyncBufferOptions = {}): AsyncBuffer {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const mergeGap = opts.mergeGap ?? 4 * 1024;
  const maxRequest = opts.maxRequestBytes ?? 8 * 1024 * 1024;
  let whole: Promise<ArrayBuffer> | undefined;
  let queue: Pending[] = [];

  async function fetchRange(start: number, stop: number): Promise<ArrayBuffer> {
    if (whole) return (await whole).slice(start, stop);
    const res = await doFetch(url, { headers: { Range: `bytes=${start}-${stop - 1}` } });
    if (res.status === 206) {
      const body = await res.arrayBuffer();
      count(opts, body.byteLength);
      if (body.byteLength !== stop - start) {
        throw new Error(`range request for bytes ${start}-${stop - 1} of ${url} returned ${body.byteLength} bytes`);
      }
      return body;
    }
    if (res.status === 200) {
      whole ??= res.arrayBuffer().then((b) => {
        count(opts, b.byteLength);
        if (b.byteLength !== byteLength) {
          throw new Error(`${url} is ${b.byteLength} bytes, the manifest says ${byteLength}`);
        }
        return b;
      });
      return (await whole).slice(start, stop);
    }
    throw new Error(`HTTP ${res.status} reading ${url}`);
  }

  function flush(): void {
    const batch = queue.sort((a, b) => a.start - b.start);
    queue = [];
    let i = 0;
    while (i < batch.length) {
      const group = [batch[i]!];
      let start = batch[i]!.start;
      let stop = batch[i]!.stop;
      i++;
      while (i < batch.length && batch[i]!.start - stop <= mergeGap && Math.max(stop, batch[i]!.stop) - start <= maxRequest) {
        stop = Math.max(stop, batch[i]!.stop);
        group.push(batch[i]!);
        i++;
      }
      fetchRange(start, stop).then(
        (buf) => {
          for (const p of group) p.resolve(buf.slice(p.start - start, p.stop - start));
        },
        (e: unknown) => {
          for (const p of group) p.reject(e);
        },
      );
    }
  }

  return {
    byteLength,
    slice(start: number, end?: number): Promise<ArrayBuffer> {
      if (start < 0) start = Math.max(0, byteLength + start);
      const stop = Math.min(end ?? byteLength, byteLength);
      if (stop <= start) return Promise.resolve(new ArrayBuffer(0));
      if (mergeGap <= 0) return fetchRange(start, stop);
      return new Promise((resolve, reject) => {
        // hyparquet asks for all of a read's byte ranges synchronously: one microtask collects them.
        if (!queue.length) queueMicrotask(flush);
        queue.push({ start, stop, resolve, reject });
      });
    },
  };
}

function count(opts: HttpAsyncBufferOptions, bytes: number): void {
  opts.onBytes?.(bytes);
  if (opts.stats) {
    opts.stats.requests++;
    opts.stats.bytes += bytes;
  }
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Reads the footer; throws ParquetReadError naming the file when the bytes are not Parquet. */
export async function readParquetMetadata(file: AsyncBuffer, name: string): Promise<FileMetaData> {
  try {
    // 64 KiB holds most footers; a larger one costs a second request, not a 512 KiB default read.
    const metadata = await parquetMetadataAsync(file, { initialFetchSize: 1 << 16 });
    // A footer whose schema does not build would fail later, outside these error messages.
    parquetSchema(metadata);
    return metadata;
  } catch (e) {
    throw new ParquetReadError(`${name} is not a readable Parquet file: ${errText(e)}`, name);
  }
}

/** Top-level column names of a file's schema. */
export function parquetColumnNames(metadata: FileMetaData): string[] {
  return parquetSchema(metadata).children.map((c) => c.element.name);
}

export function parquetRowCount(metadata: FileMetaData): number {
  return Number(metadata.num_rows);
}

/** First row of each row group, plus the total row count at the end. */
export function rowGroupStarts(metadata: FileMetaData): number[] {
  const starts = [0];
  for (const rg of metadata.row_groups) starts.push(starts[starts.length - 1]! + Number(rg.num_rows));
  return starts;
}

/** The row group holding a file-local row: its index and [rowStart, rowEnd). */
export function rowGroupOf(metadata: FileMetaData, row: number): { index: number; rowStart: number; rowEnd: number } {
  const starts = rowGroupStarts(metadata);
  let lo = 0;
  let hi = starts.length - 2;
  if (row < 0 || row >= starts[starts.length - 1]!) throw new RangeError(`row ${row} is outside the file`);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= row) lo = mid;
    else hi = mid - 1;
  }
  return { index: lo, rowStart: starts[lo]!, rowEnd: starts[lo + 1]! };
}

export interface ReadColumnsOptions {
  metadata?: FileMetaData;
  rowStart?: number;
  rowEnd?: number;
  /**
   * Decode un-annotated BYTE_ARRAY columns as UTF-8 strings (hyparquet's default). Pass false for
   * binary columns such as the int8 vectors, which would otherwise come back as mangled text.
   */
  utf8?: boolean;
}

/**
 * Reads the named columns (and only those: column projection) of rows [rowStart, rowEnd) into
 * whole columns, without building one object per row.
 */
export async function readParquetColumns(
  file: AsyncBuffer,
  name: string,
  columns: readonly string[],
  opts: ReadColumnsOptions = {},
): Promise<{ columns: ColumnTable; rows: number }> {
  const metadata = opts.metadata ?? (await readParquetMetadata(file, name));
  const present = new Set(parquetColumnNames(metadata));
  const missing = columns.filter((c) => !present.has(c));
  if (missing.length) {
    throw new ParquetReadError(`${name} has no column ${missing.join(', ')}: the data set does not match this site's schema`, name);
  }
  checkChunkPaths(metadata, name, columns);
  const total = parquetRowCount(metadata);
  const rowStart = Math.max(0, opts.rowStart ?? 0);
  const rowEnd = Math.min(total, opts.rowEnd ?? total);
  const n = Math.max(0, rowEnd - rowStart);
  const chunks = new Map<string, ColumnData[]>(columns.map((c) => [c, []]));
  if (n > 0) {
    try {
      await parquetRead({
        file,
        metadata,
        columns: [...columns],
        rowStart,
        rowEnd,
        compressors,
        utf8: opts.utf8 ?? true,
        onChunk: (chunk) => chunks.get(chunk.columnName)?.push(chunk),
      });
    } catch (e) {
      throw new ParquetReadError(`${name} could not be decoded: ${errText(e)}`, name);
    }
  }
  const out: ColumnTable = {};
  for (const c of columns) out[c] = assemble(chunks.get(c) ?? [], rowStart, rowEnd, name, c);
  return { columns: out, rows: n };
}

/**
 * Refuses a file whose column chunks name schema paths the schema does not hold. hyparquet throws
 * on such a chunk in the middle of planning a read, after it has started the reads of the chunks
 * before it, which then fail without a handler (an unhandled rejection: found by the fuzz test).
 */
function checkChunkPaths(metadata: FileMetaData, name: string, columns: readonly string[]): void {
  const tree = parquetSchema(metadata);
  for (const [g, rg] of metadata.row_groups.entries()) {
    for (const chunk of rg.columns) {
      const path = chunk.meta_data?.path_in_schema;
      if (!path || !columns.includes(path[0]!)) continue;
      let node = tree;
      for (const part of path) {
        const child = node.children.find((c) => c.element.name === part);
        if (!child) throw new ParquetReadError(`${name} could not be decoded: row group ${g} holds column ${path.join('.')}, which its schema does not`, name);
        node = child;
      }
    }
  }
}

type TypedCtor = new (n: number) => Exclude<DecodedColumn, unknown[]>;

/** Stitches chunks into one column covering exactly [rowStart, rowEnd). */
function assemble(chunks: ColumnData[], rowStart: number, rowEnd: number, file: string, column: string): DecodedColumn {
  const n = Math.max(0, rowEnd - rowStart);
  chunks.sort((a, b) => a.rowStart - b.rowStart);
  const first = chunks[0]?.columnData;
  const sameTyped =
    first !== undefined &&
    ArrayBuffer.isView(first) &&
    chunks.every((c) => c.columnData.constructor === first.constructor);
  const out: DecodedColumn = sameTyped ? new (first.constructor as TypedCtor)(n) : new Array<unknown>(n);
  let filled = 0;
  for (const c of chunks) {
    const from = Math.max(rowStart, c.rowStart);
    const to = Math.min(rowEnd, c.rowEnd);
    if (to <= from) continue;
    const src = c.columnData;
    const a = from - c.rowStart;
    const b = to - c.rowStart;
    if (sameTyped) {
      (out as Exclude<DecodedColumn, unknown[]>).set((src as Exclude<DecodedColumn, unknown[]>).subarray(a, b) as never, from - rowStart);
    } else {
      const arr = out as unknown[];
      for (let i = a; i < b; i++) arr[from - rowStart + i - a] = src[i];
    }
    filled += to - from;
  }
  if (filled !== n) {
    throw new ParquetReadError(`${file}: column ${column} decoded ${filled} of ${n} rows`, file);
  }
  return out;
}

/** A column as Uint32Array (ids, counts); copies unless it already is one. Nulls become 0. */
export function toUint32Array(col: DecodedColumn): Uint32Array {
  if (col instanceof Uint32Array) return col;
  const out = new Uint32Array(col.length);
  for (let i = 0; i < col.length; i++) out[i] = Number(col[i] ?? 0);
  return out;
}

/** A column as Float32Array; nulls become NaN. */
export function toFloat32Array(col: DecodedColumn): Float32Array {
  if (col instanceof Float32Array) return col;
  const out = new Float32Array(col.length);
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    out[i] = v === null || v === undefined ? Number.NaN : Number(v);
  }
  return out;
}

/** The shard of an id-sorted table that holds an id (binary search over id_min/id_max). */
export function shardForId(shards: readonly ManifestFile[], id: number): ManifestFile | undefined {
  let lo = 0;
  let hi = shards.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = shards[mid]!;
    if (s.id_min === undefined || s.id_max === undefined) {
      return shards.find((f) => f.id_min !== undefined && f.id_max !== undefined && id >= f.id_min && id <= f.id_max);
    }
    if (id < s.id_min) hi = mid - 1;
    else if (id > s.id_max) lo = mid + 1;
    else return s;
  }
  return undefined;
}

export interface ReadRowByIdOptions {
  metadata?: FileMetaData;
  /** First id of the shard (manifest id_min); ids are dense, so the row is id - idMin. */
  idMin: number;
  idColumn?: string;
}

/**
 * Reads one row of an id-sorted shard, touching only the row group that holds it. Checks that the
 * row found carries the id asked for; ids are dense and sorted within a shard.
 */
export async function readRowById(
  file: AsyncBuffer,
  name: string,
  id: number,
  columns: readonly string[],
  opts: ReadRowByIdOptions,
): Promise<Record<string, unknown>> {
  const idColumn = opts.idColumn ?? 'id';
  const metadata = opts.metadata ?? (await readParquetMetadata(file, name));
  const row = id - opts.idMin;
  const total = parquetRowCount(metadata);
  if (!Number.isInteger(row) || row < 0 || row >= total) {
    throw new ParquetReadError(`id ${id} is not in ${name} (ids ${opts.idMin}..${opts.idMin + total - 1})`, name);
  }
  const cols = columns.includes(idColumn) ? [...columns] : [idColumn, ...columns];
  const { columns: got } = await readParquetColumns(file, name, cols, { metadata, rowStart: row, rowEnd: row + 1 });
  const foundId = Number(got[idColumn]![0]);
  if (foundId !== id) {
    throw new ParquetReadError(`${name}: row ${row} holds id ${foundId}, expected ${id} (ids are not dense)`, name);
  }
  const out: Record<string, unknown> = {};
  for (const c of columns) out[c] = normalise(got[c]![0]);
  return out;
}

function normalise(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  return v === undefined ? null : v;
}
