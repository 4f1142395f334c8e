// Seeded Gaussian mixtures for the clustering tests, the WebGPU e2e test and the benchmark.
// Generated, never downloaded: the same seed gives the same points in Node and in Chromium.
import { createRng } from '../../../src/core/util/random.ts';

export interface Blobs {
  data: Float32Array;
  n: number;
  d: number;
  /** Which component drew each row. */
  truth: Int32Array;
  /** Component means (k x d). */
  means: Float64Array;
}

/**
 * n rows in d dimensions from k isotropic Gaussians (standard deviation `std`) whose means are
 * uniform in [-spread, spread]^d; components are picked uniformly (or with `weights`).
 */
export function gaussianBlobs(n: number, d: number, k: number, opts: { seed?: number; std?: number; spread?: number; minSeparation?: number } = {}): Blobs {
  const rng = createRng(opts.seed ?? 1);
  const std = opts.std ?? 1;
  const spread = opts.spread ?? 10;
  const minSep = opts.minSeparation ?? 0;
  const means = new Float64Array(k * d);
  for (let j = 0; j < k; j++) {
    // Rejection sampling keeps means at least `minSeparation` apart (well-separated fixtures).
    for (let attempt = 0; ; attempt++) {
      for (let t = 0; t < d; t++) means[j * d + t] = (2 * rng.next() - 1) * spread;
      let ok = true;
      for (let q = 0; q < j && ok; q++) {
        let s = 0;
        for (let t = 0; t < d; t++) s += (means[j * d + t] - means[q * d + t]) ** 2;
        if (Math.sqrt(s) < minSep) ok = false;
      }
      if (ok || attempt > 1000) break;
    }
  }
  const data = new Float32Array(n * d);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = rng.int(k);
    truth[i] = j;
    for (let t = 0; t < d; t++) data[i * d + t] = means[j * d + t] + std * rng.normal();
  }
  return { data, n, d, truth, means };
}
