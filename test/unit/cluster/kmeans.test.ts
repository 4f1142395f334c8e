import { describe, expect, it } from 'vitest';
import { assignNearest, inertiaOf, sqDist } from '../../../src/core/cluster/distance.ts';
import { kmeans, kmeansPlusPlus, kmeansSync, meanFeatureVariance, miniBatchKMeans } from '../../../src/core/cluster/kmeans.ts';
import { normalizedMutualInformation } from '../../../src/core/cluster/metrics.ts';
import { setSimdEnabled } from '../../../src/core/cluster/simd.ts';
import { createRng } from '../../../src/core/util/random.ts';
import { gaussianBlobs } from './blobs.ts';
import { runPython, sklearnUnavailable } from './python-peer.ts';

/** Textbook Lloyd (full scans, sums recomputed, sklearn's stopping rules): the reference. */
function naiveLloyd(data: Float32Array, n: number, d: number, init: Float64Array, k: number, tol: number, maxIter: number) {
  const c = Float64Array.from(init);
  let labels = new Int32Array(n).fill(-1);
  const tolAbs = tol * meanFeatureVariance(data, n, d);
  let iterations = 0;
  let strict = false;
  for (let it = 0; it < maxIter; it++) {
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = Infinity;
      for (let j = 0; j < k; j++) {
        const dd = sqDist(data, i, c, j, d);
        if (dd < best) {
          best = dd;
          next[i] = j;
        }
      }
    }
    iterations = it + 1;
    const same = next.every((v, i) => v === labels[i]);
    labels = next;
    if (same) {
      strict = true;
      break;
    }
    const sums = new Float64Array(k * d);
    const cnt = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      cnt[labels[i]]++;
      for (let t = 0; t < d; t++) sums[labels[i] * d + t] += data[i * d + t];
    }
    let shift = 0;
    for (let j = 0; j < k; j++) {
      if (cnt[j] === 0) continue;
      for (let t = 0; t < d; t++) {
        const v = sums[j * d + t] / cnt[j];
        shift += (v - c[j * d + t]) ** 2;
        c[j * d + t] = v;
      }
    }
    if (shift <= tolAbs) break;
  }
  if (!strict) {
    for (let i = 0; i < n; i++) {
      let best = Infinity;
      for (let j = 0; j < k; j++) {
        const dd = sqDist(data, i, c, j, d);
        if (dd < best) {
          best = dd;
          labels[i] = j;
        }
      }
    }
  }
  return { centers: c, labels, iterations, inertia: inertiaOf(data, n, d, c, labels) };
}

