// Exact k-nearest-neighbour search, streamed block by block: the product's search hot path (and the
// CPU twin of the WebGPU kernel in knn-webgpu.ts). A query holds only its TopK heap, so searching
// every shard of a data set never needs all vectors in memory at once.
//
// Distances: Minkowski with any p > 0 (p >= 1 is a metric; 0 < p < 1 is not, the triangle
// inequality fails, and results say so), p = Infinity (Chebyshev), and cosine = 1 - q.x (rows
// are stored L2-normalised, so the dot product is the cosine; the query is normalised here).
//
// Speed (why the kernels look the way they do):
//   - rows are ranked by a monotone "score" (sum |d|^p, no p-th root; max |d| for Chebyshev), the
//     root is taken only for the k rows returned;
//   - every Minkowski kernel sums non-negative terms, so a row whose partial sum already exceeds
//     the current k-th best score is abandoned (checked every CHECK dims). Float addition of
//     non-negative terms is monotone, so this never drops a row the full sum would have kept:
//     results are exactly those of brute force;
//   - four independent accumulators break the add dependency chain (V8 does not vectorise); the
//     int8 loops and the dot product (cosine) instead score four rows per pass, sharing each query
//     load (measured faster there, not for float32 Minkowski);
//   - int8 rows (codes + one scale per row, as stored) are read in fused loops that never
//     dequantise a row into a temporary, except for rare p (general / integer >= 4) where one
//     row-sized scratch is reused;
//   - cosine, L2 and L1 (the common metrics) run WebAssembly SIMD kernels (knn-simd.ts: f64x2, the
//     same float64 maths) on int8 and float32 rows when dim % 8 == 0; the JS loops stay as the
//     fallback (no WebAssembly SIMD, other p, other dims) and as the reference the tests compare;
//   - p = 1, 2, 3, 4, Infinity and cosine have their own loops; other integer p use repeated
//     multiplication, and only non-integer p pays for Math.pow.
// The query is copied into a Float64Array once, and arithmetic is float64 throughout (JS numbers),
// so float32 rows are ranked as exactly as a float64 brute force ranks them.

import { SIMD_CHUNK_ROWS, simdKnnKernels, SimdKnnKernels, type SimdKernel } from './knn-simd.ts';
import { TopK, type TopKResult } from './topk.ts';

/** Plain data (JSON / structured-clone friendly) so it crosses worker boundaries. */
export type KnnMetric = { kind: 'minkowski'; p: number } | { kind: 'cosine' };

export interface MetricInfo {
  /** True for Minkowski p >= 1 (a true metric). False for 0 < p < 1, and for cosine distance (not a metric either: no triangle inequality). */
  isMetric: boolean;
  /** Short label for the UI and CLI, e.g. `L2`, `L3`, `Chebyshev`, `cosine`. */
  label: string;
}

/** A block of stored vectors: float32 rows, or int8 codes with one scale per row (value = code * scale). */
export type VectorBlock =
  | { kind: 'float32'; ids: Uint32Array; rows: Float32Array; dim: number }
  | { kind: 'int8'; ids: Uint32Array; codes: Int8Array; scales: Float32Array; dim: number };

export interface KnnResult extends TopKResult {
  /** Distances in the metric's own units (p-th root taken), ascending. */
  distances: Float64Array;
  isMetric: boolean;
  label: string;
}

/** Throws RangeError for a metric this module cannot compute (p <= 0, NaN). */
export function validateMetric(m: KnnMetric): void {
  if (m.kind === 'cosine') return;
  if (m.kind !== 'minkowski') throw new RangeError(`unknown metric ${(m as { kind: unknown }).kind}`);
  if (typeof m.p !== 'number' || Number.isNaN(m.p) || !(m.p > 0)) {
    throw new RangeError(`Minkowski p must be a number > 0 (or Infinity), got ${String(m.p)}`);
  }
}

export function describeMetric(m: KnnMetric): MetricInfo {
  validateMetric(m);
  if (m.kind === 'cosine') return { isMetric: false, label: 'cosine' };
  const p = m.p;
  if (p === Infinity) return { isMetric: true, label: 'Chebyshev' };
  return { isMetric: p >= 1, label: p === 1 ? 'L1' : p === 2 ? 'L2' : `L${p}` };
}

