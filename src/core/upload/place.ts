// Placing an upload's functions on the corpus map, pure (no DOM, no fetch, no node:*): the upload's
// vectors (embedded with the embedding the map was laid out from) go through the same int8 rounding
// the prebuild stores corpus vectors with, then through the map's saved VAE encoder (its latent
// means, exactly as the layout stage placed every corpus function) or the layout's PCA; each point is
// assigned to the nearest cluster centroid of the layout. Deterministic: the same vectors and the
// same model give the same coordinates and clusters (ties go to the lower cluster index).
import { quantizeInt8 } from '../embed/quantize.ts';
import { encode, type VaeModel } from '../reduce/vae.ts';
import { pcaProject, type PcaModel } from '../reduce/pca.ts';

export class PlacementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlacementError';
  }
}

/**
 * Rounds rows (n x dim, row-major) through int8 codes + one scale per row, as the prebuild stores
 * vectors (core/embed/quantize.ts), and back to float: an uploaded copy of a corpus function then
 * gets exactly the corpus function's stored vector, and lands on its point.
 */
export function roundLikeStored(rows: Float32Array, dim: number): { rows: Float32Array; codes: Int8Array; scales: Float32Array } {
  if (!(dim >= 1) || rows.length % dim !== 0) throw new PlacementError(`vectors of ${rows.length} values are not rows of ${dim}`);
  const { codes, scales } = quantizeInt8(rows, dim);
  const out = new Float32Array(rows.length);
  const n = rows.length / dim;
  for (let r = 0; r < n; r++) {
    const s = scales[r]!;
    for (let j = 0; j < dim; j++) out[r * dim + j] = codes[r * dim + j]! * s;
  }
  return { rows: out, codes, scales };
}

/** Dequantised rows from stored int8 codes and scales. */
export function dequantizeRows(codes: Int8Array, scales: Float32Array, dim: number): Float32Array {
  const n = scales.length;
  if (codes.length !== n * dim) throw new PlacementError(`${codes.length} codes are not ${n} rows of ${dim}`);
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    const s = scales[r]!;
    for (let j = 0; j < dim; j++) out[r * dim + j] = codes[r * dim + j]! * s;
  }
  return out;
}

/** What places vectors on a layout: the layout's VAE encoder, or its PCA (first `dims` components). */
export type Placer = { kind: 'vae'; model: VaeModel } | { kind: 'pca'; model: PcaModel; dims: 2 | 3 };

export function placerDims(p: Placer): 2 | 3 {
  if (p.kind === 'pca') return p.dims;
  const d = p.model.settings.latentDim;
  if (d !== 2 && d !== 3) throw new PlacementError(`a VAE with a latent of ${d} dimensions does not make a map`);
  return d;
}

function placerInputDim(p: Placer): number {
  return p.kind === 'vae' ? p.model.inputDim : p.model.dim;
}

/** Coordinates (n x dims, row-major) of `n` rows of the placer's input dimension. */
export async function placeRows(placer: Placer, rows: Float32Array, n: number): Promise<Float32Array> {
  const dim = placerInputDim(placer);
  if (rows.length !== n * dim) {
    throw new PlacementError(`the upload's vectors have ${n > 0 ? rows.length / n : 0} dimensions, the map's ${placer.kind === 'vae' ? 'encoder' : 'PCA'} takes ${dim}: embedded with another model?`);
  }
  if (n === 0) return new Float32Array(0);
  const dims = placerDims(placer);
  if (placer.kind === 'vae') return encode(placer.model, rows, n);
  if (placer.model.k < dims) throw new PlacementError(`the PCA keeps ${placer.model.k} components, the layout has ${dims}`);
  const all = pcaProject(placer.model, rows, n);
  const k = placer.model.k;
  const out = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) for (let j = 0; j < dims; j++) out[i * dims + j] = all[i * k + j]!;
  return out;
}

export interface Centroids {
  /** k x dims, row-major; a cluster with no point has NaN coordinates and is never nearest. */
  centroids: Float32Array;
  k: number;
  dims: number;
  /** Cluster ids as the layout numbers them, per centroid row. */
  ids: Int32Array;
}

