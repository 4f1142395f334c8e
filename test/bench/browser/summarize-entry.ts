// Page side of summarize.bench.ts: Seq2SeqSummarizer (transformers.js on onnxruntime-web WASM) with
// the model and ORT's WASM files served by the bench's own server, as workers/summarize.ts
// configures them on the site (never a CDN).
import { env } from '@huggingface/transformers';
import { Seq2SeqSummarizer } from '../../../src/core/summarize/seq2seq.ts';

export interface SummarizePageApi {
  load(arg: { modelId: string; threads: number; maxInputTokens: number; maxNewTokens: number }): Promise<{ s: number; threads: number }>;
  /** Summarises one text; seconds and the generated ids. */
  summarize(arg: { text: string }): Promise<{ s: number; tokenIds: number[]; text: string }>;
}

const wasm = env.backends.onnx.wasm;
if (wasm) {
  wasm.wasmPaths = { wasm: '/ort/ort-wasm-simd-threaded.asyncify.wasm', mjs: '/ort/ort-wasm-simd-threaded.asyncify.mjs' };
  wasm.proxy = false;
}

let s: Seq2SeqSummarizer | null = null;

const api: SummarizePageApi = {
  async load({ modelId, threads, maxInputTokens, maxNewTokens }) {
    const t0 = performance.now();
    s = new Seq2SeqSummarizer({ modelId, modelBase: '/models/', device: 'wasm', dtype: 'q8', maxInputTokens, maxNewTokens, wasmThreads: threads, cacheEntries: 1 });
    await s.load();
    return { s: (performance.now() - t0) / 1000, threads: env.backends.onnx.wasm?.numThreads ?? 0 };
  },
  async summarize({ text }) {
    if (!s) throw new Error('load first');
    const t0 = performance.now();
    const [r] = await s.summarize([text]);
    return { s: (performance.now() - t0) / 1000, tokenIds: r!.tokenIds, text: r!.text };
  },
};

const g = globalThis as unknown as { __summ: SummarizePageApi; __kernelsReady: boolean };
g.__summ = api;
g.__kernelsReady = true;
