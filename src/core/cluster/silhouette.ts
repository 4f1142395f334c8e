// Silhouette coefficient, exact on a sample (the study clusters 200k points and scores 25k), and a
// sweep over k for the silhouette-vs-k curve. Definitions follow scikit-learn's silhouette_samples:
// a(i) = mean distance to the other members of i's cluster, b(i) = smallest mean distance to the
// members of another cluster, s(i) = (b - a) / max(a, b); s = 0 for a point alone in its cluster
// (and where a = b = 0). Clusters are those present in the sample.
//
// Cost is O(m^2 d) and every pair is visited once (distances are symmetric):
//   - low dimension: rows are grouped by cluster; for each pair of clusters (ci <= cj) one sweep
//     adds d(p, q) to p's running sum for cj and to q's sum for ci, stored cluster-major so both
//     writes are sequential. A distance is ~10 flops here, so memory order is what matters.
//   - high dimension: 64 x 64 tiles of the Gram matrix (WebAssembly SIMD in float32 where it
//     exists, else the register-blocked float64 mulByTransposed),
//     distances as sqrt(|x|^2 + |y|^2 - 2 x.y), and several labellings (a sweep over k) share
//     one pass over the tiles, so the dominant O(m^2 d) work is done once for all k.
//     The rows of tiles are dealt to SILHOUETTE_CHUNKS fixed chunks (snake order, so each chunk
//     gets a like share of the triangle); each chunk's per-point sums are computed on their own and
//     added in chunk order. The chunks can run on several threads (a SilhouettePool: worker
//     threads in the prebuild) and the result is the same, bit for bit, whatever runs them.

import { mulByTransposed } from '../util/linalg.ts';
import { createRng } from '../util/random.ts';
import { DIRECT_MAX_DIM, assignNearest, rowSqNorms } from './distance.ts';
import { simdKernel, simdStride } from './simd.ts';
import { gatherRows, kmeans, sampleIndices, throwIfAborted, type KMeansOptions } from './kmeans.ts';

export interface SilhouetteOptions {
  /** Score a uniform sample of this many rows (default: all rows). */
  sampleSize?: number;
  seed?: number;
  signal?: AbortSignal;
}

export interface SilhouetteResult {
  /** Mean silhouette over the sample; NaN when the sample holds fewer than 2 clusters. */
  score: number;
  /** Mean silhouette of each cluster's sampled members (NaN for clusters absent from the sample). */
  perCluster: Float64Array;
  /** Sampled members per cluster. */
  counts: Int32Array;
  /** Silhouette of each sampled row, in sample order. */
  values: Float64Array;
  /** Row indices of the sample (increasing), or null when every row was scored. */
  sample: Int32Array | null;
  ms: number;
}

const TILE = 64;
/** Bytes of per-point cluster sums one high-d pass may hold (several labellings share a pass). */
const MULTI_BYTES = 256 * 2 ** 20;

/** Largest label + 1, checking labels are non-negative integers. */
function labelCount(labels: Int32Array): number {
  let k = 0;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v < 0) throw new RangeError(`silhouette: negative label ${v} at ${i}`);
    if (v >= k) k = v + 1;
  }
  return k;
}

/** s(i) from the per-cluster distance sums of point i (`sum(c)` = sum of distances to cluster c). */
function silhouetteFromSums(own: number, counts: Int32Array, k: number, sum: (c: number) => number): number {
  const co = counts[own];
  if (co <= 1) return 0;
  const a = sum(own) / (co - 1);
  let b = Infinity;
  for (let c = 0; c < k; c++) {
    if (c === own || counts[c] === 0) continue;
    const v = sum(c) / counts[c];
    if (v < b) b = v;
  }
  if (b === Infinity) return 0;
  const m = a > b ? a : b;
  return m > 0 ? (b - a) / m : 0;
}

