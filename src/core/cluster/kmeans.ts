// k-means: greedy k-means++ initialisation, exact Lloyd iterations and a mini-batch mode.
// Pure TS; the same seed gives the same clustering in Node (prebuild) and in a browser worker.
//
// Semantics follow scikit-learn's KMeans(algorithm='lloyd') so the two can be compared step by step:
//   - init: greedy k-means++ with 2 + floor(ln k) local trials per centre;
//   - an iteration assigns every point to its nearest centre, then moves each centre to the mean
//     of its points; it stops when no label changed ("strict convergence") or when the sum of
//     squared centre shifts is <= tol * (mean per-feature variance of the data);
//   - after a tol stop the labels are recomputed once with the final centres, so labels, centres
//     and inertia are consistent;
//   - an empty cluster is re-seeded with the point farthest from its centre.
// Speed: the JS assignment uses Hamerly's bounds (one upper bound to the own centre, one lower
// bound to the second-nearest). A point whose bounds prove its label cannot change is skipped, so
// the labels are exactly Lloyd's (up to floating ties) while later iterations touch few points.
// Centre sums are updated incrementally (only moved points), in Float64.

import { createRng, type Rng } from '../util/random.ts';
import { DIRECT_MAX_DIM, HIGH_D_BLOCK, NearestScratch, SimdDotPlan, nearestTwo, rowSqNorms, sqDist, type NearestFast } from './distance.ts';
import { simdKernel } from './simd.ts';
import { mulByTransposed } from '../util/linalg.ts';

export type KMeansBackend = 'js' | 'webgpu';

export interface KMeansProgress {
  phase: 'init' | 'iterate' | 'labels';
  /** Iterations (Lloyd) or mini-batch steps done so far. */
  iteration: number;
  /** The most iterations / steps that may run. */
  maxIterations: number;
  /** Lloyd: points whose label changed in this iteration. */
  changed?: number;
  /** Lloyd: sum of squared centre shifts; mini-batch: smoothed batch inertia per point. */
  shift?: number;
}

export interface KMeansOptions {
  k: number;
  /** Seed for init and sampling (default 0). */
  seed?: number;
  /** Lloyd: most iterations (default 300). Mini-batch: most passes over the data (default 100). */
  maxIter?: number;
  /** Relative tolerance on the sum of squared centre shifts, times the mean feature variance (default 1e-4). */
  tol?: number;
  /** 'k-means++' (default), 'random' (k distinct rows) or explicit initial centroids (k x d). */
  init?: 'k-means++' | 'random' | Float32Array | Float64Array;
  /** k-means++ candidates per centre (default 2 + floor(ln k), as scikit-learn). */
  nLocalTrials?: number;
  /** Run k-means++ on a uniform sample of this many rows (default: all rows). */
  initSampleSize?: number;
  /** 'lloyd' (default, exact) or 'minibatch' (scikit-learn MiniBatchKMeans-like). */
  algorithm?: 'lloyd' | 'minibatch';
  /** Mini-batch size (default 1024). */
  batchSize?: number;
  /** Mini-batch: stop after this many steps without improvement of the smoothed batch inertia (default 10). */
  maxNoImprovement?: number;
  /** Mini-batch: re-seed centres whose count is below this fraction of the largest (default 0.01). */
  reassignmentRatio?: number;
  /** Mini-batch: rows for k-means++ init (default max(3 * batchSize, 3 * k), capped at n). */
  initSize?: number;
  /** Lloyd assignment backend (default 'js'); 'webgpu' falls back to 'js' without an adapter. */
  backend?: KMeansBackend;
  /** Accept a software WebGPU adapter (tests only; see core/gpu/device.ts). */
  allowFallbackAdapter?: boolean;
  onProgress?: (p: KMeansProgress) => void;
  signal?: AbortSignal;
}

export interface KMeansResult {
  /** k x d, row-major. */
  centroids: Float32Array;
  /** Cluster of each row (n). */
  assignments: Int32Array;
  /** Rows per cluster (k). */
  sizes: Int32Array;
  /** Sum of squared distances of rows to their centroid (Float64, exact for the returned centroids). */
  inertia: number;
  /** Lloyd iterations, or mini-batch steps. */
  iterations: number;
  converged: boolean;
  initMs: number;
  /** Wall time of each iteration / step. */
  iterationMs: Float64Array;
  /** Final labelling pass (Lloyd after a tol stop, mini-batch over all rows). */
  labelsMs: number;
  totalMs: number;
  backend: KMeansBackend;
  /** Why this backend ran (e.g. "no WebGPU in this environment"). */
  backendReason: string;
}

export const DEFAULT_MAX_ITER = 300;
export const DEFAULT_TOL = 1e-4;

const now = (): number => performance.now();

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('k-means aborted');
}

