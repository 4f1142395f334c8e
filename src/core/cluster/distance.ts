// Distance kernels shared by k-means, silhouette and cluster cards. Pure TS, row-major typed arrays.
//
// Two regimes, because the cost model differs:
//   - low dimension (d <= DIRECT_MAX_DIM, e.g. a 3-d layout): direct differences. A distance is a
//     handful of operations, so any blocking/GEMM bookkeeping would cost more than it saves, and
//     direct differences are exact (no cancellation).
//   - high dimension (768-d embeddings): ||x||^2 - 2 x.c + ||c||^2 with the dot products computed
//     by the register-blocked `mulByTransposed` on Float64 copies of a block of rows: it does 9
//     multiply-adds per 6 loads instead of 1 per 2, which is what counts in V8 (no SIMD) - or, where
//     WebAssembly SIMD exists (Node, all current browsers), by the f32x4 kernel of simd.ts (3-5x
//     faster), whose float32 rounding is then undone for the decisions that must be exact.

import { mulByTransposed } from '../util/linalg.ts';
import { simdKernel, simdStride, type SimdKernel } from './simd.ts';

/** At or below this dimension the direct-difference kernels are used. */
export const DIRECT_MAX_DIM = 8;

/** Rows converted to Float64 per block in the high-d kernels (48 x 768 x 8 B = 295 KB: fits L2). */
export const HIGH_D_BLOCK = 48;

/** Squared Euclidean norms of the rows of a row-major matrix (Float64 accumulation). */
export function rowSqNorms(x: Float32Array | Float64Array, rows: number, d: number, out: Float64Array = new Float64Array(rows)): Float64Array {
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    let s = 0;
    for (let t = 0; t < d; t++) {
      const v = x[o + t];
      s += v * v;
    }
    out[i] = s;
  }
  return out;
}

/** Squared Euclidean distance between row i of `x` and row j of `c` (both d wide). */
export function sqDist(x: Float32Array | Float64Array, i: number, c: Float64Array | Float32Array, j: number, d: number): number {
  const o = i * d;
  const q = j * d;
  let s = 0;
  for (let t = 0; t < d; t++) {
    const v = x[o + t] - c[q + t];
    s += v * v;
  }
  return s;
}

/** Reusable buffers for `nearestTwo` in high dimension (allocating per call would churn the GC in a loop). */
export class NearestScratch {
  readonly xb: Float64Array;
  readonly xn: Float64Array;
  readonly dots: Float64Array;
  constructor(
    readonly d: number,
    readonly k: number,
  ) {
    this.xb = new Float64Array(HIGH_D_BLOCK * d);
    this.xn = new Float64Array(HIGH_D_BLOCK);
    this.dots = new Float64Array(HIGH_D_BLOCK * k);
  }
}

/** Unit roundoff of float32. */
const U32 = 2 ** -24;

/**
 * Dot products of data rows with a fixed set of "column" rows (centroids, k-means++ candidates)
 * through the SIMD kernel. Layout in the module memory: columns, then a block of rows, then the
 * block's dot products. One plan is live at a time (plans share the memory from offset 0).
 */
export class SimdDotPlan {
  readonly stride: number;
  private readonly rowsOff: number;
  private readonly outOff: number;
  constructor(
    private readonly kernel: SimdKernel,
    readonly d: number,
    cols: Float32Array | Float64Array,
    readonly k: number,
    readonly maxRows: number,
  ) {
    const s = simdStride(d);
    this.stride = s;
    this.rowsOff = k * s;
    this.outOff = this.rowsOff + maxRows * s;
    const mem = kernel.reserve(this.outOff + maxRows * k);
    for (let j = 0; j < k; j++) {
      const o = j * s;
      for (let t = 0; t < d; t++) mem[o + t] = cols[j * d + t];
      for (let t = d; t < s; t++) mem[o + t] = 0;
    }
  }