/** Exact silhouette of every row (low dimension, one labelling): cluster-pair sweeps. */
function silhouetteLowD(x: Float32Array, m: number, d: number, labels: Int32Array, k: number, signal?: AbortSignal): Float64Array {
  const counts = new Int32Array(k);
  for (let i = 0; i < m; i++) counts[labels[i]]++;
  const start = new Int32Array(k + 1);
  for (let c = 0; c < k; c++) start[c + 1] = start[c] + counts[c];
  const pos = start.slice(0, k);
  const order = new Int32Array(m);
  for (let i = 0; i < m; i++) order[pos[labels[i]]++] = i;
  const xs = new Float64Array(m * d);
  for (let p = 0; p < m; p++) for (let t = 0; t < d; t++) xs[p * d + t] = x[order[p] * d + t];
  // S[c * m + p]: sum of distances from sorted point p to the members of cluster c.
  const S = new Float64Array(k * m);
  for (let ci = 0; ci < k; ci++) {
    throwIfAborted(signal);
    const i0 = start[ci];
    const i1 = start[ci + 1];
    if (i0 === i1) continue;
    for (let cj = ci; cj < k; cj++) {
      const j1 = start[cj + 1];
      if (start[cj] === j1) continue;
      const rowI = ci * m;
      const rowJ = cj * m;
      for (let p = i0; p < i1; p++) {
        const j0 = cj === ci ? p + 1 : start[cj];
        let acc = 0;
        if (d === 3) {
          const o = p * 3;
          const x0 = xs[o];
          const x1 = xs[o + 1];
          const x2 = xs[o + 2];
          for (let q = j0, w = j0 * 3; q < j1; q++, w += 3) {
            const a = x0 - xs[w];
            const b = x1 - xs[w + 1];
            const e = x2 - xs[w + 2];
            const dd = Math.sqrt(a * a + b * b + e * e);
            acc += dd;
            S[rowI + q] += dd;
          }
        } else {
          const o = p * d;
          for (let q = j0; q < j1; q++) {
            const w = q * d;
            let s2 = 0;
            for (let t = 0; t < d; t++) {
              const v = xs[o + t] - xs[w + t];
              s2 += v * v;
            }
            const dd = Math.sqrt(s2);
            acc += dd;
            S[rowI + q] += dd;
          }
        }
        S[rowJ + p] += acc;
      }
    }
  }
  const out = new Float64Array(m);
  for (let c = 0; c < k; c++) {
    for (let p = start[c]; p < start[c + 1]; p++) out[order[p]] = silhouetteFromSums(c, counts, k, (cc) => S[cc * m + p]);
  }
  return out;
}

/** Fixed number of chunks the high-dimension pass is cut into (an upper bound on useful threads). */
export const SILHOUETTE_CHUNKS = 8;

/** Chunk of tile row t: snake order over 2C rows, so every chunk gets long and short rows alike. */
function chunkOfTileRow(t: number, chunks: number): number {
  const r = t % (2 * chunks);
  return r < chunks ? r : 2 * chunks - 1 - r;
}

/** One high-dimension silhouette job: sample rows and the labellings scored on them. */
export interface SilhouetteJob {
  x: Float32Array;
  m: number;
  d: number;
  labelings: Int32Array[];
  ks: number[];
}

/**
 * Per-point sums of distances to each cluster, from the tiles of one chunk only: out[l][i * k + c].
 * Adding the chunks' sums in chunk order gives the full sums (what silhouetteSamplesMulti does).
 */
