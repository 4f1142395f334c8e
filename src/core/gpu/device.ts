// The backend policy, decided in one place: WebGPU when an adapter exists and it is not a fallback
// (software) adapter; WASM / plain JS otherwise. A fallback adapter (SwiftShader in headless
// Chromium) runs WebGPU kernels correctly but 10-60x slower than JS, so it is used only when a
// caller asks for it explicitly: the tests that hold each kernel to its CPU twin.
// Runs unchanged in Node (no navigator.gpu there: always the CPU path).

export type ComputeBackend = 'webgpu' | 'wasm';

export interface BackendChoice {
  backend: ComputeBackend;
  /** Why, in words the UI can show: "WebGPU on NVIDIA …" or "no WebGPU adapter: WASM". */
  reason: string;
  /** The adapter's description when one was found (also when it was refused as a fallback). */
  adapter: { vendor: string; architecture: string; description: string; isFallbackAdapter: boolean } | null;
}

export interface DeviceOptions {
  /** Accept a fallback (software) adapter. Only for correctness tests of kernels. */
  allowFallbackAdapter?: boolean;
  /** Storage-buffer size the kernels need, in bytes; requested as a device limit when above the default. */
  maxStorageBufferBindingSize?: number;
}

/** navigator.gpu where it exists (browsers, workers), null in Node. */
function gpuApi(): GPU | null {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu ?? null;
}

async function requestAdapter(): Promise<GPUAdapter | null> {
  const gpu = gpuApi();
  if (!gpu) return null;
  try {
    return await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch {
    return null;
  }
}

function describe(adapter: GPUAdapter): NonNullable<BackendChoice['adapter']> {
  const info = adapter.info;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: info?.isFallbackAdapter ?? false,
  };
}

/** Decides the backend for compute kernels (k-NN, k-means, MinHash). */
export async function chooseBackend(opts: DeviceOptions = {}): Promise<BackendChoice> {
  const adapter = await requestAdapter();
  if (!adapter) return { backend: 'wasm', reason: gpuApi() ? 'no WebGPU adapter: WASM' : 'no WebGPU in this environment: WASM', adapter: null };
  const info = describe(adapter);
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  if (info.isFallbackAdapter && !opts.allowFallbackAdapter) {
    return { backend: 'wasm', reason: `WebGPU adapter is a software fallback (${name}): WASM is faster`, adapter: info };
  }
  return { backend: 'webgpu', reason: `WebGPU on ${name}${info.isFallbackAdapter ? ' (software fallback, for tests)' : ''}`, adapter: info };
}

let shared: Promise<GPUDevice | null> | null = null;
let sharedKey = '';

/**
 * A GPUDevice for compute kernels, or null when the policy says CPU. One device is shared per
 * realm (page or worker) and options; a lost device is forgotten so the next call makes a new one.
 */
export function computeDevice(opts: DeviceOptions = {}): Promise<GPUDevice | null> {
  const key = JSON.stringify(opts);
  if (shared && key === sharedKey) return shared;
  sharedKey = key;
  shared = (async () => {
    const choice = await chooseBackend(opts);
    if (choice.backend !== 'webgpu') return null;
    const adapter = await requestAdapter();
    if (!adapter) return null;
    const want = opts.maxStorageBufferBindingSize ?? 0;
    const requiredLimits: Record<string, number> = {};
    if (want > 0) {
      const cap = Math.min(want, adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize);
      requiredLimits.maxStorageBufferBindingSize = cap;
      requiredLimits.maxBufferSize = cap;
    }
    const device = await adapter.requestDevice({ requiredLimits });
    void device.lost.then(() => {
      if (shared && sharedKey === key) shared = null;
    });
    return device;
  })();
  return shared;
}
