// Parquet output through DuckDB: ZSTD, fixed row-group sizes, written under a temporary name and
// renamed when complete, and described (bytes, sha256, rows, id range) for the manifest.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestFile } from '../src/core/data/manifest.ts';
import { sqlString, type Db } from './duckdb.ts';
import { sha256File, withAtomicOutput } from './fsutil.ts';

export async function describeFile(outDir: string, relPath: string, extra: Partial<ManifestFile> = {}): Promise<ManifestFile> {
  const full = join(outDir, relPath);
  const { size } = await stat(full);
  return { path: relPath, bytes: size, sha256: await sha256File(full), ...extra };
}

/** Writes the rows of `selectSql` to outDir/relPath as one Parquet file. */
export async function writeParquet(
  db: Db,
  selectSql: string,
  outDir: string,
  relPath: string,
  opts: { rowGroupRows: number; rows?: number; idRange?: [number, number] },
): Promise<ManifestFile> {
  await withAtomicOutput(join(outDir, relPath), async (tmp) => {
    await db.exec(
      `COPY (${selectSql}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${opts.rowGroupRows})`,
    );
  });
  const extra: Partial<ManifestFile> = {};
  if (opts.rows !== undefined) extra.rows = opts.rows;
  if (opts.idRange) [extra.id_min, extra.id_max] = opts.idRange;
  return describeFile(outDir, relPath, extra);
}

/** Writes `table` (with a dense `id` column 0..n-1) as shards of `shardRows` rows each. */
export async function writeShardedById(
  db: Db,
  table: string,
  columns: string,
  outDir: string,
  name: string,
  opts: { shardRows: number; rowGroupRows: number; afterShard?: (index: number) => Promise<void> },
): Promise<ManifestFile[]> {
  const [{ n }] = (await db.run(`SELECT count(*)::DOUBLE AS n FROM ${table}`)) as { n: number }[];
  const shards: ManifestFile[] = [];
  const count = Math.max(1, Math.ceil(n / opts.shardRows));
  for (let s = 0; s < count; s++) {
    const lo = s * opts.shardRows;
    const hi = Math.min(n, lo + opts.shardRows) - 1;
    const rel = `${name}-${String(s).padStart(5, '0')}.parquet`;
    shards.push(
      await writeParquet(db, `SELECT ${columns} FROM ${table} WHERE id BETWEEN ${lo} AND ${hi} ORDER BY id`, outDir, rel, {
        rowGroupRows: opts.rowGroupRows,
        rows: Math.max(0, hi - lo + 1),
        idRange: n > 0 ? [lo, hi] : undefined,
      }),
    );
    await opts.afterShard?.(s);
  }
  return shards;
}

/** Row count and id range of `shard`, for a derived table written shard for shard (vectors, layout). */
export function sameExtentAs(shard: ManifestFile): { rows?: number; idRange?: [number, number] } {
  return {
    rows: shard.rows,
    ...(shard.id_min !== undefined && shard.id_max !== undefined ? { idRange: [shard.id_min, shard.id_max] as [number, number] } : {}),
  };
}
