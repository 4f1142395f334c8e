// The summaries stage's nearest-neighbour search, made fast without changing a single result: the
// same IVF index as buildInMemoryIvf() (core/search/ivf.ts) and the same top k as searchIvf() /
// KnnQuery (core/search/knn.ts), bit for bit, for a whole batch of queries at once.
//
// Why it is exact: every decision the reference makes (nearest centroid by squared L2 summed in
// float64, the nprobe nearest partitions, the k nearest rows by (score, id)) is first made
// approximately with float32 GEMM (core/cluster/simd.ts, WebAssembly SIMD), whose rounding error has
// a proven bound E (|fl32(x.y) - x.y| <= n u |x| |y| for n terms in any summation order, u = 2^-24,
// plus float64 slack). Anything whose approximate value is within 2E of the approximate k-th best
// could be among the true k best, so exactly those candidates are recomputed with the reference's own
// float64 arithmetic (the same loops, or KnnQuery itself) and ranked by the reference's total order.
// A candidate set that contains every true winner, ranked exactly, gives the reference's answer:
// ties, NaNs and all. Queries are batched by partition so one GEMM serves many queries (the reference
// scans ~8 partitions of int8 rows per query in float64, one query at a time).
//
// Where WebAssembly SIMD is missing, or inputs are not finite, the reference functions run instead.
import { SIMD_DOT_WASM_BASE64 } from '../src/core/cluster/simd.ts';
import { buildInMemoryIvf, buildIvfIndex, partitionOrder, searchIvf, type IvfIndex, type KMeansOptions, type KMeansResult } from '../src/core/search/ivf.ts';
import { KnnQuery, prepareQuery, type KnnMetric, type KnnResult, type VectorBlock } from '../src/core/search/knn.ts';
import { createRng } from '../src/core/util/random.ts';

type Int8Block = Extract<VectorBlock, { kind: 'int8' }>;

const COSINE: KnnMetric = { kind: 'cosine' };
/** float32 unit roundoff. */
const U32 = 2 ** -24;
/** Rows per GEMM block in the nearest-centroid search. */
const NEAREST_BLOCK = 256;
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

