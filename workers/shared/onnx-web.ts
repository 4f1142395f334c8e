// What the workers that run transformers.js models (embed, summarize) share: ONNX Runtime's WASM
// files come from this site, never a CDN (transformers.js would otherwise point onnxruntime-web at
// jsdelivr), the thread count isolation allows, and loading a model once per request.
import { env } from '@huggingface/transformers';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';

/** Points onnxruntime-web at the site's own files; call once when the worker starts. */
export function useSiteOnnxRuntime(): void {
  if (!env.backends.onnx.wasm) return;
  env.backends.onnx.wasm.wasmPaths = { wasm: ortWasmUrl, mjs: ortMjsUrl };
  // A worker is already off the main thread; ORT's own proxy worker would only add a hop.
  env.backends.onnx.wasm.proxy = false;
}

/** WASM threads need cross-origin isolation; without it ORT runs on one. */
export function wasmThreadsHere(): number {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
}

/**
 * Wraps a model load so that calls with an equal request share one load; a failed load is
 * forgotten so that a later call may retry (e.g. after the files appear).
 */
export function loadOncePerRequest<Req, P, Res extends { ok: boolean }>(
  load: (req: Req, onProgress?: (p: P) => void) => Promise<Res>,
): (req: Req, onProgress?: (p: P) => void) => Promise<Res> {
  let loading: Promise<Res> | null = null;
  let loadedKey = '';
  return (req, onProgress) => {
    const key = JSON.stringify(req);
    if (!loading || key !== loadedKey) {
      loadedKey = key;
      loading = load(req, onProgress);
      void loading.then((r) => {
        if (!r.ok && loadedKey === key) loading = null;
      });
    }
    return loading;
  };
}
