// Seeded Gaussian mixture for the reducer tests: `k` well-separated centres in `d` dimensions.
import { createRng } from '../../../src/core/util/random.ts';

export interface Mixture {
  data: Float32Array;
  labels: Int32Array;
  n: number;
  d: number;
}

export function gaussianMixture(n: number, d: number, k: number, seed: number, separation = 4, noise = 1): Mixture {
  const rng = createRng(seed);
  const centres = new Float64Array(k * d);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal() * separation;
  const data = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(k);
    labels[i] = c;
    for (let j = 0; j < d; j++) data[i * d + j] = centres[c * d + j] + noise * rng.normal();
  }
  return { data, labels, n, d };
}

/** Fraction of points whose `m` nearest neighbours (Euclidean, in `coords`) mostly share their label. */
export function knnLabelAgreement(coords: Float32Array, dim: number, labels: Int32Array, m = 10): number {
  const n = labels.length;
  let agree = 0;
  const dist = new Float64Array(n);
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) {
        const v = coords[i * dim + t] - coords[j * dim + t];
        s += v * v;
      }
      dist[j] = j === i ? Infinity : s;
      idx[j] = j;
    }
    const sorted = Array.from(idx).sort((a, b) => dist[a] - dist[b]);
    let same = 0;
    for (let r = 0; r < m; r++) if (labels[sorted[r]] === labels[i]) same++;
    agree += same / m;
  }
  return agree / n;
}