  /** Dots of rows ids[p] (or start + p), p < count <= maxRows: a view, count x k, valid until the next call. */
  dots(data: Float32Array, ids: Int32Array | null, start: number, count: number): Float32Array {
    const { d, stride: s, rowsOff, outOff, k } = this;
    const mem = this.kernel.reserve(outOff + this.maxRows * k);
    for (let p = 0; p < count; p++) {
      const i = ids ? ids[start + p] : start + p;
      const o = rowsOff + p * s;
      if (s === d) mem.set(data.subarray(i * d, i * d + d), o);
      else {
        for (let t = 0; t < d; t++) mem[o + t] = data[i * d + t];
        for (let t = d; t < s; t++) mem[o + t] = 0;
      }
    }
    this.kernel.gemmNT(rowsOff, 0, outOff, count, k, s);
    return mem.subarray(outOff, outOff + count * k);
  }
}

/** Shortcuts for nearestTwo's SIMD path (high dimension). */
export interface NearestFast {
  /** Precomputed squared norms of all data rows (indexed by row id), saving a pass per call. */
  rowNorms?: Float64Array;
  /**
   * false: take the float32 argmin as is (no float64 recheck; labels may differ from the exact
   * argmin at float32 near-ties, best is the rounded distance). Mini-batch steps use it, as
   * scikit-learn's float32 path does. Ignored when a runner-up is asked for (bounds must hold).
   */
  exact?: boolean;
}

/** Rows per SIMD block in nearestTwo. */
const SIMD_BLOCK = 64;

/**
 * nearestTwo through float32 SIMD dot products, made exact: a centre whose float32 distance is
 * within the rounding bound of the best is rechecked in float64, so the label is the exact argmin
 * (ties to the lower index) and the best distance is exact; the runner-up is a valid lower bound
 * (exact where rechecked), which is all Hamerly's bounds need.
 * Bound: |fl32(x.c) - x.c| <= (d/4 + 4) u |x| |c| (4 lanes of d/4 terms, the lane sum, the
 * rounding of c to float32), so a squared distance is off by at most twice that.
 */
function nearestTwoSimd(
  kernel: SimdKernel,
  data: Float32Array,
  d: number,
  ids: Int32Array | null,
  start: number,
  count: number,
  centers: Float64Array,
  cNorms: Float64Array,
  k: number,
  outLabel: Int32Array,
  outBest: Float64Array,
  outSecond: Float64Array | null,
  fast: NearestFast,
): void {
  const plan = new SimdDotPlan(kernel, d, centers, k, Math.min(SIMD_BLOCK, count));
  const rowNorms = fast.rowNorms ?? null;
  const inexact = fast.exact === false && !outSecond;
  const cLen = new Float64Array(k);
  for (let j = 0; j < k; j++) cLen[j] = Math.sqrt(cNorms[j]);
  // Twice the dot-product bound (a squared distance has -2 x.c), with slack for the (1 - m u)
  // denominators of the exact bound and the float64 arithmetic around it.
  const errScale = 2 * (d / 4 + 8) * U32 * 1.01;
  const approx = new Float64Array(k);
  const exact = new Float64Array(k);
  for (let p0 = 0; p0 < count; p0 += SIMD_BLOCK) {
    const b = Math.min(SIMD_BLOCK, count - p0);
    const dots = plan.dots(data, ids, ids ? p0 : start + p0, b);
    for (let r = 0; r < b; r++) {
      const i = ids ? ids[p0 + r] : start + p0 + r;
      const o = i * d;
      let nx = 0;
      if (rowNorms) nx = rowNorms[i];
      else for (let t = 0; t < d; t++) nx += data[o + t] * data[o + t];
      const row = r * k;
      let ab = 0;
      let bestA = Infinity;
      for (let j = 0; j < k; j++) {
        const v = nx + cNorms[j] - 2 * dots[row + j];
        approx[j] = v;
        if (v < bestA) {
          bestA = v;
          ab = j;
        }
      }
      if (inexact) {
        outLabel[p0 + r] = ab;
        outBest[p0 + r] = bestA > 0 ? bestA : 0;
        continue;
      }
      const e = errScale * Math.sqrt(nx);
      const limit = bestA + e * cLen[ab];
      let best = Infinity;
      let bl = 0;
      for (let j = 0; j < k; j++) {
        exact[j] = -1;
        if (approx[j] - e * cLen[j] <= limit) {
          const v = sqDist(data, i, centers, j, d);
          exact[j] = v;
          if (v < best || (v === best && j < bl)) {
            best = v;
            bl = j;
          }
        }
      }
      const p = p0 + r;
      outLabel[p] = bl;
      outBest[p] = best;
      if (outSecond) {
        let second = Infinity;
        for (let j = 0; j < k; j++) {
          if (j === bl) continue;
          const v = exact[j] >= 0 ? exact[j] : approx[j] - e * cLen[j];
          if (v < second) second = v;
        }
        outSecond[p] = second > 0 ? second : 0;
      }
    }
  }
}

