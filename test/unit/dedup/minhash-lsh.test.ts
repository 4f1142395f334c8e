import { describe, expect, it } from 'vitest';
import { bandHashes, candidatePairs, falseNegativeArea, falsePositiveArea, optimalParams } from '../../../src/core/dedup/lsh.ts';
import { buildDrawCache, estimateJaccard, weightedMinHash } from '../../../src/core/dedup/minhash.ts';
import { PRESET_80, PRESET_95, PRESET_GEMINI_FUNC } from '../../../src/core/dedup/settings.ts';
import { type WeightedSet, weightedJaccard } from '../../../src/core/dedup/tfidf.ts';
import { createRng } from '../../../src/core/util/random.ts';

/** A random weighted set and a perturbed copy (shared features with jittered weights, some dropped, some new). */
function randomPair(seed: number): [WeightedSet, WeightedSet] {
  const rng = createRng(seed);
  const n = 20 + rng.int(200);
  const a = new Map<number, number>();
  const b = new Map<number, number>();
  const keep = rng.next();
  const jitter = rng.next() * 2;
  for (let i = 0; i < n; i++) {
    const h = rng.nextU32();
    const w = -Math.log(1 - rng.next()) + 0.01;
    a.set(h, w);
    if (rng.next() < keep) b.set(h, w * Math.exp((rng.next() - 0.5) * jitter));
  }
  const extra = rng.int(n);
  for (let i = 0; i < extra; i++) b.set(rng.nextU32(), rng.next() * 2 + 0.01);
  const mk = (m: Map<number, number>): WeightedSet => ({ hashes: Uint32Array.from(m.keys()), weights: Float32Array.from(m.values()) });
  return [mk(a), mk(b)];
}

describe('weighted MinHash (CWS)', () => {
  it('gives the same signatures with any draw cache: built-in, none, or a given one shared by calls', () => {
    const sets = Array.from({ length: 40 }, (_, i) => randomPair(100 + i)).flat();
    const all = [...new Set(sets.flatMap((s) => Array.from(s.hashes)))];
    const ref = weightedMinHash(sets, 128, 7);
    expect(weightedMinHash(sets, 128, 7, 0)).toEqual(ref);
    // A cache of every other feature plus hashes no set has, used batch by batch.
    const cache = buildDrawCache([...all.filter((_, i) => i % 2 === 0), 1, 2, 3], 128, 7);
    const parts = [sets.slice(0, 30), sets.slice(30)].map((b) => weightedMinHash(b, 128, 7, undefined, cache));
    expect(Uint32Array.from([...parts[0], ...parts[1]])).toEqual(ref);
    expect(() => weightedMinHash(sets, 256, 7, undefined, cache)).toThrow(/draw cache/);
    expect(() => weightedMinHash(sets, 128, 8, undefined, cache)).toThrow(/draw cache/);
  });

  for (const samples of [128, 256]) {
    it(`estimates weighted Jaccard within 3/sqrt(${samples}) (and unbiased on average)`, () => {
      let sumErr = 0;
      let worst = 0;
      const trials = 60;
      for (let t = 0; t < trials; t++) {
        const [a, b] = randomPair(1000 + t);
        const exact = weightedJaccard(a, b);
        const sig = weightedMinHash([a, b], samples, 42 + t);
        const est = estimateJaccard(sig, samples, 0, 1);
        sumErr += est - exact;
        worst = Math.max(worst, Math.abs(est - exact));
      }
      expect(worst).toBeLessThan(3 / Math.sqrt(samples));
      expect(Math.abs(sumErr / trials)).toBeLessThan(1 / Math.sqrt(samples * trials) * 3);
    });
  }

  it('is deterministic, scale-sensitive, and identical sets give identical signatures', () => {
    const [a] = randomPair(7);
    const s1 = weightedMinHash([a, a], 128, 1);
    const s2 = weightedMinHash([a], 128, 1);
    expect(estimateJaccard(s1, 128, 0, 1)).toBe(1);
    expect(Array.from(s2)).toEqual(Array.from(s1.subarray(0, 128)));
    const doubled: WeightedSet = { hashes: a.hashes, weights: a.weights.map((w) => w * 2) };
    // J(a, 2a) = 0.5.
    const s3 = weightedMinHash([a, doubled], 256, 3);
    expect(Math.abs(estimateJaccard(s3, 256, 0, 1) - 0.5)).toBeLessThan(3 / 16);
  });
});

describe('LSH parameters', () => {
  // Reference: datasketch's _optimal_param (scipy.integrate.quad, equal weights 0.5/0.5), run with
  // scipy 1.17.1 on this machine: (0.8,128)->(9,13) (the value datasketch documents), (0.95,128)->(3,42),
  // (0.8,256)->(17,15), (0.95,256)->(5,51), (0.59,256)->(32,8), (0.5,128)->(25,5), (0.9,128)->(5,25);
  // and for 32x8 at 0.59: FP area 0.027433077014685923, FN area 0.04674607848810112.
  const cases: [number, number, number, number][] = [
    [0.8, 128, 9, 13],
    [0.95, 128, 3, 42],
    [0.8, 256, 17, 15],
    [0.95, 256, 5, 51],
    [0.59, 256, 32, 8],
    [0.5, 128, 25, 5],
    [0.9, 128, 5, 25],
  ];
  for (const [t, n, b, r] of cases) {
    it(`threshold ${t}, ${n} samples -> ${b} bands x ${r} rows`, () => {
      const p = optimalParams(t, n);
      expect([p.bands, p.rows]).toEqual([b, r]);
    });
  }

  it('integrals match scipy.quad, and the presets hold the optimal parameters', () => {
    expect(falsePositiveArea(0.59, 32, 8)).toBeCloseTo(0.027433077014685923, 10);
    expect(falseNegativeArea(0.59, 32, 8)).toBeCloseTo(0.04674607848810112, 10);
    for (const p of [PRESET_80, PRESET_95, PRESET_GEMINI_FUNC]) {
      const o = optimalParams(p.threshold, p.samples);
      expect([p.bands, p.rows], p.name).toEqual([o.bands, o.rows]);
    }
    expect(PRESET_GEMINI_FUNC.samples).toBe(256);
    expect([PRESET_GEMINI_FUNC.bands, PRESET_GEMINI_FUNC.rows]).toEqual([32, 8]);
  });

  it('caps big buckets: a bucket of m > cap items gives O(m) chained pairs', () => {
    const n = 1000;
    const samples = 16;
    const sig = new Uint32Array(n * samples).fill(7); // all identical
    const bh = bandHashes(sig, n, samples, 4, 4);
    const c = candidatePairs(bh, n, 4, 50, 2, 1e7);
    expect(c.largestBucket).toBe(n);
    expect(c.cappedBuckets).toBe(4);
    expect(c.keys.length).toBe(2 * n - 3);
    const small = candidatePairs(bh.subarray(0, 10 * 4), 10, 4, 50, 2, 1e7);
    expect(small.keys.length).toBe(45);
  });
});

describe('weighted MinHash cache', () => {
  it('gives the same signatures with and without the draw cache', () => {
    const sets: WeightedSet[] = [];
    for (let t = 0; t < 20; t++) sets.push(...randomPair(500 + t));
    const cached = weightedMinHash(sets, 64, 5);
    const uncached = weightedMinHash(sets, 64, 5, 0);
    const partly = weightedMinHash(sets, 64, 5, 64 * 3 * 8 * 10);
    expect(Array.from(cached)).toEqual(Array.from(uncached));
    expect(Array.from(partly)).toEqual(Array.from(uncached));
  });
});
