// The embed worker: loads the Jina code embedder (transformers.js on onnxruntime-web) and embeds
// search queries and uploaded functions. WebGPU (fp16) only when the backend policy says a real
// GPU exists, else WASM (q8). ONNX Runtime's WASM files come from this site, never from a CDN:
// transformers.js would otherwise point onnxruntime-web at jsdelivr.
import * as Comlink from 'comlink';
import { loadOncePerRequest, useSiteOnnxRuntime, wasmThreadsHere } from './shared/onnx-web.ts';
import { chooseBackend } from '../src/core/gpu/device.ts';
import { JinaEmbedder, ModelLoadError, type EmbedProgress, type JinaDevice, type JinaDtype } from '../src/core/embed/jina.ts';

export type { EmbedProgress };

export interface EmbedLoadRequest {
  modelId: string;
  /** Folder URL holding `<modelId>/` (the data set's models/ folder). */
  modelBase: string;
  /** Also try the Hugging Face hub when the model is not on this site (off unless the user asks). */
  allowRemote: boolean;
  maxTokens?: number;
}

export type EmbedLoadResult =
  | { ok: true; id: string; dim: number; device: JinaDevice; dtype: JinaDtype; reason: string; loadMs: number }
  | { ok: false; message: string; reason: string };

useSiteOnnxRuntime();

let embedder: JinaEmbedder | null = null;

async function load(req: EmbedLoadRequest, onProgress?: (p: EmbedProgress) => void): Promise<EmbedLoadResult> {
  const t0 = performance.now();
  const choice = await chooseBackend();
  const device: JinaDevice = choice.backend === 'webgpu' ? 'webgpu' : 'wasm';
  const e = new JinaEmbedder({
    modelId: req.modelId,
    modelBase: req.modelBase,
    allowRemote: req.allowRemote,
    device,
    maxTokens: req.maxTokens ?? 512,
    wasmThreads: wasmThreadsHere(),
    onProgress,
  });
  try {
    await e.load();
  } catch (err) {
    const message = err instanceof ModelLoadError ? err.message : `could not load ${req.modelId}: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, message, reason: choice.reason };
  }
  embedder = e;
  return { ok: true, id: e.id, dim: e.dim, device: e.device, dtype: e.dtype, reason: choice.reason, loadMs: Math.round(performance.now() - t0) };
}

const loadShared = loadOncePerRequest(load);

const api = {
  /** Loads the model once per (id, base); later calls share the first load. */
  load(req: EmbedLoadRequest, onProgress?: (p: EmbedProgress) => void): Promise<EmbedLoadResult> {
    return loadShared(req, onProgress);
  },

  /** Embeds one search query (L2-normalised, dim values). */
  async embedQuery(text: string): Promise<Float32Array> {
    if (!embedder) throw new Error('the embedding model is not loaded');
    const v = await embedder.embed([text], { kind: 'query' });
    return Comlink.transfer(v, [v.buffer]);
  },

  /** Embeds documents (function bodies, as the prebuild embeds the corpus): texts.length x dim values. */
  async embedDocuments(texts: string[]): Promise<Float32Array> {
    if (!embedder) throw new Error('the embedding model is not loaded');
    const v = await embedder.embed(texts, { kind: 'document' });
    return Comlink.transfer(v, [v.buffer]);
  },
};

export type EmbedApi = typeof api;

Comlink.expose(api);
