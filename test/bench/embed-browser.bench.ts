// Jina embedding throughput in headless Chromium (transformers.js on onnxruntime-web WASM, through
// src/core/embed/jina.ts, as the site's embed worker runs it) against the same JinaEmbedder in Node
// on onnxruntime-node (device 'cpu', intraOpNumThreads 2), on the same real stdlib functions, one
// snippet per model call (batch 1: a search query or one uploaded function at a time).
//
// Model: the random-weight q8 model of the real jina-embeddings-v2-base-code geometry that
// test/fixtures/models/gen-jina.py writes (ensureTinyJinaModel({ mode: 'full' }), ~154 MB, cached).
// The page gets it, and ORT's WASM files, from the bench's own 127.0.0.1 server (browser/server.ts),
// which sends COOP/COEP so the page is cross-origin isolated and ORT may use WASM threads.
// EMBED_BROWSER_SNIPPETS scales the snippet count for a trial (default 32).
import { loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JinaEmbedder } from '../../src/core/embed/jina.ts';
import { ensureTinyJinaModel, REPO_ROOT } from '../fixtures/models/jina-fixture.ts';
import { stdlibFunctions } from '../unit/embed/stdlib-corpus.ts';
import { openBenchPage } from './browser/server.ts';
import type { EmbedPageApi } from './browser/embed-entry.ts';
import type { BenchResult } from './types.ts';

const SNIPPETS = Number(process.env.EMBED_BROWSER_SNIPPETS ?? 32);
const THREADS = 2;
/** onnxruntime-web threads in the page when it is cross-origin isolated (default 2, as Node). */
const PAGE_THREADS = Number(process.env.EMBED_BROWSER_THREADS ?? THREADS);
const MAX_TOKENS = 512;
const ENTRY = fileURLToPath(new URL('./browser/embed-entry.ts', import.meta.url));

type Api = { __embed: EmbedPageApi };

function log(msg: string): void {
  process.stderr.write(`embed-browser: ${msg}\n`);
}

