import { describe, expect, it } from 'vitest';
import { gatherRows } from '../../../src/core/cluster/kmeans.ts';
import { silhouetteSamples, silhouetteSamplesMulti, silhouetteScore, silhouetteSweep } from '../../../src/core/cluster/silhouette.ts';
import { layoutQuality } from '../../../src/core/cluster/metrics.ts';
import { setSimdEnabled, simdKernel } from '../../../src/core/cluster/simd.ts';
import { createRng } from '../../../src/core/util/random.ts';
import { gaussianBlobs } from './blobs.ts';
import { runPython, sklearnUnavailable } from './python-peer.ts';

/** The definition, pair by pair: the O(n^2) reference. */
function directSilhouette(x: Float32Array, n: number, d: number, labels: Int32Array): Float64Array {
  const k = Math.max(...labels) + 1;
  const counts = new Array<number>(k).fill(0);
  for (const l of labels) counts[l]++;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sums = new Array<number>(k).fill(0);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let t = 0; t < d; t++) s += (x[i * d + t] - x[j * d + t]) ** 2;
      sums[labels[j]] += Math.sqrt(s);
    }
    const own = labels[i];
    if (counts[own] === 1) continue;
    const a = sums[own] / (counts[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && counts[c] > 0) b = Math.min(b, sums[c] / counts[c]);
    out[i] = (b - a) / Math.max(a, b);
  }
  return out;
}

function randomLabels(n: number, k: number, seed: number): Int32Array {
  const rng = createRng(seed);
  const l = new Int32Array(n);
  for (let i = 0; i < n; i++) l[i] = rng.int(k);
  return l;
}