/** Converts a ranking score to the distance itself. */
export function scoreToDistance(m: KnnMetric, score: number): number {
  if (m.kind === 'cosine') return score;
  const p = m.p;
  if (p === 1 || p === Infinity) return score;
  if (p === 2) return Math.sqrt(score);
  return Math.pow(score, 1 / p);
}

/** Which loop a metric runs (shared with the WebGPU runner, which has the same cases). */
export type KernelKind = 'l1' | 'l2' | 'l3' | 'l4' | 'lint' | 'lgen' | 'linf' | 'dot';

export function kernelKind(m: KnnMetric): KernelKind {
  if (m.kind === 'cosine') return 'dot';
  const p = m.p;
  if (p === Infinity) return 'linf';
  if (p === 1) return 'l1';
  if (p === 2) return 'l2';
  if (p === 3) return 'l3';
  if (p === 4) return 'l4';
  if (Number.isInteger(p) && p <= 64) return 'lint';
  return 'lgen';
}

/**
 * The query as the kernels read it: float64, and L2-normalised for cosine (so 1 - q.x is the cosine
 * distance for normalised rows). A zero query stays zero (every cosine distance is then 1).
 */
export function prepareQuery(query: ArrayLike<number>, m: KnnMetric): Float64Array {
  const q = Float64Array.from(query);
  if (m.kind === 'cosine') {
    let ss = 0;
    for (let j = 0; j < q.length; j++) ss += q[j] * q[j];
    if (ss > 0) {
      const inv = 1 / Math.sqrt(ss);
      for (let j = 0; j < q.length; j++) q[j] *= inv;
    }
  }
  return q;
}

/** Dims between early-abandon checks: often enough to save work, rarely enough to cost nothing. */
const CHECK = 32;

/**
 * One query's streaming exact search. Feed it blocks (any sizes, any order), then read result().
 * Not shared across workers (it is state); each worker runs its own and results merge with
 * mergeTopK, or use searchBlocks() for the one-call form.
 */
export class KnnQuery {
  readonly metric: KnnMetric;
  readonly k: number;
  readonly dim: number;
  readonly top: TopK;
  private readonly q: Float64Array;
  private readonly kind: KernelKind;
  private readonly p: number;
  private scratch: Float64Array | null = null;
  private readonly simd: SimdKnnKernels | null;
  /** Rows scanned so far (for bytes/rows accounting). */
  rowsScanned = 0;

  /** `opts.simd: false` forces the JS loops (tests compare the two paths; default: SIMD where it applies). */
  constructor(query: ArrayLike<number>, k: number, metric: KnnMetric, opts: { simd?: boolean } = {}) {
    validateMetric(metric);
    this.metric = metric;
    this.k = k;
    this.dim = query.length;
    this.q = prepareQuery(query, metric);
    this.kind = kernelKind(metric);
    this.p = metric.kind === 'minkowski' ? metric.p : 2;
    this.top = new TopK(k);
    const simdKind = this.kind === 'dot' || this.kind === 'l2' || this.kind === 'l1';
    this.simd = opts.simd !== false && simdKind && SimdKnnKernels.supports(this.dim) ? simdKnnKernels() : null;
  }

  /** Whether blocks take the WebAssembly SIMD path. */
  get usesSimd(): boolean {
    return this.simd !== null;
  }

  add(block: VectorBlock): void {
    if (block.dim !== this.dim) throw new RangeError(`block rows have ${block.dim} dimensions, the query ${this.dim}`);
    if (block.kind === 'float32') this.addFloat32(block.ids, block.rows);
    else this.addInt8(block.ids, block.codes, block.scales);
  }

