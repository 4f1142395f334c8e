// The summaries stage's nearest-neighbour search, made fast without changing a single result: the
// same IVF index as buildInMemoryIvf() (core/search/ivf.ts) and the same top k as searchIvf() /
// KnnQuery (core/search/knn.ts), bit for bit, for a whole batch of queries at once.
//
// Why it is exact: every decision the reference makes (nearest centroid by squared L2 summed in
// float64, the nprobe nearest partitions, the k nearest rows by (score, id)) is first made
// approximately with WebAssembly SIMD GEMM, whose error has a proven bound E: float32 for k-means and
// the probes (core/cluster/simd.ts; |fl32(x.y) - x.y| <= n u |x| |y| for n terms in any summation
// order, u = 2^-24, plus float64 slack), and exact int16 dot products for the partition scans
// (summaries-gemm-i16.wat: the rows' stored int8 codes against the query quantised to int8, whose
// residual bounds the error). Anything whose approximate value is within 2E of the approximate k-th
// best could be among the true k best, so exactly those candidates are recomputed with the
// reference's own float64 arithmetic (the same loops, or KnnQuery itself) and ranked by the
// reference's total order. A candidate set that contains every true winner, ranked exactly, gives the
// reference's answer: ties, NaNs and all. Queries are batched by partition so one GEMM serves many
// queries (the reference scans ~8 partitions of int8 rows per query in float64, one at a time).
//
// On the full corpus (578k functions: 350k queries against 226k documented rows, 256-d TF-IDF/SVD,
// nlist 475, nprobe 8) the stage went from 556 s to 52 s on this 2-core machine (92 CPU-seconds).
//
// Where WebAssembly SIMD is missing, or inputs are not finite, the reference functions run instead.
import { SIMD_DOT_WASM_BASE64 } from '../src/core/cluster/simd.ts';
import { buildInMemoryIvf, buildIvfIndex, partitionOrder, searchIvf, type IvfIndex, type KMeansOptions, type KMeansResult } from '../src/core/search/ivf.ts';
import { KnnQuery, prepareQuery, type KnnMetric, type KnnResult, type VectorBlock } from '../src/core/search/knn.ts';
import { createRng } from '../src/core/util/random.ts';
import type { PackedResults } from './summaries-protocol.ts';

type Int8Block = Extract<VectorBlock, { kind: 'int8' }>;

const COSINE: KnnMetric = { kind: 'cosine' };
/** float32 unit roundoff. */
const U32 = 2 ** -24;
/** Rows per GEMM block in the nearest-centroid search. */
const NEAREST_BLOCK = 256;
/** Absolute slack for the float64 roundings of 1 - s x (a few 1e-16). */
const ABS_SLACK = 1e-12;
/** Queries per GEMM tile in the partition scans. */
const QUERY_TILE = 256;

/** A private instance of the f32x4 gemm_nt kernel (its memory is freed with it, unlike the shared one). */
export class Gemm {
  private readonly memory: WebAssembly.Memory;
  private readonly fn: (a: number, b: number, out: number, rows: number, cols: number, inner: number) => void;
  private view: Float32Array;

  private constructor(memory: WebAssembly.Memory, fn: Gemm['fn']) {
    this.memory = memory;
    this.fn = fn;
    this.view = new Float32Array(memory.buffer);
  }

  /** null where WebAssembly SIMD is unavailable. */
  static create(): Gemm | null {
    const wa = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
    if (!wa) return null;
    try {
      const bytes = Uint8Array.from(atob(SIMD_DOT_WASM_BASE64), (c) => c.charCodeAt(0));
      if (!wa.validate(bytes)) return null;
      const inst = new wa.Instance(new wa.Module(bytes), {});
      return new Gemm(inst.exports.memory as WebAssembly.Memory, inst.exports.gemm_nt as Gemm['fn']);
    } catch {
      return null;
    }
  }

  /** A float32 view of the memory holding at least `floats` values (valid until the next reserve). */
  reserve(floats: number): Float32Array {
    const bytes = floats * 4;
    if (bytes > this.memory.buffer.byteLength) this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / 65536));
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    return this.view;
  }

  /** out[r * cols + c] = sum_t a[r * inner + t] * b[c * inner + t]; offsets in floats, multiples of 4; inner a multiple of 4. */
  nt(aOff: number, bOff: number, outOff: number, rows: number, cols: number, inner: number): void {
    this.fn(aOff * 4, bOff * 4, outOff * 4, rows, cols, inner);
  }
}

/**
 * Integer GEMM for the partition scans: summaries-gemm-i16.wat (beside this file) assembled with
 * wabt 1.0.32 (`wat2wasm summaries-gemm-i16.wat`; a unit test checks these bytes when it is installed).
 * out[r * cols + c] = sum_t a[r * inner + t] * b[c * inner + t] over int16, exact in int32.
 */