export function silhouetteChunkSums(job: SilhouetteJob, chunk: number, signal?: AbortSignal, norms: Float64Array = rowSqNorms(job.x, job.m, job.d)): Float64Array[] {
  const { x, m, d, labelings, ks } = job;
  if (!(Number.isInteger(chunk) && chunk >= 0 && chunk < SILHOUETTE_CHUNKS)) throw new RangeError(`silhouette: chunk ${chunk} is not in [0, ${SILHOUETTE_CHUNKS})`);
  const L = labelings.length;
  const sums = ks.map((k) => new Float64Array(m * k));
  const kernel = simdKernel();
  const xi = kernel ? null : new Float64Array(TILE * d);
  const xj = kernel ? null : new Float64Array(TILE * d);
  const dots64 = new Float64Array(TILE * TILE);
  const dist = new Float64Array(TILE * TILE);
  // SIMD layout: row panel I, row panel J (stride padded to 4), then the TILE x TILE dots.
  const st = simdStride(d);
  const offJ = TILE * st;
  const offOut = 2 * TILE * st;
  const copyPanel = (mem: Float32Array, off: number, r0: number, rows: number): void => {
    for (let r = 0; r < rows; r++) {
      const o = off + r * st;
      mem.set(x.subarray((r0 + r) * d, (r0 + r + 1) * d), o);
      for (let t = d; t < st; t++) mem[o + t] = 0;
    }
  };
  for (let i0 = 0; i0 < m; i0 += TILE) {
    if (chunkOfTileRow(i0 / TILE, SILHOUETTE_CHUNKS) !== chunk) continue;
    throwIfAborted(signal);
    const bi = Math.min(TILE, m - i0);
    if (kernel) copyPanel(kernel.reserve(offOut + TILE * TILE), 0, i0, bi);
    else for (let r = 0; r < bi * d; r++) xi![r] = x[i0 * d + r];
    for (let j0 = i0; j0 < m; j0 += TILE) {
      const bj = Math.min(TILE, m - j0);
      let dots: Float64Array | Float32Array = dots64;
      if (kernel) {
        const mem = kernel.reserve(offOut + TILE * TILE);
        copyPanel(mem, offJ, j0, bj);
        kernel.gemmNT(0, offJ, offOut, bi, bj, st);
        dots = mem.subarray(offOut, offOut + bi * bj);
      } else {
        for (let r = 0; r < bj * d; r++) xj![r] = x[j0 * d + r];
        mulByTransposed(xi!, bi, d, xj!, bj, dots64);
      }
      for (let r = 0; r < bi; r++) {
        const ni = norms[i0 + r];
        const sStart = j0 === i0 ? r + 1 : 0;
        for (let s = sStart; s < bj; s++) {
          const v = ni + norms[j0 + s] - 2 * dots[r * bj + s];
          dist[r * TILE + s] = v > 0 ? Math.sqrt(v) : 0;
        }
      }
      for (let l = 0; l < L; l++) {
        const lab = labelings[l];
        const k = ks[l];
        const P = sums[l];
        for (let r = 0; r < bi; r++) {
          const i = i0 + r;
          const rowI = i * k;
          const li = lab[i];
          const sStart = j0 === i0 ? r + 1 : 0;
          for (let s = sStart; s < bj; s++) {
            const j = j0 + s;
            const dd = dist[r * TILE + s];
            P[rowI + lab[j]] += dd;
            P[j * k + li] += dd;
          }
        }
      }
    }
  }
  return sums;
}

/** Adds one chunk's sums into the running totals (in place). */
function addSums(total: Float64Array[], part: Float64Array[]): void {
  total.forEach((t, l) => {
    const p = part[l];
    if (!p || p.length !== t.length) throw new Error('silhouette: a chunk returned sums of the wrong shape');
    for (let i = 0; i < t.length; i++) t[i] += p[i];
  });
}

/** Silhouette of every row from the full per-point cluster sums. */
function silhouettesFromSums(job: SilhouetteJob, sums: Float64Array[]): Float64Array[] {
  const { m, labelings, ks } = job;
  return labelings.map((lab, l) => {
    const k = ks[l];
    const counts = new Int32Array(k);
    for (let i = 0; i < m; i++) counts[lab[i]]++;
    const P = sums[l];
    const out = new Float64Array(m);
    for (let i = 0; i < m; i++) out[i] = silhouetteFromSums(lab[i], counts, k, (c) => P[i * k + c]);
    return out;
  });
}

/** Exact silhouettes of every row for several labellings at once (high dimension): Gram tiles. */
function silhouetteHighD(x: Float32Array, m: number, d: number, labelings: Int32Array[], ks: number[], signal?: AbortSignal): Float64Array[] {
  const job: SilhouetteJob = { x, m, d, labelings, ks };
  const norms = rowSqNorms(x, m, d);
  const total = silhouetteChunkSums(job, 0, signal, norms);
  for (let c = 1; c < SILHOUETTE_CHUNKS; c++) addSums(total, silhouetteChunkSums(job, c, signal, norms));
  return silhouettesFromSums(job, total);
}

/**
 * Runs silhouette chunks on other threads. begin() hands every thread the job; chunk() computes
 * silhouetteChunkSums(job, c) on a free thread; end() lets the threads drop the job.
 */
