// Stage 4 (neural variant): embeds every function body with jina-embeddings-v2-base-code
// (core/embed/jina.ts) on onnxruntime-node and writes `vectors-<id>` shards: id, int8 embedding,
// scale, truncated, tokens, shard for shard with the functions table, like the TF-IDF stage.
//
// The model folder is first copied into <out>/models/<id>/ (config, tokenizer, the ONNX files the
// site may load) and the vectors are computed from that copy, through the same transformers.js
// path the site uses with '<data>/models/' as its model base: the shipped files are the ones
// proven to produce the vectors.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { EmbeddingInfo, ManifestFile } from '../../src/core/data/manifest.ts';
import { TABLE } from '../../src/core/data/schema.ts';
import { deriveEmbedderId, JINA_CODE_MODEL_ID, JinaEmbedder, type JinaDtype } from '../../src/core/embed/jina.ts';
import { quantizeInt8 } from '../../src/core/embed/quantize.ts';
import { contentHash } from '../../src/core/util/hash.ts';
import { functionBodies, openDb } from '../duckdb.ts';
import { sha256File, sha256Text } from '../fsutil.ts';
import { copyModelFolder, isFile } from '../model-files.ts';
import { describeFile, sameExtentAs, writeParquet } from '../parquet.ts';
import { createProgress, type Progress } from '../progress.ts';
import { emptyOutputs, type StageOutputs } from '../state.ts';

export interface EmbedJinaOptions {
  /** The model's folder: config.json, tokenizer.json, tokenizer_config.json, onnx/model_quantized.onnx ... */
  modelDir: string;
  /** Embedder id: file names (`vectors-<id>`, `models/<id>/`) and the manifest (default jina-v2-base-code). */
  id?: string;
  /** Token budget per function, special tokens included (default 512). */
  maxTokens?: number;
  /** Precision the prebuild embeds with (default q8: the file the site's WASM path uses too). */
  dtype?: JinaDtype;
  /** ONNX files copied for the site (default q8 and fp16 where present: WASM and WebGPU defaults). */
  siteDtypes?: JinaDtype[];
  /** Functions per model call (default: JinaEmbedder's). */
  batchSize?: number;
  /** ONNX Runtime intra-op threads (default: the core count). */
  threads?: number;
  /** Distinct bodies whose vectors are remembered across chunks, to skip repeated code (default 50000, ~40 MB). */
  cacheEntries?: number;
  quiet: boolean;
  tempDir?: string;
}

const ONNX_FILE: Record<JinaDtype, string> = { fp32: 'model.onnx', q8: 'model_quantized.onnx', fp16: 'model_fp16.onnx' };
const CONFIG_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

/** Copies what the site needs into outDir/models/<id>/ and describes the copies for the manifest. */
function copyModel(src: string, outDir: string, id: string, dtypes: JinaDtype[]): Promise<ManifestFile[]> {
  return copyModelFolder(src, outDir, id, {
    what: 'model',
    configFiles: CONFIG_FILES,
    requiredConfig: ['config.json', 'tokenizer.json'],
    onnxFiles: dtypes.map((dt) => ONNX_FILE[dt]),
    requireOnnx: false,
  });
}

/**
 * Input hash part for the pipeline's stage record: the options that change vectors and the sha256
 * of the model files they are computed with (config, tokenizer, the ONNX file of `dtype`).
 */
export async function embedJinaInputHash(opts: EmbedJinaOptions): Promise<string> {
  const dtype = opts.dtype ?? 'q8';
  const parts = [
    'embed-jina-v1',
    JSON.stringify({ id: opts.id ?? null, maxTokens: opts.maxTokens ?? null, dtype, siteDtypes: opts.siteDtypes ?? null }),
  ];
  for (const f of [...CONFIG_FILES, `onnx/${ONNX_FILE[dtype]}`]) {
    const p = join(opts.modelDir, f);
    parts.push(`${f}:${(await isFile(p)) ? await sha256File(p) : '-'}`);
  }
  return sha256Text(...parts);
}

interface Cached {
  codes: Int8Array;
  scale: number;
  truncated: boolean;
  tokens: number;
}

