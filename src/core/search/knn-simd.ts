// WebAssembly SIMD kernels for int8 rows (the stored format) and float32 rows, the CPU fast path of
// knn.ts for cosine (dot), L2 and L1. Arithmetic is f64x2: the same float64 maths as the JS loops, two lanes at
// a time, so rankings stay those of a float64 brute force; only the summation order differs.
// Measured here (768-d int8, one thread): ~0.4-0.5 ns per component against ~1.0-1.2 for the JS
// loops, plus ~0.2 ns to copy codes into WASM memory.
//
// Source: knn-simd.wat next to this file, assembled with wabt (Debian's wabt 1.0.32 `wat2wasm` gives these exact bytes;
// as does the wabt npm package's parseWat(..., { simd: true }).toBinary()); the bytes are inlined below so
// no loader, fetch or file access is needed in Node, Vite or a worker.
const WASM_BASE64 =
  'AGFzbQEAAAABHANgBX9/f39/AGAHf39/f39/fABgBn9/f39/fAADBwYAAQECAgIFAwEAAQc5BwZtZW1vcnkCAAVkb3RJOAAABGwySTgAAQRsMUk4AAIGZG90RjMyAAMFbDJGMzIABAVsMUYzMgAFCqsUBtoCAgR/B3sCQANAIAUgAk8NAf0MAAAAAAAAAAAAAAAAAAAAACEJ/QwAAAAAAAAAAAAAAAAAAAAAIQr9DAAAAAAAAAAAAAAAAAAAAAAhC/0MAAAAAAAAAAAAAAAAAAAAACEMIAEgBSADbGohB0EAIQYgACEIAkADQCAGIANPDQEgByAGav0BAwAhDSAN/acBIQ4gDf2oASEPIAkgDv3+ASAI/QAEAP3yAf3wASEJIAogDiAO/Q0ICQoLDA0ODwABAgMEBQYH/f4BIAj9AAQQ/fIB/fABIQogCyAP/f4BIAj9AAQg/fIB/fABIQsgDCAPIA/9DQgJCgsMDQ4PAAECAwQFBgf9/gEgCP0ABDD98gH98AEhDCAGQQhqIQYgCEHAAGohCAwACwsgCSAK/fABIAsgDP3wAf3wASEJIAQgBUEDdGogCf0hACAJ/SEBoDkDACAFQQFqIQUMAAsLC/ADAwR/AXwKewJAA0AgByADTw0B/QwAAAAAAAAAAAAAAAAAAAAAIQz9DAAAAAAAAAAAAAAAAAAAAAAhDf0MAAAAAAAAAAAAAAAAAAAAACEO/QwAAAAAAAAAAAAAAAAAAAAAIQ8gAiAHQQJ0aioCALv9FCEUIAEgByAEbGohCUEAIQggACEKAkACQANAIAggBE8NASAJIAhq/QEDACERIBH9pwEhEiAR/agBIRMgCv0ABAAgEv3+ASAU/fIB/fEBIRUgDCAVIBX98gH98AEhDCAK/QAEECASIBL9DQgJCgsMDQ4PAAECAwQFBgf9/gEgFP3yAf3xASEVIA0gFSAV/fIB/fABIQ0gCv0ABCAgE/3+ASAU/fIB/fEBIRUgDiAVIBX98gH98AEhDiAK/QAEMCATIBP9DQgJCgsMDQ4PAAECAwQFBgf9/gEgFP3yAf3xASEVIA8gFSAV/fIB/fABIQ8gCEEIaiEIIApBwABqIQogCEEfcUUEQCAMIA398AEgDiAP/fAB/fABIRAgEP0hACAQ/SEBoCAGZA0DCwwACwsgDCAN/fABIA4gD/3wAf3wASEQIAUgB0EDdGogEP0hACAQ/SEBoDkDACAHQQFqIQcMAQsgBSAHQQN0akQAAAAAAADwfzkDACAHQQFqIQcMAAsLC9gDAwR/AXwKewJAA0AgByADTw0B/QwAAAAAAAAAAAAAAAAAAAAAIQz9DAAAAAAAAAAAAAAAAAAAAAAhDf0MAAAAAAAAAAAAAAAAAAAAACEO/QwAAAAAAAAAAAAAAAAAAAAAIQ8gAiAHQQJ0aioCALv9FCEUIAEgByAEbGohCUEAIQggACEKAkACQANAIAggBE8NASAJIAhq/QEDACERIBH9pwEhEiAR/agBIRMgDCAK/QAEACAS/f4BIBT98gH98QH97AH98AEhDCANIAr9AAQQIBIgEv0NCAkKCwwNDg8AAQIDBAUGB/3+ASAU/fIB/fEB/ewB/fABIQ0gDiAK/QAEICAT/f4BIBT98gH98QH97AH98AEhDiAPIAr9AAQwIBMgE/0NCAkKCwwNDg8AAQIDBAUGB/3+ASAU/fIB/fEB/ewB/fABIQ8gCEEIaiEIIApBwABqIQogCEEfcUUEQCAMIA398AEgDiAP/fAB/fABIRAgEP0hACAQ/SEBoCAGZA0DCwwACwsgDCAN/fABIA4gD/3wAf3wASEQIAUgB0EDdGogEP0hACAQ/SEBoDkDACAHQQFqIQcMAQsgBSAHQQN0akQAAAAAAADwfzkDACAHQQFqIQcMAAsLC/wCAgR/CHsCQANAIAYgAk8NAf0MAAAAAAAAAAAAAAAAAAAAACEK/QwAAAAAAAAAAAAAAAAAAAAAIQv9DAAAAAAAAAAAAAAAAAAAAAAhDP0MAAAAAAAAAAAAAAAAAAAAACENIAEgBiADbEECdGohCEEAIQcgACEJAkACQANAIAcgA08NASAIIAdBAnRq/QAEACEPIAggB0ECdGr9AAQQIRAgCiAP/V8gCf0ABAD98gH98AEhCiALIA8gD/0NCAkKCwwNDg8AAQIDBAUGB/1fIAn9AAQQ/fIB/fABIQsgDCAQ/V8gCf0ABCD98gH98AEhDCANIBAgEP0NCAkKCwwNDg8AAQIDBAUGB/1fIAn9AAQw/fIB/fABIQ0gB0EIaiEHIAlBwABqIQkMAAsLIAogC/3wASAMIA398AH98AEhDiAEIAZBA3RqIA79IQAgDv0hAaA5AwAgBkEBaiEGDAELIAQgBkEDdGpEAAAAAAAA8H85AwAgBkEBaiEGDAALCwvMAwIEfwh7AkADQCAGIAJPDQH9DAAAAAAAAAAAAAAAAAAAAAAhCv0MAAAAAAAAAAAAAAAAAAAAACEL/QwAAAAAAAAAAAAAAAAAAAAAIQz9DAAAAAAAAAAAAAAAAAAAAAAhDSABIAYgA2xBAnRqIQhBACEHIAAhCQJAAkADQCAHIANPDQEgCCAHQQJ0av0ABAAhDyAIIAdBAnRq/QAEECEQIAn9AAQAIA/9X/3xASERIAogESAR/fIB/fABIQogCf0ABBAgDyAP/Q0ICQoLDA0ODwABAgMEBQYH/V/98QEhESALIBEgEf3yAf3wASELIAn9AAQgIBD9X/3xASERIAwgESAR/fIB/fABIQwgCf0ABDAgECAQ/Q0ICQoLDA0ODwABAgMEBQYH/V/98QEhESANIBEgEf3yAf3wASENIAdBCGohByAJQcAAaiEJIAdBH3FFBEAgCiAL/fABIAwgDf3wAf3wASEOIA79IQAgDv0hAaAgBWQNAwsMAAsLIAogC/3wASAMIA398AH98AEhDiAEIAZBA3RqIA79IQAgDv0hAaA5AwAgBkEBaiEGDAELIAQgBkEDdGpEAAAAAAAA8H85AwAgBkEBaiEGDAALCwu0AwIEfwh7AkADQCAGIAJPDQH9DAAAAAAAAAAAAAAAAAAAAAAhCv0MAAAAAAAAAAAAAAAAAAAAACEL/QwAAAAAAAAAAAAAAAAAAAAAIQz9DAAAAAAAAAAAAAAAAAAAAAAhDSABIAYgA2xBAnRqIQhBACEHIAAhCQJAAkADQCAHIANPDQEgCCAHQQJ0av0ABAAhDyAIIAdBAnRq/QAEECEQIAogCf0ABAAgD/1f/fEB/ewB/fABIQogCyAJ/QAEECAPIA/9DQgJCgsMDQ4PAAECAwQFBgf9X/3xAf3sAf3wASELIAwgCf0ABCAgEP1f/fEB/ewB/fABIQwgDSAJ/QAEMCAQIBD9DQgJCgsMDQ4PAAECAwQFBgf9X/3xAf3sAf3wASENIAdBCGohByAJQcAAaiEJIAdBH3FFBEAgCiAL/fABIAwgDf3wAf3wASEOIA79IQAgDv0hAaAgBWQNAwsMAAsLIAogC/3wASAMIA398AH98AEhDiAEIAZBA3RqIA79IQAgDv0hAaA5AwAgBkEBaiEGDAELIAQgBkEDdGpEAAAAAAAA8H85AwAgBkEBaiEGDAALCws=';

