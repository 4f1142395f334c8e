// Stage 3: dataset statistics (the study's section 3), computed with the same SQL the site runs in
// DuckDB-WASM, and written to stats.json for the site and the run summary.
import { join } from 'node:path';
import type { ManifestFile } from '../../src/core/data/manifest.ts';
import { computeDatasetStats, type DatasetStats } from '../../src/core/data/stats.ts';
import { TABLE } from '../../src/core/data/schema.ts';
import { sqlList, type Db } from '../duckdb.ts';
import { writeFileAtomic } from '../fsutil.ts';
import { describeFile } from '../parquet.ts';
import { emptyOutputs, type StageOutputs } from '../state.ts';

/** Creates views `functions` and `repos` over the tables stage's Parquet files. */
export async function viewTables(db: Db, outDir: string, tables: Record<string, ManifestFile[]>): Promise<void> {
  for (const name of [TABLE.functions, TABLE.repos]) {
    const files = (tables[name] ?? []).map((f) => join(outDir, f.path));
    if (files.length === 0) throw new Error(`the ${name} table has no files`);
    await db.exec(`CREATE OR REPLACE VIEW "${name}" AS SELECT * FROM read_parquet(${sqlList(files)})`);
  }
}

export async function runStats(db: Db, outDir: string, tables: Record<string, ManifestFile[]>): Promise<{ outputs: StageOutputs; stats: DatasetStats }> {
  await viewTables(db, outDir, tables);
  const stats = await computeDatasetStats(db.run);
  await writeFileAtomic(join(outDir, 'stats.json'), `${JSON.stringify(stats, null, 1)}\n`);
  const outputs = emptyOutputs();
  outputs.files.stats = await describeFile(outDir, 'stats.json');
  return { outputs, stats };
}