export async function runEmbedJina(
  outDir: string,
  tables: Record<string, ManifestFile[]>,
  opts: EmbedJinaOptions,
  tempDir = opts.tempDir ?? join(outDir, '..', '.duckdb-tmp'),
): Promise<StageOutputs> {
  const id = opts.id ?? deriveEmbedderId(JINA_CODE_MODEL_ID);
  const dtype = opts.dtype ?? 'q8';
  const siteDtypes = [...new Set<JinaDtype>([dtype, ...(opts.siteDtypes ?? ['q8', 'fp16'])])];
  if (!(await isFile(join(opts.modelDir, 'onnx', ONNX_FILE[dtype])))) {
    throw new Error(`model folder ${opts.modelDir} has no onnx/${ONNX_FILE[dtype]} (needed for --dtype ${dtype})`);
  }
  const out = emptyOutputs();
  out.models[id] = await copyModel(opts.modelDir, outDir, id, siteDtypes);

  let bar: Progress | null = null;
  let lastDone = 0;
  const embedder = new JinaEmbedder({
    modelId: id,
    id,
    modelBase: join(outDir, 'models'),
    device: 'cpu',
    dtype,
    maxTokens: opts.maxTokens,
    batchSize: opts.batchSize,
    sessionOptions: { intraOpNumThreads: opts.threads ?? availableParallelism() },
    onProgress: (p) => {
      if (p.phase !== 'embed') return;
      if (p.done < lastDone) lastDone = 0; // a new call started
      bar?.tick(p.done - lastDone);
      lastDone = p.done;
    },
  });
  await embedder.load();
  const dim = embedder.dim;

  const shards = tables[TABLE.functions] ?? [];
  const total = shards.reduce((n, s) => n + (s.rows ?? 0), 0);
  const cacheCap = opts.cacheEntries ?? 50_000;
  const cache = new Map<string, Cached>();
  const db = await openDb({ tempDir });
  let truncatedRows = 0;
  let tokenSum = 0;
  try {
    const table = TABLE.vectors(id);
    bar = createProgress({ label: `embed: ${id} vectors`, total, unit: 'functions', quiet: opts.quiet });
    const files: ManifestFile[] = [];
    for (const [s, shard] of shards.entries()) {
      await db.exec('CREATE OR REPLACE TABLE vec (id UINTEGER, embedding BLOB, scale FLOAT, truncated BOOLEAN, tokens INTEGER)');
      const appender = await db.conn.createAppender('vec');
      for await (const { ids, texts } of functionBodies(db, [join(outDir, shard.path)])) {
        const hashes = texts.map((t) => contentHash(t));
        const missIdx: number[] = [];
        for (let i = 0; i < texts.length; i++) if (!cache.has(hashes[i])) missIdx.push(i);
        lastDone = 0;
        if (missIdx.length > 0) {
          const r = await embedder.embedDetailed(missIdx.map((i) => texts[i]));
          const { codes, scales } = quantizeInt8(r.vectors, dim);
          missIdx.forEach((i, k) => {
            if (cache.size >= cacheCap) cache.delete(cache.keys().next().value as string); // oldest first
            cache.set(hashes[i], { codes: codes.slice(k * dim, (k + 1) * dim), scale: scales[k], truncated: r.truncated[k] === 1, tokens: r.tokens[k] });
          });
        }
        // Rows answered by the cache or by a duplicate in the chunk were not counted by the embedder.
        bar.tick(texts.length - lastDone);
        for (let i = 0; i < ids.length; i++) {
          const c = cache.get(hashes[i]) as Cached;
          appender.appendUInteger(ids[i]);
          appender.appendBlob(new Uint8Array(c.codes.buffer, c.codes.byteOffset, dim));
          appender.appendFloat(c.scale);
          appender.appendBoolean(c.truncated);
          appender.appendInteger(c.tokens);
          appender.endRow();
          if (c.truncated) truncatedRows++;
          tokenSum += c.tokens;
        }
      }
      appender.closeSync();
      const rel = `${table}-${String(s).padStart(5, '0')}.parquet`;
      files.push(
        await writeParquet(db, 'SELECT id, embedding, scale, truncated, tokens FROM vec ORDER BY id', outDir, rel, { rowGroupRows: 8192, ...sameExtentAs(shard) }),
      );
    }
    bar.done();
    out.tables[table] = files;
    const info: EmbeddingInfo = { model: id, table, dim, dtype: 'int8', model_files: id };
    out.facts = {
      embedding: info,
      jina: {
        dtype,
        max_tokens: embedder.maxTokens,
        truncated: truncatedRows,
        mean_tokens: total > 0 ? tokenSum / total : 0,
        model_calls: embedder.stats.modelCalls,
        rows_embedded: embedder.stats.rowsEmbedded,
      },
    };
    return out;
  } finally {
    db.close();
    await embedder.dispose();
  }
}
