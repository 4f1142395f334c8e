// Tiles stage (large data sets only): for each layout, a density pyramid and the layout's points
// re-sorted by tile code, so the site's map can draw millions of functions without loading them.
//
//  - `tiles-<layout>.parquet`: level, tx, ty, count, cluster (the cell's most common), x, y (the
//    mean of its points), one row per non-empty cell of levels 0..L over the square around the
//    layout's x, y bounds (src/core/map/tiles.ts squareExtent); sorted by level, ty, tx.
//  - `points-<layout>-NNNNN.parquet`: id, x, y(, z), cluster, tile (the Morton code of the point's
//    level-L cell), repo_id, kind, docstyle, n_lines, name, sorted by (tile, id) in small row
//    groups: the points of any rectangle lie in a few tile-code intervals, and the browser range-reads
//    only the row groups whose min/max tile code meets them. Shards split at tile boundaries.
//
// All of it is SQL in DuckDB over the Parquet on disk, a layout shard at a time (joined with the
// functions shards of the same id range), then one bounded ORDER BY per output shard, so memory stays
// flat at 20 million rows (openDb's memory limit and spill folder). Run on an existing data set with
// `npx tsx prebuild/tiles-cli.ts --data DIR`.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayoutInfo, LayoutTiles, ManifestFile } from '../../src/core/data/manifest.ts';
import { TABLE } from '../../src/core/data/schema.ts';
import { DEFAULT_TILE_LEVELS, squareExtent, type TileExtent } from '../../src/core/map/tiles.ts';
import { sqlList, sqlString, type Db } from '../duckdb.ts';
import { writeParquet } from '../parquet.ts';
import { emptyOutputs, type StageOutputs } from '../state.ts';

/** Data sets with more functions than this get tiles in a prebuild (`--tiles-min-functions`). */
export const TILES_MIN_FUNCTIONS = 1_000_000;
/** Points per shard of `points-<layout>` (at most; shards end at tile boundaries). */
export const POINTS_SHARD_ROWS = 1 << 20;
/** Rows per row group of `points-<layout>`: the unit the browser range-reads (DuckDB writes 2,048 at least). */
export const POINTS_ROW_GROUP_ROWS = 4096;

export interface TilesOptions {
  /** Finest level L (2^L cells per axis; default 8). */
  levels?: number;
  shardRows?: number;
  rowGroupRows?: number;
  /** Folder for the per-layout-shard intermediate files (removed afterwards). */
  tempDir: string;
  quiet?: boolean;
  log?: (line: string) => void;
}

export const tilesTable = (layout: string): string => `tiles-${layout}`;
export const pointsTable = (layout: string): string => `points-${layout}`;

/** A double as a SQL literal DuckDB parses to the same double (a decimal literal would be DECIMAL). */
const dbl = (v: number): string => `'${String(v)}'::DOUBLE`;

/**
 * SQL for a point's cell index along one axis at a level: the same arithmetic as
 * src/core/map/tiles.ts cellIndex, in doubles, clamped into the grid.
 */
export function cellSql(col: string, origin: number, size: number, level: number): string {
  const n = 2 ** level;
  return `least(${n - 1}, greatest(0, floor(((${col})::DOUBLE - ${dbl(origin)}) / ${dbl(size)} * ${n}.0)))::BIGINT`;
}

/** SQL spreading the low 16 bits of an integer expression to the even bits (tiles.ts spreadBits). */
export function spreadSql(v: string): string {
  let x = `(${v})::BIGINT`;
  x = `((${x} | (${x} << 8)) & 16711935)`;
  x = `((${x} | (${x} << 4)) & 252645135)`;
  x = `((${x} | (${x} << 2)) & 858993459)`;
  x = `((${x} | (${x} << 1)) & 1431655765)`;
  return x;
}

const pad5 = (i: number): string => String(i).padStart(5, '0');

/** Shards of an id-sorted table whose id range meets [lo, hi] (all of them when ranges are unknown). */
function overlapping(files: ManifestFile[], lo: number | undefined, hi: number | undefined): ManifestFile[] {
  if (lo === undefined || hi === undefined) return files;
  const known = files.every((f) => f.id_min !== undefined && f.id_max !== undefined);
  return known ? files.filter((f) => f.id_max! >= lo && f.id_min! <= hi) : files;
}