export interface SilhouettePool {
  /** Threads (chunks in flight at once). */
  readonly size: number;
  begin(job: SilhouetteJob): Promise<void>;
  chunk(c: number): Promise<Float64Array[]>;
  end(): Promise<void>;
}

async function silhouetteHighDPool(job: SilhouetteJob, pool: SilhouettePool, signal?: AbortSignal): Promise<Float64Array[]> {
  await pool.begin(job);
  try {
    // Chunks go out in order to whichever thread is free; their sums are added strictly in chunk
    // order (a few wait in `ready`), which keeps the result independent of the thread count.
    const ready = new Map<number, Float64Array[]>();
    let total: Float64Array[] | null = null;
    let nextToAdd = 0;
    let nextToSend = 0;
    const drain = (): void => {
      for (let part = ready.get(nextToAdd); part; part = ready.get(nextToAdd)) {
        ready.delete(nextToAdd);
        if (total) addSums(total, part);
        else total = part;
        nextToAdd++;
      }
    };
    const lane = async (): Promise<void> => {
      while (nextToSend < SILHOUETTE_CHUNKS) {
        throwIfAborted(signal);
        const c = nextToSend++;
        ready.set(c, await pool.chunk(c));
        drain();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(pool.size, SILHOUETTE_CHUNKS)) }, lane));
    drain();
    if (!total || nextToAdd !== SILHOUETTE_CHUNKS) throw new Error('silhouette: not every chunk came back');
    return silhouettesFromSums(job, total);
  } finally {
    await pool.end();
  }
}

/** Labellings grouped so that one group's per-point sums stay within MULTI_BYTES. */
function groupsBySize(m: number, kk: number[]): [number, number][] {
  const out: [number, number][] = [];
  let g0 = 0;
  while (g0 < kk.length) {
    let bytes = 0;
    let g1 = g0;
    while (g1 < kk.length && (g1 === g0 || bytes + m * kk[g1] * 8 <= MULTI_BYTES)) bytes += m * kk[g1++] * 8;
    out.push([g0, g1]);
    g0 = g1;
  }
  return out;
}

/**
 * Exact silhouette of every row of `x` (m x d) under each labelling (labels in [0, ks[l])).
 * In high dimension the labellings share the pairwise-distance pass (grouped to bound memory).
 */
export function silhouetteSamplesMulti(x: Float32Array, m: number, d: number, labelings: Int32Array[], ks?: number[], signal?: AbortSignal): Float64Array[] {
  const kk = ks ?? labelings.map(labelCount);
  if (d <= DIRECT_MAX_DIM) return labelings.map((lab, l) => silhouetteLowD(x, m, d, lab, kk[l], signal));
  const out: Float64Array[] = [];
  for (const [g0, g1] of groupsBySize(m, kk)) out.push(...silhouetteHighD(x, m, d, labelings.slice(g0, g1), kk.slice(g0, g1), signal));
  return out;
}

/**
 * silhouetteSamplesMulti with the high-dimension pass spread over a pool of threads (same values,
 * bit for bit). Without a pool, or in low dimension, it is silhouetteSamplesMulti.
 */
export async function silhouetteSamplesMultiParallel(
  x: Float32Array,
  m: number,
  d: number,
  labelings: Int32Array[],
  ks?: number[],
  pool?: SilhouettePool | null,
  signal?: AbortSignal,
): Promise<Float64Array[]> {
  const kk = ks ?? labelings.map(labelCount);
  if (!pool || d <= DIRECT_MAX_DIM) return silhouetteSamplesMulti(x, m, d, labelings, kk, signal);
  const out: Float64Array[] = [];
  for (const [g0, g1] of groupsBySize(m, kk)) out.push(...(await silhouetteHighDPool({ x, m, d, labelings: labelings.slice(g0, g1), ks: kk.slice(g0, g1) }, pool, signal)));
  return out;
}

/** Exact silhouette of every row of `x` (m x d). */
export function silhouetteSamples(x: Float32Array, m: number, d: number, labels: Int32Array, k = labelCount(labels)): Float64Array {
  return silhouetteSamplesMulti(x, m, d, [labels], [k])[0];
}

