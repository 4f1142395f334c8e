// Seeded data and a plain float64 brute-force reference for the search tests.
import type { KnnMetric } from '../../../src/core/search/knn.ts';

/** mulberry32: small, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomRows(n: number, dim: number, seed: number, normalise = false): Float32Array {
  const r = rng(seed);
  const rows = new Float32Array(n * dim);
  for (let i = 0; i < rows.length; i++) rows[i] = r() * 2 - 1;
  if (normalise) normaliseRows(rows, dim);
  return rows;
}

export function normaliseRows(rows: Float32Array, dim: number): void {
  for (let i = 0; i < rows.length / dim; i++) {
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += rows[i * dim + j] ** 2;
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let j = 0; j < dim; j++) rows[i * dim + j] *= inv;
  }
}

/** Gaussian blobs around `clusters` random centres: data with structure, for IVF. */
export function clusteredRows(n: number, dim: number, clusters: number, spread: number, seed: number): { rows: Float32Array; label: Uint32Array } {
  const r = rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const centres = new Float64Array(clusters * dim).map(() => gauss());
  const rows = new Float32Array(n * dim);
  const label = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * clusters);
    label[i] = c;
    for (let j = 0; j < dim; j++) rows[i * dim + j] = centres[c * dim + j] + spread * gauss();
  }
  return { rows, label };
}

/** Distance by the textbook formula in float64, no shortcuts. */
export function referenceDistance(q: ArrayLike<number>, x: ArrayLike<number>, m: KnnMetric): number {
  if (m.kind === 'cosine') {
    let dot = 0, qq = 0;
    for (let j = 0; j < q.length; j++) {
      dot += q[j] * x[j];
      qq += q[j] * q[j];
    }
    return 1 - dot / Math.sqrt(qq);
  }
  if (m.p === Infinity) {
    let mx = 0;
    for (let j = 0; j < q.length; j++) mx = Math.max(mx, Math.abs(q[j] - x[j]));
    return mx;
  }
  let s = 0;
  for (let j = 0; j < q.length; j++) s += Math.abs(q[j] - x[j]) ** m.p;
  return s ** (1 / m.p);
}

/** Brute-force top k: sort all rows by (distance, id). `row(i)` gives row i as float64 values. */
export function referenceTopK(q: ArrayLike<number>, n: number, row: (i: number) => ArrayLike<number>, k: number, m: KnnMetric): { ids: number[]; distances: number[] } {
  const all = Array.from({ length: n }, (_, i) => ({ id: i, d: referenceDistance(q, row(i), m) }));
  all.sort((a, b) => a.d - b.d || a.id - b.id);
  const top = all.slice(0, k);
  return { ids: top.map((t) => t.id), distances: top.map((t) => t.d) };
}
