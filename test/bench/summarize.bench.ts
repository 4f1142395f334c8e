// Summariser benchmark.
//  1. Speed: seconds per function for the seq2seq summariser (core/summarize/seq2seq.ts, i.e.
//     transformers.js' generate) on a random-weight model of the real Salesforce/codet5-base geometry
//     (test/fixtures/models/gen-t5.py --mode full, q8), in Node (onnxruntime-node) and in headless
//     Chromium (onnxruntime-web WASM), against raw onnxruntime-node greedy decoding of the same
//     encoder + merged decoder with the key-value cache (test/fixtures/models/t5-raw-ort.ts) on the
//     same token ids: the overhead ratio. Same model, same inputs, same number of new tokens (the
//     generated ids are compared).
//  2. Quality of the offline retrieval summariser on held-out packages: top-level modules of Debian's
//     Python 3.11 standard library as packages, every 5th held out; for each documented held-out
//     function whose docstring passes the study's filter, the docstring is removed from the code,
//     the code embedded with TF-IDF/SVD fitted on the other packages, and the first docstring
//     sentence of its nearest documented function in the other packages taken as its summary.
//     BLEU-4 / ROUGE-L against the filtered docstring, and cosine(code, text) for the retrieved and
//     the original docstrings (the study's Figure 26 quantities).
// SUMMARIZE_BENCH_FUNCTIONS scales the speed sample (default 6).
import { loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fitTfidfSvd, TfidfSvdEmbedder } from '../../src/core/embed/tfidf-svd.ts';
import { filterDocstring } from '../../src/core/summarize/docstring-filter.ts';
import { cosine, mean, scorePairs } from '../../src/core/summarize/evaluate.ts';
import { hideDocstring } from '../../src/core/summarize/hide-docstring.ts';
import { chooseRetrievalSummary } from '../../src/core/summarize/retrieval.ts';
import { Seq2SeqSummarizer } from '../../src/core/summarize/seq2seq.ts';
import { contentHash } from '../../src/core/util/hash.ts';
import { REPO_ROOT } from '../fixtures/models/jina-fixture.ts';
import { ensureT5Model } from '../fixtures/models/t5-fixture.ts';
import { greedyRaw, loadRawT5 } from '../fixtures/models/t5-raw-ort.ts';
import { splitDocstring, stdlibFunctions } from '../unit/embed/stdlib-corpus.ts';
import { openBenchPage } from './browser/server.ts';
import type { SummarizePageApi } from './browser/summarize-entry.ts';
import type { BenchResult } from './types.ts';

const N = Number(process.env.SUMMARIZE_BENCH_FUNCTIONS ?? 6);
const THREADS = 2;
const MAX_IN = 256;
const NEW_TOKENS = 24;
const ROOT = '/usr/lib/python3.11';
const ENTRY = fileURLToPath(new URL('./browser/summarize-entry.ts', import.meta.url));
type Api = { __summ: SummarizePageApi };

function log(msg: string): void {
  process.stderr.write(`summarize: ${msg}\n`);
}

