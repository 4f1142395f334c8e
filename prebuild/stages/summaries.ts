// Stage: summaries. For every undocumented function, a one-sentence summary:
//   - always the offline retrieval summariser (core/summarize/retrieval.ts): the first sentence of
//     the docstring of the nearest documented function by the active embedding (Jina when the data
//     set has it, else TF-IDF/SVD), itself and exact duplicates excluded;
//   - with --summarizer-model-dir, also the seq2seq model (core/summarize/seq2seq.ts, e.g. CodeT5),
//     whose files are copied to <out>/models/<id>/ so the site can run the same model in its worker.
// Writes `summaries` (id, model, text, source_id; sorted by id, model) and summaries-report.json:
// which summarisers ran, the study's docstring filter counts, and the evaluation (the study's
// Figure 26): on documented functions of held-out packages, docstrings hidden from the summarisers
// (removed from the code, the package's functions not retrievable), cosine(code embedding, text
// embedding) for the original docstring, the retrieval baseline and the generated text, with BLEU-4
// and ROUGE-L of each summariser against the filtered original docstring.
// The nearest-neighbour search (exact under IVF_ABOVE documented functions, IVF above) is batched and
// spread over threads (summaries-knn.ts, summaries-parallel.ts) with results identical to one
// KnnQuery / searchIvf() per function, so the outputs do not depend on the machine or thread count.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import type { EmbeddingInfo, ManifestFile } from '../../src/core/data/manifest.ts';
import { TABLE } from '../../src/core/data/schema.ts';
import { JinaEmbedder } from '../../src/core/embed/jina.ts';
import { deserializeTfidfSvd, TfidfSvdEmbedder, type TfidfSvdJson } from '../../src/core/embed/tfidf-svd.ts';
import type { VectorBlock } from '../../src/core/search/knn.ts';
import { DOCSTRING_FILTER_DEFAULTS, filterDocstring } from '../../src/core/summarize/docstring-filter.ts';
import { cosine, mean, scorePairs } from '../../src/core/summarize/evaluate.ts';
import { hideDocstring } from '../../src/core/summarize/hide-docstring.ts';
import { retrievalModelName, seq2seqModelName, SUMMARIES_REPORT_KEY, SUMMARIES_TABLE, type MethodFigures, type SummariesReport } from '../../src/core/summarize/report.ts';
import { chooseRetrievalSummary, lendableSummary, type RetrievalCandidate } from '../../src/core/summarize/retrieval.ts';
import { Seq2SeqSummarizer } from '../../src/core/summarize/seq2seq.ts';
import { createRng } from '../../src/core/util/random.ts';
import { openDb, sqlList, type Db } from '../duckdb.ts';
import { sha256File, sha256Text, writeFileAtomic } from '../fsutil.ts';
import { copyModelFolder, isFile } from '../model-files.ts';
import { describeFile, writeParquet } from '../parquet.ts';
import { createProgress } from '../progress.ts';
import { emptyOutputs, type StageOutputs } from '../state.ts';
import { BatchSearcher, buildIvfBatchIndex, exactBatchIndex, type BatchIndex } from '../summaries-knn.ts';
import { KnnThreads } from '../summaries-parallel.ts';
import type { PackedResults } from '../summaries-protocol.ts';
import { readCodes } from './layout.ts';

export interface SummariesOptions {
  /** A seq2seq model folder in transformers.js' layout (config.json, tokenizer.json, onnx/encoder_model_quantized.onnx, onnx/decoder_model_merged_quantized.onnx). */
  modelDir?: string | null;
  /** Undocumented functions the seq2seq model summarises at most (default: all). The retrieval summariser always does all. */
  maxGenerated?: number;
  /** New tokens per generated summary (default 32). */
  maxNewTokens?: number;
  /** Documented functions of held-out packages evaluated at most (default 200). */
  evalMax?: number;
  seed?: number;
  /** Threads for the nearest-neighbour search (default: the machine's cores); below 2, or with few queries, it runs on the main thread. Results do not depend on it. */
  workers?: number;
  quiet: boolean;
  tempDir: string;
}