/**
 * Centroids as the mean of each cluster's points (the fixed point of k-means, so for a layout the
 * layout stage clustered, the centroids it saved up to rounding). `clusters` < 0: in no cluster.
 */
export function centroidsFromLayout(positions: Float32Array, clusters: Int32Array | ArrayLike<number>, n: number, dims: number): Centroids {
  if (positions.length < n * dims) throw new PlacementError(`${positions.length} coordinates are fewer than ${n} points of ${dims}`);
  let k = 0;
  for (let i = 0; i < n; i++) k = Math.max(k, (clusters[i] ?? -1) + 1);
  const sum = new Float64Array(k * dims);
  const cnt = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = clusters[i] ?? -1;
    if (c < 0) continue;
    cnt[c]!++;
    for (let j = 0; j < dims; j++) sum[c * dims + j]! += positions[i * dims + j]!;
  }
  const centroids = new Float32Array(k * dims);
  for (let c = 0; c < k; c++) for (let j = 0; j < dims; j++) centroids[c * dims + j] = cnt[c]! > 0 ? sum[c * dims + j]! / cnt[c]! : Number.NaN;
  return { centroids, k, dims, ids: Int32Array.from({ length: k }, (_, c) => c) };
}

/** Centroids from a clusters table's rows (cluster id and coordinates per row, any order). */
export function centroidsFromRows(ids: ArrayLike<number>, coords: Float32Array, dims: number): Centroids {
  const k = ids.length;
  if (coords.length !== k * dims) throw new PlacementError(`${coords.length} centroid coordinates are not ${k} rows of ${dims}`);
  return { centroids: Float32Array.from(coords), k, dims, ids: Int32Array.from(ids) };
}

/**
 * The nearest centroid of every point (squared Euclidean distance in the layout's space, as k-means
 * assigns); ties go to the lower row. Returns the layout's cluster id and the distance.
 */
export function nearestClusters(points: Float32Array, n: number, c: Centroids): { cluster: Int32Array; distance: Float32Array } {
  const d = c.dims;
  if (points.length !== n * d) throw new PlacementError(`${points.length} coordinates are not ${n} points of ${d}`);
  const cluster = new Int32Array(n).fill(-1);
  const distance = new Float32Array(n).fill(Number.NaN);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let r = 0; r < c.k; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = points[i * d + j]! - c.centroids[r * d + j]!;
        s += t * t;
      }
      if (s < bestD) {
        bestD = s;
        best = r;
      }
    }
    if (best >= 0) {
      cluster[i] = c.ids[best]!;
      distance[i] = Math.sqrt(bestD);
    }
  }
  return { cluster, distance };
}

export interface UploadPlacement {
  positions: Float32Array;
  dims: 2 | 3;
  clusters: Int32Array;
  /** Distance to the assigned centroid. */
  centroidDistance: Float32Array;
  /** Stored-form vectors (int8 codes + scales), as the upload is kept. */
  codes: Int8Array;
  scales: Float32Array;
  dim: number;
}

/**
 * The whole placement: round the vectors as stored, place them with `placer`, assign clusters.
 * `centroids` must live in the placer's space (the layout's coordinates).
 */
export async function placeUpload(vectors: Float32Array, dim: number, placer: Placer, centroids: Centroids | null): Promise<UploadPlacement> {
  const { rows, codes, scales } = roundLikeStored(vectors, dim);
  const n = rows.length / dim;
  const dims = placerDims(placer);
  const positions = await placeRows(placer, rows, n);
  for (let i = 0; i < positions.length; i++) {
    if (!Number.isFinite(positions[i]!)) throw new PlacementError(`the encoder gave a non-finite coordinate for function ${Math.floor(i / dims)}`);
  }
  let clusters: Int32Array = new Int32Array(n).fill(-1);
  let centroidDistance: Float32Array = new Float32Array(n).fill(Number.NaN);
  if (centroids && centroids.k > 0) {
    if (centroids.dims !== dims) throw new PlacementError(`the clusters' centroids have ${centroids.dims} dimensions, the layout ${dims}`);
    ({ cluster: clusters, distance: centroidDistance } = nearestClusters(positions, n, centroids));
  }
  return { positions, dims, clusters, centroidDistance, codes, scales, dim };
}
