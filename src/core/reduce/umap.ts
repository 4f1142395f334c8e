// UMAP layout via umap-js: fit on a seeded random sample (UMAP's k-NN graph and layout are
// super-linear and umap-js holds rows as number[][], so fitting all 550k points is out of reach in a
// browser), then place the other rows with transform() in chunks.
//
// Determinism: umap-js draws from a `random` function it is given (Math.random otherwise). We give it
// a seeded generator from util/random.ts, re-seeded for the fit and for each chunk from (seed, chunk
// number), so results do not depend on how many chunks ran before in the same session.
// umap-js 1.4 quirk: transform() moves the *fitted* embedding too when the chunk has exactly as many
// rows as the fitted sample (it decides "move other" by comparing lengths), so such a chunk is split;
// and transform() optimises for nEpochs / 3 epochs and stops only on equality, so it never ends
// when nEpochs is not a multiple of 3: nEpochs is rounded up to one.

import { UMAP } from 'umap-js';
import { createRng, type Rng } from '../util/random.ts';

export interface UmapSettings {
  /** Output dimensions (2 or 3 for the map). */
  nComponents: number;
  nNeighbors: number;
  minDist: number;
  spread: number;
  /**
   * Optimisation epochs for the fit (rounded up to a multiple of 3, see the header); 0 lets umap-js
   * choose (500 below 10k rows, else 200).
   */
  nEpochs: number;
  /** Rows to fit on (the rest are transformed). */
  sampleSize: number;
  /** Rows per transform() call. */
  chunkSize: number;
  metric: 'euclidean' | 'cosine';
  seed: number;
}

export const DEFAULT_UMAP_SETTINGS: Readonly<UmapSettings> = Object.freeze({
  nComponents: 2,
  nNeighbors: 15,
  minDist: 0.1,
  spread: 1,
  nEpochs: 0,
  sampleSize: 10_000,
  chunkSize: 2_000,
  metric: 'euclidean',
  seed: 0,
});

export interface UmapProgress {
  phase: 'fit' | 'transform';
  done: number;
  total: number;
}

export interface UmapHooks {
  onProgress?(p: UmapProgress): void;
  /** Checked between optimisation epochs and between chunks; rejects with an AbortError. */
  signal?: AbortSignal;
}