describe('kmeans (Lloyd, JS)', () => {
  for (const d of [3, 32]) {
    it(`recovers three well-separated Gaussian blobs (d=${d})`, () => {
      const b = gaussianBlobs(3000, d, 3, { seed: 11, std: 1, spread: 20, minSeparation: 15 });
      const r = kmeansSync(b.data, b.n, d, { k: 3, seed: 5 });
      expect(normalizedMutualInformation(r.assignments, b.truth)).toBe(1);
      expect(r.converged).toBe(true);
      // Each centroid sits at its blob's mean (within sampling error: std / sqrt(1000) * few).
      for (let j = 0; j < 3; j++) {
        let bestErr = Infinity;
        for (let q = 0; q < 3; q++) bestErr = Math.min(bestErr, Math.sqrt(sqDist(r.centroids, j, b.means, q, d)));
        expect(bestErr).toBeLessThan(0.2 * Math.sqrt(d / 3));
      }
      expect(r.inertia).toBeCloseTo(inertiaOf(b.data, b.n, d, r.centroids, r.assignments), 6);
      expect(Array.from(r.sizes).reduce((a, v) => a + v, 0)).toBe(b.n);
    });
  }

  // d=48 runs the high-d path twice: float32 SIMD dot products with exact float64 rechecks, and the
  // float64 JS kernel; both must reproduce the textbook labels exactly.
  for (const [d, simd] of [[3, true], [2, true], [5, true], [48, true], [48, false]] as const) {
    it(`matches a textbook Lloyd from the same initial centroids on overlapping data (d=${d}${d > 8 ? `, simd ${simd}` : ''})`, () => {
      const b = gaussianBlobs(4000, d, 25, { seed: 3, std: 1.5, spread: 6 });
      const k = 20;
      setSimdEnabled(simd);
      try {
        const init = kmeansPlusPlus(b.data, b.n, d, k, createRng(9));
        const ref = naiveLloyd(b.data, b.n, d, init, k, 1e-4, 300);
        const r = kmeansSync(b.data, b.n, d, { k, init, maxIter: 300 });
        expect(r.iterations).toBe(ref.iterations);
        expect(Array.from(r.assignments)).toEqual(Array.from(ref.labels));
        expect(Math.abs(r.inertia - ref.inertia) / ref.inertia).toBeLessThan(1e-9);
        for (let q = 0; q < k * d; q++) expect(r.centroids[q]).toBeCloseTo(ref.centers[q], 4);
      } finally {
        setSimdEnabled(true);
      }
    });
  }

  it('labels exactly with float32 SIMD dot products far from the origin (large rounding margins)', () => {
    // Offsetting the data by 1000 makes |x||c| ~ 1e6 d while distances stay O(d): float32 dots alone
    // would mislabel; the rechecked labels must equal a float64 full scan.
    const b = gaussianBlobs(3000, 64, 10, { seed: 8, std: 1, spread: 1 });
    for (let q = 0; q < b.data.length; q++) b.data[q] += 1000;
    const cents = new Float64Array(10 * 64);
    for (let j = 0; j < 10; j++) for (let t = 0; t < 64; t++) cents[j * 64 + t] = b.data[j * 97 * 64 + t];
    const fast = assignNearest(b.data, b.n, 64, cents, 10);
    for (let i = 0; i < b.n; i++) {
      let best = Infinity;
      let bl = -1;
      for (let j = 0; j < 10; j++) {
        const dd = sqDist(b.data, i, cents, j, 64);
        if (dd < best) {
          best = dd;
          bl = j;
        }
      }
      expect(fast.labels[i]).toBe(bl);
    }
  });

  it('returns every point at its nearest centroid, with the inertia of that assignment', () => {
    const b = gaussianBlobs(20_000, 3, 60, { seed: 21, std: 1, spread: 10 });
    const r = kmeansSync(b.data, b.n, 3, { k: 50, seed: 2 });
    const direct = assignNearest(b.data, b.n, 3, r.centroids, 50);
    // Float32 centroids can flip exact float ties only; none expected on continuous data.
    let differ = 0;
    for (let i = 0; i < b.n; i++) if (direct.labels[i] !== r.assignments[i]) differ++;
    expect(differ).toBe(0);
    expect(Math.abs(direct.inertia - r.inertia) / r.inertia).toBeLessThan(1e-6);
    expect(r.iterationMs.length).toBe(r.iterations);
  });

  it('is reproducible with a seed and depends on it', () => {
    const b = gaussianBlobs(5000, 4, 12, { seed: 4, std: 1, spread: 5 });
    const a = kmeansSync(b.data, b.n, 4, { k: 10, seed: 1 });
    const a2 = kmeansSync(b.data, b.n, 4, { k: 10, seed: 1 });
    const c = kmeansSync(b.data, b.n, 4, { k: 10, seed: 2 });
    expect(Array.from(a2.centroids)).toEqual(Array.from(a.centroids));
    expect(Array.from(a2.assignments)).toEqual(Array.from(a.assignments));
    expect(a2.inertia).toBe(a.inertia);
    expect(Array.from(c.centroids)).not.toEqual(Array.from(a.centroids));
  });

  it('re-seeds empty clusters (duplicate initial centroids)', () => {
    const b = gaussianBlobs(2000, 3, 4, { seed: 8, std: 1, spread: 10, minSeparation: 8 });
    // Centroid 1 duplicates centroid 0: on the first assignment it gets no point (ties go low).
    const init = new Float64Array(4 * 3);
    for (let t = 0; t < 3; t++) {
      init[t] = b.data[t];
      init[3 + t] = b.data[t];
      init[6 + t] = b.data[3 + t];
      init[9 + t] = b.data[6 + t];
    }
    const r = kmeansSync(b.data, b.n, 3, { k: 4, init });
    for (let j = 0; j < 4; j++) expect(r.sizes[j]).toBeGreaterThan(0);
  });

  it('k-means++ picks k distinct data rows, spread over the blobs', () => {
    const b = gaussianBlobs(3000, 3, 5, { seed: 2, std: 0.5, spread: 20, minSeparation: 10 });
    const c = kmeansPlusPlus(b.data, b.n, 3, 5, createRng(3));
    const hit = new Set<number>();
    for (let j = 0; j < 5; j++) {
      let row = -1;
      for (let i = 0; i < b.n && row < 0; i++) if (sqDist(b.data, i, c, j, 3) === 0) row = i;
      expect(row).toBeGreaterThanOrEqual(0);
      hit.add(b.truth[row]);
    }
    expect(hit.size).toBe(5);
  });

  it('honours an aborted signal and validates k', () => {
    const b = gaussianBlobs(500, 3, 3, { seed: 1 });
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    expect(() => kmeansSync(b.data, b.n, 3, { k: 3, signal: ac.signal })).toThrow('stop');
    expect(() => kmeansSync(b.data, b.n, 3, { k: 0 })).toThrow(RangeError);
    expect(() => kmeansSync(b.data, b.n, 3, { k: 501 })).toThrow(RangeError);
  });

  it('reports progress per iteration and stops when aborted mid-run', () => {
    const b = gaussianBlobs(5000, 3, 30, { seed: 14, std: 1.5, spread: 6 });
    const seen: number[] = [];
    const r = kmeansSync(b.data, b.n, 3, { k: 20, seed: 1, onProgress: (p) => p.phase === 'iterate' && seen.push(p.iteration) });
    expect(seen).toEqual(Array.from({ length: r.iterations }, (_, i) => i + 1));
    const ac = new AbortController();
    expect(() =>
      kmeansSync(b.data, b.n, 3, {
        k: 20,
        seed: 1,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.iteration === 2) ac.abort(new Error('user cancelled'));
        },
      }),
    ).toThrow('user cancelled');
  });

  it('terminates on degenerate data (all rows equal) with zero inertia', () => {
    const data = new Float32Array(3000).fill(1.5);
    const r = kmeansSync(data, 1000, 3, { k: 3, seed: 0, maxIter: 50 });
    expect(r.inertia).toBe(0);
    expect(r.iterations).toBeLessThanOrEqual(50);
    expect(Array.from(r.sizes).reduce((a, v) => a + v, 0)).toBe(1000);
  });

  it('falls back to JS when WebGPU is asked for in Node', async () => {
    const b = gaussianBlobs(1000, 3, 3, { seed: 1, minSeparation: 10, spread: 20 });
    const r = await kmeans(b.data, b.n, 3, { k: 3, seed: 0, backend: 'webgpu' });
    const j = kmeansSync(b.data, b.n, 3, { k: 3, seed: 0 });
    expect(r.backend).toBe('js');
    expect(Array.from(r.assignments)).toEqual(Array.from(j.assignments));
  });

  const noPy = sklearnUnavailable();
  it.skipIf(noPy !== null)(`agrees with scikit-learn KMeans(lloyd) from the same init${noPy ? ` (skipped: ${noPy})` : ''}`, () => {
    const b = gaussianBlobs(20_000, 3, 40, { seed: 12, std: 1, spread: 8 });
    const k = 30;
    const init = kmeansPlusPlus(b.data, b.n, 3, k, createRng(1));
    const r = kmeansSync(b.data, b.n, 3, { k, init });
    const py = runPython<{ inertia: number; n_iter: number; labels: number[] }>(
      String.raw`
import sys, json, numpy as np
from sklearn.cluster import KMeans
d = sys.argv[1]
X = np.fromfile(d + '/x.f32', dtype=np.float32).reshape(-1, 3)
C = np.fromfile(d + '/c.f64', dtype=np.float64).reshape(-1, 3)
km = KMeans(n_clusters=C.shape[0], init=C.astype(np.float32), n_init=1, algorithm='lloyd', tol=1e-4, max_iter=300).fit(X)
print(json.dumps({'inertia': float(km.inertia_), 'n_iter': int(km.n_iter_), 'labels': km.labels_.tolist()}))
`,
      { 'x.f32': b.data, 'c.f64': init },
    );
    expect(Math.abs(r.inertia - py.inertia) / py.inertia).toBeLessThan(1e-4);
    let same = 0;
    for (let i = 0; i < b.n; i++) if (py.labels[i] === r.assignments[i]) same++;
    expect(same / b.n).toBeGreaterThan(0.999);
    expect(Math.abs(r.iterations - py.n_iter)).toBeLessThanOrEqual(2);
  });
});