  /** Row-major float32 rows (ids.length x dim). */
  addFloat32(ids: Uint32Array, rows: Float32Array): void {
    const n = ids.length;
    const dim = this.dim;
    if (rows.length < n * dim) throw new RangeError(`block has ${rows.length} values, ${n} rows of ${dim} need ${n * dim}`);
    this.rowsScanned += n;
    const q = this.q;
    const t = this.top;
    if (this.simd) return this.addSimd(this.simd, ids, rows, null, n);
    switch (this.kind) {
      case 'l1': return f32L1(q, rows, ids, n, dim, t);
      case 'l2': return f32L2(q, rows, ids, n, dim, t);
      case 'l3': return f32L3(q, rows, ids, n, dim, t);
      case 'l4': return f32L4(q, rows, ids, n, dim, t);
      case 'linf': return f32Linf(q, rows, ids, n, dim, t);
      case 'dot': return f32Dot(q, rows, ids, n, dim, t);
      case 'lint': return f32Lint(q, rows, ids, n, dim, t, this.p);
      case 'lgen': return f32Lgen(q, rows, ids, n, dim, t, this.p);
    }
  }

  /** Row-major int8 codes (ids.length x dim) with one scale per row: value = code * scale. */
  addInt8(ids: Uint32Array, codes: Int8Array, scales: Float32Array): void {
    const n = ids.length;
    const dim = this.dim;
    if (codes.length < n * dim) throw new RangeError(`block has ${codes.length} codes, ${n} rows of ${dim} need ${n * dim}`);
    if (scales.length < n) throw new RangeError(`block has ${scales.length} scales for ${n} rows`);
    this.rowsScanned += n;
    const q = this.q;
    const t = this.top;
    if (this.simd) return this.addSimd(this.simd, ids, codes, scales, n);
    switch (this.kind) {
      case 'l1': return i8L1(q, codes, scales, ids, n, dim, t);
      case 'l2': return i8L2(q, codes, scales, ids, n, dim, t);
      case 'l3': return i8L3(q, codes, scales, ids, n, dim, t);
      case 'linf': return i8Linf(q, codes, scales, ids, n, dim, t);
      case 'dot': return i8Dot(q, codes, scales, ids, n, dim, t);
      default: {
        // Rare p: dequantise one row at a time into a reused scratch and run the float kernel.
        const row = (this.scratch ??= new Float64Array(dim));
        const one = new Uint32Array(1);
        for (let r = 0; r < n; r++) {
          const s = scales[r];
          const o = r * dim;
          for (let j = 0; j < dim; j++) row[j] = codes[o + j] * s;
          one[0] = ids[r];
          if (this.kind === 'l4') f32L4(q, row, one, 1, dim, t);
          else if (this.kind === 'lint') f32Lint(q, row, one, 1, dim, t, this.p);
          else f32Lgen(q, row, one, 1, dim, t, this.p);
        }
      }
    }
  }

  /** Scores chunks of rows in WASM memory, then offers them to the heap (scale applied here for int8 dot). */
  private addSimd(simd: SimdKnnKernels, ids: Uint32Array, rows: Int8Array | Float32Array, scales: Float32Array | null, n: number): void {
    const dim = this.dim;
    const kind = this.kind as SimdKernel;
    const top = this.top;
    for (let s = 0; s < n; s += SIMD_CHUNK_ROWS) {
      const m = Math.min(SIMD_CHUNK_ROWS, n - s);
      const out =
        rows instanceof Int8Array
          ? simd.score(kind, this.q, rows.subarray(s * dim), scales!.subarray(s), m, dim, top.bound)
          : simd.scoreFloat32(kind, this.q, rows.subarray(s * dim), m, dim, top.bound);
      if (kind === 'dot') {
        for (let r = 0; r < m; r++) {
          const v = 1 - (scales ? scales[s + r] * out[r] : out[r]);
          if (v <= top.bound) top.push(ids[s + r], v);
        }
      } else {
        for (let r = 0; r < m; r++) {
          const v = out[r];
          if (v <= top.bound) top.push(ids[s + r], v);
        }
      }
    }
  }

  result(): KnnResult {
    const r = this.top.result();
    return finishResult(r, this.metric);
  }
}

/** Adds distances and metric labels to a TopK result (e.g. one merged from workers or the GPU). */
export function finishResult(r: TopKResult, m: KnnMetric): KnnResult {
  const distances = new Float64Array(r.scores.length);
  for (let i = 0; i < distances.length; i++) distances[i] = scoreToDistance(m, r.scores[i]);
  const info = describeMetric(m);
  return { ids: r.ids, scores: r.scores, distances, isMetric: info.isMetric, label: info.label };
}