describe('silhouette', () => {
  // High dimension runs on float32 SIMD where WebAssembly has it (|error| ~1e-7 here) and on the
  // float64 JS kernel otherwise: both are held to the direct computation.
  const modes = [
    { simd: true, tol: 1e-5 },
    { simd: false, tol: 1e-10 },
  ];
  for (const d of [2, 3, 5, 20]) {
    for (const mode of d > 8 ? modes : [modes[1]]) {
      it(`equals the direct O(n^2) computation (d=${d}${d > 8 ? `, simd ${mode.simd}` : ''}, with a singleton and an unused label)`, () => {
        const b = gaussianBlobs(400, d, 4, { seed: d, std: 1, spread: 3 });
        const labels = Int32Array.from(b.truth);
        labels[17] = 5; // a singleton cluster (s = 0); label 4 is unused
        setSimdEnabled(mode.simd);
        try {
          const ours = silhouetteSamples(b.data, b.n, d, labels, 6);
          const ref = directSilhouette(b.data, b.n, d, labels);
          expect(ours[17]).toBe(0);
          for (let i = 0; i < b.n; i++) expect(Math.abs(ours[i] - ref[i])).toBeLessThan(mode.tol);
        } finally {
          setSimdEnabled(true);
        }
      });
    }
  }

  it('has a WebAssembly SIMD kernel in Node 20', () => {
    expect(simdKernel()).not.toBeNull();
  });

  for (const mode of modes) {
    it(`scores several labellings in one high-d pass exactly as one at a time (simd ${mode.simd})`, () => {
      const b = gaussianBlobs(300, 40, 5, { seed: 3, std: 1, spread: 2 });
      const labs = [b.truth, randomLabels(b.n, 3, 1), randomLabels(b.n, 7, 2)];
      setSimdEnabled(mode.simd);
      try {
        const multi = silhouetteSamplesMulti(b.data, b.n, 40, labs, [5, 3, 7]);
        labs.forEach((l, q) => {
          const ref = directSilhouette(b.data, b.n, 40, l);
          for (let i = 0; i < b.n; i++) expect(Math.abs(multi[q][i] - ref[i])).toBeLessThan(mode.tol);
        });
      } finally {
        setSimdEnabled(true);
      }
    });
  }

  it('scores a sample exactly: the same as the full computation on the sampled rows, with per-cluster means', () => {
    const b = gaussianBlobs(3000, 3, 6, { seed: 9, std: 1, spread: 6 });
    const r = silhouetteScore(b.data, b.n, 3, b.truth, 6, { sampleSize: 500, seed: 4 });
    expect(r.sample!.length).toBe(500);
    const x = gatherRows(b.data, 3, r.sample!);
    const lab = Int32Array.from(r.sample!, (i) => b.truth[i]);
    const ref = directSilhouette(x, 500, 3, lab);
    const mean = ref.reduce((a, v) => a + v, 0) / 500;
    expect(r.score).toBeCloseTo(mean, 10);
    for (let c = 0; c < 6; c++) {
      let s = 0;
      let m = 0;
      for (let i = 0; i < 500; i++) if (lab[i] === c) (s += ref[i]), m++;
      expect(r.counts[c]).toBe(m);
      expect(r.perCluster[c]).toBeCloseTo(s / m, 10);
    }
    // Same seed, same sample.
    expect(silhouetteScore(b.data, b.n, 3, b.truth, 6, { sampleSize: 500, seed: 4 }).score).toBe(r.score);
  });

  it('is NaN with fewer than two clusters', () => {
    const b = gaussianBlobs(50, 3, 2, { seed: 1 });
    expect(silhouetteScore(b.data, b.n, 3, new Int32Array(50), 1).score).toBeNaN();
  });

  const noPy = sklearnUnavailable();
  it.skipIf(noPy !== null)(`agrees with scikit-learn silhouette_samples${noPy ? ` (skipped: ${noPy})` : ''}`, () => {
    for (const d of [3, 24]) {
      const b = gaussianBlobs(1500, d, 7, { seed: 30 + d, std: 1, spread: 3 });
      const ours = silhouetteSamples(b.data, b.n, d, b.truth, 7);
      const py = runPython<{ s: number[]; score: number }>(
        String.raw`
import sys, json, numpy as np
from sklearn.metrics import silhouette_samples, silhouette_score
p = sys.argv[1]
X = np.fromfile(p + '/x.f32', dtype=np.float32).reshape(-1, ${d})
y = np.fromfile(p + '/y.i32', dtype=np.int32)
print(json.dumps({'s': silhouette_samples(X, y).tolist(), 'score': float(silhouette_score(X, y))}))
`,
        { 'x.f32': b.data, 'y.i32': b.truth },
      );
      for (let i = 0; i < b.n; i++) expect(Math.abs(ours[i] - py.s[i])).toBeLessThan(1e-5);
      const mean = ours.reduce((a, v) => a + v, 0) / b.n;
      expect(Math.abs(mean - py.score)).toBeLessThan(1e-6);
    }
  });

  for (const d of [3, 16]) {
    it(`sweep over k peaks at the true number of blobs (d=${d})`, async () => {
      const b = gaussianBlobs(6000, d, 5, { seed: 40, std: 1, spread: 15, minSeparation: 12 });
      const seen: number[] = [];
      const r = await silhouetteSweep(b.data, b.n, d, [2, 3, 4, 5, 6, 8], {
        sampleSize: 1500,
        clusterSampleSize: 4000,
        seed: 2,
        onStep: (s) => seen.push(s.k),
      });
      expect(r.bestK).toBe(5);
      expect(seen).toEqual([2, 3, 4, 5, 6, 8]);
      expect(r.steps.map((s) => s.k)).toEqual([2, 3, 4, 5, 6, 8]);
      expect(r.sample.length).toBe(1500);
      expect(r.clusterSample!.length).toBe(4000);
      // Inertia on the clustering sample falls as k grows (k-means++ restarts per k, so loosely).
      expect(r.steps[5].inertia).toBeLessThan(r.steps[0].inertia);
      for (const s of r.steps) expect(s.ms).toBeGreaterThanOrEqual(s.kmeansMs);
    });
  }
});

describe('layoutQuality', () => {
  it('scores the same sample in both spaces: equal for an isometric layout, lower for noise', () => {
    const b = gaussianBlobs(2000, 12, 4, { seed: 7, std: 1, spread: 10, minSeparation: 10 });
    const same = layoutQuality(b.data, 12, b.data, 12, b.n, b.truth, 4, { sampleSize: 600, seed: 1 });
    expect(same.layout).toBeCloseTo(same.original, 12);
    expect(same.original).toBeGreaterThan(0.5);
    const rng = createRng(3);
    const noise = Float32Array.from({ length: b.n * 3 }, () => rng.normal());
    const q = layoutQuality(noise, 3, b.data, 12, b.n, b.truth, 4, { sampleSize: 600, seed: 1 });
    expect(q.original).toBeCloseTo(same.original, 12);
    expect(Math.abs(q.layout)).toBeLessThan(0.05);
    expect(q.sample.length).toBe(600);
  });
});
