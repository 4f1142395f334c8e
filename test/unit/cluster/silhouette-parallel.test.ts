// The high-dimension silhouette pass cut into fixed chunks and run on worker threads (the
// prebuild's pool): every chunk count and thread count gives the one-thread values bit for bit,
// which match the O(n^2) definition.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SILHOUETTE_CHUNKS,
  createSilhouetteWorkerHandler,
  silhouetteChunkSums,
  silhouetteSamples,
  silhouetteSamplesMulti,
  silhouetteSamplesMultiParallel,
  silhouetteScore,
  silhouetteScoreParallel,
  silhouetteSweep,
  type SilhouettePool,
} from '../../../src/core/cluster/silhouette.ts';
import { createRng } from '../../../src/core/util/random.ts';
import { createSilhouettePool, type NodeSilhouettePool } from '../../../prebuild/cluster-parallel.ts';
import { gaussianBlobs } from './blobs.ts';

function labelsOf(n: number, k: number, seed: number): Int32Array {
  const rng = createRng(seed);
  return Int32Array.from({ length: n }, () => rng.int(k));
}

/** A pool in this realm whose chunks finish in a scrambled order (tests the in-order adding). */
function scrambledPool(size: number): SilhouettePool & { order: number[] } {
  const handle = createSilhouetteWorkerHandler();
  const order: number[] = [];
  return {
    size,
    order,
    async begin(job) {
      expect(handle({ type: 'begin', job })).toEqual({ type: 'ok' });
    },
    async chunk(c) {
      const r = handle({ type: 'chunk', chunk: c });
      if (r.type !== 'sums') throw new Error(r.type === 'error' ? r.message : 'no sums');
      await new Promise((res) => setTimeout(res, ((c * 7) % 5) * 3));
      order.push(c);
      return r.sums;
    },
    async end() {
      handle({ type: 'end' });
    },
  };
}

describe('silhouette on several threads', () => {
  let pool2: NodeSilhouettePool;
  beforeAll(() => {
    pool2 = createSilhouettePool(2);
  });
  afterAll(async () => {
    await pool2?.close();
  });

  it('the chunks partition the pairs: their sums add up to the direct per-cluster distance sums', () => {
    const b = gaussianBlobs(700, 24, 5, { seed: 3, spread: 3 });
    const lab = labelsOf(b.n, 4, 1);
    const job = { x: b.data, m: b.n, d: 24, labelings: [lab], ks: [4] };
    const total = new Float64Array(b.n * 4);
    let nonEmpty = 0;
    for (let c = 0; c < SILHOUETTE_CHUNKS; c++) {
      const [s] = silhouetteChunkSums(job, c);
      if (s!.some((v) => v !== 0)) nonEmpty++;
      for (let i = 0; i < total.length; i++) total[i] += s![i]!;
    }
    // 700 rows = 11 tile rows: every chunk got work (no chunk is a no-op in this test).
    expect(nonEmpty).toBe(SILHOUETTE_CHUNKS);
    for (const i of [0, 99, 350, 699]) {
      for (let c = 0; c < 4; c++) {
        let direct = 0;
        for (let j = 0; j < b.n; j++) {
          if (j === i || lab[j] !== c) continue;
          let s2 = 0;
          for (let t = 0; t < 24; t++) s2 += (b.data[i * 24 + t]! - b.data[j * 24 + t]!) ** 2;
          direct += Math.sqrt(s2);
        }
        expect(Math.abs(total[i * 4 + c]! - direct)).toBeLessThan(1e-3 * Math.max(1, direct));
      }
    }
    expect(() => silhouetteChunkSums(job, SILHOUETTE_CHUNKS)).toThrow(/chunk 8 is not in/);
  });

  it('2 worker threads give the one-thread silhouettes bit for bit, for several labellings at once', async () => {
    const b = gaussianBlobs(1500, 64, 6, { seed: 5, spread: 2 });
    const labs = [b.truth, labelsOf(b.n, 3, 2), labelsOf(b.n, 9, 3)];
    const ks = [6, 3, 9];
    const one = silhouetteSamplesMulti(b.data, b.n, 64, labs, ks);
    const two = await silhouetteSamplesMultiParallel(b.data, b.n, 64, labs, ks, pool2);
    expect(two.map((v) => Array.from(v))).toEqual(one.map((v) => Array.from(v)));
    // And they are the silhouettes (the single-labelling path agrees; the true labels score well).
    expect(Array.from(silhouetteSamples(b.data, b.n, 64, b.truth, 6))).toEqual(Array.from(one[0]!));
    const mean = (v: Float64Array) => v.reduce((a, x) => a + x, 0) / v.length;
    expect(mean(one[0]!)).toBeGreaterThan(0.2); // the mixture's own labels
    expect(Math.abs(mean(one[1]!))).toBeLessThan(0.05); // random labels
  });

  it('chunks finishing out of order, or on 3 threads, change nothing', async () => {
    const b = gaussianBlobs(900, 40, 4, { seed: 8, spread: 2 });
    const lab = b.truth;
    const one = silhouetteSamplesMulti(b.data, b.n, 40, [lab], [4])[0]!;
    const scrambled = scrambledPool(3);
    const viaScrambled = (await silhouetteSamplesMultiParallel(b.data, b.n, 40, [lab], [4], scrambled))[0]!;
    expect(scrambled.order).not.toEqual([...scrambled.order].sort((a, c) => a - c)); // really out of order
    expect(Array.from(viaScrambled)).toEqual(Array.from(one));
    const pool3 = createSilhouettePool(3);
    try {
      expect(Array.from((await silhouetteSamplesMultiParallel(b.data, b.n, 40, [lab], [4], pool3))[0]!)).toEqual(Array.from(one));
    } finally {
      await pool3.close();
    }
  });

  it('silhouetteScoreParallel and the sweep with a pool equal their one-thread results', async () => {
    const b = gaussianBlobs(3000, 32, 5, { seed: 11, spread: 2 });
    const a = silhouetteScore(b.data, b.n, 32, b.truth, 5, { sampleSize: 1200, seed: 2 });
    const p = await silhouetteScoreParallel(b.data, b.n, 32, b.truth, 5, { sampleSize: 1200, seed: 2 }, pool2);
    expect(p.score).toBe(a.score);
    expect(Array.from(p.values)).toEqual(Array.from(a.values));
    const s1 = await silhouetteSweep(b.data, b.n, 32, [3, 5, 7], { sampleSize: 800, seed: 1 });
    const s2 = await silhouetteSweep(b.data, b.n, 32, [3, 5, 7], { sampleSize: 800, seed: 1, pool: pool2 });
    expect(s2.steps.map((s) => s.silhouette)).toEqual(s1.steps.map((s) => s.silhouette));
    expect(s2.bestK).toBe(s1.bestK);
  });

  it('a worker’s failure is an error that names it; a bad pool size is refused', async () => {
    const handle = createSilhouetteWorkerHandler();
    expect(handle({ type: 'chunk', chunk: 0 })).toEqual({ type: 'error', message: 'silhouette worker: chunk before begin' });
    const pool = createSilhouettePool(1);
    try {
      await expect(pool.chunk(0)).rejects.toThrow(/silhouette worker failed: .*chunk before begin/);
    } finally {
      await pool.close();
    }
    expect(() => createSilhouettePool(0)).toThrow(/positive integer/);
  });
});