/** One-call exact search over blocks (sync). */
export function searchBlocksSync(query: ArrayLike<number>, blocks: Iterable<VectorBlock>, k: number, metric: KnnMetric): KnnResult {
  const s = new KnnQuery(query, k, metric);
  for (const b of blocks) s.add(b);
  return s.result();
}

/** Score of one row by the ranking key (sum |d|^p, max |d|, or 1 - q.x), for tests and the IVF probe. */
export function rowScore(q: Float64Array, row: ArrayLike<number>, m: KnnMetric): number {
  const dim = q.length;
  if (m.kind === 'cosine') {
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += q[j] * row[j];
    return 1 - dot;
  }
  const p = m.p;
  let acc = 0;
  for (let j = 0; j < dim; j++) {
    const a = Math.abs(q[j] - row[j]);
    if (p === Infinity) acc = a > acc ? a : acc;
    else acc += p === 1 ? a : p === 2 ? a * a : Math.pow(a, p);
  }
  return acc;
}

// ---- float32 kernels -------------------------------------------------------------------------
// Each: for every row, sum terms into 4 accumulators, abandoning the row when the partial sum
// passes top.bound at a CHECK boundary; then offer the full score.

type RowArray = Float32Array | Float64Array;

function f32L2(q: Float64Array, x: RowArray, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  const main = dim - (dim % CHECK);
  rows: for (let r = 0, o = 0; r < n; r++, o += dim) {
    const bound = top.bound;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j += 4) {
        const d0 = q[j] - x[o + j], d1 = q[j + 1] - x[o + j + 1], d2 = q[j + 2] - x[o + j + 2], d3 = q[j + 3] - x[o + j + 3];
        a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3;
      }
      if (a0 + a1 + a2 + a3 > bound) continue rows;
    }
    for (; j < dim; j++) { const d = q[j] - x[o + j]; a0 += d * d; }
    const s = a0 + a1 + a2 + a3;
    if (s <= bound) top.push(ids[r], s);
  }
}

function f32L1(q: Float64Array, x: RowArray, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  const main = dim - (dim % CHECK);
  rows: for (let r = 0, o = 0; r < n; r++, o += dim) {
    const bound = top.bound;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j += 4) {
        a0 += Math.abs(q[j] - x[o + j]); a1 += Math.abs(q[j + 1] - x[o + j + 1]);
        a2 += Math.abs(q[j + 2] - x[o + j + 2]); a3 += Math.abs(q[j + 3] - x[o + j + 3]);
      }
      if (a0 + a1 + a2 + a3 > bound) continue rows;
    }
    for (; j < dim; j++) a0 += Math.abs(q[j] - x[o + j]);
    const s = a0 + a1 + a2 + a3;
    if (s <= bound) top.push(ids[r], s);
  }
}

function f32L3(q: Float64Array, x: RowArray, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  const main = dim - (dim % CHECK);
  rows: for (let r = 0, o = 0; r < n; r++, o += dim) {
    const bound = top.bound;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j += 4) {
        const d0 = Math.abs(q[j] - x[o + j]), d1 = Math.abs(q[j + 1] - x[o + j + 1]);
        const d2 = Math.abs(q[j + 2] - x[o + j + 2]), d3 = Math.abs(q[j + 3] - x[o + j + 3]);
        a0 += d0 * d0 * d0; a1 += d1 * d1 * d1; a2 += d2 * d2 * d2; a3 += d3 * d3 * d3;
      }
      if (a0 + a1 + a2 + a3 > bound) continue rows;
    }
    for (; j < dim; j++) { const d = Math.abs(q[j] - x[o + j]); a0 += d * d * d; }
    const s = a0 + a1 + a2 + a3;
    if (s <= bound) top.push(ids[r], s);
  }
}

function f32L4(q: Float64Array, x: RowArray, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  const main = dim - (dim % CHECK);
  rows: for (let r = 0, o = 0; r < n; r++, o += dim) {
    const bound = top.bound;
    let a0 = 0, a1 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j += 2) {
        const d0 = q[j] - x[o + j], d1 = q[j + 1] - x[o + j + 1];
        const e0 = d0 * d0, e1 = d1 * d1;
        a0 += e0 * e0; a1 += e1 * e1;
      }
      if (a0 + a1 > bound) continue rows;
    }
    for (; j < dim; j++) { const d = q[j] - x[o + j]; const e = d * d; a0 += e * e; }
    const s = a0 + a1;
    if (s <= bound) top.push(ids[r], s);
  }
}