/** Splits per-code counts (sorted by code) into shards of at most `shardRows` rows, at code boundaries. */
export function splitByCode(codes: readonly number[], counts: readonly number[], shardRows: number): { lo: number; hi: number; rows: number }[] {
  const out: { lo: number; hi: number; rows: number }[] = [];
  for (let i = 0; i < codes.length; i++) {
    const last = out[out.length - 1];
    if (last && last.rows + counts[i]! <= shardRows) {
      last.hi = codes[i]!;
      last.rows += counts[i]!;
    } else out.push({ lo: codes[i]!, hi: codes[i]!, rows: counts[i]! });
  }
  return out;
}

/** Tiles of one layout: writes its pyramid and sorted points into outDir; returns the manifest entry. */
export async function runTilesForLayout(
  db: Db,
  outDir: string,
  layout: LayoutInfo,
  tables: Record<string, ManifestFile[]>,
  opts: TilesOptions,
): Promise<{ outputs: StageOutputs; tiles: LayoutTiles }> {
  const log = opts.quiet ? () => {} : (opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)));
  const levels = opts.levels ?? DEFAULT_TILE_LEVELS;
  const shardRows = opts.shardRows ?? POINTS_SHARD_ROWS;
  const rowGroupRows = opts.rowGroupRows ?? POINTS_ROW_GROUP_ROWS;
  const e: TileExtent = squareExtent(layout.bounds, levels);
  const layoutFiles = tables[layout.table] ?? [];
  const fnFiles = tables[TABLE.functions] ?? [];
  if (layoutFiles.length === 0) throw new Error(`tiles: layout ${layout.name} has no shards (table ${layout.table})`);
  if (fnFiles.length === 0) throw new Error('tiles: the data set has no functions shards');
  const three = layout.dims === 3;
  const tmp = join(opts.tempDir, `tiles-${layout.name}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const out = emptyOutputs();
  try {
    // 1. Each layout shard joined with its functions' light columns, its tile cell computed, sorted
    //    by tile code: intermediate files whose row groups prune well by code.
    const tx = cellSql('x', e.x0, e.size, levels);
    const ty = cellSql('y', e.y0, e.size, levels);
    const inters: string[] = [];
    let layoutRows = 0;
    for (const [s, f] of layoutFiles.entries()) {
      const fns = overlapping(fnFiles, f.id_min, f.id_max);
      const idFilter = f.id_min !== undefined && f.id_max !== undefined ? `WHERE id BETWEEN ${f.id_min} AND ${f.id_max}` : '';
      const path = join(tmp, `i-${pad5(s)}.parquet`);
      await db.exec(
        `COPY (
           SELECT l.id, l.x, l.y, ${three ? 'l.z, ' : ''}l.cluster, l.tx, l.ty,
             (${spreadSql('l.tx')} | (${spreadSql('l.ty')} << 1))::UINTEGER AS code,
             f.repo_id, f.kind, f.docstyle, f.n_lines, f.name
           FROM (SELECT id::UINTEGER AS id, x::FLOAT AS x, y::FLOAT AS y, ${three ? 'coalesce(z, 0)::FLOAT AS z, ' : ''}
                        coalesce(cluster, -1)::INTEGER AS cluster, ${tx} AS tx, ${ty} AS ty
                 FROM read_parquet(${sqlString(join(outDir, f.path))})) l
           JOIN (SELECT id, repo_id, kind, docstyle, n_lines, name FROM read_parquet(${sqlList(fns.map((g) => join(outDir, g.path)))}) ${idFilter}) f
             USING (id)
           ORDER BY code, id
         ) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 8192)`,
      );
      inters.push(path);
      layoutRows += f.rows ?? 0;
      if (!opts.quiet && s % 32 === 31) log(`tiles ${layout.name}: joined ${s + 1} / ${layoutFiles.length} layout shards`);
    }
    const src = `read_parquet(${sqlList(inters)})`;

    // 2. Per-code counts: they split the points into shards and check the join lost nothing.
    const perCode = (await db.run(`SELECT code::DOUBLE AS code, count(*)::DOUBLE AS n FROM ${src} GROUP BY code ORDER BY code`)) as { code: number; n: number }[];
    const total = perCode.reduce((a, r) => a + r.n, 0);
    if (layoutFiles.every((f) => f.rows !== undefined) && total !== layoutRows) {
      throw new Error(`tiles: layout ${layout.name} has ${layoutRows} points but ${total} joined a function (ids missing from functions?)`);
    }

    // 3. The pyramid: counts and coordinate sums per (finest cell, cluster), rolled up level by level.
    await db.exec(
      `CREATE OR REPLACE TEMP TABLE tiles_fine AS
       SELECT tx, ty, cluster, count(*)::BIGINT AS n, sum(x::DOUBLE) AS sx, sum(y::DOUBLE) AS sy FROM ${src} GROUP BY tx, ty, cluster`,
    );
    const perLevel = Array.from({ length: levels + 1 }, (_, l) =>
      `SELECT ${l} AS level, tx >> ${levels - l} AS tx, ty >> ${levels - l} AS ty, cluster, sum(n) AS n, sum(sx) AS sx, sum(sy) AS sy
       FROM tiles_fine GROUP BY ALL`,
    ).join(' UNION ALL ');
    const tilesRel = `${tilesTable(layout.name)}.parquet`;
    const tilesFile = await writeParquet(
      db,
      `WITH c AS (${perLevel}),
       r AS (SELECT *, row_number() OVER (PARTITION BY level, tx, ty ORDER BY n DESC, cluster ASC) AS k,
                   sum(n) OVER (PARTITION BY level, tx, ty) AS total,
                   sum(sx) OVER (PARTITION BY level, tx, ty) AS tsx,
                   sum(sy) OVER (PARTITION BY level, tx, ty) AS tsy
             FROM c)
       SELECT level::UTINYINT AS level, tx::USMALLINT AS tx, ty::USMALLINT AS ty, total::UINTEGER AS count,
              cluster::INTEGER AS cluster, (tsx / total)::FLOAT AS x, (tsy / total)::FLOAT AS y
       FROM r WHERE k = 1 ORDER BY level, ty, tx`,
      outDir,
      tilesRel,
      { rowGroupRows: 16384 },
    );
    const [{ rows: tileRows }] = (await db.run(`SELECT count(*)::DOUBLE AS rows FROM read_parquet(${sqlString(join(outDir, tilesRel))})`)) as { rows: number }[];
    tilesFile.rows = tileRows;
    out.tables[tilesTable(layout.name)] = [tilesFile];
    await db.exec('DROP TABLE IF EXISTS tiles_fine');

    // 4. The points, sorted by (tile, id), a bounded sort per shard.
    const shards = splitByCode(
      perCode.map((r) => r.code),
      perCode.map((r) => r.n),
      shardRows,
    );
    const files: ManifestFile[] = [];
    const cols = `id, x, y, ${three ? 'z, ' : ''}cluster, code AS tile, repo_id, kind, docstyle, n_lines, name`;
    for (const [k, sh] of shards.entries()) {
      files.push(
        await writeParquet(db, `SELECT ${cols} FROM ${src} WHERE code BETWEEN ${sh.lo} AND ${sh.hi} ORDER BY code, id`, outDir, `${pointsTable(layout.name)}-${pad5(k)}.parquet`, {
          rowGroupRows,
          rows: sh.rows,
        }),
      );
    }
    out.tables[pointsTable(layout.name)] = files;
    log(`tiles ${layout.name}: ${total} points in ${tileRows} cells (levels 0..${levels}), ${files.length} points shard(s)`);
    const tiles: LayoutTiles = {
      table: tilesTable(layout.name),
      points: pointsTable(layout.name),
      levels,
      extent: { x0: e.x0, y0: e.y0, size: e.size },
      code_ranges: shards.map((s) => [s.lo, s.hi]),
    };
    out.facts = { tiles: { [layout.name]: tiles } };
    return { outputs: out, tiles };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The stage: tiles for every layout; facts.tiles maps layout name to its manifest entry. */
export async function runTiles(
  db: Db,
  outDir: string,
  layouts: LayoutInfo[],
  tables: Record<string, ManifestFile[]>,
  opts: TilesOptions,
): Promise<StageOutputs> {
  const out = emptyOutputs();
  const tiles: Record<string, LayoutTiles> = {};
  for (const l of layouts) {
    const r = await runTilesForLayout(db, outDir, l, tables, opts);
    Object.assign(out.tables, r.outputs.tables);
    tiles[l.name] = r.tiles;
  }
  out.facts = { tiles };
  return out;
}

/** Layouts with their tiles entries added (those the stage made). */
export function withTiles(layouts: LayoutInfo[], tilesOut: StageOutputs | null): LayoutInfo[] {
  const t = (tilesOut?.facts.tiles ?? {}) as Record<string, LayoutTiles>;
  return layouts.map((l) => (t[l.name] ? { ...l, tiles: t[l.name] } : l));
}