/** The embedding the stage works with, and where its model is (TF-IDF files or the copied Jina folder). */
export interface SummariesEmbedding {
  info: EmbeddingInfo;
  shards: ManifestFile[];
  /** TF-IDF/SVD: the model.json and model.bin files; Jina: the copied model folder's files. */
  modelFiles: ManifestFile[];
}

const K = 20;
const IVF_ABOVE = 30_000;
const NPROBE = 8;
const SEQ2SEQ_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
const SEQ2SEQ_ONNX = ['encoder_model_quantized.onnx', 'decoder_model_merged_quantized.onnx'];

export function seq2seqModelKey(modelDir: string): string {
  return basename(modelDir).toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
}

/** Part of the stage's input hash: options and the sha256 of the seq2seq model files it would use. */
export async function summariesInputHash(opts: SummariesOptions): Promise<string> {
  const parts = ['summaries-v1', JSON.stringify({ max: opts.maxGenerated ?? null, tok: opts.maxNewTokens ?? null, evalMax: opts.evalMax ?? null, seed: opts.seed ?? 0 })];
  if (opts.modelDir) {
    parts.push(seq2seqModelKey(opts.modelDir));
    for (const f of [...SEQ2SEQ_FILES, ...SEQ2SEQ_ONNX.map((n) => `onnx/${n}`)]) {
      const p = join(opts.modelDir, f);
      parts.push(`${f}:${(await isFile(p)) ? await sha256File(p) : '-'}`);
    }
  }
  return sha256Text(...parts);
}

function copySeq2Seq(src: string, outDir: string, key: string): Promise<ManifestFile[]> {
  // The q8 files are the ones the site and the prebuild run.
  return copyModelFolder(src, outDir, key, {
    what: 'summariser model',
    configFiles: SEQ2SEQ_FILES,
    requiredConfig: ['config.json', 'tokenizer.json'],
    onnxFiles: SEQ2SEQ_ONNX,
    requireOnnx: true,
  });
}

interface FnMeta {
  ids: Uint32Array;
  repo: Uint32Array;
  docstring: (string | null)[];
  hash: string[];
}

async function readMeta(db: Db, paths: string[]): Promise<FnMeta> {
  const rows = (await db.run(`SELECT id, repo_id, docstring, content_hash FROM read_parquet(${sqlList(paths)}) ORDER BY id`)) as {
    id: number;
    repo_id: number;
    docstring: string | null;
    content_hash: string;
  }[];
  return {
    ids: Uint32Array.from(rows, (r) => r.id),
    repo: Uint32Array.from(rows, (r) => r.repo_id),
    docstring: rows.map((r) => r.docstring),
    hash: rows.map((r) => r.content_hash),
  };
}

async function readBodies(db: Db, paths: string[], ids: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let i = 0; i < ids.length; i += 2000) {
    const chunk = ids.slice(i, i + 2000);
    const rows = (await db.run(`SELECT id, body FROM read_parquet(${sqlList(paths)}) WHERE id IN (${chunk.join(',')})`)) as { id: number; body: string }[];
    for (const r of rows) out.set(Number(r.id), r.body);
  }
  return out;
}

type Int8Block = Extract<VectorBlock, { kind: 'int8' }>;

/**
 * The index for nearest-neighbour search over a pool of stored int8 vectors: exact (KnnQuery over
 * the pool) up to IVF_ABOVE rows, IVF above (buildInMemoryIvf + searchIvf, NPROBE partitions). The
 * batched searcher (summaries-knn.ts) returns exactly those results, many queries at a time.
 */
function poolIndex(pool: Int8Block, seed: number): BatchIndex {
  if (pool.ids.length <= IVF_ABOVE) return exactBatchIndex(pool);
  return buildIvfBatchIndex(pool, nlistOf(pool), NPROBE, { seed });
}

const nlistOf = (pool: Int8Block): number => Math.round(Math.sqrt(pool.ids.length));