export const GEMM_I16_WASM_BASE64 = 'AGFzbQEAAAABFgNgAXsBf2ADf39/AX9gBn9/f39/fwADBAMAAQIFAwEAAQcYAgZtZW1vcnkCAAtnZW1tX250X2kxNgACCpIHAxkAIAD9GwAgAP0bAWogAP0bAiAA/RsDamoLPAIBfwF7AkADQCADIAJPDQEgBCAAIANq/QAEACABIANq/QAEAP26Af2uASEEIANBEGohAwwACwsgBBAAC7gGAg9/C3sgBUEBdCEGIARBAnQhBwJAA0AgCEEEaiADSw0BIAAgCCAGbGohCyALIAZqIQwgDCAGaiENIA0gBmohDiACIAggB2xqIREgESAHaiESIBIgB2ohEyATIAdqIRRBACEJAkADQCAJQQJqIARLDQEgASAJIAZsaiEPIA8gBmohEP0MAAAAAAAAAAAAAAAAAAAAACEY/QwAAAAAAAAAAAAAAAAAAAAAIRn9DAAAAAAAAAAAAAAAAAAAAAAhGv0MAAAAAAAAAAAAAAAAAAAAACEb/QwAAAAAAAAAAAAAAAAAAAAAIRz9DAAAAAAAAAAAAAAAAAAAAAAhHf0MAAAAAAAAAAAAAAAAAAAAACEe/QwAAAAAAAAAAAAAAAAAAAAAIR9BACEKAkADQCAKIAZPDQEgDyAKav0ABAAhFSAQIApq/QAEACEWIAsgCmr9AAQAIRcgGCAXIBX9ugH9rgEhGCAZIBcgFv26Af2uASEZIAwgCmr9AAQAIRcgGiAXIBX9ugH9rgEhGiAbIBcgFv26Af2uASEbIA0gCmr9AAQAIRcgHCAXIBX9ugH9rgEhHCAdIBcgFv26Af2uASEdIA4gCmr9AAQAIRcgHiAXIBX9ugH9rgEhHiAfIBcgFv26Af2uASEfIApBEGohCgwACwsgESAJQQJ0aiAYEAA2AgAgESAJQQJ0aiAZEAA2AgQgEiAJQQJ0aiAaEAA2AgAgEiAJQQJ0aiAbEAA2AgQgEyAJQQJ0aiAcEAA2AgAgEyAJQQJ0aiAdEAA2AgQgFCAJQQJ0aiAeEAA2AgAgFCAJQQJ0aiAfEAA2AgQgCUECaiEJDAALCyAJIARJBEAgASAJIAZsaiEPIBEgCUECdGogCyAPIAYQATYCACASIAlBAnRqIAwgDyAGEAE2AgAgEyAJQQJ0aiANIA8gBhABNgIAIBQgCUECdGogDiAPIAYQATYCAAsgCEEEaiEIDAALCwJAA0AgCCADTw0BIAAgCCAGbGohCyACIAggB2xqIRFBACEJAkADQCAJIARPDQEgESAJQQJ0aiALIAEgCSAGbGogBhABNgIAIAlBAWohCQwACwsgCEEBaiEIDAALCws=';

/** A private instance of the int16 gemm_nt_i16 kernel. */
export class GemmI16 {
  private readonly memory: WebAssembly.Memory;
  private readonly fn: (a: number, b: number, out: number, rows: number, cols: number, inner: number) => void;

  private constructor(memory: WebAssembly.Memory, fn: GemmI16['fn']) {
    this.memory = memory;
    this.fn = fn;
  }

  static create(): GemmI16 | null {
    const wa = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
    if (!wa) return null;
    try {
      const bytes = Uint8Array.from(atob(GEMM_I16_WASM_BASE64), (c) => c.charCodeAt(0));
      if (!wa.validate(bytes)) return null;
      const inst = new wa.Instance(new wa.Module(bytes), {});
      return new GemmI16(inst.exports.memory as WebAssembly.Memory, inst.exports.gemm_nt_i16 as GemmI16['fn']);
    } catch {
      return null;
    }
  }

  /** The memory, grown to at least `bytes` (views of the old buffer go stale on growth). */
  reserve(bytes: number): ArrayBuffer {
    if (bytes > this.memory.buffer.byteLength) this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / 65536));
    return this.memory.buffer;
  }

  /** Byte offsets (multiples of 16); `inner` int16 values per row, a multiple of 8. */
  nt(aByte: number, bByte: number, outByte: number, rows: number, cols: number, inner: number): void {
    this.fn(aByte, bByte, outByte, rows, cols, inner);
  }
}

const strideOf = (dim: number): number => (dim + 3) & ~3;
const stride8Of = (dim: number): number => (dim + 7) & ~7;

/** |fl32 dot - exact dot| <= gamma * |x| |y| for vectors of `stride` terms (with slack for 1 / (1 - n u)). */
const gammaOf = (stride: number): number => 1.05 * (stride + 8) * U32;

/** ivf.ts' sqDist: squared L2 summed in float64 in index order (the arithmetic every label is decided by). */
function sqDist(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const d = a[ao + j] - b[bo + j];
    s += d * d;
  }
  return s;
}

/**
 * ivf.ts' nearest() for rows [0, n) of `rows` against the first k centroids: the index of the
 * smallest float64 squared distance (the first of equals; 0 with Infinity when none is smaller than
 * Infinity), and that distance. GEMM proposes, sqDist decides.
 */