export default async function bench(): Promise<BenchResult> {
  const dir = await ensureTinyJinaModel({ mode: 'full', dtypes: ['q8'] });
  const all = stdlibFunctions(2000).map((f) => f.text);
  // Every 25th distinct function, so the sample spans many modules (as embed-jina.bench.ts).
  const texts = [...new Set(all)].filter((_, i) => i % 25 === 0).slice(0, SNIPPETS);
  const notes: string[] = [];

  const node = new JinaEmbedder({ modelId: basename(dir), modelBase: dirname(dir), device: 'cpu', dtype: 'q8', batchSize: 1, maxTokens: MAX_TOKENS, sessionOptions: { intraOpNumThreads: THREADS } });
  const nl0 = performance.now();
  await node.load();
  const nodeLoadS = (performance.now() - nl0) / 1000;
  const tokens = await Promise.all(texts.map((t) => node.tokenize(t)));
  const meanTokens = tokens.reduce((s, t) => s + t.ids.length, 0) / tokens.length;

  const page = await openBenchPage(ENTRY, {
    mounts: { '/models/': dirname(dir), '/ort/': join(REPO_ROOT, 'node_modules', 'onnxruntime-web', 'dist') },
  });
  try {
    const threads = page.isolated ? PAGE_THREADS : 1;
    const loaded = await page.evaluate((a) => (globalThis as unknown as Api).__embed.load(a), { modelId: basename(dir), threads, maxTokens: MAX_TOKENS });
    log(`page loaded the model in ${loaded.s.toFixed(1)} s (isolated ${page.isolated}, ${loaded.threads} threads)`);
    // Warm-up: first runs on both sides (JIT, ORT's first-run allocations).
    await page.evaluate((a) => (globalThis as unknown as Api).__embed.embed(a), { texts: texts.slice(0, 2) });
    await node.embed(texts.slice(0, 2));
    // Paired per snippet, alternating which side goes first: the machine is shared, so only
    // measurements taken moments apart compare.
    let pageS = 0;
    let nodeS = 0;
    let head: number[] = [];
    let nodeHead: number[] = [];
    for (const [i, t] of texts.entries()) {
      const runPage = async (): Promise<void> => {
        const r = await page.evaluate((a) => (globalThis as unknown as Api).__embed.embed(a), { texts: [t] });
        pageS += r.s;
        if (i === 0) head = r.head;
      };
      const runNode = async (): Promise<void> => {
        const t0 = performance.now();
        const v = await node.embed([t]);
        nodeS += (performance.now() - t0) / 1000;
        if (i === 0) nodeHead = Array.from(v.subarray(0, 8));
      };
      if (i % 2 === 0) {
        await runPage();
        await runNode();
      } else {
        await runNode();
        await runPage();
      }
      if (i % 8 === 7) log(`${i + 1}/${texts.length}: page ${pageS.toFixed(1)} s, node ${nodeS.toFixed(1)} s`);
    }
    const maxDiff = head.reduce((m, x, j) => Math.max(m, Math.abs(x - (nodeHead[j] ?? Number.NaN))), 0);
    const ua = await page.evaluate(() => navigator.userAgent, null);
    if (page.notFound.length) notes.push(`not on the bench server (404, transformers.js probes optional files): ${[...new Set(page.notFound)].join(', ')}`);
    if (page.errors.length) notes.push(`page console errors: ${page.errors.slice(0, 3).join(' | ').slice(0, 400)}`);
    notes.push(
      `${texts.length} real functions cut from the Python stdlib (test/unit/embed/stdlib-corpus.ts, every 25th distinct one), ${meanTokens.toFixed(0)} tokens on average with the fixture's tokenizer (max ${MAX_TOKENS}); one snippet per embed() call (batch 1), paired snippet by snippet, alternating which side runs first; one warm-up call of 2 snippets on each side first`,
      `Chromium ${/Chrome\/([\d.]+)/.exec(ua)?.[1] ?? ua} headless: the page ${page.isolated ? 'WAS' : 'was NOT'} cross-origin isolated (COOP same-origin + COEP require-corp from the bench server), so onnxruntime-web ran with ${loaded.threads} WASM thread(s) (numThreads ${threads}), SIMD build ort-wasm-simd-threaded.asyncify, on the page's main thread (proxy off); the site runs the same code in its embed worker`,
      `model load: Chromium ${loaded.s.toFixed(1)} s (fetch of the ~154 MB q8 model from 127.0.0.1 + session creation), Node ${nodeLoadS.toFixed(1)} s`,
      `same model, same tokens: first snippet's first 8 components differ by at most ${maxDiff.toExponential(1)} between ORT-web and ORT-node`,
      `model: random weights, real Jina geometry (12 x 768, 12 heads, vocab 61056, ALiBi, GEGLU), q8 (MatMulInteger + DynamicQuantizeLinear); absolute rates are indicative, the ratio is the result`,
      `load average at the end (1/5/15 min): ${loadavg().map((x) => x.toFixed(1)).join(' / ')} on this shared 2-core machine`,
    );
    return {
      name: 'embed-jina in Chromium',
      peer: `the same JinaEmbedder in Node on onnxruntime-node (device 'cpu', intraOpNumThreads ${THREADS}), same snippets, same run`,
      rows: [
        { metric: `embed ${texts.length} stdlib functions, q8, batch 1, Chromium WASM vs Node (snippets/s)`, ours: texts.length / pageS, peer: texts.length / nodeS, unit: 'snippets/s', higherIsBetter: true },
        { metric: 'ms per snippet, Chromium WASM vs Node', ours: (pageS / texts.length) * 1000, peer: (nodeS / texts.length) * 1000, unit: 'ms', higherIsBetter: false },
        { metric: 'model load, Chromium (fetch + session) vs Node', ours: loaded.s, peer: nodeLoadS, unit: 's', higherIsBetter: false },
      ],
      notes,
    };
  } finally {
    await page.close();
    await node.dispose();
  }
}