export interface UmapModel {
  settings: UmapSettings;
  dim: number;
  /** The fitted umap-js instance (holds the sample and its embedding). */
  umap: UMAP;
  /** Indices (into the fitted data) of the sample, ascending. */
  sampleIndex: Uint32Array;
  /** sample x nComponents, row-major. */
  sampleCoords: Float32Array;
  /** Sets the generator umap-js draws from (re-seeded per fit and per chunk). */
  reseed(stream: number): void;
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error('UMAP aborted');
  e.name = 'AbortError';
  return e;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function toVectors(rows: Float32Array | Float64Array, d: number, indices: ArrayLike<number>): number[][] {
  const out: number[][] = new Array<number[]>(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = Array.from(rows.subarray(indices[i] * d, indices[i] * d + d));
  return out;
}

function streamSeed(seed: number, stream: number): number {
  return (Math.imul(stream + 1, 0x9e3779b9) ^ seed) >>> 0;
}

/** Seeded sample of min(size, n) distinct indices in [0, n), ascending (partial Fisher–Yates). */
export function sampleIndices(n: number, size: number, rng: Rng): Uint32Array {
  const m = Math.max(0, Math.min(n, Math.floor(size)));
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, m).sort();
}

/** Fits UMAP on a seeded sample of the n rows (row-major, d values each). */
export async function fitUmap(data: Float32Array | Float64Array, n: number, d: number, settings: Partial<UmapSettings> = {}, hooks: UmapHooks = {}): Promise<UmapModel> {
  const s: UmapSettings = { ...DEFAULT_UMAP_SETTINGS, ...settings };
  if (data.length < n * d) throw new RangeError('fitUmap: data shorter than n * d');
  const sampleIndex = sampleIndices(n, s.sampleSize, createRng(s.seed));
  if (sampleIndex.length <= s.nNeighbors) throw new RangeError(`fitUmap: need more than nNeighbors (${s.nNeighbors}) rows, got ${sampleIndex.length}`);
  let rng = createRng(streamSeed(s.seed, 0));
  const umap = new UMAP({
    nComponents: s.nComponents,
    nNeighbors: s.nNeighbors,
    minDist: s.minDist,
    spread: s.spread,
    ...(s.nEpochs > 0 ? { nEpochs: 3 * Math.ceil(s.nEpochs / 3) } : {}),
    // Cosine distance on raw rows; euclidean is umap-js's default.
    ...(s.metric === 'cosine' ? { distanceFn: cosineDistance } : {}),
    random: () => rng.next(),
  });
  const reseed = (stream: number): void => {
    rng = createRng(streamSeed(s.seed, stream));
  };
  const epochs = umap.initializeFit(toVectors(data, d, sampleIndex));
  for (let e = 0; e < epochs; e++) {
    if (hooks.signal?.aborted) throw abortError(hooks.signal);
    umap.step();
    if (e % 10 === 9 || e === epochs - 1) {
      hooks.onProgress?.({ phase: 'fit', done: e + 1, total: epochs });
      await yieldToEventLoop();
    }
  }
  const emb = umap.getEmbedding();
  const sampleCoords = new Float32Array(emb.length * s.nComponents);
  for (let i = 0; i < emb.length; i++) for (let c = 0; c < s.nComponents; c++) sampleCoords[i * s.nComponents + c] = emb[i][c];
  return { settings: s, dim: d, umap, sampleIndex, sampleCoords, reseed };
}

function cosineDistance(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 1 : 1 - dot / Math.sqrt(na * nb);
}

/**
 * Places n rows with a fitted model, `chunkSize` at a time; chunk c is seeded from (seed, c + 1),
 * so the same rows in the same chunks always land at the same place.
 */
export async function umapTransform(model: UmapModel, rows: Float32Array | Float64Array, n = Math.floor(rows.length / model.dim), hooks: UmapHooks = {}, firstChunk = 0): Promise<Float32Array> {
  const { dim: d } = model;
  const k = model.settings.nComponents;
  const out = new Float32Array(n * k);
  const chunk = Math.max(1, Math.floor(model.settings.chunkSize));
  const fitted = model.sampleIndex.length;
  let c = firstChunk;
  for (let start = 0; start < n; start += chunk, c++) {
    if (hooks.signal?.aborted) throw abortError(hooks.signal);
    const m = Math.min(chunk, n - start);
    // Split a chunk the size of the fitted sample (see the header).
    const parts = m === fitted ? [Math.ceil(m / 2), Math.floor(m / 2)] : [m];
    let off = start;
    for (const [p, len] of parts.entries()) {
      model.reseed(2 * c + 1 + p * 0x10000);
      const idx = new Uint32Array(len);
      for (let i = 0; i < len; i++) idx[i] = off + i;
      const emb = model.umap.transform(toVectors(rows, d, idx));
      for (let i = 0; i < len; i++) for (let t = 0; t < k; t++) out[(off + i) * k + t] = emb[i][t];
      off += len;
    }
    hooks.onProgress?.({ phase: 'transform', done: start + m, total: n });
    await yieldToEventLoop();
  }
  return out;
}

/**
 * The whole layout: fit on a seeded sample, transform the other rows in chunks. Returns n x
 * nComponents coordinates (row-major) and the fitted model (reuse it to place new points).
 */
export async function umapLayout(
  data: Float32Array | Float64Array,
  n: number,
  d: number,
  settings: Partial<UmapSettings> = {},
  hooks: UmapHooks = {},
): Promise<{ coords: Float32Array; model: UmapModel }> {
  const model = await fitUmap(data, n, d, settings, hooks);
  const k = model.settings.nComponents;
  const coords = new Float32Array(n * k);
  const inSample = new Uint8Array(n);
  model.sampleIndex.forEach((idx, i) => {
    inSample[idx] = 1;
    coords.set(model.sampleCoords.subarray(i * k, i * k + k), idx * k);
  });
  const rest = n - model.sampleIndex.length;
  if (rest > 0) {
    const restIndex = new Uint32Array(rest);
    let r = 0;
    for (let i = 0; i < n; i++) if (!inSample[i]) restIndex[r++] = i;
    const chunk = Math.max(1, Math.floor(model.settings.chunkSize));
    // Gather the rows of one chunk at a time, so the copy stays chunk-sized.
    for (let start = 0, c = 0; start < rest; start += chunk, c++) {
      const m = Math.min(chunk, rest - start);
      const rows = data instanceof Float64Array ? new Float64Array(m * d) : new Float32Array(m * d);
      for (let i = 0; i < m; i++) rows.set(data.subarray(restIndex[start + i] * d, restIndex[start + i] * d + d), i * d);
      const placed = await umapTransform(model, rows, m, { signal: hooks.signal }, c);
      for (let i = 0; i < m; i++) coords.set(placed.subarray(i * k, i * k + k), restIndex[start + i] * k);
      hooks.onProgress?.({ phase: 'transform', done: start + m, total: rest });
    }
  }
  return { coords, model };
}