/** |d|^p for an integer p by binary exponentiation (exact up to float rounding, no Math.pow). */
function powInt(a: number, p: number): number {
  let result = 1;
  let base = a;
  let e = p;
  while (e > 0) {
    if (e & 1) result *= base;
    base *= base;
    e >>= 1;
  }
  return result;
}

function f32Lint(q: Float64Array, x: RowArray, ids: Uint32Array, n: number, dim: number, top: TopK, p: number): void {
  const main = dim - (dim % CHECK);
  rows: for (let r = 0, o = 0; r < n; r++, o += dim) {
    const bound = top.bound;
    let a0 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j++) a0 += powInt(Math.abs(q[j] - x[o + j]), p);
      if (a0 > bound) continue rows;
    }
    for (; j < dim; j++) a0 += powInt(Math.abs(q[j] - x[o + j]), p);
    if (a0 <= bound) top.push(ids[r], a0);
  }
}

function f32Lgen(q: Float64Array, x: RowArray, ids: Uint32Array, n: number, dim: number, top: TopK, p: number): void {
  const main = dim - (dim % CHECK);
  const half = p === 0.5;
  rows: for (let r = 0, o = 0; r < n; r++, o += dim) {
    const bound = top.bound;
    let a0 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      if (half) for (; j < end; j++) a0 += Math.sqrt(Math.abs(q[j] - x[o + j]));
      else for (; j < end; j++) a0 += Math.pow(Math.abs(q[j] - x[o + j]), p);
      if (a0 > bound) continue rows;
    }
    if (half) for (; j < dim; j++) a0 += Math.sqrt(Math.abs(q[j] - x[o + j]));
    else for (; j < dim; j++) a0 += Math.pow(Math.abs(q[j] - x[o + j]), p);
    if (a0 <= bound) top.push(ids[r], a0);
  }
}

function f32Linf(q: Float64Array, x: RowArray, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  const main = dim - (dim % CHECK);
  rows: for (let r = 0, o = 0; r < n; r++, o += dim) {
    const bound = top.bound;
    let m0 = 0, m1 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j += 2) {
        const d0 = Math.abs(q[j] - x[o + j]), d1 = Math.abs(q[j + 1] - x[o + j + 1]);
        if (d0 > m0) m0 = d0;
        if (d1 > m1) m1 = d1;
      }
      if (m0 > bound || m1 > bound) continue rows;
    }
    for (; j < dim; j++) { const d = Math.abs(q[j] - x[o + j]); if (d > m0) m0 = d; }
    const s = m0 > m1 ? m0 : m1;
    if (s <= bound) top.push(ids[r], s);
  }
}

function f32Dot(q: Float64Array, x: RowArray, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  // Four rows per pass share each query load (measured ~25% faster than one row at a time in V8);
  // the dot product cannot be abandoned early, so this is the only lever left in plain JS.
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const o0 = r * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let j = 0; j < dim; j++) {
      const qj = q[j];
      a0 += qj * x[o0 + j]; a1 += qj * x[o1 + j]; a2 += qj * x[o2 + j]; a3 += qj * x[o3 + j];
    }
    const s0 = 1 - a0, s1 = 1 - a1, s2 = 1 - a2, s3 = 1 - a3;
    if (s0 <= top.bound) top.push(ids[r], s0);
    if (s1 <= top.bound) top.push(ids[r + 1], s1);
    if (s2 <= top.bound) top.push(ids[r + 2], s2);
    if (s3 <= top.bound) top.push(ids[r + 3], s3);
  }
  for (; r < n; r++) {
    const o = r * dim;
    let a = 0;
    for (let j = 0; j < dim; j++) a += q[j] * x[o + j];
    const s = 1 - a;
    if (s <= top.bound) top.push(ids[r], s);
  }
}

// ---- int8 kernels (value = code * scale, fused) ----------------------------------------------

