// Which columns and row groups of a Parquet file a set of byte ranges covered: the benchmark's
// server logs the ranges the site read, this reads each file's footer from disk (hyparquet) and
// splits every range over the column chunks it overlaps. Bytes outside every column chunk are the
// footer (and the magic bytes) — what a reader fetches to learn the layout.
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';

export interface ChunkSpan {
  column: string;
  rowGroup: number;
  start: number;
  /** Exclusive. */
  end: number;
}

export interface ParquetSpans {
  size: number;
  rowGroups: number;
  rows: number;
  columns: string[];
  /** Column chunks sorted by start. */
  chunks: ChunkSpan[];
}

/** The column chunks of a Parquet file on disk. */
export async function parquetSpans(file: string): Promise<ParquetSpans> {
  const buf = await asyncBufferFromFile(file);
  const md = await parquetMetadataAsync(buf);
  const chunks: ChunkSpan[] = [];
  const columns = new Set<string>();
  md.row_groups.forEach((rg, g) => {
    for (const c of rg.columns) {
      const m = c.meta_data;
      if (!m) continue;
      // The first column of each name (args.list.element -> args).
      const column = m.path_in_schema[0] ?? '?';
      columns.add(column);
      const dict = m.dictionary_page_offset !== undefined ? Number(m.dictionary_page_offset) : Number.POSITIVE_INFINITY;
      const start = Math.min(Number(m.data_page_offset), dict);
      chunks.push({ column, rowGroup: g, start, end: start + Number(m.total_compressed_size) });
    }
  });
  chunks.sort((a, b) => a.start - b.start);
  return { size: buf.byteLength, rowGroups: md.row_groups.length, rows: Number(md.num_rows), columns: [...columns], chunks };
}

export interface ColumnUse {
  bytes: number;
  /** Row groups of which at least one byte was read. */
  rowGroups: Set<number>;
}

export interface FileUse {
  /** Bytes per column, with the row groups touched. */
  columns: Map<string, ColumnUse>;
  /** Bytes outside every column chunk: footer, magic. */
  footer: number;
}

/** Splits inclusive byte ranges [start, end] of one file over its column chunks. */
export function attributeRanges(spans: ParquetSpans, ranges: { start: number; end: number }[], into?: FileUse): FileUse {
  const use: FileUse = into ?? { columns: new Map(), footer: 0 };
  for (const r of ranges) {
    const a = r.start;
    const b = r.end + 1;
    let covered = 0;
    for (const c of spans.chunks) {
      if (c.end <= a) continue;
      if (c.start >= b) break;
      const n = Math.min(b, c.end) - Math.max(a, c.start);
      if (n <= 0) continue;
      covered += n;
      let u = use.columns.get(c.column);
      if (!u) use.columns.set(c.column, (u = { bytes: 0, rowGroups: new Set() }));
      u.bytes += n;
      u.rowGroups.add(c.rowGroup);
    }
    use.footer += b - a - covered;
  }
  return use;
}