/** Queries per batched search (bounds the per-query candidate lists and the query buffer). */
const QUERY_CHUNK = 16_384;

function subBlock(ids: Uint32Array, codes: Int8Array, scales: Float32Array, dim: number, rows: number[]): Int8Block {
  const c = new Int8Array(rows.length * dim);
  const s = new Float32Array(rows.length);
  const out = new Uint32Array(rows.length);
  rows.forEach((r, i) => {
    c.set(codes.subarray(r * dim, (r + 1) * dim), i * dim);
    s[i] = scales[r];
    out[i] = ids[r];
  });
  return { kind: 'int8', ids: out, codes: c, scales: s, dim };
}

function figures(cosines: number[], pairs: { candidate: string; reference: string }[] | null): MethodFigures {
  const s = pairs ? scorePairs(pairs) : null;
  return { cosines: cosines.map((c) => Math.round(c * 1e5) / 1e5), mean_cosine: mean(cosines), bleu4: s ? s.bleu4 : null, rougeL: s ? s.rougeL : null };
}

export async function runSummaries(outDir: string, tables: Record<string, ManifestFile[]>, emb: SummariesEmbedding, opts: SummariesOptions): Promise<StageOutputs> {
  const out = emptyOutputs();
  const seed = opts.seed ?? 0;
  const fnPaths = (tables[TABLE.functions] ?? []).map((s) => join(outDir, s.path));
  const repoPaths = (tables[TABLE.repos] ?? []).map((s) => join(outDir, s.path));
  const db = await openDb({ tempDir: opts.tempDir });
  let summarizer: Seq2SeqSummarizer | null = null;
  let jina: JinaEmbedder | null = null;
  let knn: KnnThreads | null = null;
  try {
    // 1. The embedder of the active embedding, to embed code without docstrings and summaries.
    let embedTexts: (texts: string[]) => Promise<Float32Array>;
    const dim = emb.info.dim;
    if (emb.info.model.startsWith('tfidf')) {
      const json = emb.modelFiles.find((f) => f.path.endsWith('.json'));
      const bin = emb.modelFiles.find((f) => f.path.endsWith('.bin'));
      if (!json || !bin) throw new Error(`summaries: no model files for ${emb.info.model}`);
      const model = deserializeTfidfSvd(JSON.parse(await readFile(join(outDir, json.path), 'utf8')) as TfidfSvdJson, new Uint8Array(await readFile(join(outDir, bin.path))));
      const e = new TfidfSvdEmbedder(model);
      embedTexts = async (texts) => e.embedSync(texts);
    } else {
      const key = emb.info.model_files ?? emb.info.model;
      jina = new JinaEmbedder({ modelId: key, id: emb.info.model, modelBase: join(outDir, 'models'), device: 'cpu', dtype: 'q8', sessionOptions: { intraOpNumThreads: availableParallelism() } });
      await jina.load();
      const j = jina;
      embedTexts = (texts) => j.embed(texts);
    }

    // 2. Functions, packages, and which docstrings can lend a summary.
    const meta = await readMeta(db, fnPaths);
    const n = meta.ids.length;
    const repoNames = new Map<number, string>();
    for (const r of (await db.run(`SELECT repo_id, name FROM read_parquet(${sqlList(repoPaths)})`)) as { repo_id: number; name: string }[]) repoNames.set(Number(r.repo_id), r.name);
    const filterCounts: Record<string, number> = {};
    let kept = 0;
    const lendable: (string | null)[] = new Array<string | null>(n).fill(null);
    const documented: boolean[] = new Array<boolean>(n).fill(false);
    const passesFilter = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const d = meta.docstring[i];
      documented[i] = d !== null && d.trim() !== '';
      lendable[i] = lendableSummary(d);
      if (documented[i]) {
        const v = filterDocstring(d);
        if (v.kept) {
          kept++;
          passesFilter[i] = 1;
        } else filterCounts[v.reason] = (filterCounts[v.reason] ?? 0) + 1;
      }
    }

    // 3. Held-out packages: every 5th by name (from the 3rd); with fewer than 2 packages, none.
    const names = [...new Set(meta.repo)].map((r) => ({ r, name: repoNames.get(r) ?? `#${r}` })).sort((a, b) => (a.name < b.name ? -1 : 1));
    const held = new Set<number>(names.length >= 2 ? names.filter((_, i) => i % 5 === Math.min(2, names.length - 1)).map((x) => x.r) : []);

    // 4. Stored vectors; the pool of documented functions that can lend a summary.
    const shardsTotal = emb.shards.reduce((s, f) => s + (f.rows ?? 0), 0);
    const codes = await readCodes(db, emb.shards.map((s) => join(outDir, s.path)), shardsTotal, dim);
    if (codes.n !== n) throw new Error(`summaries: ${emb.info.table} has ${codes.n} vectors for ${n} functions`);
    const rowOfId = new Map<number, number>();
    for (let i = 0; i < n; i++) rowOfId.set(meta.ids[i], i);
    const poolAll = subBlock(codes.ids, codes.codes, codes.scales, dim, [...Array(n).keys()].filter((i) => lendable[i] !== null));
    const poolOpen = subBlock(codes.ids, codes.codes, codes.scales, dim, [...Array(n).keys()].filter((i) => lendable[i] !== null && !held.has(meta.repo[i])));
    /** Query t's neighbours in a packed batch result, as the retrieval summariser takes them. */
    const candidatesOf = (r: PackedResults, t: number): RetrievalCandidate[] => {
      const out: RetrievalCandidate[] = [];
      for (let j = t * K; j < t * K + r.counts[t]; j++) {
        const id = r.ids[j];
        const row = rowOfId.get(id) as number;
        out.push({ id, distance: r.distances[j], docstring: meta.docstring[row], contentHash: meta.hash[row] });
      }
      return out;
    };
    const evalRows = [...Array(n).keys()].filter((i) => held.has(meta.repo[i]) && passesFilter[i] === 1);

    // 5. Retrieval summaries for every undocumented function, the k-NN batched (and on threads when
    //    there are many: one indexes the evaluation's pool meanwhile).
    const rows: { id: number; model: string; text: string; source: number | null }[] = [];
    const retrievalName = retrievalModelName(emb.info.model);
    const undocumented = [...Array(n).keys()].filter((i) => !documented[i]);
    const threads = Math.min(opts.workers ?? availableParallelism(), Math.ceil(undocumented.length / QUERY_CHUNK));
    if (threads >= 2) knn = new KnnThreads(threads);
    const openIndex: Promise<BatchIndex> | null = knn && evalRows.length > 0 && poolOpen.ids.length > IVF_ABOVE ? knn.build(poolOpen, nlistOf(poolOpen), NPROBE, seed) : null;
    // (Awaited at the evaluation; until then a failure must not count as unhandled.)
    openIndex?.catch(() => undefined);
    const allIndex = poolIndex(poolAll, seed);
    const findAll = knn ? null : new BatchSearcher(allIndex);
    if (knn) await knn.init(allIndex);
    const bar = createProgress({ label: 'summaries: retrieval', total: undocumented.length, unit: 'functions', quiet: opts.quiet });
    let retrieved = 0;
    const take = (part: number[], found: PackedResults): void => {
      part.forEach((i, t) => {
        const r = chooseRetrievalSummary({ id: meta.ids[i], contentHash: meta.hash[i] }, candidatesOf(found, t));
        if (r) {
          rows.push({ id: meta.ids[i], model: retrievalName, text: r.text, source: r.sourceId });
          retrieved++;
        }
      });
      bar.tick(part.length);
    };
    // Batches in order; with threads, up to one in flight per thread, results taken in order.
    const inFlight: { part: number[]; found: Promise<PackedResults> }[] = [];
    for (let a = 0; a < undocumented.length; a += QUERY_CHUNK) {
      const part = undocumented.slice(a, a + QUERY_CHUNK);
      const qs = new Float32Array(part.length * dim);
      part.forEach((i, t) => {
        const s = codes.scales[i];
        for (let j = 0; j < dim; j++) qs[t * dim + j] = codes.codes[i * dim + j] * s;
      });
      if (findAll) take(part, await findAll.searchPacked(qs, part.length, K));
      else {
        const found = (await (knn as KnnThreads).submit(qs, part.length, K)).result;
        found.catch(() => undefined); // awaited in order below
        inFlight.push({ part, found });
        while (inFlight.length > threads || (inFlight.length > 0 && a + QUERY_CHUNK >= undocumented.length)) {
          const f = inFlight.shift() as (typeof inFlight)[number];
          take(f.part, await f.found);
        }
      }
    }
    bar.done();

    // 6. The seq2seq model, when given: copied for the site, then run on undocumented functions.
    let seqName: string | null = null;
    let seqKey: string | null = null;
    let generatedRows = 0;
    if (opts.modelDir) {
      seqKey = seq2seqModelKey(opts.modelDir);
      out.models[seqKey] = await copySeq2Seq(opts.modelDir, outDir, seqKey);
      summarizer = new Seq2SeqSummarizer({
        modelId: seqKey,
        modelBase: join(outDir, 'models'),
        device: 'cpu',
        dtype: 'q8',
        maxNewTokens: opts.maxNewTokens ?? 32,
        sessionOptions: { intraOpNumThreads: availableParallelism() },
      });
      await summarizer.load();
      const cfg = JSON.parse(await readFile(join(opts.modelDir, 'config.json'), 'utf8')) as { _name_or_path?: string };
      seqName = seq2seqModelName(seqKey === seq2seqModelKey(cfg._name_or_path ?? '') ? (cfg._name_or_path as string) : seqKey);
      const todo = undocumented.slice(0, opts.maxGenerated ?? undocumented.length);
      const gbar = createProgress({ label: `summaries: ${seqKey}`, total: todo.length, unit: 'functions', quiet: opts.quiet });
      for (let a = 0; a < todo.length; a += 256) {
        const chunk = todo.slice(a, a + 256);
        const bodies = await readBodies(db, fnPaths, chunk.map((i) => meta.ids[i]));
        const res = await summarizer.summarize(chunk.map((i) => bodies.get(meta.ids[i]) ?? ''));
        chunk.forEach((i, k) => {
          if (res[k].text) {
            rows.push({ id: meta.ids[i], model: seqName as string, text: res[k].text, source: null });
            generatedRows++;
          }
        });
        gbar.tick(chunk.length);
      }
      gbar.done();
    }

    // 7. Evaluation on held-out packages.
    let evaluation: SummariesReport['evaluation'] = null;
    if (evalRows.length > 0) {
      const rng = createRng(seed + 7);
      for (let i = evalRows.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [evalRows[i], evalRows[j]] = [evalRows[j], evalRows[i]];
      }
      const sample = evalRows.slice(0, opts.evalMax ?? 200).sort((a, b) => a - b);
      const bodies = await readBodies(db, fnPaths, sample.map((i) => meta.ids[i]));
      const codeTexts = sample.map((i) => hideDocstring(bodies.get(meta.ids[i]) ?? '').code);
      const codeVecs = await embedTexts(codeTexts);
      const openFound = await new BatchSearcher(openIndex ? await openIndex : poolIndex(poolOpen, seed)).searchPacked(codeVecs, sample.length, K);
      const ids: number[] = [];
      const refs: string[] = [];
      const originals: string[] = [];
      const retrievedTexts: string[] = [];
      const keepRows: number[] = [];
      for (const [k, i] of sample.entries()) {
        const r = chooseRetrievalSummary({ id: meta.ids[i], contentHash: meta.hash[i] }, candidatesOf(openFound, k), { exclude: (id) => held.has(meta.repo[rowOfId.get(id) as number]) });
        if (!r) continue;
        keepRows.push(k);
        ids.push(meta.ids[i]);
        refs.push(filterDocstring(meta.docstring[i]).text as string);
        originals.push((meta.docstring[i] as string).trim());
        retrievedTexts.push(r.text);
      }
      let generatedTexts: string[] | null = null;
      if (summarizer) generatedTexts = (await summarizer.summarize(keepRows.map((k) => codeTexts[k]))).map((r) => r.text);
      const cosinesOf = async (texts: string[]): Promise<number[]> => {
        const v = await embedTexts(texts);
        return keepRows.map((k, j) => cosine(codeVecs.subarray(k * dim, (k + 1) * dim), v.subarray(j * dim, (j + 1) * dim)));
      };
      const pairs = (c: string[]) => c.map((candidate, j) => ({ candidate, reference: refs[j] }));
      evaluation = {
        held_out_repos: names.filter((x) => held.has(x.r)).map((x) => x.name),
        n: ids.length,
        ids,
        original: figures(await cosinesOf(originals), null),
        retrieval: figures(await cosinesOf(retrievedTexts), pairs(retrievedTexts)),
        generated: generatedTexts ? figures(await cosinesOf(generatedTexts), pairs(generatedTexts)) : null,
        bleu_smoothing: 'sentence BLEU-4, Lin & Och 2004 add-one smoothing for n >= 2 (as CodeXGLUE/CodeT5 report), averaged over functions; ROUGE-L F1',
        notes: [
          `${evalRows.length} documented functions of the held-out packages pass the docstring filter; ${sample.length} sampled (seed ${seed}), ${ids.length} with a retrievable neighbour`,
          'code embedded with its docstring removed; references are the docstrings after the study\'s filter (first sentence of long ones); "original" embeds the whole original docstring',
          `embedding: ${emb.info.model}`,
        ],
      };
    }

    // 8. The table and the report.
    rows.sort((a, b) => a.id - b.id || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
    await db.exec('CREATE OR REPLACE TABLE summ (id UINTEGER, model VARCHAR, text VARCHAR, source_id UINTEGER)');
    const ap = await db.conn.createAppender('summ');
    for (const r of rows) {
      ap.appendUInteger(r.id);
      ap.appendVarchar(r.model);
      ap.appendVarchar(r.text);
      if (r.source === null) ap.appendNull();
      else ap.appendUInteger(r.source);
      ap.endRow();
    }
    ap.closeSync();
    const rel = `${SUMMARIES_TABLE}-00000.parquet`;
    const file = await writeParquet(db, 'SELECT id, model, text, source_id FROM summ ORDER BY id, model', outDir, rel, {
      rowGroupRows: 8192,
      rows: rows.length,
      idRange: rows.length ? [rows[0].id, rows[rows.length - 1].id] : undefined,
    });
    out.tables[SUMMARIES_TABLE] = [file];
    const report: SummariesReport = {
      format: 'code-atlas/summaries-report',
      version: 1,
      summarizers: [
        { model: retrievalName, kind: 'retrieval', rows: retrieved },
        ...(seqName ? [{ model: seqName, kind: 'seq2seq' as const, rows: generatedRows }] : []),
      ],
      seq2seq_model_files: seqKey,
      embedding: emb.info.model,
      undocumented: undocumented.length,
      unsummarized: undocumented.length - retrieved,
      docstring_filter: { ...DOCSTRING_FILTER_DEFAULTS, kept, dropped: filterCounts },
      evaluation,
    };
    await writeFileAtomic(join(outDir, 'summaries-report.json'), `${JSON.stringify(report, null, 1)}\n`);
    out.models[SUMMARIES_REPORT_KEY] = [await describeFile(outDir, 'summaries-report.json')];
    out.facts = { summaries: { rows: rows.length, retrieval: retrieved, generated: generatedRows, evaluated: evaluation?.n ?? 0 } };
    return out;
  } finally {
    await knn?.close();
    db.close();
    await summarizer?.dispose();
    await jina?.dispose();
  }
}
