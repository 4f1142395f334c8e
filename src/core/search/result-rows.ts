// The names a result list shows (qualname, repository, path) for a search's top-k ids, read from
// the id-sorted `functions` shards by range: the ids are grouped by shard and 2,048-row group, and
// every group's few light columns (repo_id, path, qualname, plus id where the manifest does not say
// the ids are dense: adjacent column chunks, ~17 KB per group) are requested at once, so a result
// list costs one concurrent batch of range reads (plus each shard's footer once per session), not a
// request per row and never the shards' bodies. For data sets too large for the page to hold every
// function's name (the map's scale mode), this is where the list's names come from. Pure: files
// come in as AsyncBuffers.
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import type { ManifestFile } from '../data/manifest.ts';
import { ParquetReadError, readParquetColumns, rowGroupOf, shardForId, toUint32Array } from '../data/parquet-read.ts';

/**
 * From this many functions up the search worker reads the result rows' names itself (the page does
 * not hold every function's name at that size); below it the page's data worker has them in memory.
 */
export const RESULT_ROWS_MIN_FUNCTIONS = 1_000_000;

export interface ResultRow {
  id: number;
  qualname: string;
  path: string;
  repo: string;
}

export interface OpenShard {
  file: AsyncBuffer;
  metadata: FileMetaData;
}

export interface ResultRowsStats {
  /** Row groups read (each: one range request for its light columns). */
  groups: number;
  shards: number;
}

const NAME_COLUMNS = ['repo_id', 'path', 'qualname'];

/** Whether the manifest says the shard's ids are dense (id_max - id_min + 1 = rows): then row = id - id_min without reading the id column. */
const dense = (f: ManifestFile): boolean => f.id_min !== undefined && f.id_max !== undefined && f.rows !== undefined && f.id_max - f.id_min + 1 === f.rows;

const text = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

/**
 * Names of `ids` in the given order (null for an id no shard holds). `open` opens a shard (cached
 * by the caller: the footer is read once); `repoName` maps a repo_id to its name.
 */
export async function readResultRows(
  ids: ArrayLike<number>,
  shards: readonly ManifestFile[],
  open: (f: ManifestFile) => Promise<OpenShard>,
  repoName: (repoId: number) => string,
): Promise<{ rows: (ResultRow | null)[]; stats: ResultRowsStats }> {
  const out: (ResultRow | null)[] = new Array<ResultRow | null>(ids.length).fill(null);
  // shard -> positions in `ids` it holds.
  const byShard = new Map<ManifestFile, number[]>();
  for (let i = 0; i < ids.length; i++) {
    const f = shardForId(shards, ids[i]!);
    if (!f) continue;
    if (f.id_min === undefined) throw new ParquetReadError(`${f.path} has no id range in the manifest: cannot find rows by id`, f.path);
    const list = byShard.get(f) ?? [];
    list.push(i);
    byShard.set(f, list);
  }
  const opened = await Promise.all([...byShard.keys()].map(async (f) => [f, await open(f)] as const));
  let groups = 0;
  const reads: Promise<void>[] = [];
  for (const [f, { file, metadata }] of opened) {
    // row group index -> positions
    const byGroup = new Map<number, { rowStart: number; rowEnd: number; at: number[] }>();
    for (const i of byShard.get(f)!) {
      const g = rowGroupOf(metadata, ids[i]! - f.id_min!);
      const e = byGroup.get(g.index) ?? { rowStart: g.rowStart, rowEnd: g.rowEnd, at: [] };
      e.at.push(i);
      byGroup.set(g.index, e);
    }
    // Dense shards (the manifest says so; every prebuild writes them) skip the id column's bytes.
    const columns = dense(f) ? NAME_COLUMNS : ['id', ...NAME_COLUMNS];
    for (const g of byGroup.values()) {
      groups++;
      reads.push(
        readParquetColumns(file, f.path, columns, { metadata, rowStart: g.rowStart, rowEnd: g.rowEnd }).then(({ columns }) => {
          const gotIds = columns.id ? toUint32Array(columns.id) : null;
          const repoIds = toUint32Array(columns.repo_id!);
          for (const i of g.at) {
            const r = ids[i]! - f.id_min! - g.rowStart;
            if (gotIds && gotIds[r] !== ids[i]) throw new ParquetReadError(`${f.path}: row ${r + g.rowStart} holds id ${gotIds[r]}, expected ${ids[i]} (ids are not dense)`, f.path);
            out[i] = { id: ids[i]!, qualname: text(columns.qualname![r]), path: text(columns.path![r]), repo: repoName(repoIds[r]!) };
          }
        }),
      );
    }
  }
  await Promise.all(reads);
  return { rows: out, stats: { groups, shards: opened.length } };
}