/**
 * Nearest and second-nearest centroid for `count` points: point ids `ids[p]` when `ids` is given,
 * else `start + p`. Outputs are positional (index p): the label, the squared distance to it and,
 * when `outSecond` is given, the squared distance to the runner-up (Infinity when k = 1).
 * Ties go to the lower centroid index (argmin semantics, as the WebGPU twin does).
 * `cNorms` (squared centroid norms) is only read in high dimension.
 */
export function nearestTwo(
  data: Float32Array,
  d: number,
  ids: Int32Array | null,
  start: number,
  count: number,
  centers: Float64Array,
  cNorms: Float64Array,
  k: number,
  outLabel: Int32Array,
  outBest: Float64Array,
  outSecond: Float64Array | null,
  scratch: NearestScratch | null = null,
  fast: NearestFast = {},
): void {
  if (d <= DIRECT_MAX_DIM) {
    nearestTwoDirect(data, d, ids, start, count, centers, k, outLabel, outBest, outSecond);
    return;
  }
  const kernel = simdKernel();
  if (kernel) {
    nearestTwoSimd(kernel, data, d, ids, start, count, centers, cNorms, k, outLabel, outBest, outSecond, fast);
    return;
  }
  const sc = scratch && scratch.d === d && scratch.k >= k ? scratch : new NearestScratch(d, k);
  const { xb, xn, dots } = sc;
  for (let p0 = 0; p0 < count; p0 += HIGH_D_BLOCK) {
    const b = Math.min(HIGH_D_BLOCK, count - p0);
    for (let r = 0; r < b; r++) {
      const i = ids ? ids[p0 + r] : start + p0 + r;
      const o = i * d;
      const w = r * d;
      let s = 0;
      for (let t = 0; t < d; t++) {
        const v = data[o + t];
        xb[w + t] = v;
        s += v * v;
      }
      xn[r] = s;
    }
    mulByTransposed(xb, b, d, centers, k, dots);
    for (let r = 0; r < b; r++) {
      const nx = xn[r];
      const row = r * k;
      let best = Infinity;
      let second = Infinity;
      let bl = 0;
      for (let j = 0; j < k; j++) {
        const dd = nx + cNorms[j] - 2 * dots[row + j];
        if (dd < best) {
          second = best;
          best = dd;
          bl = j;
        } else if (dd < second) second = dd;
      }
      const p = p0 + r;
      outLabel[p] = bl;
      // Cancellation can push a tiny true distance below zero.
      outBest[p] = best > 0 ? best : 0;
      if (outSecond) outSecond[p] = second > 0 ? second : 0;
    }
  }
}