export function nearestCentroids(gemm: Gemm, rows: Float32Array, n: number, centroids: Float32Array, k: number, dim: number, outLabel: Uint32Array | Int32Array, outDist: Float64Array | null): void {
  const stride = strideOf(dim);
  const cNorm = new Float64Array(k);
  const cLen = new Float64Array(k);
  let finite = true;
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += centroids[c * dim + j] * centroids[c * dim + j];
    cNorm[c] = s;
    cLen[c] = Math.sqrt(s);
    if (!Number.isFinite(s)) finite = false;
  }
  const exactRow = (i: number): void => {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      const d = sqDist(rows, i * dim, centroids, c * dim, dim);
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    outLabel[i] = best;
    if (outDist) outDist[i] = bestD;
  };
  if (!finite) {
    for (let i = 0; i < n; i++) exactRow(i);
    return;
  }
  const cOff = 0;
  const aOff = k * stride;
  const outOff = aOff + NEAREST_BLOCK * stride;
  const mem = gemm.reserve(outOff + NEAREST_BLOCK * k);
  mem.fill(0, 0, outOff);
  for (let c = 0; c < k; c++) mem.set(centroids.subarray(c * dim, (c + 1) * dim), cOff + c * stride);
  const gamma2 = 2 * gammaOf(stride);
  const slack = (dim + 8) * 2 ** -50;
  for (let b0 = 0; b0 < n; b0 += NEAREST_BLOCK) {
    const b = Math.min(NEAREST_BLOCK, n - b0);
    for (let r = 0; r < b; r++) mem.set(rows.subarray((b0 + r) * dim, (b0 + r + 1) * dim), aOff + r * stride);
    gemm.nt(aOff, cOff, outOff, b, k, stride);
    for (let r = 0; r < b; r++) {
      const i = b0 + r;
      const o = i * dim;
      let na = 0;
      for (let j = 0; j < dim; j++) na += rows[o + j] * rows[o + j];
      const g = outOff + r * k;
      let bestA = Infinity;
      let ab = 0;
      for (let c = 0; c < k; c++) {
        const v = na + cNorm[c] - 2 * mem[g + c];
        if (v < bestA) {
          bestA = v;
          ab = c;
        }
      }
      if (!Number.isFinite(bestA) || !Number.isFinite(na)) {
        exactRow(i);
        continue;
      }
      // |approx_c - exact_c| <= e |c| + slack (|a|^2 + |c|^2): the exact argmin's approx lies within
      // its error of the best approx plus the best's own error.
      const e = gamma2 * Math.sqrt(na);
      const limit = bestA + e * cLen[ab] + slack * (na + cNorm[ab]);
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        if (na + cNorm[c] - 2 * mem[g + c] - e * cLen[c] - slack * (na + cNorm[c]) > limit) continue;
        const d = sqDist(rows, o, centroids, c * dim, dim);
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      outLabel[i] = best;
      if (outDist) outDist[i] = bestD;
    }
  }
}

