// WebAssembly SIMD (f32x4) "A times B-transposed" for the high-dimension distance kernels: V8 does
// not vectorise JS, and a 768-d dot product is where k-means (mini-batch, final labelling) and the
// silhouette spend their time (a 4 x 2 register tile measured 17-24 G multiply-adds/s here, against
// 13-16 for 2 x 4 and ~2.6 for the best scalar JS kernel). The module is ~1 KB, compiled
// synchronously (allowed for small modules on a browser main thread, unrestricted in workers and
// Node) from the bytes below.
// Source: simd-dot.wat beside this file; regenerate with
//   wat2wasm src/core/cluster/simd-dot.wat -o /tmp/simd-dot.wasm && base64 -w0 /tmp/simd-dot.wasm
// (wabt 1.0.32; a unit test checks these bytes against the .wat when wat2wasm is installed).
// Where WebAssembly SIMD is missing, simdKernel() returns null and callers use their JS loops.
//
// Precision: products and sums are float32 (4 partial sums per lane), like scikit-learn's float32
// GEMM path. Callers that must reproduce exact float64 decisions (k-means labels) recheck the
// candidates within an error margin (see distance.ts).

export const SIMD_DOT_WASM_BASE64 = 'AGFzbQEAAAABFgNgAXsBfWADf39/AX1gBn9/f39/fwADBAMAAQIFAwEAAQcUAgZtZW1vcnkCAAdnZW1tX250AAIK2AcDGQAgAP0fACAA/R8BkiAA/R8CIAD9HwOSkgtUAgF/AXv9DAAAAAAAAAAAAAAAAAAAAAAhBEEAIQMCQANAIAMgAk8NASAEIAAgA2r9AAQAIAEgA2r9AAQA/eYB/eQBIQQgA0EQaiEDDAALCyAEEAAL5gYMBX8BewJ/AXsCfwF7An8BewJ/AXsCfwh7IAVBAnQhBkEAIQcCQANAIAdBBGogA0sNASAAIAcgBmxqIQwgAiAHIARsQQJ0aiENIAwgBmohDyANIARBAnRqIRAgDyAGaiESIBAgBEECdGohEyASIAZqIRUgEyAEQQJ0aiEWQQAhCAJAA0AgCEECaiAESw0BIAEgCCAGbGohGCAYIAZqIRn9DAAAAAAAAAAAAAAAAAAAAAAhGv0MAAAAAAAAAAAAAAAAAAAAACEb/QwAAAAAAAAAAAAAAAAAAAAAIRz9DAAAAAAAAAAAAAAAAAAAAAAhHf0MAAAAAAAAAAAAAAAAAAAAACEe/QwAAAAAAAAAAAAAAAAAAAAAIR/9DAAAAAAAAAAAAAAAAAAAAAAhIP0MAAAAAAAAAAAAAAAAAAAAACEhQQAhCQJAA0AgCSAGTw0BIAwgCWr9AAQAIQ4gDyAJav0ABAAhESASIAlq/QAEACEUIBUgCWr9AAQAIRcgGCAJav0ABAAhCyAaIA4gC/3mAf3kASEaIBwgESAL/eYB/eQBIRwgHiAUIAv95gH95AEhHiAgIBcgC/3mAf3kASEgIBkgCWr9AAQAIQsgGyAOIAv95gH95AEhGyAdIBEgC/3mAf3kASEdIB8gFCAL/eYB/eQBIR8gISAXIAv95gH95AEhISAJQRBqIQkMAAsLIA0gCEECdGogGhAAOAIAIA0gCEECdGogGxAAOAIEIBAgCEECdGogHBAAOAIAIBAgCEECdGogHRAAOAIEIBMgCEECdGogHhAAOAIAIBMgCEECdGogHxAAOAIEIBYgCEECdGogIBAAOAIAIBYgCEECdGogIRAAOAIEIAhBAmohCAwACwsCQANAIAggBE8NASABIAggBmxqIRggDSAIQQJ0aiAMIBggBhABOAIAIBAgCEECdGogDyAYIAYQATgCACATIAhBAnRqIBIgGCAGEAE4AgAgFiAIQQJ0aiAVIBggBhABOAIAIAhBAWohCAwACwsgB0EEaiEHDAALCwJAA0AgByADTw0BIAAgByAGbGohDCACIAcgBGxBAnRqIQ1BACEIAkADQCAIIARPDQEgDSAIQQJ0aiAMIAEgCCAGbGogBhABOAIAIAhBAWohCAwACwsgB0EBaiEHDAALCws=';

export interface SimdKernel {
  /** Float32 view of the module memory holding at least `floats` values (views go stale on growth). */
  reserve(floats: number): Float32Array;
  /**
   * out[r * cols + c] = sum_t a[r * inner + t] * b[c * inner + t]. Offsets are in floats and must
   * be multiples of 4; `inner` must be a multiple of 4 (zero-pad rows).
   */
  gemmNT(aOff: number, bOff: number, outOff: number, rows: number, cols: number, inner: number): void;
}

let instance: SimdKernel | null | undefined;
let enabled = true;

function decode(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(s.length));
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function create(): SimdKernel | null {
  const wa = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  if (!wa) return null;
  try {
    const bytes = decode(SIMD_DOT_WASM_BASE64);
    if (!wa.validate(bytes)) return null; // no SIMD in this engine
    const inst = new wa.Instance(new wa.Module(bytes), {});
    const memory = inst.exports.memory as WebAssembly.Memory;
    const gemm = inst.exports.gemm_nt as (a: number, b: number, out: number, rows: number, cols: number, inner: number) => void;
    let view = new Float32Array(memory.buffer);
    return {
      reserve(floats: number): Float32Array {
        const bytes = floats * 4;
        if (bytes > memory.buffer.byteLength) {
          memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
          view = new Float32Array(memory.buffer);
        } else if (view.buffer !== memory.buffer) view = new Float32Array(memory.buffer);
        return view;
      },
      gemmNT(aOff, bOff, outOff, rows, cols, inner) {
        gemm(aOff * 4, bOff * 4, outOff * 4, rows, cols, inner);
      },
    };
  } catch {
    return null;
  }
}

/** The shared SIMD kernel, or null where WebAssembly SIMD is unavailable (or disabled). */
export function simdKernel(): SimdKernel | null {
  if (!enabled) return null;
  if (instance === undefined) instance = create();
  return instance;
}

/** Turns the SIMD path off / on (tests compare it with the float64 JS path; benchmarks report both). */
export function setSimdEnabled(on: boolean): void {
  enabled = on;
}

/** Rounds a row length up to a multiple of 4 floats (the kernel's row stride). */
export function simdStride(d: number): number {
  return (d + 3) & ~3;
}