function i8L2(q: Float64Array, c: Int8Array, sc: Float32Array, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  const main = dim - (dim % CHECK);
  let r = 0;
  // Four rows per pass (sharing each query load: measured 1.1-1.6x faster for int8 rows in V8);
  // the group is abandoned only when all four partial sums pass the bound.
  groups: for (; r + 4 <= n; r += 4) {
    const bound = top.bound;
    const o0 = r * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim;
    const s0 = sc[r], s1 = sc[r + 1], s2 = sc[r + 2], s3 = sc[r + 3];
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j++) {
        const qj = q[j];
        const d0 = qj - c[o0 + j] * s0; a0 += d0 * d0; const d1 = qj - c[o1 + j] * s1; a1 += d1 * d1; const d2 = qj - c[o2 + j] * s2; a2 += d2 * d2; const d3 = qj - c[o3 + j] * s3; a3 += d3 * d3;
      }
      if (a0 > bound && a1 > bound && a2 > bound && a3 > bound) continue groups;
    }
    for (; j < dim; j++) {
      const qj = q[j];
      const d0 = qj - c[o0 + j] * s0; a0 += d0 * d0; const d1 = qj - c[o1 + j] * s1; a1 += d1 * d1; const d2 = qj - c[o2 + j] * s2; a2 += d2 * d2; const d3 = qj - c[o3 + j] * s3; a3 += d3 * d3;
    }
    if (a0 <= top.bound) top.push(ids[r], a0);
    if (a1 <= top.bound) top.push(ids[r + 1], a1);
    if (a2 <= top.bound) top.push(ids[r + 2], a2);
    if (a3 <= top.bound) top.push(ids[r + 3], a3);
  }
  rows: for (; r < n; r++) {
    const bound = top.bound;
    const o = r * dim;
    const s = sc[r];
    let a = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j++) { const d = q[j] - c[o + j] * s; a += d * d; }
      if (a > bound) continue rows;
    }
    for (; j < dim; j++) { const d = q[j] - c[o + j] * s; a += d * d; }
    if (a <= bound) top.push(ids[r], a);
  }
}

function i8L1(q: Float64Array, c: Int8Array, sc: Float32Array, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  const main = dim - (dim % CHECK);
  let r = 0;
  // Four rows per pass (sharing each query load: measured 1.1-1.6x faster for int8 rows in V8);
  // the group is abandoned only when all four partial sums pass the bound.
  groups: for (; r + 4 <= n; r += 4) {
    const bound = top.bound;
    const o0 = r * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim;
    const s0 = sc[r], s1 = sc[r + 1], s2 = sc[r + 2], s3 = sc[r + 3];
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j++) {
        const qj = q[j];
        a0 += Math.abs(qj - c[o0 + j] * s0); a1 += Math.abs(qj - c[o1 + j] * s1); a2 += Math.abs(qj - c[o2 + j] * s2); a3 += Math.abs(qj - c[o3 + j] * s3);
      }
      if (a0 > bound && a1 > bound && a2 > bound && a3 > bound) continue groups;
    }
    for (; j < dim; j++) {
      const qj = q[j];
      a0 += Math.abs(qj - c[o0 + j] * s0); a1 += Math.abs(qj - c[o1 + j] * s1); a2 += Math.abs(qj - c[o2 + j] * s2); a3 += Math.abs(qj - c[o3 + j] * s3);
    }
    if (a0 <= top.bound) top.push(ids[r], a0);
    if (a1 <= top.bound) top.push(ids[r + 1], a1);
    if (a2 <= top.bound) top.push(ids[r + 2], a2);
    if (a3 <= top.bound) top.push(ids[r + 3], a3);
  }
  rows: for (; r < n; r++) {
    const bound = top.bound;
    const o = r * dim;
    const s = sc[r];
    let a = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j++) { a += Math.abs(q[j] - c[o + j] * s); }
      if (a > bound) continue rows;
    }
    for (; j < dim; j++) { a += Math.abs(q[j] - c[o + j] * s); }
    if (a <= bound) top.push(ids[r], a);
  }
}