function summarize(values: Float64Array, labels: Int32Array, k: number, sample: Int32Array | null, ms: number): SilhouetteResult {
  const counts = new Int32Array(k);
  const perCluster = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    counts[labels[i]]++;
    perCluster[labels[i]] += values[i];
    total += values[i];
  }
  let present = 0;
  for (let c = 0; c < k; c++) {
    if (counts[c] > 0) present++;
    perCluster[c] = counts[c] > 0 ? perCluster[c] / counts[c] : NaN;
  }
  const score = present >= 2 && present < values.length ? total / values.length : NaN;
  return { score, perCluster, counts, values, sample, ms };
}

/** Sample rows (or all) and their labels. */
function drawSample(data: Float32Array, n: number, d: number, labels: Int32Array, sampleSize: number | undefined, seed: number) {
  if (sampleSize === undefined || sampleSize >= n) return { x: data.subarray(0, n * d), lab: labels.subarray(0, n), m: n, sample: null };
  const sample = sampleIndices(n, sampleSize, createRng(seed));
  const lab = new Int32Array(sample.length);
  for (let p = 0; p < sample.length; p++) lab[p] = labels[sample[p]];
  return { x: gatherRows(data, d, sample), lab, m: sample.length, sample };
}

/**
 * Silhouette score of `labels` (n, in [0, k)) on a uniform sample of `sampleSize` rows (default:
 * all), with per-cluster means. Exact on the sample.
 */
export function silhouetteScore(data: Float32Array, n: number, d: number, labels: Int32Array, k = labelCount(labels), opts: SilhouetteOptions = {}): SilhouetteResult {
  const t0 = performance.now();
  const { x, lab, m, sample } = drawSample(data, n, d, labels, opts.sampleSize, opts.seed ?? 0);
  const values = silhouetteSamplesMulti(x, m, d, [lab], [k], opts.signal)[0];
  return summarize(values, lab, k, sample, performance.now() - t0);
}

/** silhouetteScore with the high-dimension pass spread over a pool of threads (same result). */
export async function silhouetteScoreParallel(
  data: Float32Array,
  n: number,
  d: number,
  labels: Int32Array,
  k = labelCount(labels),
  opts: SilhouetteOptions = {},
  pool: SilhouettePool | null = null,
): Promise<SilhouetteResult> {
  const t0 = performance.now();
  const { x, lab, m, sample } = drawSample(data, n, d, labels, opts.sampleSize, opts.seed ?? 0);
  const values = (await silhouetteSamplesMultiParallel(x, m, d, [lab], [k], pool, opts.signal))[0];
  return summarize(values, lab, k, sample, performance.now() - t0);
}

export interface SweepStep {
  k: number;
  silhouette: number;
  /** k-means inertia on the clustering sample. */
  inertia: number;
  iterations: number;
  /** kmeansMs + silhouetteMs. */
  ms: number;
  kmeansMs: number;
  /** In high dimension the shared distance pass is split evenly over the k it served. */
  silhouetteMs: number;
  /** Mean silhouette per cluster (on the score sample). */
  perCluster: Float64Array;
  centroids: Float32Array;
}

export interface SweepOptions {
  /** Rows scored (default 25,000, the study's). */
  sampleSize?: number;
  /** Rows clustered (default 200,000, the study's); all rows when n is smaller. */
  clusterSampleSize?: number;
  seed?: number;
  /** k-means settings (algorithm, backend, maxIter, tol, ...). */
  kmeans?: Omit<Partial<KMeansOptions>, 'k' | 'signal'>;
  onStep?: (step: SweepStep, done: number, total: number) => void;
  signal?: AbortSignal;
  /** Threads for the high-dimension silhouette pass (same results with or without). */
  pool?: SilhouettePool | null;
}

export interface SweepResult {
  steps: SweepStep[];
  /** k with the highest silhouette (the first on ties); NaN when none is finite. */
  bestK: number;
  /** Rows scored. */
  sample: Int32Array;
  /** Rows clustered (null: all). */
  clusterSample: Int32Array | null;
}

