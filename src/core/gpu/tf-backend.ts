// Picks the TensorFlow.js backend for the VAE (and any other tfjs work), once per realm.
// Policy (see ARCHITECTURE.md "Backends" and STACK.md):
//   1. 'webgpu' only when navigator.gpu gives an adapter that is not a fallback adapter: the
//      fallback here is SwiftShader, which is 10-60x slower than tfjs WASM for this work.
//   2. 'wasm' (XNNPACK, SIMD) with multithreading switched off: the threaded build hangs workers in a
//      cross-origin-isolated page and cannot start in Node (its pthread workers are blob: URLs).
//   3. 'cpu' (plain JS) as the last resort.
// Backends are imported lazily so that a page that never trains does not download their code, and
// so that Node never evaluates the WebGPU backend.

import * as tf from '@tensorflow/tfjs';

export type TfBackendName = 'webgpu' | 'wasm' | 'cpu';

export interface TfBackendOptions {
  /**
   * Where the tfjs-backend-wasm binaries live: a URL/path prefix ending in '/', or a map from file
   * name (tfjs-backend-wasm.wasm, tfjs-backend-wasm-simd.wasm, ...) to URL. Left unset, tfjs looks
   * next to its own script (fine in Node, usually wrong behind a bundler).
   */
  wasmPaths?: string | Partial<Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm', string>>;
  /** Backends to try, in order (default ['webgpu', 'wasm', 'cpu']). Leave one out to skip it. */
  order?: TfBackendName[];
}

export interface TfBackendChoice {
  backend: TfBackendName;
  /** Human-readable reason, for the UI and logs. */
  reason: string;
  /** Backends tried before the chosen one and why each was passed over. */
  skipped: { backend: TfBackendName; why: string }[];
}

// Minimal structural types for navigator.gpu: core code does not depend on the DOM typings, and
// this also runs in workers (WorkerNavigator.gpu) and in Node (no navigator.gpu).
interface GpuAdapterLike {
  info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; description?: string };
  /** Older Chromium exposed the flag on the adapter itself. */
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}

/** Whether a real (non-fallback) WebGPU adapter exists, and a description of what was found. */
export async function probeWebGpu(): Promise<{ ok: boolean; why: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  if (!nav?.gpu) return { ok: false, why: 'navigator.gpu is not available' };
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { ok: false, why: `requestAdapter failed: ${(err as Error).message}` };
  }
  if (!adapter) return { ok: false, why: 'no WebGPU adapter' };
  const fallback = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  const name = [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.description].filter(Boolean).join(' ') || 'unnamed adapter';
  if (fallback) return { ok: false, why: `only a fallback (software) WebGPU adapter: ${name}` };
  return { ok: true, why: `WebGPU adapter ${name}` };
}

async function tryWebGpu(): Promise<string> {
  const probe = await probeWebGpu();
  if (!probe.ok) throw new Error(probe.why);
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
  return probe.why;
}

async function tryWasm(opts: TfBackendOptions): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Must be set before the backend initialises: the threaded build hangs (browser) or fails (Node).
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (opts.wasmPaths !== undefined) wasm.setWasmPaths(opts.wasmPaths);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed (binary not found or not loadable)');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return `WebAssembly${simd ? ' SIMD' : ''}, single-threaded`;
}

let current: Promise<TfBackendChoice> | null = null;

/**
 * Selects and initialises the backend (idempotent: later calls return the first choice; pass
 * `force` to choose again, e.g. in tests). Never throws: 'cpu' always works.
 */
export function initTfBackend(opts: TfBackendOptions = {}, force = false): Promise<TfBackendChoice> {
  if (!current || force) current = choose(opts);
  return current;
}

async function choose(opts: TfBackendOptions): Promise<TfBackendChoice> {
  const order = opts.order ?? ['webgpu', 'wasm', 'cpu'];
  const skipped: { backend: TfBackendName; why: string }[] = [];
  for (const backend of order) {
    try {
      let reason: string;
      if (backend === 'webgpu') reason = await tryWebGpu();
      else if (backend === 'wasm') reason = await tryWasm(opts);
      else {
        if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend("cpu") failed');
        reason = 'plain JavaScript (no WebGPU adapter and no usable WebAssembly backend)';
      }
      await tf.ready();
      return { backend, reason, skipped };
    } catch (err) {
      skipped.push({ backend, why: (err as Error).message });
    }
  }
  // Every listed backend failed: cpu is always registered by @tensorflow/tfjs.
  await tf.setBackend('cpu');
  await tf.ready();
  return { backend: 'cpu', reason: `fallback after: ${skipped.map((s) => `${s.backend}: ${s.why}`).join('; ')}`, skipped };
}
