// Page side of embed-browser.bench.ts: JinaEmbedder (transformers.js on onnxruntime-web WASM) with
// the model and ORT's WASM files served by the bench's own server, as workers/embed.ts configures
// them on the site (never a CDN).
import { env } from '@huggingface/transformers';
import { JinaEmbedder } from '../../../src/core/embed/jina.ts';

export interface EmbedPageApi {
  /** Loads the model; returns seconds and the thread count ORT was given. */
  load(arg: { modelId: string; threads: number; maxTokens: number }): Promise<{ s: number; threads: number }>;
  /** Embeds the texts (batch 1, one call per text); returns seconds and the first vector's head. */
  embed(arg: { texts: string[] }): Promise<{ s: number; perText: number[]; head: number[] }>;
}

const wasm = env.backends.onnx.wasm;
if (wasm) {
  wasm.wasmPaths = { wasm: '/ort/ort-wasm-simd-threaded.asyncify.wasm', mjs: '/ort/ort-wasm-simd-threaded.asyncify.mjs' };
  wasm.proxy = false;
}

let embedder: JinaEmbedder | null = null;

const api: EmbedPageApi = {
  async load({ modelId, threads, maxTokens }) {
    const t0 = performance.now();
    embedder = new JinaEmbedder({ modelId, modelBase: '/models/', device: 'wasm', dtype: 'q8', batchSize: 1, maxTokens, wasmThreads: threads });
    await embedder.load();
    return { s: (performance.now() - t0) / 1000, threads: env.backends.onnx.wasm?.numThreads ?? 0 };
  },
  async embed({ texts }) {
    const e = embedder;
    if (!e) throw new Error('load first');
    const perText: number[] = [];
    let head: number[] = [];
    const t0 = performance.now();
    for (const [i, t] of texts.entries()) {
      const s0 = performance.now();
      const v = await e.embed([t]);
      perText.push(performance.now() - s0);
      if (i === 0) head = Array.from(v.subarray(0, 8));
    }
    return { s: (performance.now() - t0) / 1000, perText, head };
  },
};

const g = globalThis as unknown as { __embed: EmbedPageApi; __kernelsReady: boolean };
g.__embed = api;
g.__kernelsReady = true;
