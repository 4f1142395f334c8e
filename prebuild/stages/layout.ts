// Stage 5: the first map layout, PCA-2 of the offline embedding, streamed shard by shard in two
// passes (accumulate covariance, then project), so memory does not grow with the corpus.
import { join } from 'node:path';
import type { EmbeddingInfo, LayoutInfo, ManifestFile } from '../../src/core/data/manifest.ts';
import { TABLE } from '../../src/core/data/schema.ts';
import { PcaAccumulator, pcaProject } from '../../src/core/reduce/pca.ts';
import { openDb, sqlString, type Db } from '../duckdb.ts';
import { sameExtentAs, writeParquet } from '../parquet.ts';
import { createProgress } from '../progress.ts';
import { emptyOutputs, type StageOutputs } from '../state.ts';

export const DEFAULT_LAYOUT = 'default';

/** Streams dequantised vectors of one shard as (ids, row-major float32 rows). */
async function* vectors(db: Db, path: string, dim: number): AsyncGenerator<{ ids: number[]; rows: Float32Array }> {
  const result = await db.conn.stream(`SELECT id, embedding, scale FROM read_parquet(${sqlString(path)}) ORDER BY id`);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const ids = chunk.getColumnValues(0) as number[];
    const blobs = chunk.getColumnValues(1) as { bytes: Uint8Array }[];
    const scales = chunk.getColumnValues(2) as number[];
    const rows = new Float32Array(ids.length * dim);
    for (let i = 0; i < ids.length; i++) {
      const codes = new Int8Array(blobs[i].bytes.buffer, blobs[i].bytes.byteOffset, dim);
      for (let j = 0; j < dim; j++) rows[i * dim + j] = codes[j] * scales[i];
    }
    yield { ids, rows };
  }
}

export async function runLayoutPca(outDir: string, embedOut: StageOutputs, quiet: boolean, tempDir = join(outDir, '..', '.duckdb-tmp')): Promise<StageOutputs> {
  const info = embedOut.facts.embedding as EmbeddingInfo;
  const shards = embedOut.tables[info.table] ?? [];
  const total = shards.reduce((n, s) => n + (s.rows ?? 0), 0);
  const db = await openDb({ tempDir });
  try {
    const acc = new PcaAccumulator(info.dim);
    const bar = createProgress({ label: 'layout: PCA', total: total * 2, unit: 'vectors', quiet });
    for (const shard of shards) {
      for await (const { rows, ids } of vectors(db, join(outDir, shard.path), info.dim)) {
        acc.add(rows, ids.length);
        bar.tick(ids.length);
      }
    }
    const model = acc.finish(2);
    const table = TABLE.layout(DEFAULT_LAYOUT);
    const min = [Infinity, Infinity];
    const max = [-Infinity, -Infinity];
    const files: ManifestFile[] = [];
    for (const [s, shard] of shards.entries()) {
      await db.exec('CREATE OR REPLACE TABLE lay (id UINTEGER, x FLOAT, y FLOAT, z FLOAT, cluster INTEGER)');
      const appender = await db.conn.createAppender('lay');
      for await (const { rows, ids } of vectors(db, join(outDir, shard.path), info.dim)) {
        const xy = pcaProject(model, rows, ids.length);
        for (let i = 0; i < ids.length; i++) {
          const x = xy[i * 2];
          const y = xy[i * 2 + 1];
          min[0] = Math.min(min[0], x);
          min[1] = Math.min(min[1], y);
          max[0] = Math.max(max[0], x);
          max[1] = Math.max(max[1], y);
          appender.appendUInteger(ids[i]);
          appender.appendFloat(x);
          appender.appendFloat(y);
          appender.appendNull();
          appender.appendNull();
          appender.endRow();
        }
        bar.tick(ids.length);
      }
      appender.closeSync();
      const rel = `${table}-${String(s).padStart(5, '0')}.parquet`;
      files.push(await writeParquet(db, 'SELECT id, x, y, z, cluster FROM lay ORDER BY id', outDir, rel, { rowGroupRows: 16384, ...sameExtentAs(shard) }));
    }
    bar.done();
    const out = emptyOutputs();
    out.tables[table] = files;
    const empty = total === 0;
    // Float32 rounding of the stored coordinates can step just outside float64 bounds: widen by one ulp-ish.
    const bounds = empty ? { min: [0, 0], max: [0, 0] } : { min: min.map((v) => Math.fround(v) - Math.abs(v) * 1e-6), max: max.map((v) => Math.fround(v) + Math.abs(v) * 1e-6) };
    const layout: LayoutInfo = { name: DEFAULT_LAYOUT, method: `pca-2 of ${info.model}`, table, dims: 2, bounds };
    out.facts = { layout, pca_explained_variance_ratio: Array.from(model.explainedVarianceRatio) };
    return out;
  } finally {
    db.close();
  }
}