const strideOf = (dim: number): number => (dim + 3) & ~3;

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
export function kmeansIvfFast(gemm: Gemm, rows: Float32Array, dim: number, k: number, opts: KMeansOptions = {}): KMeansResult {
  const n = Math.floor(rows.length / dim);
  if (!(k >= 1) || !Number.isInteger(k)) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (n === 0) throw new RangeError('k-means needs at least one row');
  const rng = createRng(opts.seed ?? 0);
  const want = Math.min(n, opts.sample ?? 20000);
  let sample: Float32Array;
  if (want === n) sample = rows.subarray(0, n * dim);
  else {
    const pos = new Uint32Array(n).map((_, i) => i);
    for (let i = 0; i < want; i++) {
      const j = i + rng.int(n - i);
      const t = pos[i];
      pos[i] = pos[j];
      pos[j] = t;
    }
    const chosen = pos.subarray(0, want).sort();
    sample = new Float32Array(want * dim);
    for (let i = 0; i < want; i++) sample.set(rows.subarray(chosen[i] * dim, (chosen[i] + 1) * dim), i * dim);
  }
  const m = want;
  const kk = Math.min(k, m);
  const centroids = new Float32Array(k * dim);
  // k-means++ seeding: the reference's float64 loop as is (its sums decide the picks).
  const d2 = new Float64Array(m).fill(Infinity);
  const first = rng.int(m);
  centroids.set(sample.subarray(first * dim, (first + 1) * dim), 0);
  for (let c = 1; c < kk; c++) {
    let total = 0;
    const co = (c - 1) * dim;
    for (let i = 0; i < m; i++) {
      const d = sqDist(sample, i * dim, centroids, co, dim);
      if (d < d2[i]) d2[i] = d;
      total += d2[i];
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

function dequantize(block: Int8Block): Float32Array {
  const out = new Float32Array(block.codes.length);
  const dim = block.dim;
  for (let r = 0; r < block.ids.length; r++) {
    const s = block.scales[r];
    for (let j = 0; j < dim; j++) out[r * dim + j] = block.codes[r * dim + j] * s;
  }
  return out;
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
  const rows = dequantize(block);
  const { centroids } = kmeansIvfFast(gemm, rows, dim, nlist, opts);
  const n = block.ids.length;
  const assignments = new Uint32Array(n);
  nearestCentroids(gemm, rows, n, centroids, Math.floor(centroids.length / dim), dim, assignments, null);
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

/** Growable column of numbers. */
class NumList {
  a: Float64Array;
  n = 0;
  constructor(cap = 64) {
    this.a = new Float64Array(cap);
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
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
  private readonly stride: number;
  /** Normalised centroids as probePartitions() computes them (float64), and their float32 copy (stride-padded). */
  private readonly c64: Float64Array | null = null;
  private readonly nonEmpty: Uint32Array;
  private readonly maxRowNorm: number;
  private readonly maxCNorm: number = 1;
  private readonly maxPart: number;

  constructor(index: BatchIndex, gemm: Gemm | null = Gemm.create()) {
    this.x = index;
    this.gemm = gemm;
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
    const x = this.x;
    const dim = x.dim;
    const out: (KnnResult | null)[] = new Array<KnnResult | null>(m).fill(null);
    const gemm = this.gemm;
    if (!gemm || !Number.isFinite(this.maxRowNorm) || !Number.isFinite(this.maxCNorm) || k < 1) {
      for (let i = 0; i < m; i++) out[i] = await this.reference(queries.subarray(i * dim, (i + 1) * dim), k);
      return out as KnnResult[];
    }
    // Per query: the float64 normalisation factor (as prepareQuery computes it) and the error scale.
    const inv = new Float64Array(m);
    const err = new Float64Array(m);
    const fast = new Uint8Array(m);
    const gamma = gammaOf(this.stride) + 2 * U32;
    for (let i = 0; i < m; i++) {
      let ss = 0;
      for (let j = 0; j < dim; j++) ss += queries[i * dim + j] * queries[i * dim + j];
      const iv = ss > 0 ? 1 / Math.sqrt(ss) : 1;
      inv[i] = iv;
      // |approx - exact| <= gamma |q| inv |row|, q normalised to ~1 by inv.
      err[i] = 1.05 * gamma * iv * Math.sqrt(ss) + 1e-15;
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
    const candRow: NumList[] = [];
    const candV: NumList[] = [];
    for (let i = 0; i < m; i++) {
      candRow.push(new NumList(32));
      candV.push(new NumList(32));
    }
    const stride = this.stride;
    const rowsOff = 0;
    const qOff = this.maxPart * stride;
    const outOff = qOff + QUERY_TILE * stride;
    let mem = gemm.reserve(outOff + QUERY_TILE * this.maxPart);
    for (let p = 0; p < nlist; p++) {
      const qa = counts[p];
      const qb = counts[p + 1];
      if (qa === qb) continue;
      const ra = x.offsets[p];
      const nr = x.offsets[p + 1] - ra;
      if (nr === 0) continue;
      mem = gemm.reserve(outOff + QUERY_TILE * this.maxPart);
      // The partition's codes as float32 integers (exact), scales applied per score.
      for (let r = 0; r < nr; r++) {
        const src = (ra + r) * dim;
        const dst = rowsOff + r * stride;
        for (let j = 0; j < dim; j++) mem[dst + j] = x.codes[src + j];
        for (let j = dim; j < stride; j++) mem[dst + j] = 0;
      }
      const sc = x.scales;
      for (let t0 = qa; t0 < qb; t0 += QUERY_TILE) {
        const tn = Math.min(QUERY_TILE, qb - t0);
        for (let t = 0; t < tn; t++) {
          const i = byPart[t0 + t];
          mem.set(queries.subarray(i * dim, (i + 1) * dim), qOff + t * stride);
          for (let j = dim; j < stride; j++) mem[qOff + t * stride + j] = 0;
        }
        gemm.nt(qOff, rowsOff, outOff, tn, nr, stride);
        for (let t = 0; t < tn; t++) {
          const i = byPart[t0 + t];
          const iv = inv[i];
          const twoE = 2 * err[i] * this.maxRowNorm;
          const ho = i * k;
          const rows = candRow[i];
          const vals = candV[i];
          let lim = hsize[i] < k ? Infinity : heap[ho] + twoE;
          const g = outOff + t * nr;
          for (let r = 0; r < nr; r++) {
            const v = 1 - sc[ra + r] * iv * mem[g + r];
            if (v <= lim) {
              rows.push(ra + r);
              vals.push(v);
              heapOffer(heap, ho, k, hsize, i, v);
              if (hsize[i] === k) lim = heap[ho] + twoE;
            }
          }
        }
      }
    }
    // 3. Exact: the candidates within 2E of the final k-th best, scored by KnnQuery itself.
    let cap = 256;
    let cIds = new Uint32Array(cap);
    let cCodes = new Int8Array(cap * dim);
    let cScales = new Float32Array(cap);
    for (let i = 0; i < m; i++) {
      if (!fast[i]) {
        out[i] = await this.reference(queries.subarray(i * dim, (i + 1) * dim), k);
        continue;
      }
      const lim = hsize[i] < k ? Infinity : heap[i * k] + 2 * err[i] * this.maxRowNorm;
      const rows = candRow[i];
      const vals = candV[i];
      let c = 0;
      for (let j = 0; j < rows.n; j++) {
        if (!(vals.a[j] <= lim)) continue;
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
        const r = rows.a[j];
        cIds[c] = x.ids[r];
        cCodes.set(x.codes.subarray(r * dim, (r + 1) * dim), c * dim);
        cScales[c] = x.scales[r];
        c++;
      }
      candRow[i] = candV[i] = EMPTY;
      const s = new KnnQuery(queries.subarray(i * dim, (i + 1) * dim), k, COSINE);
      s.addInt8(cIds.subarray(0, c), cCodes.subarray(0, c * dim), cScales.subarray(0, c));
      out[i] = s.result();
    }
    return out as KnnResult[];
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
    // The centroids were rounded to float32 for the GEMM: one more u of |q| |c|.
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
        const lim = heap[0] + 2 * (err[i] + 1.05 * U32 * iv) * cScale;
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

const EMPTY = new NumList(0);