/** kmeansIvf() (core/search/ivf.ts) with the Lloyd assignments through nearestCentroids(): the same centroids bit for bit. */
export function kmeansIvfFast(gemm: Gemm, source: Float32Array | Int8Block, dim: number, k: number, opts: KMeansOptions = {}): KMeansResult {
  // The rows as kmeansIvf() reads them: float32, or int8 dequantised to float32 (row by row, only
  // those sampled: the whole block in float32 is never needed).
  const n = source instanceof Float32Array ? Math.floor(source.length / dim) : source.ids.length;
  const rowInto = (r: number, dst: Float32Array, o: number): void => {
    if (source instanceof Float32Array) dst.set(source.subarray(r * dim, (r + 1) * dim), o);
    else {
      const s = source.scales[r];
      for (let j = 0; j < dim; j++) dst[o + j] = source.codes[r * dim + j] * s;
    }
  };
  if (!(k >= 1) || !Number.isInteger(k)) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (n === 0) throw new RangeError('k-means needs at least one row');
  const rng = createRng(opts.seed ?? 0);
  const want = Math.min(n, opts.sample ?? 20000);
  let sample: Float32Array;
  if (want === n) {
    if (source instanceof Float32Array) sample = source.subarray(0, n * dim);
    else {
      sample = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) rowInto(i, sample, i * dim);
    }
  } else {
    const pos = new Uint32Array(n).map((_, i) => i);
    for (let i = 0; i < want; i++) {
      const j = i + rng.int(n - i);
      const t = pos[i];
      pos[i] = pos[j];
      pos[j] = t;
    }
    const chosen = pos.subarray(0, want).sort();
    sample = new Float32Array(want * dim);
    for (let i = 0; i < want; i++) rowInto(chosen[i], sample, i * dim);
  }
  const m = want;
  const kk = Math.min(k, m);
  const centroids = new Float32Array(k * dim);
  // k-means++ seeding: d2[i] = min over centres of the reference's float64 sqDist, which decides the
  // picks. A new centre's distance is computed exactly only where GEMM cannot rule out d < d2[i].
  const d2 = new Float64Array(m).fill(Infinity);
  const first = rng.int(m);
  centroids.set(sample.subarray(first * dim, (first + 1) * dim), 0);
  const stride = strideOf(dim);
  const sNorm = new Float64Array(m);
  let finite = true;
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += sample[i * dim + j] * sample[i * dim + j];
    sNorm[i] = s;
    if (!Number.isFinite(s)) finite = false;
  }
  const sOff = 0;
  const cOff = m * stride;
  const outOff = cOff + stride;
  let mem: Float32Array | null = null;
  if (finite && kk > 1) {
    mem = gemm.reserve(outOff + m);
    mem.fill(0, 0, outOff);
    for (let i = 0; i < m; i++) mem.set(sample.subarray(i * dim, (i + 1) * dim), sOff + i * stride);
  }
  const gamma2 = 2 * gammaOf(stride);
  const slack = (dim + 8) * 2 ** -50;
  const sLen = sNorm.map(Math.sqrt);
  for (let c = 1; c < kk; c++) {
    let total = 0;
    const co = (c - 1) * dim;
    let cn = 0;
    for (let j = 0; j < dim; j++) cn += centroids[co + j] * centroids[co + j];
    if (mem && Number.isFinite(cn)) {
      mem.set(centroids.subarray(co, co + dim), cOff);
      gemm.nt(cOff, sOff, outOff, 1, m, stride);
      const cl = Math.sqrt(cn);
      for (let i = 0; i < m; i++) {
        // approx - its error bound <= exact: when that is already >= d2[i], d < d2[i] is impossible.
        if (sNorm[i] + cn - 2 * mem[outOff + i] - gamma2 * sLen[i] * cl - slack * (sNorm[i] + cn) < d2[i]) {
          const d = sqDist(sample, i * dim, centroids, co, dim);
          if (d < d2[i]) d2[i] = d;
        }
        total += d2[i];
      }
    } else {
      for (let i = 0; i < m; i++) {
        const d = sqDist(sample, i * dim, centroids, co, dim);
        if (d < d2[i]) d2[i] = d;
        total += d2[i];
      }
    }
    let pick = m - 1;
    if (total > 0) {
      let t = rng.next() * total;
      for (let i = 0; i < m; i++) {
        t -= d2[i];
        if (t < 0) {
          pick = i;
          break;
        }
      }
    } else pick = rng.int(m);
    centroids.set(sample.subarray(pick * dim, (pick + 1) * dim), c * dim);
  }
  for (let c = kk; c < k; c++) centroids.copyWithin(c * dim, (c % kk) * dim, (c % kk + 1) * dim);

  const assign = new Int32Array(m).fill(-1);
  const labels = new Int32Array(m);
  const dists = new Float64Array(m);
  const sums = new Float64Array(kk * dim);
  const counts = new Uint32Array(kk);
  const maxIter = opts.iterations ?? 20;
  let iter = 0;
  for (; iter < maxIter; iter++) {
    let changed = 0;
    sums.fill(0);
    counts.fill(0);
    let farthest = 0;
    let farthestD = -1;
    nearestCentroids(gemm, sample, m, centroids, kk, dim, labels, dists);
    for (let i = 0; i < m; i++) {
      const c = labels[i];
      const d = dists[i];
      if (assign[i] !== c) changed++;
      assign[i] = c;
      counts[c]++;
      if (d > farthestD) {
        farthestD = d;
        farthest = i;
      }
      for (let j = 0; j < dim; j++) sums[c * dim + j] += sample[i * dim + j];
    }
    for (let c = 0; c < kk; c++) {
      if (counts[c] === 0) {
        centroids.set(sample.subarray(farthest * dim, (farthest + 1) * dim), c * dim);
        changed++;
        continue;
      }
      for (let j = 0; j < dim; j++) centroids[c * dim + j] = sums[c * dim + j] / counts[c];
    }
    if (changed === 0) {
      iter++;
      break;
    }
  }
  return { centroids, iterations: iter };
}

/** A pool of int8 rows ready for batched search: partition-sorted, with what the probe needs. */
export interface BatchIndex {
  dim: number;
  /** Partition p is rows [offsets[p], offsets[p + 1]) of ids/codes/scales. */
  offsets: Uint32Array;
  ids: Uint32Array;
  codes: Int8Array;
  scales: Float32Array;
  /** Partitions a query visits (1 for exact search over one partition holding every row). */
  nprobe: number;
  /** The IVF index (null for exact search), as buildInMemoryIvf() returns it. */
  ivf: IvfIndex | null;
}

/** Rows [start, start + count) of an int8 block as float32 (code x scale, as ivf.ts dequantises) into out. */
function dequantizeInto(block: Int8Block, start: number, count: number, out: Float32Array): void {
  const dim = block.dim;
  for (let r = 0; r < count; r++) {
    const s = block.scales[start + r];
    const o = (start + r) * dim;
    for (let j = 0; j < dim; j++) out[r * dim + j] = block.codes[o + j] * s;
  }
}

/**
 * buildInMemoryIvf(block, nlist, opts) for an int8 block, as a BatchIndex: the same centroids,
 * partitions and partition-sorted rows. Without WebAssembly SIMD, buildInMemoryIvf() itself runs.
 */