interface Exports {
  memory: WebAssembly.Memory;
  dotI8(q: number, c: number, n: number, dim: number, out: number): void;
  l2I8(q: number, c: number, sc: number, n: number, dim: number, out: number, bound: number): void;
  l1I8(q: number, c: number, sc: number, n: number, dim: number, out: number, bound: number): void;
  dotF32(q: number, c: number, n: number, dim: number, out: number, bound: number): void;
  l2F32(q: number, c: number, n: number, dim: number, out: number, bound: number): void;
  l1F32(q: number, c: number, n: number, dim: number, out: number, bound: number): void;
}

export type SimdKernel = 'dot' | 'l2' | 'l1';

/** Rows per kernel call: bounds WASM memory (~1 MB int8 / ~3 MB float32 at 768-d) and lets the top-k bound tighten between calls. */
export const SIMD_CHUNK_ROWS = 1024;

const align16 = (x: number): number => (x + 15) & ~15;

export class SimdKnnKernels {
  private readonly ex: Exports;

  constructor(ex: Exports) {
    this.ex = ex;
  }

  /** Whether a block of this shape can take the SIMD path (the kernels step 8 dims at a time). */
  static supports(dim: number): boolean {
    return dim > 0 && dim % 8 === 0;
  }

  private layout(n: number, dim: number, bytesPerValue: number): { q: number; sc: number; c: number; out: number; end: number } {
    const q = 0;
    const sc = align16(q + dim * 8);
    const c = align16(sc + n * 4);
    const out = align16(c + n * dim * bytesPerValue);
    return { q, sc, c, out, end: out + n * 8 };
  }