function validate(data: Float32Array, n: number, d: number, k: number): void {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1) throw new RangeError(`kmeans: bad shape ${n} x ${d}`);
  if (data.length < n * d) throw new RangeError(`kmeans: data has ${data.length} values, need ${n * d}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`kmeans: k must be in [1, n], got ${k}`);
}

/** Mean over features of the per-feature variance (scikit-learn's scale for `tol`). */
export function meanFeatureVariance(data: Float32Array, n: number, d: number): number {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let t = 0; t < d; t++) mean[t] += data[o + t];
  }
  for (let t = 0; t < d; t++) mean[t] /= n;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let t = 0; t < d; t++) {
      const v = data[o + t] - mean[t];
      s += v * v;
    }
  }
  return s / n / d;
}

/** `m` distinct row indices drawn uniformly (partial Fisher–Yates), in increasing order. */
export function sampleIndices(n: number, m: number, rng: Rng): Int32Array {
  if (m >= n) {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, m).sort();
}

/** The rows `idx` of `data`, as a new n' x d matrix. */
export function gatherRows(data: Float32Array, d: number, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length * d);
  for (let p = 0; p < idx.length; p++) out.set(data.subarray(idx[p] * d, idx[p] * d + d), p * d);
  return out;
}

/**
 * Greedy k-means++ (scikit-learn's `_kmeans_plusplus`): the first centre is a uniform row; each
 * next one is the best of `nLocalTrials` candidates drawn with probability proportional to the
 * squared distance to the nearest chosen centre, "best" meaning lowest resulting potential.
 * Returns k x d centres (Float64). When given, `outLabels` / `outDist2` receive each row's nearest
 * chosen centre and squared distance to it (a free first assignment for Lloyd).
 */
export function kmeansPlusPlus(
  data: Float32Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  nLocalTrials = 2 + Math.floor(Math.log(k)),
  signal?: AbortSignal,
  outLabels: Int32Array | null = null,
  outDist2: Float64Array | null = null,
): Float64Array {
  validate(data, n, d, k);
  const T = Math.max(1, nLocalTrials);
  const centers = new Float64Array(k * d);
  const closest = new Float64Array(n);
  const cum = new Float64Array(n);
  const cand = new Int32Array(T);
  const candX = new Float64Array(T * d);
  const pots = new Float64Array(T);
  const first = rng.int(n);
  for (let t = 0; t < d; t++) centers[t] = data[first * d + t];
  for (let i = 0; i < n; i++) closest[i] = sqDist(data, i, centers, 0, d);
  outLabels?.fill(0);
  const high = d > DIRECT_MAX_DIM;
  const xn = high ? rowSqNorms(data, n, d) : null;
  const xb = high ? new Float64Array(HIGH_D_BLOCK * d) : null;
  const dots = high ? new Float64Array(HIGH_D_BLOCK * T) : null;
  const candN = new Float64Array(T);
  const kernel = high ? simdKernel() : null;
  // With SIMD, candidate distances are kept (T x n) so the chosen one's need no second pass; they
  // are float32-rounded, so not when the caller wants exact distances (outDist2 seeds Lloyd bounds).
  const candD = kernel && !outLabels && !outDist2 ? new Float64Array(T * n) : null;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += closest[i];
    cum[i] = acc;
  }
  for (let c = 1; c < k; c++) {
    throwIfAborted(signal);
    for (let t = 0; t < T; t++) {
      const r = rng.next() * acc;
      // numpy.searchsorted(side='left'): first index with cum[i] >= r.
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cum[mid] < r) lo = mid + 1;
        else hi = mid;
      }
      cand[t] = Math.min(lo, n - 1);
      for (let q = 0; q < d; q++) candX[t * d + q] = data[cand[t] * d + q];
    }
    pots.fill(0);
    if (d === 3) {
      // One pass per candidate with scalar accumulators: the candidate stays in registers and the
      // potential is not a store/load chain through memory (3x faster than candidates inner).
      for (let t = 0; t < T; t++) {
        const c0 = candX[t * 3];
        const c1 = candX[t * 3 + 1];
        const c2 = candX[t * 3 + 2];
        let pot = 0;
        for (let i = 0, o = 0; i < n; i++, o += 3) {
          const a = data[o] - c0;
          const b = data[o + 1] - c1;
          const e = data[o + 2] - c2;
          const dd = a * a + b * b + e * e;
          const cl = closest[i];
          pot += dd < cl ? dd : cl;
        }
        pots[t] = pot;
      }
    } else if (!high) {
      for (let i = 0; i < n; i++) {
        const cl = closest[i];
        for (let t = 0; t < T; t++) {
          const dd = sqDist(data, i, candX, t, d);
          pots[t] += dd < cl ? dd : cl;
        }
      }
    } else if (kernel) {
      // Float32 SIMD dots: the potentials only rank random candidates, so rounding is harmless.
      rowSqNorms(candX, T, d, candN);
      const plan = new SimdDotPlan(kernel, d, candX, T, 256);
      for (let i0 = 0; i0 < n; i0 += 256) {
        const b = Math.min(256, n - i0);
        const dots = plan.dots(data, null, i0, b);
        for (let r = 0; r < b; r++) {
          const cl = closest[i0 + r];
          const nx = xn![i0 + r];
          for (let t = 0; t < T; t++) {
            let dd = nx + candN[t] - 2 * dots[r * T + t];
            if (dd < 0) dd = 0;
            if (candD) candD[t * n + i0 + r] = dd;
            pots[t] += dd < cl ? dd : cl;
          }
        }
      }
    } else {
      rowSqNorms(candX, T, d, candN);
      for (let i0 = 0; i0 < n; i0 += HIGH_D_BLOCK) {
        const b = Math.min(HIGH_D_BLOCK, n - i0);
        for (let r = 0; r < b * d; r++) xb![r] = data[i0 * d + r];
        mulByTransposed(xb!, b, d, candX, T, dots!);
        for (let r = 0; r < b; r++) {
          const cl = closest[i0 + r];
          const nx = xn![i0 + r];
          for (let t = 0; t < T; t++) {
            let dd = nx + candN[t] - 2 * dots![r * T + t];
            if (dd < 0) dd = 0;
            pots[t] += dd < cl ? dd : cl;
          }
        }
      }
    }
    let best = 0;
    for (let t = 1; t < T; t++) if (pots[t] < pots[best]) best = t;
    const id = cand[best];
    for (let q = 0; q < d; q++) centers[c * d + q] = data[id * d + q];
    // New nearest distances and, fused into the same pass, the next step's cumulative sums.
    acc = 0;
    if (candD && kernel) {
      // The chosen candidate's (float32-rounded) distances were computed above: reuse them.
      const off = best * n;
      for (let i = 0; i < n; i++) {
        const dd = candD[off + i];
        let cl = closest[i];
        if (dd < cl) {
          cl = dd;
          closest[i] = dd;
        }
        acc += cl;
        cum[i] = acc;
      }
    } else if (d === 3) {
      const c0 = centers[c * 3];
      const c1 = centers[c * 3 + 1];
      const c2 = centers[c * 3 + 2];
      for (let i = 0, o = 0; i < n; i++, o += 3) {
        const a = data[o] - c0;
        const b = data[o + 1] - c1;
        const e = data[o + 2] - c2;
        const dd = a * a + b * b + e * e;
        let cl = closest[i];
        if (dd < cl) {
          cl = dd;
          closest[i] = dd;
          if (outLabels) outLabels[i] = c;
        }
        acc += cl;
        cum[i] = acc;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const dd = sqDist(data, i, centers, c, d);
        let cl = closest[i];
        if (dd < cl) {
          cl = dd;
          closest[i] = dd;
          if (outLabels) outLabels[i] = c;
        }
        acc += cl;
        cum[i] = acc;
      }
    }
  }
  if (outDist2) outDist2.set(closest);
  return centers;
}

/** Initial centres per `opts.init` (Float64, k x d). */
export function initialCenters(
  data: Float32Array,
  n: number,
  d: number,
  opts: KMeansOptions,
  rng: Rng,
  seedOut: { labels: Int32Array; dist2: Float64Array } | null = null,
): Float64Array {
  const { k } = opts;
  const init = opts.init ?? 'k-means++';
  if (typeof init !== 'string') {
    if (init.length !== k * d) throw new RangeError(`kmeans: init has ${init.length} values, need k x d = ${k * d}`);
    return Float64Array.from(init);
  }
  if (init === 'random') {
    const idx = sampleIndices(n, k, rng);
    const c = new Float64Array(k * d);
    for (let j = 0; j < k; j++) for (let t = 0; t < d; t++) c[j * d + t] = data[idx[j] * d + t];
    return c;
  }
  const m = opts.initSampleSize;
  if (m !== undefined && m < n) {
    const idx = sampleIndices(n, Math.max(m, k), rng);
    return kmeansPlusPlus(gatherRows(data, d, idx), idx.length, d, k, rng, opts.nLocalTrials, opts.signal);
  }
  return kmeansPlusPlus(data, n, d, k, rng, opts.nLocalTrials, opts.signal, seedOut?.labels ?? null, seedOut?.dist2 ?? null);
}

/**
 * Centre-to-centre distances, each centre's neighbours sorted by distance (row a of `order` lists
 * all centres, nearest first, a itself at position 0) and Hamerly's s(a) = half the distance to the
 * nearest other centre. O(k^2 d + k^2 log k) per iteration: small next to the n-point passes.
 */
class CenterNeighbours {
  readonly order: Int32Array;
  readonly dist: Float64Array;
  readonly half: Float64Array;
  private readonly row: Float64Array;
  private readonly idx: number[];
  constructor(readonly k: number) {
    this.order = new Int32Array(k * k);
    this.dist = new Float64Array(k * k);
    this.half = new Float64Array(k);
    this.row = new Float64Array(k);
    this.idx = new Array<number>(k);
  }

  update(centers: Float64Array, d: number): void {
    const { k, order, dist, half, row, idx } = this;
    const full = new Float64Array(k * k);
    for (let a = 0; a < k; a++) {
      for (let b = a + 1; b < k; b++) {
        const v = Math.sqrt(sqDist(centers, a, centers, b, d));
        full[a * k + b] = v;
        full[b * k + a] = v;
      }
    }
    const cmp = (x: number, y: number): number => row[x] - row[y] || x - y;
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        row[b] = b === a ? -1 : full[a * k + b];
        idx[b] = b;
      }
      idx.sort(cmp);
      for (let r = 0; r < k; r++) {
        order[a * k + r] = idx[r];
        dist[a * k + r] = r === 0 ? 0 : row[idx[r]];
      }
      half[a] = k > 1 ? 0.5 * dist[a * k + 1] : Infinity;
    }
  }
}

/**
 * Shared state of one Lloyd run: labels, incremental centre sums, centres and their shifts.
 * The JS (Hamerly) and WebGPU runs both drive it, so they apply the same float operations in the
 * same order and end in the same centres when their labels agree.
 */
export class LloydState {
  readonly labels: Int32Array;
  readonly sums: Float64Array;
  readonly counts: Float64Array;
  readonly shift: Float64Array;
  readonly cNorms: Float64Array;
  constructor(
    readonly data: Float32Array,
    readonly n: number,
    readonly d: number,
    readonly k: number,
    readonly centers: Float64Array,
  ) {
    this.labels = new Int32Array(n).fill(-1);
    this.sums = new Float64Array(k * d);
    this.counts = new Float64Array(k);
    this.shift = new Float64Array(k);
    this.cNorms = rowSqNorms(centers, k, d);
  }

  /** Gives point i label `to`, moving it between the centre sums. Returns true when it changed. */
  move(i: number, to: number): boolean {
    const from = this.labels[i];
    if (from === to) return false;
    const { data, sums, d } = this;
    const o = i * d;
    if (from >= 0) {
      const f = from * d;
      for (let t = 0; t < d; t++) sums[f + t] -= data[o + t];
      this.counts[from]--;
    }
    const g = to * d;
    for (let t = 0; t < d; t++) sums[g + t] += data[o + t];
    this.counts[to]++;
    this.labels[i] = to;
    return true;
  }

  /**
   * Re-seeds empty clusters with the points farthest from their centres (as scikit-learn does).
   * Returns the moved point ids (their bounds must be reset by the caller).
   */
  relocateEmpty(): Int32Array {
    const { k, n, d, counts, data, labels, centers } = this;
    const empty: number[] = [];
    for (let j = 0; j < k; j++) if (counts[j] === 0) empty.push(j);
    if (empty.length === 0) return new Int32Array(0);
    const dist = new Float64Array(n);
    for (let i = 0; i < n; i++) dist[i] = sqDist(data, i, centers, labels[i], d);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => dist[b] - dist[a] || a - b);
    const moved: number[] = [];
    for (let p = 0; p < n && moved.length < empty.length; p++) {
      const i = order[p];
      // Never empty another cluster to fill this one.
      if (counts[labels[i]] <= 1) continue;
      this.move(i, empty[moved.length]);
      moved.push(i);
    }
    return Int32Array.from(moved);
  }

  /** Centres := sums / counts. Fills `shift` (Euclidean) and returns the sum of squared shifts. */
  updateCenters(): number {
    const { k, d, sums, counts, centers, shift } = this;
    let tot = 0;
    for (let j = 0; j < k; j++) {
      const c = counts[j];
      let s2 = 0;
      if (c > 0) {
        const inv = 1 / c;
        for (let t = 0; t < d; t++) {
          const v = sums[j * d + t] * inv;
          const dv = v - centers[j * d + t];
          s2 += dv * dv;
          centers[j * d + t] = v;
        }
      }
      shift[j] = Math.sqrt(s2);
      tot += s2;
    }
    rowSqNorms(centers, k, d, this.cNorms);
    return tot;
  }
}

function finishResult(
  st: LloydState,
  iterations: number,
  converged: boolean,
  initMs: number,
  iterationMs: number[],
  labelsMs: number,
  t0: number,
  backend: KMeansBackend,
  backendReason: string,
): KMeansResult {
  const { data, n, d, k, labels, centers } = st;
  let inertia = 0;
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    inertia += sqDist(data, i, centers, labels[i], d);
    sizes[labels[i]]++;
  }
  return {
    centroids: Float32Array.from(centers),
    assignments: labels,
    sizes,
    inertia,
    iterations,
    converged,
    initMs,
    iterationMs: Float64Array.from(iterationMs),
    labelsMs,
    totalMs: now() - t0,
    backend,
    backendReason,
  };
}

/**
 * Exact Lloyd iterations from the given centres (modified in place), JS backend with Hamerly's
 * bounds. `tolAbs` is the absolute threshold on the sum of squared centre shifts.
 */
export function lloydJs(
  data: Float32Array,
  n: number,
  d: number,
  centers: Float64Array,
  k: number,
  tolAbs: number,
  maxIter: number,
  opts: Pick<KMeansOptions, 'onProgress' | 'signal'> = {},
  seed: { labels: Int32Array; dist2: Float64Array } | null = null,
): { state: LloydState; iterations: number; converged: boolean; iterationMs: number[]; labelsMs: number } {
  const st = new LloydState(data, n, d, k, centers);
  const { labels, shift, cNorms } = st;
  const upper = new Float64Array(n).fill(Infinity);
  const lower = new Float64Array(n);
  const nb = new CenterNeighbours(k);
  const todo = new Int32Array(n);
  const outLabel = new Int32Array(n);
  const outBest = new Float64Array(n);
  const outSecond = new Float64Array(n);
  const scratch = d > DIRECT_MAX_DIM ? new NearestScratch(d, k) : null;
  const iterationMs: number[] = [];
  let maxShift = 0;
  let secondShift = 0;
  let argMaxShift = -1;

  // One assignment pass: applies the last centre shifts to the bounds and re-examines only the
  // points whose bounds do not settle their label. A re-examined point (exact distance u to its
  // centre a) scans a's neighbours nearest first and stops once ||c_j - c_a|| - u >= the
  // runner-up distance: by the triangle inequality no later centre can beat either of the two.
  // The first pass has no labels yet and scans all centres (blocked in high dimension).
  const assign = (first: boolean): number => {
    nb.update(centers, d);
    const { half, order, dist: nd } = nb;
    let changed = 0;
    if (first && seed) {
      // Labels from k-means++ (nearest chosen centre, exact distance): the bounds pass below then
      // settles most points without scanning. Lower bounds start at 0 (runner-up unknown).
      for (let i = 0; i < n; i++) {
        st.move(i, seed.labels[i]);
        upper[i] = Math.sqrt(seed.dist2[i]);
      }
      changed = n;
      first = false;
    }
    if (first) {
      for (let i = 0; i < n; i++) todo[i] = i;
      nearestTwo(data, d, todo, 0, n, centers, cNorms, k, outLabel, outBest, outSecond, scratch);
      for (let i = 0; i < n; i++) {
        upper[i] = Math.sqrt(outBest[i]);
        lower[i] = Math.sqrt(outSecond[i]);
        if (st.move(i, outLabel[i])) changed++;
      }
      return changed;
    }
    for (let i = 0; i < n; i++) {
      const a = labels[i];
      let u = upper[i] + shift[a];
      const l = lower[i] - (a === argMaxShift ? secondShift : maxShift);
      const m = half[a] > l ? half[a] : l;
      if (u <= m) {
        upper[i] = u;
        lower[i] = l;
        continue;
      }
      u = Math.sqrt(sqDist(data, i, centers, a, d));
      if (u <= m) {
        upper[i] = u;
        lower[i] = l;
        continue;
      }
      let best = u;
      let second = Infinity;
      let bl = a;
      const row = a * k;
      for (let r = 1; r < k; r++) {
        if (nd[row + r] - u >= second) break;
        const j = order[row + r];
        const dj = Math.sqrt(sqDist(data, i, centers, j, d));
        if (dj < second) {
          if (dj < best) {
            second = best;
            best = dj;
            bl = j;
          } else second = dj;
        }
      }
      upper[i] = best;
      lower[i] = second;
      if (bl !== a) {
        st.move(i, bl);
        changed++;
      }
    }
    return changed;
  };

  const afterUpdate = (): void => {
    maxShift = 0;
    secondShift = 0;
    argMaxShift = -1;
    for (let j = 0; j < k; j++) {
      const s = shift[j];
      if (s > maxShift) {
        secondShift = maxShift;
        maxShift = s;
        argMaxShift = j;
      } else if (s > secondShift) secondShift = s;
    }
  };

  let iterations = 0;
  let converged = false;
  let strict = false;
  for (let it = 0; it < maxIter; it++) {
    throwIfAborted(opts.signal);
    const t = now();
    const changed = assign(it === 0);
    iterations = it + 1;
    if (it > 0 && changed === 0) {
      strict = true;
      converged = true;
      iterationMs.push(now() - t);
      opts.onProgress?.({ phase: 'iterate', iteration: iterations, maxIterations: maxIter, changed, shift: 0 });
      break;
    }
    const moved = st.relocateEmpty();
    for (let p = 0; p < moved.length; p++) {
      // The moved point becomes its new centre: distance 0, unknown runner-up.
      upper[moved[p]] = 0;
      lower[moved[p]] = 0;
    }
    const tot = st.updateCenters();
    afterUpdate();
    iterationMs.push(now() - t);
    opts.onProgress?.({ phase: 'iterate', iteration: iterations, maxIterations: maxIter, changed, shift: tot });
    if (tot <= tolAbs) {
      converged = true;
      break;
    }
  }
  const tl = now();
  if (!strict) assign(false);
  return { state: st, iterations, converged, iterationMs, labelsMs: now() - tl };
}

/** Synchronous k-means on the JS backend (Lloyd or mini-batch per `opts.algorithm`). */
export function kmeansSync(data: Float32Array, n: number, d: number, opts: KMeansOptions): KMeansResult {
  validate(data, n, d, opts.k);
  if (opts.algorithm === 'minibatch') return miniBatchKMeans(data, n, d, opts);
  const t0 = now();
  const rng = createRng(opts.seed ?? 0);
  opts.onProgress?.({ phase: 'init', iteration: 0, maxIterations: opts.maxIter ?? DEFAULT_MAX_ITER });
  // k-means++ on all rows also yields each row's nearest centre: a free first assignment. Only in
  // low dimension; in high dimension the exact bookkeeping would cost what the SIMD first pass does.
  const full = d <= DIRECT_MAX_DIM && (opts.init ?? 'k-means++') === 'k-means++' && !(opts.initSampleSize !== undefined && opts.initSampleSize < n);
  const seed = full ? { labels: new Int32Array(n), dist2: new Float64Array(n) } : null;
  const centers = initialCenters(data, n, d, opts, rng, seed);
  const initMs = now() - t0;
  const tolAbs = (opts.tol ?? DEFAULT_TOL) * meanFeatureVariance(data, n, d);
  const r = lloydJs(data, n, d, centers, opts.k, tolAbs, opts.maxIter ?? DEFAULT_MAX_ITER, opts, seed);
  return finishResult(r.state, r.iterations, r.converged, initMs, r.iterationMs, r.labelsMs, t0, 'js', 'JS (Hamerly-bounded Lloyd)');
}

/**
 * k-means with a choice of backend. `backend: 'webgpu'` runs the Lloyd assignment step as a WGSL
 * kernel (centre updates stay on the CPU) when core/gpu/device.ts grants a device, else JS.
 * Mini-batch always runs in JS.
 */
export async function kmeans(data: Float32Array, n: number, d: number, opts: KMeansOptions): Promise<KMeansResult> {
  if (opts.backend === 'webgpu' && opts.algorithm !== 'minibatch') {
    // Lazy import: Node and CPU-only callers never load the WebGPU runner.
    const { kmeansWebGpu } = await import('./kmeans-webgpu.ts');
    return kmeansWebGpu(data, n, d, opts);
  }
  return kmeansSync(data, n, d, opts);
}

/**
 * Mini-batch k-means after scikit-learn's MiniBatchKMeans: k-means++ on `initSize` sampled rows,
 * then steps on uniform random batches (with replacement); each centre moves to the running mean
 * of all points ever assigned to it; centres with tiny counts are re-seeded from the batch; stops
 * after `maxIter` passes or `maxNoImprovement` steps without a new minimum of the exponentially
 * weighted batch inertia. Finally labels every row with its nearest centre (in high dimension by
 * float32 distances, which may differ from float64 at near-ties) and computes the inertia in float64.
 */
export function miniBatchKMeans(data: Float32Array, n: number, d: number, opts: KMeansOptions): KMeansResult {
  const steps = miniBatchSteps(data, n, d, opts);
  const scratch = d > DIRECT_MAX_DIM ? new NearestScratch(d, opts.k) : null;
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    const q = r.value;
    nearestTwo(data, d, q.ids, q.start, q.count, q.centers, q.cNorms, q.k, q.lab, q.best, null, scratch, q.fast);
  }
}

/**
 * A labelling the mini-batch loop needs: nearest centre of rows `ids[0..count)` (or rows
 * start..start+count when ids is null) into lab/best, positionally — nearestTwo's arguments.
 */
export interface NearestRequest {
  ids: Int32Array | null;
  start: number;
  count: number;
  centers: Float64Array;
  cNorms: Float64Array;
  k: number;
  lab: Int32Array;
  best: Float64Array;
  fast: NearestFast;
}

/**
 * Threads that label rows for mini-batch k-means (in high dimension, where that is the work).
 * begin() shares the data with them; label() runs nearestTwo on one thread for rows given by id
 * (or a start row) against the given centres and returns the labels and distances.
 */
export interface NearestPool {
  /** Threads besides the caller's. */
  readonly size: number;
  begin(data: Float32Array, n: number, d: number): Promise<void>;
  label(thread: number, q: Omit<NearestRequest, 'lab' | 'best' | 'fast'> & { exact: boolean }): Promise<{ lab: Int32Array; best: Float64Array }>;
  end(): Promise<void>;
}

/** Rows per part when a labelling is split over threads: multiples of the SIMD block (64). */
function splitAligned(count: number, parts: number): number[] {
  const blocks = Math.ceil(count / 64);
  const per = Math.ceil(blocks / parts);
  const out: number[] = [];
  for (let from = 0; from < count; from += per * 64) out.push(Math.min(per * 64, count - from));
  return out;
}

/**
 * Default for miniBatchKMeansParallel's `minRowsToSplit`: a step's batch (1,024 rows, ~6 ms of
 * dot products) is labelled here, since every split is a barrier with the other threads, and on a
 * loaded machine waiting for a descheduled thread cost more than it saved (measured: 2 threads
 * 0.6-0.9x of one on 1,024-row steps at load ~10 on 2 cores); the final pass over all rows (8,192-
 * row chunks) is split.
 */
export const MINIBATCH_MIN_ROWS_TO_SPLIT = 4096;

/**
 * miniBatchKMeans with each labelling of at least `minRowsToSplit` rows (the final pass over all
 * rows; a step's batch too when it is that large) split over this thread and the pool's threads.
 * Rows are labelled independently, so the result is the one-thread result, bit for bit. Without a
 * pool, or in low dimension, it is miniBatchKMeans.
 */
export async function miniBatchKMeansParallel(
  data: Float32Array,
  n: number,
  d: number,
  opts: KMeansOptions,
  pool: NearestPool | null,
  minRowsToSplit = MINIBATCH_MIN_ROWS_TO_SPLIT,
): Promise<KMeansResult> {
  if (!pool || pool.size < 1 || d <= DIRECT_MAX_DIM) return miniBatchKMeans(data, n, d, opts);
  validate(data, n, d, opts.k);
  await pool.begin(data, n, d);
  try {
    const steps = miniBatchSteps(data, n, d, opts);
    for (let r = steps.next(); ; r = steps.next()) {
      if (r.done) return r.value;
      const q = r.value;
      if (q.count < minRowsToSplit) {
        nearestTwo(data, d, q.ids, q.start, q.count, q.centers, q.cNorms, q.k, q.lab, q.best, null, null, q.fast);
        continue;
      }
      const sizes = splitAligned(q.count, pool.size + 1);
      // Parts 1.. go to the pool's threads; part 0 is labelled here meanwhile.
      let at = sizes[0]!;
      const pending = sizes.slice(1).map((size, t) => {
        const from = at;
        at += size;
        const part = { ids: q.ids ? q.ids.slice(from, from + size) : null, start: q.start + from, count: size, centers: q.centers, cNorms: q.cNorms, k: q.k, exact: q.fast.exact !== false };
        return pool.label(t, part).then((res) => {
          q.lab.set(res.lab, from);
          q.best.set(res.best, from);
        });
      });
      nearestTwo(data, d, q.ids, q.start, sizes[0]!, q.centers, q.cNorms, q.k, q.lab, q.best, null, null, q.fast);
      await Promise.all(pending);
    }
  } finally {
    await pool.end();
  }
}

/** Per-thread state of a NearestPool thread: the shared rows and their norms. */
export function createNearestWorkerHandler(): {
  begin(data: Float32Array, n: number, d: number): void;
  label(q: Omit<NearestRequest, 'lab' | 'best' | 'fast'> & { exact: boolean }): { lab: Int32Array; best: Float64Array };
  end(): void;
} {
  let state: { data: Float32Array; d: number; rowNorms: Float64Array; scratch: NearestScratch | null } | null = null;
  return {
    begin(data, n, d) {
      state = { data, d, rowNorms: rowSqNorms(data, n, d), scratch: null };
    },
    label(q) {
      if (!state) throw new Error('k-means worker: label before begin');
      const lab = new Int32Array(q.count);
      const best = new Float64Array(q.count);
      if (!state.scratch || state.scratch.k < q.k) state.scratch = state.d > DIRECT_MAX_DIM ? new NearestScratch(state.d, q.k) : null;
      nearestTwo(state.data, state.d, q.ids, q.start, q.count, q.centers, q.cNorms, q.k, lab, best, null, state.scratch, { rowNorms: state.rowNorms, exact: q.exact });
      return { lab, best };
    },
    end() {
      state = null;
    },
  };
}

/** The mini-batch algorithm; yields each labelling it needs (see the drivers above). */
function* miniBatchSteps(data: Float32Array, n: number, d: number, opts: KMeansOptions): Generator<NearestRequest, KMeansResult, void> {
  const { k } = opts;
  validate(data, n, d, k);
  const t0 = now();
  const rng = createRng(opts.seed ?? 0);
  const batch = Math.max(1, Math.min(opts.batchSize ?? 1024, n));
  const maxIter = opts.maxIter ?? 100;
  const maxNoImprovement = opts.maxNoImprovement ?? 10;
  const ratio = opts.reassignmentRatio ?? 0.01;
  opts.onProgress?.({ phase: 'init', iteration: 0, maxIterations: 0 });
  let centers: Float64Array;
  if (typeof opts.init === 'object' || opts.init === 'random') {
    centers = initialCenters(data, n, d, opts, rng);
  } else {
    const initSize = Math.min(n, Math.max(opts.initSize ?? 3 * batch, 3 * k, k));
    const idx = sampleIndices(n, initSize, rng);
    centers = kmeansPlusPlus(gatherRows(data, d, idx), idx.length, d, k, rng, opts.nLocalTrials, opts.signal);
  }
  const initMs = now() - t0;
  const nSteps = Math.max(1, Math.floor((maxIter * n) / batch));
  const weights = new Float64Array(k);
  const cNorms = rowSqNorms(centers, k, d);
  const ids = new Int32Array(batch);
  const lab = new Int32Array(batch);
  const best = new Float64Array(batch);
  const bsum = new Float64Array(k * d);
  const bcount = new Float64Array(k);
  // High dimension: row norms once, and float32 labels without the float64 recheck (a mini-batch
  // step is a stochastic estimate; scikit-learn's float32 path does the same).
  const fast: NearestFast = d > DIRECT_MAX_DIM ? { rowNorms: rowSqNorms(data, n, d), exact: false } : {};
  const alpha = Math.min(1, (batch * 2) / (n + 1));
  let ewa = NaN;
  let ewaMin = Infinity;
  let noImprovement = 0;
  let sinceReassign = 0;
  const iterationMs: number[] = [];
  let steps = 0;
  let converged = false;
  for (let step = 0; step < nSteps; step++) {
    throwIfAborted(opts.signal);
    const t = now();
    for (let p = 0; p < batch; p++) ids[p] = rng.int(n);
    yield { ids, start: 0, count: batch, centers, cNorms, k, lab, best, fast };
    let bInertia = 0;
    bsum.fill(0);
    bcount.fill(0);
    for (let p = 0; p < batch; p++) {
      bInertia += best[p];
      const j = lab[p];
      bcount[j]++;
      const o = ids[p] * d;
      const g = j * d;
      for (let q = 0; q < d; q++) bsum[g + q] += data[o + q];
    }
    for (let j = 0; j < k; j++) {
      const c = bcount[j];
      if (c === 0) continue;
      const w = weights[j] + c;
      const inv = 1 / w;
      const g = j * d;
      for (let q = 0; q < d; q++) centers[g + q] = (centers[g + q] * weights[j] + bsum[g + q]) * inv;
      weights[j] = w;
    }
    // Re-seed centres that attract (almost) nothing, once 10 k samples have gone by since the last
    // check or when a centre has never been hit (scikit-learn 1.2's schedule); at most half a batch.
    sinceReassign += batch;
    let anyZero = false;
    let maxW = 0;
    for (let j = 0; j < k; j++) {
      if (weights[j] === 0) anyZero = true;
      if (weights[j] > maxW) maxW = weights[j];
    }
    if (ratio > 0 && (anyZero || sinceReassign >= 10 * k)) {
      sinceReassign = 0;
      let low: number[] = [];
      for (let j = 0; j < k; j++) if (weights[j] < ratio * maxW) low.push(j);
      if (low.length > batch / 2) low = low.sort((a, b) => weights[a] - weights[b] || a - b).slice(0, Math.floor(batch / 2));
      if (low.length > 0 && low.length < k) {
        const isLow = new Uint8Array(k);
        for (const j of low) isLow[j] = 1;
        let keepMin = Infinity;
        for (let j = 0; j < k; j++) if (!isLow[j] && weights[j] < keepMin) keepMin = weights[j];
        const pick = sampleIndices(batch, low.length, rng);
        for (let r = 0; r < pick.length; r++) {
          const j = low[r];
          const o = ids[pick[r]] * d;
          for (let q = 0; q < d; q++) centers[j * d + q] = data[o + q];
          weights[j] = keepMin;
        }
      }
    }
    rowSqNorms(centers, k, d, cNorms);
    steps = step + 1;
    const per = bInertia / batch;
    iterationMs.push(now() - t);
    // The first batch's inertia reflects the initialisation only: not part of the average (as sklearn).
    if (step === 0) continue;
    ewa = step === 1 ? per : ewa * (1 - alpha) + per * alpha;
    opts.onProgress?.({ phase: 'iterate', iteration: steps, maxIterations: nSteps, shift: ewa });
    if (ewa < ewaMin) {
      noImprovement = 0;
      ewaMin = ewa;
    } else if (++noImprovement >= maxNoImprovement) {
      converged = true;
      break;
    }
  }
  const tl = now();
  opts.onProgress?.({ phase: 'labels', iteration: steps, maxIterations: nSteps });
  const st = new LloydState(data, n, d, k, centers);
  const chunk = 8192;
  const lab2 = new Int32Array(chunk);
  const best2 = new Float64Array(chunk);
  for (let s0 = 0; s0 < n; s0 += chunk) {
    const m = Math.min(chunk, n - s0);
    yield { ids: null, start: s0, count: m, centers, cNorms, k, lab: lab2, best: best2, fast };
    st.labels.set(lab2.subarray(0, m), s0);
  }
  const labelsMs = now() - tl;
  return finishResult(st, steps, converged, initMs, iterationMs, labelsMs, t0, 'js', 'JS (mini-batch)');
}