/**
 * For each k: k-means on a sample of `clusterSampleSize` rows, every scored row labelled by its
 * nearest centroid, silhouette on the `sampleSize` score sample. Same seed, same curve.
 */
export async function silhouetteSweep(data: Float32Array, n: number, d: number, ks: readonly number[], opts: SweepOptions = {}): Promise<SweepResult> {
  const seed = opts.seed ?? 0;
  const rng = createRng(seed ^ 0x51f15e);
  const cm = opts.clusterSampleSize ?? 200_000;
  const clusterSample = cm < n ? sampleIndices(n, cm, rng) : null;
  const cx = clusterSample ? gatherRows(data, d, clusterSample) : data.subarray(0, n * d);
  const cn = clusterSample ? clusterSample.length : n;
  const sample = sampleIndices(n, Math.min(n, opts.sampleSize ?? 25_000), rng);
  const sx = gatherRows(data, d, sample);
  const m = sample.length;
  const steps: SweepStep[] = [];
  const pending: { step: SweepStep; labels: Int32Array }[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const t = performance.now();
    const vals = await silhouetteSamplesMultiParallel(sx, m, d, pending.map((p) => p.labels), pending.map((p) => p.step.k), opts.pool, opts.signal);
    const share = (performance.now() - t) / pending.length;
    pending.forEach((p, l) => {
      const s = summarize(vals[l], p.labels, p.step.k, sample, share);
      p.step.silhouette = s.score;
      p.step.perCluster = s.perCluster;
      p.step.silhouetteMs = share;
      p.step.ms = p.step.kmeansMs + share;
      steps.push(p.step);
      opts.onStep?.(p.step, steps.length, ks.length);
    });
    pending.length = 0;
  };
  let pendingBytes = 0;
  for (const k of ks) {
    throwIfAborted(opts.signal);
    const t = performance.now();
    const r = await kmeans(cx, cn, d, { ...opts.kmeans, k, seed, signal: opts.signal });
    const kmeansMs = performance.now() - t;
    const { labels } = assignNearest(sx, m, d, r.centroids, k);
    const step: SweepStep = {
      k,
      silhouette: NaN,
      inertia: r.inertia,
      iterations: r.iterations,
      ms: kmeansMs,
      kmeansMs,
      silhouetteMs: 0,
      perCluster: new Float64Array(k),
      centroids: r.centroids,
    };
    pending.push({ step, labels });
    pendingBytes += m * k * 8;
    // Low dimension: score now (progress per k). High dimension: batch the shared distance pass.
    if (d <= DIRECT_MAX_DIM || pendingBytes >= MULTI_BYTES) {
      await flush();
      pendingBytes = 0;
    }
  }
  await flush();
  let bestK = NaN;
  let best = -Infinity;
  for (const s of steps) {
    if (s.silhouette > best) {
      best = s.silhouette;
      bestK = s.k;
    }
  }
  return { steps, bestK, sample, clusterSample };
}

// ---- a silhouette thread: the body of a worker serving a SilhouettePool -------------------------

export type SilhouetteWorkerRequest = { type: 'begin'; job: SilhouetteJob } | { type: 'chunk'; chunk: number } | { type: 'end' };
export type SilhouetteWorkerReply = { type: 'ok' } | { type: 'sums'; chunk: number; sums: Float64Array[] } | { type: 'error'; message: string };

/** Message handler for one pool thread (adapters only move messages; 'sums' buffers may be transferred). */
export function createSilhouetteWorkerHandler(): (req: SilhouetteWorkerRequest) => SilhouetteWorkerReply {
  let job: SilhouetteJob | null = null;
  let norms: Float64Array | null = null;
  return (req) => {
    try {
      if (req.type === 'begin') {
        job = req.job;
        norms = rowSqNorms(job.x, job.m, job.d);
        return { type: 'ok' };
      }
      if (req.type === 'end') {
        job = null;
        norms = null;
        return { type: 'ok' };
      }
      if (!job || !norms) throw new Error('silhouette worker: chunk before begin');
      return { type: 'sums', chunk: req.chunk, sums: silhouetteChunkSums(job, req.chunk, undefined, norms) };
    } catch (err) {
      return { type: 'error', message: err instanceof Error ? err.message : String(err) };
    }
  };
}