async function quality(notes: string[]) {
  const fns = stdlibFunctions(Infinity, ROOT).map((f) => {
    const mod = f.where.split('/')[0]!.replace(/\.py#.*$/, '').replace(/#.*$/, '');
    const h = hideDocstring(f.text);
    return { mod, text: f.text, code: h.code, doc: h.removed ? (splitDocstring(f.text)?.docstring ?? null) : null };
  });
  const mods = [...new Set(fns.map((f) => f.mod))].sort();
  const held = new Set(mods.filter((_, i) => i % 5 === 2));
  const open = fns.filter((f) => !held.has(f.mod));
  const model = await fitTfidfSvd(open.map((f) => f.text), { dim: 256, seed: 0, svdSample: 20_000 });
  const e = new TfidfSvdEmbedder(model);
  const pool = open.filter((f) => f.doc && f.doc.trim().length >= 10);
  const poolVec = e.embedSync(pool.map((f) => f.text));
  const evalSet = fns.filter((f) => held.has(f.mod) && filterDocstring(f.doc).kept).filter((_, i) => i % 3 === 0).slice(0, 300);
  const codeVec = e.embedSync(evalSet.map((f) => f.code));
  const dim = e.dim;
  const refs: string[] = [];
  const retrieved: string[] = [];
  const originals: string[] = [];
  const keep: number[] = [];
  for (const [k, f] of evalSet.entries()) {
    const q = codeVec.subarray(k * dim, (k + 1) * dim);
    const cands = pool
      .map((p, j) => ({ id: j, distance: 1 - cosine(q, poolVec.subarray(j * dim, (j + 1) * dim)), docstring: p.doc, contentHash: contentHash(p.text) }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, 20);
    const r = chooseRetrievalSummary({ id: null, contentHash: contentHash(f.text) }, cands);
    if (!r) continue;
    keep.push(k);
    refs.push(filterDocstring(f.doc).text!);
    retrieved.push(r.text);
    originals.push(f.doc!.trim());
  }
  const cos = (texts: string[]) => {
    const v = e.embedSync(texts);
    return keep.map((k, j) => cosine(codeVec.subarray(k * dim, (k + 1) * dim), v.subarray(j * dim, (j + 1) * dim)));
  };
  const s = scorePairs(retrieved.map((c, j) => ({ candidate: c, reference: refs[j]! })));
  notes.push(
    `retrieval quality: ${mods.length} top-level stdlib modules/packages of ${ROOT}, ${held.size} held out (every 5th by name from the 3rd: ${[...held].slice(0, 8).join(', ')}${held.size > 8 ? ', ...' : ''}); ${keep.length} held-out documented functions passing the docstring filter (every 3rd, at most 300); TF-IDF/SVD-${dim} fitted on the ${open.length} functions of the other packages; candidates: their ${pool.length} documented functions; BLEU-4 smoothed (Lin & Och add-one for n >= 2), ROUGE-L F1, against the filtered docstring`,
  );
  return { n: keep.length, bleu: s.bleu4, rouge: s.rougeL, cosRetrieved: mean(cos(retrieved)), cosOriginal: mean(cos(originals)) };
}

export default async function bench(): Promise<BenchResult> {
  const notes: string[] = [];
  const dir = await ensureT5Model({ mode: 'full', dtypes: ['q8'] });
  const texts = [...new Set(stdlibFunctions(3000, ROOT).map((f) => f.text))].filter((t) => t.length > 300 && t.length < 4000).filter((_, i) => i % 25 === 0).slice(0, N);

  const node = new Seq2SeqSummarizer({ modelId: basename(dir), modelBase: dirname(dir), device: 'cpu', dtype: 'q8', maxInputTokens: MAX_IN, maxNewTokens: NEW_TOKENS, sessionOptions: { intraOpNumThreads: THREADS }, cacheEntries: 1 });
  const nl0 = performance.now();
  await node.load();
  const nodeLoad = (performance.now() - nl0) / 1000;
  const raw = await loadRawT5(dir, 'q8', THREADS);
  const ids = await Promise.all(texts.map((t) => node.tokenize(t)));
  const page = await openBenchPage(ENTRY, { mounts: { '/models/': dirname(dir), '/ort/': join(REPO_ROOT, 'node_modules', 'onnxruntime-web', 'dist') }, readyTimeoutMs: 120_000 });
  try {
    const threads = page.isolated ? THREADS : 1;
    const loaded = await page.evaluate((a) => (globalThis as unknown as Api).__summ.load(a), { modelId: basename(dir), threads, maxInputTokens: MAX_IN, maxNewTokens: NEW_TOKENS });
    log(`page loaded the model in ${loaded.s.toFixed(1)} s (${loaded.threads} threads)`);
    // Warm-up on each side.
    await node.summarize([texts[0]! + '\n']);
    await greedyRaw(raw, ids[0]!.ids, 2);
    await page.evaluate((a) => (globalThis as unknown as Api).__summ.summarize(a), { text: texts[0]! + '\n\n' });
    let nodeS = 0;
    let rawS = 0;
    let pageS = 0;
    let sameNode = 0;
    let samePage = 0;
    let tokens = 0;
    for (const [i, t] of texts.entries()) {
      const r0 = performance.now();
      const rawIds = await greedyRaw(raw, ids[i]!.ids, NEW_TOKENS);
      rawS += (performance.now() - r0) / 1000;
      const n0 = performance.now();
      const [r] = await node.summarize([t]);
      nodeS += (performance.now() - n0) / 1000;
      const p = await page.evaluate((a) => (globalThis as unknown as Api).__summ.summarize(a), { text: t });
      pageS += p.s;
      tokens += rawIds.length;
      if (JSON.stringify(r!.tokenIds) === JSON.stringify(rawIds)) sameNode++;
      if (JSON.stringify(p.tokenIds) === JSON.stringify(rawIds)) samePage++;
      log(`${i + 1}/${texts.length}: raw ${rawS.toFixed(1)} s, node ${nodeS.toFixed(1)} s, page ${pageS.toFixed(1)} s`);
    }
    const q = await quality(notes);
    const ua = await page.evaluate(() => navigator.userAgent, null);
    notes.unshift(
      `speed: ${texts.length} real stdlib functions (${(ids.reduce((s, x) => s + x.ids.length, 0) / ids.length).toFixed(0)} input tokens on average, at most ${MAX_IN}), ${(tokens / texts.length).toFixed(1)} new tokens each (greedy, at most ${NEW_TOKENS}; the random model rarely ends early), one function per call, after one warm-up call per side`,
      `model: random weights, Salesforce/codet5-base geometry (12+12 layers, d_model 768, 12 heads, d_ff 3072, vocab 32100, relative position buckets, tied LM head), q8 (MatMulInteger), transformers.js layout: encoder_model_quantized.onnx + decoder_model_merged_quantized.onnx (If on use_cache_branch)`,
      `same tokens as raw ORT greedy decoding: Node transformers.js ${sameNode}/${texts.length}, Chromium ${samePage}/${texts.length} (q8 on ORT-web may round differently)`,
      `Chromium ${/Chrome\/([\d.]+)/.exec(ua)?.[1] ?? ua} headless, page ${page.isolated ? 'cross-origin isolated' : 'NOT isolated'}, onnxruntime-web WASM SIMD with ${loaded.threads} thread(s), main thread (the site runs the same code in its summarize worker); model load: Chromium ${loaded.s.toFixed(1)} s, Node ${nodeLoad.toFixed(1)} s`,
      `Node: onnxruntime-node 1.30 through transformers.js 4.3.1 and raw, intraOpNumThreads ${THREADS}`,
      `load average at the end (1/5/15 min): ${loadavg().map((x) => x.toFixed(1)).join(' / ')} on this shared 2-core machine`,
    );
    return {
      name: 'summarizer',
      peer: `raw onnxruntime-node greedy decoding with the key-value cache (encoder once, merged decoder per token, argmax), same model file, same token ids, same run`,
      rows: [
        { metric: 'seconds per function, Node (transformers.js generate) vs raw ORT', ours: nodeS / texts.length, peer: rawS / texts.length, unit: 's', higherIsBetter: false },
        { metric: 'seconds per function, Chromium WASM vs raw ORT (Node)', ours: pageS / texts.length, peer: rawS / texts.length, unit: 's', higherIsBetter: false },
        { metric: 'retrieval baseline BLEU-4 (held-out stdlib packages)', ours: q.bleu, peer: null, unit: 'BLEU-4', higherIsBetter: true },
        { metric: 'retrieval baseline ROUGE-L F1', ours: q.rouge, peer: null, unit: 'ROUGE-L', higherIsBetter: true },
        { metric: 'mean cosine(code, retrieved summary), TF-IDF/SVD', ours: q.cosRetrieved, peer: null, unit: 'cosine', higherIsBetter: true },
        { metric: 'mean cosine(code, original docstring), TF-IDF/SVD', ours: q.cosOriginal, peer: null, unit: 'cosine', higherIsBetter: true },
        { metric: 'held-out functions evaluated', ours: q.n, peer: null, unit: 'functions', higherIsBetter: true },
      ],
      notes,
    };
  } finally {
    await page.close();
    await raw.release();
    await node.dispose();
  }
}