describe('kmeans (mini-batch)', () => {
  it('recovers well-separated blobs in 64-d, reproducibly', () => {
    const b = gaussianBlobs(20_000, 64, 8, { seed: 5, std: 1, spread: 5, minSeparation: 20 });
    const r = miniBatchKMeans(b.data, b.n, 64, { k: 8, seed: 3, batchSize: 256 });
    const r2 = kmeansSync(b.data, b.n, 64, { k: 8, seed: 3, batchSize: 256, algorithm: 'minibatch' });
    expect(normalizedMutualInformation(r.assignments, b.truth)).toBeGreaterThan(0.999);
    expect(Array.from(r2.assignments)).toEqual(Array.from(r.assignments));
    expect(r.inertia).toBeCloseTo(inertiaOf(b.data, b.n, 64, r.centroids, r.assignments), 3);
    // Early stopping ends well before maxIter passes over the data.
    expect(r.iterations).toBeLessThan((100 * b.n) / 256);
  });

  it('reaches an inertia close to full Lloyd on overlapping data', () => {
    const b = gaussianBlobs(30_000, 16, 30, { seed: 6, std: 1, spread: 4 });
    const full = kmeansSync(b.data, b.n, 16, { k: 20, seed: 1 });
    const mb = miniBatchKMeans(b.data, b.n, 16, { k: 20, seed: 1 });
    expect(mb.inertia / full.inertia).toBeLessThan(1.05);
    expect(mb.inertia / full.inertia).toBeGreaterThan(0.95);
  });
});