export function buildIvfBatchIndex(block: Int8Block, nlist: number, nprobe: number, opts: KMeansOptions = {}, gemm: Gemm | null = Gemm.create()): BatchIndex {
  const dim = block.dim;
  if (!gemm) {
    const ref = buildInMemoryIvf(block, nlist, opts);
    const all = ref.fetch(0);
    const whole = ref.index.offsets[ref.index.nlist];
    if (all.kind !== 'int8') throw new Error('unreachable: int8 in, int8 out');
    // fetch() slices one partition-sorted copy: partition 0 starts at row 0, so widen its view.
    const codes = new Int8Array(all.codes.buffer, all.codes.byteOffset, whole * dim);
    const scales = new Float32Array(all.scales.buffer, all.scales.byteOffset, whole);
    return { dim, offsets: ref.index.offsets, ids: ref.index.ids, codes, scales, nprobe, ivf: ref.index };
  }
  const { centroids } = kmeansIvfFast(gemm, block, dim, nlist, opts);
  const n = block.ids.length;
  const assignments = new Uint32Array(n);
  // assignToCentroids(): each row dequantised to float32, its nearest centroid (a block at a time).
  const step = 8192;
  const scratch = new Float32Array(Math.min(step, n) * dim);
  for (let a = 0; a < n; a += step) {
    const b = Math.min(step, n - a);
    dequantizeInto(block, a, b, scratch);
    nearestCentroids(gemm, scratch, b, centroids, Math.floor(centroids.length / dim), dim, assignments.subarray(a, a + b), null);
  }
  const index = buildIvfIndex(block.ids, assignments, centroids, dim);
  const order = partitionOrder(assignments, block.ids);
  const codes = new Int8Array(n * dim);
  const scales = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    codes.set(block.codes.subarray(order[i] * dim, (order[i] + 1) * dim), i * dim);
    scales[i] = block.scales[order[i]];
  }
  return { dim, offsets: index.offsets, ids: index.ids, codes, scales, nprobe, ivf: index };
}

/** A copy of an index in shared memory, for threads to search without copies of their own. */
export function sharedBatchIndex(x: BatchIndex): BatchIndex {
  const share = <T extends Uint32Array | Int8Array | Float32Array>(a: T, make: (b: SharedArrayBuffer) => T): T => {
    const out = make(new SharedArrayBuffer(a.byteLength));
    out.set(a as never);
    return out;
  };
  const ids = share(x.ids, (b) => new Uint32Array(b));
  const offsets = share(x.offsets, (b) => new Uint32Array(b));
  return {
    dim: x.dim,
    offsets,
    ids,
    codes: share(x.codes, (b) => new Int8Array(b)),
    scales: share(x.scales, (b) => new Float32Array(b)),
    nprobe: x.nprobe,
    ivf: x.ivf ? { dim: x.ivf.dim, nlist: x.ivf.nlist, centroids: share(x.ivf.centroids, (b) => new Float32Array(b)), offsets, ids } : null,
  };
}

/** Exact search over every row of `block` (what KnnQuery over the whole block returns), as a BatchIndex. */
export function exactBatchIndex(block: Int8Block): BatchIndex {
  return { dim: block.dim, offsets: Uint32Array.of(0, block.ids.length), ids: block.ids, codes: block.codes, scales: block.scales, nprobe: 1, ivf: null };
}

/** Max-heap of the k smallest values, stored at heap[o .. o + k) with its size in size[q]. */
function heapOffer(heap: Float64Array, o: number, k: number, size: Int32Array, q: number, v: number): void {
  let n = size[q];
  if (n < k) {
    let i = n++;
    size[q] = n;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[o + p] >= v) break;
      heap[o + i] = heap[o + p];
      i = p;
    }
    heap[o + i] = v;
    return;
  }
  if (!(v < heap[o])) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    let c = l;
    if (l + 1 < n && heap[o + l + 1] > heap[o + l]) c = l + 1;
    if (heap[o + c] <= v) break;
    heap[o + i] = heap[o + c];
    i = c;
  }
  heap[o + i] = v;
}

/** Append-only (query, row, approximate score) triples. */
class Candidates {
  q: Uint32Array;
  row: Uint32Array;
  v: Float64Array;
  n = 0;
  constructor(cap: number) {
    this.q = new Uint32Array(cap);
    this.row = new Uint32Array(cap);
    this.v = new Float64Array(cap);
  }
  add(q: number, row: number, v: number): void {
    if (this.n === this.q.length) {
      const cap = this.q.length * 2 + 1024;
      const a = new Uint32Array(cap);
      a.set(this.q);
      this.q = a;
      const b = new Uint32Array(cap);
      b.set(this.row);
      this.row = b;
      const c = new Float64Array(cap);
      c.set(this.v);
      this.v = c;
    }
    this.q[this.n] = q;
    this.row[this.n] = row;
    this.v[this.n++] = v;
  }
}

/**
 * One query's row of integer GEMM dots (dots[g .. g + nr), rows rowBase..): approximate scores
 * 1 - scale x a x dot; keeps the k smallest in the query's heap and records every row within twoE
 * of its current k-th.
 */
function scanScores(dots: Int32Array, g: number, nr: number, scales: Float32Array, rowBase: number, a: number, twoE: number, heap: Float64Array, k: number, hsize: Int32Array, i: number, cands: Candidates): void {
  const ho = i * k;
  let lim = hsize[i] < k ? Infinity : heap[ho] + twoE;
  for (let r = 0; r < nr; r++) {
    const v = 1 - scales[rowBase + r] * a * dots[g + r];
    if (v <= lim) {
      cands.add(i, rowBase + r, v);
      heapOffer(heap, ho, k, hsize, i, v);
      if (hsize[i] === k) lim = heap[ho] + twoE;
    }
  }
}

