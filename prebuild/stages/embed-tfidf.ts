// Stage 4: the offline embedding (the study's section 4.1 baseline). Fits identifier-aware TF-IDF +
// randomized SVD over every function body, saves the model for the browser (so a query is embedded
// with the same vocabulary), and writes `vectors-<model>` shards: id, int8 embedding, scale.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmbeddingInfo, ManifestFile } from '../../src/core/data/manifest.ts';
import { TABLE } from '../../src/core/data/schema.ts';
import { quantizeInt8 } from '../../src/core/embed/quantize.ts';
import { serializeTfidfSvd, TfidfSvdEmbedder, TfidfSvdFitter, TFIDF_SVD_DEFAULTS } from '../../src/core/embed/tfidf-svd.ts';
import { functionBodies, openDb } from '../duckdb.ts';
import { writeFileAtomic } from '../fsutil.ts';
import { describeFile, sameExtentAs, writeParquet } from '../parquet.ts';
import { createProgress } from '../progress.ts';
import { emptyOutputs, type StageOutputs } from '../state.ts';

export interface EmbedOptions {
  dim: number;
  maxFeatures: number;
  svdSample: number;
  seed: number;
}

export const DEFAULT_EMBED_OPTIONS: EmbedOptions = {
  dim: TFIDF_SVD_DEFAULTS.dim,
  maxFeatures: TFIDF_SVD_DEFAULTS.maxFeatures,
  svdSample: TFIDF_SVD_DEFAULTS.svdSample,
  // 0 is the library's default seed; the CLI asks for a positive integer, so offset by one.
  seed: 1,
};

export async function runEmbedTfidf(
  outDir: string,
  tables: Record<string, ManifestFile[]>,
  opts: EmbedOptions,
  quiet: boolean,
  tempDir = join(outDir, '..', '.duckdb-tmp'),
): Promise<StageOutputs> {
  const shards = tables[TABLE.functions] ?? [];
  const total = shards.reduce((n, s) => n + (s.rows ?? 0), 0);
  const db = await openDb({ tempDir });
  try {
    const fitter = new TfidfSvdFitter({ dim: opts.dim, maxFeatures: opts.maxFeatures, svdSample: opts.svdSample, seed: opts.seed });
    const fitBar = createProgress({ label: 'embed: fit TF-IDF', total, unit: 'functions', quiet });
    for await (const { texts } of functionBodies(db, shards.map((s) => join(outDir, s.path)))) {
      for (const t of texts) fitter.add(t);
      fitBar.tick(texts.length);
    }
    fitBar.done();
    const svdStart = performance.now();
    const model = fitter.finish();
    if (!quiet) {
      const kept = model.explainedVarianceRatio.reduce((s, v) => s + v, 0);
      process.stderr.write(
        `embed: SVD ${model.nSvdDocs} x ${model.vocab.length} -> ${model.dim} in ${((performance.now() - svdStart) / 1000).toFixed(1)}s, ${(100 * kept).toFixed(1)}% of sample variance\n`,
      );
    }

    const out = emptyOutputs();
    const modelDir = `models/${model.id}`;
    const { json, binary } = serializeTfidfSvd(model);
    await mkdir(join(outDir, modelDir), { recursive: true });
    await writeFileAtomic(join(outDir, modelDir, 'model.json'), JSON.stringify(json));
    await writeFileAtomic(join(outDir, modelDir, 'model.bin'), binary);
    out.models[model.id] = [await describeFile(outDir, `${modelDir}/model.json`), await describeFile(outDir, `${modelDir}/model.bin`)];

    const table = TABLE.vectors(model.id);
    const embedder = new TfidfSvdEmbedder(model);
    const bar = createProgress({ label: 'embed: vectors', total, unit: 'functions', quiet });
    const files: ManifestFile[] = [];
    for (const [s, shard] of shards.entries()) {
      await db.exec('CREATE OR REPLACE TABLE vec (id UINTEGER, embedding BLOB, scale FLOAT)');
      const appender = await db.conn.createAppender('vec');
      for await (const { ids, texts } of functionBodies(db, [join(outDir, shard.path)])) {
        const { codes, scales } = quantizeInt8(embedder.embedSync(texts), model.dim);
        for (let i = 0; i < ids.length; i++) {
          appender.appendUInteger(ids[i]);
          appender.appendBlob(new Uint8Array(codes.buffer, i * model.dim, model.dim));
          appender.appendFloat(scales[i]);
          appender.endRow();
        }
        bar.tick(ids.length);
      }
      appender.closeSync();
      const rel = `${table}-${String(s).padStart(5, '0')}.parquet`;
      files.push(await writeParquet(db, 'SELECT id, embedding, scale FROM vec ORDER BY id', outDir, rel, { rowGroupRows: 8192, ...sameExtentAs(shard) }));
    }
    bar.done();
    out.tables[table] = files;
    const info: EmbeddingInfo = { model: model.id, table, dim: model.dim, dtype: 'int8', model_files: model.id };
    out.facts = { embedding: info, explained_variance_ratio: Array.from(model.explainedVarianceRatio) };
    return out;
  } finally {
    db.close();
  }
}