  private ensure(bytes: number): ArrayBuffer {
    const mem = this.ex.memory;
    if (mem.buffer.byteLength < bytes) mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / 65536));
    return mem.buffer;
  }

  /**
   * Scores rows [0, n) of an int8 block (n <= SIMD_CHUNK_ROWS is the intended size) into a
   * Float64Array view of WASM memory, valid until the next call: the raw dot product q.codes for
   * 'dot' (the caller applies the scale), the Minkowski sum for 'l2'/'l1', or +Infinity where the
   * partial sum passed `bound` (a row that cannot enter the top k).
   */
  score(kind: SimdKernel, q: Float64Array, codes: Int8Array, scales: Float32Array, n: number, dim: number, bound: number): Float64Array {
    const L = this.layout(n, dim, 1);
    const buf = this.ensure(L.end);
    new Float64Array(buf, L.q, dim).set(q);
    new Int8Array(buf, L.c, n * dim).set(codes.subarray(0, n * dim));
    if (kind === 'dot') this.ex.dotI8(L.q, L.c, n, dim, L.out);
    else {
      new Float32Array(buf, L.sc, n).set(scales.subarray(0, n));
      (kind === 'l2' ? this.ex.l2I8 : this.ex.l1I8)(L.q, L.c, L.sc, n, dim, L.out, bound);
    }
    return new Float64Array(this.ex.memory.buffer, L.out, n);
  }

  /** As score(), for float32 rows: q.x for 'dot' (no scale), the Minkowski sum (or +Infinity past `bound`) for 'l2'/'l1'. */
  scoreFloat32(kind: SimdKernel, q: Float64Array, rows: Float32Array, n: number, dim: number, bound: number): Float64Array {
    const L = this.layout(n, dim, 4);
    const buf = this.ensure(L.end);
    new Float64Array(buf, L.q, dim).set(q);
    new Float32Array(buf, L.c, n * dim).set(rows.subarray(0, n * dim));
    const fn = kind === 'dot' ? this.ex.dotF32 : kind === 'l2' ? this.ex.l2F32 : this.ex.l1F32;
    fn(L.q, L.c, n, dim, L.out, bound);
    return new Float64Array(this.ex.memory.buffer, L.out, n);
  }
}

let cached: SimdKnnKernels | null | undefined;

/**
 * The kernels, instantiated once per realm; null where WebAssembly or its SIMD proposal is missing
 * (old browsers): callers then use the JS loops. Synchronous compilation is fine: the module is ~1.4 KB.
 */
export function simdKnnKernels(): SimdKnnKernels | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    if (typeof WebAssembly === 'undefined' || typeof atob !== 'function') return cached;
    const bin = atob(WASM_BASE64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    if (!WebAssembly.validate(bytes)) return cached;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    cached = new SimdKnnKernels(instance.exports as unknown as Exports);
  } catch {
    cached = null;
  }
  return cached;
}