/**
 * The k nearest rows (cosine) of each of `m` float32 queries (row-major, m x dim): for each, exactly
 * what searchIvf(index.ivf, query, k, cosine, nprobe, fetch) returns (KnnQuery over the whole pool for
 * an exact index).
 */
export class BatchSearcher {
  private readonly x: BatchIndex;
  private readonly gemm: Gemm | null;
  private readonly gemmI16: GemmI16 | null;
  private readonly stride: number;
  /** Normalised centroids as probePartitions() computes them (float64), and their float32 copy (stride-padded). */
  private readonly c64: Float64Array | null = null;
  private readonly nonEmpty: Uint32Array;
  private readonly maxRowNorm: number;
  private readonly maxCNorm: number = 1;
  private readonly maxPart: number;

  /** Without either kernel (no WebAssembly SIMD; tests pass null) every query runs the reference search. */
  constructor(index: BatchIndex, gemm: Gemm | null = Gemm.create(), gemmI16: GemmI16 | null = gemm ? GemmI16.create() : null) {
    this.x = index;
    this.gemm = gemm;
    this.gemmI16 = gemmI16;
    const dim = index.dim;
    this.stride = strideOf(dim);
    const nlist = index.offsets.length - 1;
    const ne: number[] = [];
    let maxPart = 0;
    for (let p = 0; p < nlist; p++) {
      const size = index.offsets[p + 1] - index.offsets[p];
      if (size > 0) ne.push(p);
      maxPart = Math.max(maxPart, size);
    }
    this.nonEmpty = Uint32Array.from(ne);
    this.maxPart = maxPart;
    let mr = 0;
    const n = index.ids.length;
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += index.codes[r * dim + j] * index.codes[r * dim + j];
      const v = Math.abs(index.scales[r]) * Math.sqrt(s);
      if (!(v <= mr)) mr = v; // NaN propagates and switches the fast path off
    }
    this.maxRowNorm = mr;
    if (index.ivf) {
      const c64 = new Float64Array(nlist * dim);
      let mc = 1;
      for (let p = 0; p < nlist; p++) {
        // probePartitions(): the centroid in float64, scaled to unit length when not zero.
        let ss = 0;
        for (let j = 0; j < dim; j++) {
          c64[p * dim + j] = index.ivf.centroids[p * dim + j];
          ss += c64[p * dim + j] * c64[p * dim + j];
        }
        if (ss > 0) {
          const inv = 1 / Math.sqrt(ss);
          for (let j = 0; j < dim; j++) c64[p * dim + j] *= inv;
        }
        let s2 = 0;
        for (let j = 0; j < dim; j++) s2 += c64[p * dim + j] * c64[p * dim + j];
        if (!(Math.sqrt(s2) <= mc)) mc = Math.sqrt(s2);
      }
      this.c64 = c64;
      this.maxCNorm = mc;
    }
  }

  /** The reference search for one query (the fallback, and what the fast path reproduces). */
  async reference(q: Float32Array, k: number): Promise<KnnResult> {
    const x = this.x;
    const dim = x.dim;
    const fetch = (p: number): VectorBlock => {
      const a = x.offsets[p];
      const b = x.offsets[p + 1];
      return { kind: 'int8', ids: x.ids.subarray(a, b), codes: x.codes.subarray(a * dim, b * dim), scales: x.scales.subarray(a, b), dim };
    };
    if (x.ivf) return (await searchIvf(x.ivf, q, k, COSINE, x.nprobe, fetch)).result;
    const s = new KnnQuery(q, k, COSINE);
    s.add(fetch(0));
    return s.result();
  }

  /** Results for queries [0, m) of `queries` (m x dim float32), in order. */
  async search(queries: Float32Array, m: number, k: number): Promise<KnnResult[]> {
    const out: KnnResult[] = new Array<KnnResult>(m);
    await this.run(queries, m, k, (i, r) => {
      out[i] = r;
    });
    return out;
  }

  /** As search(), packed into three transferable arrays (what a thread sends back). */
  async searchPacked(queries: Float32Array, m: number, k: number): Promise<PackedResults> {
    const ids = new Uint32Array(m * k);
    const distances = new Float64Array(m * k);
    const counts = new Uint16Array(m);
    await this.run(queries, m, k, (i, r) => {
      ids.set(r.ids, i * k);
      distances.set(r.distances, i * k);
      counts[i] = r.ids.length;
    });
    return { ids, distances, counts };
  }

  private async run(queries: Float32Array, m: number, k: number, emit: (i: number, r: KnnResult) => void): Promise<void> {
    const x = this.x;
    const dim = x.dim;
    if (queries.length < m * dim) throw new RangeError(`${m} queries of ${dim} dimensions need ${m * dim} values, got ${queries.length}`);
    if (!Number.isInteger(k) || k < 0 || k > 65535) throw new RangeError(`k must be an integer in [0, 65535], got ${k}`);
    const gemm = this.gemm;
    const gi = this.gemmI16;
    if (!gemm || !gi || !Number.isFinite(this.maxRowNorm) || !Number.isFinite(this.maxCNorm) || k < 1) {
      for (let i = 0; i < m; i++) emit(i, await this.reference(queries.subarray(i * dim, (i + 1) * dim), k));
      return;
    }
    // Per query: the float64 normalisation factor (as prepareQuery computes it) and the error scale.
    const inv = new Float64Array(m);
    const err = new Float64Array(m);
    const fast = new Uint8Array(m);
    // GEMM rounding, plus u each for float32 rows or centroids, and the float64 query's rounding.
    const gamma = gammaOf(this.stride) + 3 * U32;
    for (let i = 0; i < m; i++) {
      let ss = 0;
      for (let j = 0; j < dim; j++) ss += queries[i * dim + j] * queries[i * dim + j];
      const iv = ss > 0 ? 1 / Math.sqrt(ss) : 1;
      inv[i] = iv;
      // |approx - exact| <= gamma inv |q| |row| (+ float64 rounding around it), inv |q| ~ 1.
      err[i] = 1.05 * gamma * iv * Math.sqrt(ss);
      fast[i] = Number.isFinite(ss) && Number.isFinite(iv) ? 1 : 0;
    }
    const nprobe = x.ivf ? Math.min(x.nprobe, this.nonEmpty.length) : 1;
    // 1. Probes: query i visits probes[i * nprobe ..] (exact ranks, fewer when partitions are empty).
    const probes = new Int32Array(m * Math.max(1, nprobe)).fill(-1);
    if (!x.ivf) for (let i = 0; i < m; i++) probes[i] = 0;
    else if (nprobe > 0) this.probeAll(gemm, queries, m, inv, err, fast, nprobe, probes);
    // 2. Partition scans: GEMM per partition over the queries that probe it; per query, a heap of the
    //    k smallest approximate scores and every row within 2E of its current k-th best.
    const nlist = x.offsets.length - 1;
    const per = Math.max(1, nprobe);
    const counts = new Uint32Array(nlist + 1);
    for (let i = 0; i < m; i++) if (fast[i]) for (let s = 0; s < per; s++) if (probes[i * per + s] >= 0) counts[probes[i * per + s] + 1]++;
    for (let p = 0; p < nlist; p++) counts[p + 1] += counts[p];
    const byPart = new Uint32Array(counts[nlist]);
    const fill = counts.slice(0, nlist);
    for (let i = 0; i < m; i++) if (fast[i]) for (let s = 0; s < per; s++) if (probes[i * per + s] >= 0) byPart[fill[probes[i * per + s]]++] = i;
    const heap = new Float64Array(m * k);
    const hsize = new Int32Array(m);
    const cands = new Candidates(m * 64);
    // The scans run in integers: each query quantised to int8 codes c (scale s, max |q| / 127) and the
    // rows' own int8 codes, so the GEMM's sums are exact and the only error is the query's residual:
    // |1 - sr inv s (c . x) - exact| <= |q64 - inv s c| sr |x| + float64 rounding, with q64 the
    // reference's float64 unit query. Stored queries (int8 rows) have a residual of ~1e-7 |q|.
    const s8 = stride8Of(dim);
    const qCodes = new Int16Array(m * s8);
    const aq = new Float64Array(m);
    const twoE = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      if (!fast[i]) continue;
      let mx = 0;
      for (let j = 0; j < dim; j++) mx = Math.max(mx, Math.abs(queries[i * dim + j]));
      const sq = mx / 127;
      aq[i] = inv[i] * sq;
      let rr = 0;
      for (let j = 0; j < dim; j++) {
        const c = sq > 0 ? Math.round(queries[i * dim + j] / sq) : 0;
        qCodes[i * s8 + j] = c;
        const d = queries[i * dim + j] * inv[i] - aq[i] * c;
        rr += d * d;
      }
      twoE[i] = 2 * ((1.01 * Math.sqrt(rr) + 1e-12) * this.maxRowNorm + ABS_SLACK);
    }
    const rowsOff = 0;
    const qOff = this.maxPart * s8 * 2;
    const outOff = (qOff + QUERY_TILE * s8 * 2 + 15) & ~15;
    const buf = gi.reserve(outOff + QUERY_TILE * this.maxPart * 4);
    const rowMem = new Int16Array(buf, rowsOff, this.maxPart * s8);
    const qMem = new Int16Array(buf, qOff, QUERY_TILE * s8);
    const outMem = new Int32Array(buf, outOff, QUERY_TILE * this.maxPart);
    for (let p = 0; p < nlist; p++) {
      const qa = counts[p];
      const qb = counts[p + 1];
      if (qa === qb) continue;
      const ra = x.offsets[p];
      const nr = x.offsets[p + 1] - ra;
      if (nr === 0) continue;
      for (let r = 0; r < nr; r++) {
        rowMem.set(x.codes.subarray((ra + r) * dim, (ra + r + 1) * dim), r * s8);
        rowMem.fill(0, r * s8 + dim, (r + 1) * s8);
      }
      for (let t0 = qa; t0 < qb; t0 += QUERY_TILE) {
        const tn = Math.min(QUERY_TILE, qb - t0);
        for (let t = 0; t < tn; t++) {
          const i = byPart[t0 + t];
          qMem.set(qCodes.subarray(i * s8, (i + 1) * s8), t * s8);
        }
        gi.nt(qOff, rowsOff, outOff, tn, nr, s8);
        for (let t = 0; t < tn; t++) {
          const i = byPart[t0 + t];
          scanScores(outMem, t * nr, nr, x.scales, ra, aq[i], twoE[i], heap, k, hsize, i, cands);
        }
      }
    }
    // 3. Exact: the candidates within 2E of the final k-th best, scored by KnnQuery itself.
    let cap = 256;
    let cIds = new Uint32Array(cap);
    let cCodes = new Int8Array(cap * dim);
    let cScales = new Float32Array(cap);
    // Candidates grouped by query (a counting sort of the append order).
    const cq = cands.q;
    const cv = cands.v;
    const cr = cands.row;
    const start = new Uint32Array(m + 1);
    for (let j = 0; j < cands.n; j++) start[cq[j] + 1]++;
    for (let i = 0; i < m; i++) start[i + 1] += start[i];
    const at = start.slice(0, m);
    const byQuery = new Uint32Array(cands.n);
    for (let j = 0; j < cands.n; j++) byQuery[at[cq[j]]++] = j;
    for (let i = 0; i < m; i++) {
      if (!fast[i]) {
        emit(i, await this.reference(queries.subarray(i * dim, (i + 1) * dim), k));
        continue;
      }
      const lim = hsize[i] < k ? Infinity : heap[i * k] + twoE[i];
      let c = 0;
      for (let jj = start[i]; jj < start[i + 1]; jj++) {
        const j = byQuery[jj];
        if (!(cv[j] <= lim)) continue;
        if (c === cap) {
          cap *= 2;
          const a = new Uint32Array(cap);
          a.set(cIds);
          cIds = a;
          const b = new Int8Array(cap * dim);
          b.set(cCodes);
          cCodes = b;
          const s = new Float32Array(cap);
          s.set(cScales);
          cScales = s;
        }
        const r = cr[j];
        cIds[c] = x.ids[r];
        cCodes.set(x.codes.subarray(r * dim, (r + 1) * dim), c * dim);
        cScales[c] = x.scales[r];
        c++;
      }
      const s = new KnnQuery(queries.subarray(i * dim, (i + 1) * dim), k, COSINE);
      s.addInt8(cIds.subarray(0, c), cCodes.subarray(0, c * dim), cScales.subarray(0, c));
      emit(i, s.result());
    }
  }

  /** probePartitions() for every fast query: GEMM against the normalised centroids, exact recheck near the nprobe-th. */
  private probeAll(gemm: Gemm, queries: Float32Array, m: number, inv: Float64Array, err: Float64Array, fast: Uint8Array, nprobe: number, probes: Int32Array): void {
    const x = this.x;
    const dim = x.dim;
    const stride = this.stride;
    const c64 = this.c64 as Float64Array;
    const ne = this.nonEmpty;
    const nc = ne.length;
    const cOff = 0;
    const qOff = nc * stride;
    const outOff = qOff + QUERY_TILE * stride;
    const mem = gemm.reserve(outOff + QUERY_TILE * nc);
    for (let a = 0; a < nc; a++) {
      const p = ne[a];
      for (let j = 0; j < dim; j++) mem[cOff + a * stride + j] = c64[p * dim + j];
      for (let j = dim; j < stride; j++) mem[cOff + a * stride + j] = 0;
    }
    const heap = new Float64Array(nprobe);
    const hs = new Int32Array(1);
    const cand: { p: number; s: number }[] = [];
    // err[i] includes 2u for the centroids' rounding to float32.
    const cScale = this.maxCNorm;
    for (let t0 = 0; t0 < m; t0 += QUERY_TILE) {
      const tn = Math.min(QUERY_TILE, m - t0);
      for (let t = 0; t < tn; t++) {
        mem.set(queries.subarray((t0 + t) * dim, (t0 + t + 1) * dim), qOff + t * stride);
        for (let j = dim; j < stride; j++) mem[qOff + t * stride + j] = 0;
      }
      gemm.nt(qOff, cOff, outOff, tn, nc, stride);
      for (let t = 0; t < tn; t++) {
        const i = t0 + t;
        if (!fast[i]) continue;
        const iv = inv[i];
        const g = outOff + t * nc;
        hs[0] = 0;
        for (let a = 0; a < nc; a++) heapOffer(heap, 0, nprobe, hs, 0, 1 - iv * mem[g + a]);
        const lim = heap[0] + 2 * (err[i] * cScale + ABS_SLACK);
        if (!Number.isFinite(lim)) {
          fast[i] = 0;
          continue;
        }
        const q = prepareQuery(queries.subarray(i * dim, (i + 1) * dim), COSINE);
        cand.length = 0;
        for (let a = 0; a < nc; a++) {
          if (!(1 - iv * mem[g + a] <= lim)) continue;
          const p = ne[a];
          // rowScore(q, c, cosine): 1 - q.c summed in float64 in index order.
          let dot = 0;
          for (let j = 0; j < dim; j++) dot += q[j] * c64[p * dim + j];
          cand.push({ p, s: 1 - dot });
        }
        cand.sort((u, v) => u.s - v.s || u.p - v.p);
        for (let s = 0; s < nprobe && s < cand.length; s++) probes[i * nprobe + s] = cand[s].p;
      }
    }
  }
}