function nearestTwoDirect(
  data: Float32Array,
  d: number,
  ids: Int32Array | null,
  start: number,
  count: number,
  centers: Float64Array,
  k: number,
  outLabel: Int32Array,
  outBest: Float64Array,
  outSecond: Float64Array | null,
): void {
  if (d === 3) {
    // The layout case (551k x 3, k = 150): fully unrolled, coordinates held in registers.
    for (let p = 0; p < count; p++) {
      const o = (ids ? ids[p] : start + p) * 3;
      const x0 = data[o];
      const x1 = data[o + 1];
      const x2 = data[o + 2];
      let best = Infinity;
      let second = Infinity;
      let bl = 0;
      for (let j = 0, c = 0; j < k; j++, c += 3) {
        const t0 = x0 - centers[c];
        const t1 = x1 - centers[c + 1];
        const t2 = x2 - centers[c + 2];
        const dd = t0 * t0 + t1 * t1 + t2 * t2;
        if (dd < second) {
          if (dd < best) {
            second = best;
            best = dd;
            bl = j;
          } else second = dd;
        }
      }
      outLabel[p] = bl;
      outBest[p] = best;
      if (outSecond) outSecond[p] = second;
    }
    return;
  }
  if (d === 2) {
    for (let p = 0; p < count; p++) {
      const o = (ids ? ids[p] : start + p) * 2;
      const x0 = data[o];
      const x1 = data[o + 1];
      let best = Infinity;
      let second = Infinity;
      let bl = 0;
      for (let j = 0, c = 0; j < k; j++, c += 2) {
        const t0 = x0 - centers[c];
        const t1 = x1 - centers[c + 1];
        const dd = t0 * t0 + t1 * t1;
        if (dd < second) {
          if (dd < best) {
            second = best;
            best = dd;
            bl = j;
          } else second = dd;
        }
      }
      outLabel[p] = bl;
      outBest[p] = best;
      if (outSecond) outSecond[p] = second;
    }
    return;
  }
  for (let p = 0; p < count; p++) {
    const o = (ids ? ids[p] : start + p) * d;
    let best = Infinity;
    let second = Infinity;
    let bl = 0;
    for (let j = 0; j < k; j++) {
      const c = j * d;
      let dd = 0;
      for (let t = 0; t < d; t++) {
        const v = data[o + t] - centers[c + t];
        dd += v * v;
      }
      if (dd < second) {
        if (dd < best) {
          second = best;
          best = dd;
          bl = j;
        } else second = dd;
      }
    }
    outLabel[p] = bl;
    outBest[p] = best;
    if (outSecond) outSecond[p] = second;
  }
}

/**
 * Assigns every row of `data` to its nearest centroid (`centroids` k x d, Float32 or Float64).
 * Fills `outLabels` and, when given, `outDist2`; returns the inertia (sum of squared distances).
 */
export function assignNearest(
  data: Float32Array,
  n: number,
  d: number,
  centroids: Float32Array | Float64Array,
  k: number,
  outLabels: Int32Array = new Int32Array(n),
  outDist2: Float64Array | null = null,
): { labels: Int32Array; inertia: number } {
  const c64 = centroids instanceof Float64Array ? centroids : Float64Array.from(centroids);
  const cn = rowSqNorms(c64, k, d);
  const chunk = 8192;
  const lab = new Int32Array(chunk);
  const best = new Float64Array(chunk);
  const sc = d > DIRECT_MAX_DIM ? new NearestScratch(d, k) : null;
  let inertia = 0;
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    nearestTwo(data, d, null, s, m, c64, cn, k, lab, best, null, sc);
    for (let p = 0; p < m; p++) {
      outLabels[s + p] = lab[p];
      if (outDist2) outDist2[s + p] = best[p];
      inertia += best[p];
    }
  }
  return { labels: outLabels, inertia };
}

/** Sum of squared distances of each row to its assigned centroid, computed directly (exact). */
export function inertiaOf(data: Float32Array, n: number, d: number, centroids: Float32Array | Float64Array, labels: Int32Array): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += sqDist(data, i, centroids, labels[i], d);
  return s;
}
