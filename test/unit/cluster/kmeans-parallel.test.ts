// Mini-batch k-means with each labelling split between this thread and worker threads (the
// prebuild's NearestPool): rows are labelled independently, so the result is the one-thread
// result bit for bit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNearestWorkerHandler, miniBatchKMeans, miniBatchKMeansParallel, type NearestPool } from '../../../src/core/cluster/kmeans.ts';
import { createNearestPool, type NodeNearestPool } from '../../../prebuild/cluster-parallel.ts';
import { gaussianBlobs } from './blobs.ts';

function same(a: ReturnType<typeof miniBatchKMeans>, b: ReturnType<typeof miniBatchKMeans>): void {
  expect(b.iterations).toBe(a.iterations);
  expect(b.inertia).toBe(a.inertia);
  expect(Array.from(b.assignments)).toEqual(Array.from(a.assignments));
  expect(Array.from(b.centroids)).toEqual(Array.from(a.centroids));
}

describe('mini-batch k-means on several threads', () => {
  let pool: NodeNearestPool;
  beforeAll(() => {
    pool = createNearestPool(1);
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('one worker thread + this one give the one-thread result bit for bit (64-d)', async () => {
    const b = gaussianBlobs(12_000, 64, 12, { seed: 21, spread: 3 });
    const opts = { k: 12, seed: 3, batchSize: 1000 };
    const one = miniBatchKMeans(b.data, b.n, 64, opts);
    const two = await miniBatchKMeansParallel(b.data, b.n, 64, opts, pool);
    same(one, two);
    expect(one.iterations).toBeGreaterThan(3);
    // The clustering is a real one: most rows share a cluster with their true component's majority.
    const byTruth = new Map<string, number>();
    for (let i = 0; i < b.n; i++) byTruth.set(`${b.truth[i]}:${one.assignments[i]}`, (byTruth.get(`${b.truth[i]}:${one.assignments[i]}`) ?? 0) + 1);
    const majority = new Map<number, number>();
    for (const [key, c] of byTruth) {
      const t = Number(key.split(':')[0]);
      majority.set(t, Math.max(majority.get(t) ?? 0, c));
    }
    expect([...majority.values()].reduce((a, c) => a + c, 0) / b.n).toBeGreaterThan(0.8);
  });

  it('every step split too (minRowsToSplit 1), rows already in a SharedArrayBuffer, odd batch sizes: still the same', async () => {
    const b = gaussianBlobs(5000, 40, 6, { seed: 4, spread: 2 });
    const sab = new Float32Array(new SharedArrayBuffer(b.data.byteLength));
    sab.set(b.data);
    const opts = { k: 6, seed: 9, batchSize: 333 };
    same(miniBatchKMeans(b.data, b.n, 40, opts), await miniBatchKMeansParallel(sab, b.n, 40, opts, pool, 1));
  });

  it('by default a small step is labelled on this thread and the final pass over all rows is split', async () => {
    const b = gaussianBlobs(9000, 24, 4, { seed: 6, spread: 2 });
    const handler = createNearestWorkerHandler();
    const sizes: number[] = [];
    const counting: NearestPool = {
      size: 1,
      begin: async (data, n, d) => handler.begin(data, n, d),
      label: async (_t, q) => {
        sizes.push(q.count);
        return handler.label(q);
      },
      end: async () => handler.end(),
    };
    const opts = { k: 4, seed: 2, batchSize: 1024 };
    same(miniBatchKMeans(b.data, b.n, 24, opts), await miniBatchKMeansParallel(b.data, b.n, 24, opts, counting));
    // 9,000 rows = chunks of 8,192 (split 4,096 / 4,096) and 808 (below the threshold): one call.
    expect(sizes).toEqual([4096]);
  });

  it('a pool of 2 threads and an in-realm pool give the same; low dimension skips the pool', async () => {
    const b = gaussianBlobs(6000, 32, 5, { seed: 2, spread: 2 });
    const opts = { k: 5, seed: 1, batchSize: 512 };
    const one = miniBatchKMeans(b.data, b.n, 32, opts);
    const p2 = createNearestPool(2);
    try {
      same(one, await miniBatchKMeansParallel(b.data, b.n, 32, opts, p2));
    } finally {
      await p2.close();
    }
    const handler = createNearestWorkerHandler();
    let calls = 0;
    const local: NearestPool = {
      size: 3,
      begin: async (data, n, d) => handler.begin(data, n, d),
      label: async (_t, q) => {
        calls++;
        return handler.label(q);
      },
      end: async () => handler.end(),
    };
    same(one, await miniBatchKMeansParallel(b.data, b.n, 32, opts, local));
    expect(calls).toBeGreaterThan(0);
    const low = gaussianBlobs(3000, 3, 4, { seed: 1 });
    calls = 0;
    same(miniBatchKMeans(low.data, low.n, 3, { k: 4, seed: 0 }), await miniBatchKMeansParallel(low.data, low.n, 3, { k: 4, seed: 0 }, local));
    expect(calls).toBe(0);
  });

  it('a worker’s failure is an error; a bad pool size is refused', async () => {
    await expect(pool.label(0, { ids: null, start: 0, count: 1, centers: new Float64Array(4), cNorms: new Float64Array(1), k: 1, exact: false })).rejects.toThrow(
      /k-means worker failed: .*label before begin/,
    );
    expect(() => createNearestPool(0)).toThrow(/positive integer/);
  });
});