function i8L3(q: Float64Array, c: Int8Array, sc: Float32Array, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  const main = dim - (dim % CHECK);
  let r = 0;
  // Four rows per pass (sharing each query load: measured 1.1-1.6x faster for int8 rows in V8);
  // the group is abandoned only when all four partial sums pass the bound.
  groups: for (; r + 4 <= n; r += 4) {
    const bound = top.bound;
    const o0 = r * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim;
    const s0 = sc[r], s1 = sc[r + 1], s2 = sc[r + 2], s3 = sc[r + 3];
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j++) {
        const qj = q[j];
        const d0 = Math.abs(qj - c[o0 + j] * s0); a0 += d0 * d0 * d0; const d1 = Math.abs(qj - c[o1 + j] * s1); a1 += d1 * d1 * d1; const d2 = Math.abs(qj - c[o2 + j] * s2); a2 += d2 * d2 * d2; const d3 = Math.abs(qj - c[o3 + j] * s3); a3 += d3 * d3 * d3;
      }
      if (a0 > bound && a1 > bound && a2 > bound && a3 > bound) continue groups;
    }
    for (; j < dim; j++) {
      const qj = q[j];
      const d0 = Math.abs(qj - c[o0 + j] * s0); a0 += d0 * d0 * d0; const d1 = Math.abs(qj - c[o1 + j] * s1); a1 += d1 * d1 * d1; const d2 = Math.abs(qj - c[o2 + j] * s2); a2 += d2 * d2 * d2; const d3 = Math.abs(qj - c[o3 + j] * s3); a3 += d3 * d3 * d3;
    }
    if (a0 <= top.bound) top.push(ids[r], a0);
    if (a1 <= top.bound) top.push(ids[r + 1], a1);
    if (a2 <= top.bound) top.push(ids[r + 2], a2);
    if (a3 <= top.bound) top.push(ids[r + 3], a3);
  }
  rows: for (; r < n; r++) {
    const bound = top.bound;
    const o = r * dim;
    const s = sc[r];
    let a = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j++) { const d = Math.abs(q[j] - c[o + j] * s); a += d * d * d; }
      if (a > bound) continue rows;
    }
    for (; j < dim; j++) { const d = Math.abs(q[j] - c[o + j] * s); a += d * d * d; }
    if (a <= bound) top.push(ids[r], a);
  }
}

function i8Linf(q: Float64Array, c: Int8Array, sc: Float32Array, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  const main = dim - (dim % CHECK);
  rows: for (let r = 0, o = 0; r < n; r++, o += dim) {
    const bound = top.bound;
    const s = sc[r];
    let m0 = 0, m1 = 0;
    let j = 0;
    while (j < main) {
      const end = j + CHECK;
      for (; j < end; j += 2) {
        const d0 = Math.abs(q[j] - c[o + j] * s), d1 = Math.abs(q[j + 1] - c[o + j + 1] * s);
        if (d0 > m0) m0 = d0;
        if (d1 > m1) m1 = d1;
      }
      if (m0 > bound || m1 > bound) continue rows;
    }
    for (; j < dim; j++) { const d = Math.abs(q[j] - c[o + j] * s); if (d > m0) m0 = d; }
    const t = m0 > m1 ? m0 : m1;
    if (t <= bound) top.push(ids[r], t);
  }
}

function i8Dot(q: Float64Array, c: Int8Array, sc: Float32Array, ids: Uint32Array, n: number, dim: number, top: TopK): void {
  // As f32Dot: four rows per pass. The scale factors out of the dot product: one multiply per row.
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const o0 = r * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let j = 0; j < dim; j++) {
      const qj = q[j];
      a0 += qj * c[o0 + j]; a1 += qj * c[o1 + j]; a2 += qj * c[o2 + j]; a3 += qj * c[o3 + j];
    }
    const s0 = 1 - sc[r] * a0, s1 = 1 - sc[r + 1] * a1, s2 = 1 - sc[r + 2] * a2, s3 = 1 - sc[r + 3] * a3;
    if (s0 <= top.bound) top.push(ids[r], s0);
    if (s1 <= top.bound) top.push(ids[r + 1], s1);
    if (s2 <= top.bound) top.push(ids[r + 2], s2);
    if (s3 <= top.bound) top.push(ids[r + 3], s3);
  }
  for (; r < n; r++) {
    const o = r * dim;
    let a = 0;
    for (let j = 0; j < dim; j++) a += q[j] * c[o + j];
    const s = 1 - sc[r] * a;
    if (s <= top.bound) top.push(ids[r], s);
  }
}
