// IVF search on clustered synthetic data: nprobe = all partitions is exact search, fewer
// partitions trade recall for rows fetched; the index round-trips through its binary form.
import { describe, expect, test } from 'vitest';
import { quantizeInt8 } from '../../../src/core/embed/quantize.ts';
import {
  assignToCentroids,
  buildInMemoryIvf,
  buildIvfIndex,
  bytesPerRow,
  deserializeIvf,
  ivfIndexBytes,
  kmeansIvf,
  partitionOrder,
  recallAtK,
  searchIvf,
  serializeIvf,
} from '../../../src/core/search/ivf.ts';
import { searchBlocksSync, type KnnMetric, type VectorBlock } from '../../../src/core/search/knn.ts';
import { clusteredRows, normaliseRows } from './helpers.ts';

const N = 4000;
const DIM = 24;
const K = 100;
const NLIST = 32;
const { rows, label } = clusteredRows(N, DIM, 20, 0.9, 42);
const ids = new Uint32Array(N).map((_, i) => i);
const block: VectorBlock = { kind: 'float32', ids, rows, dim: DIM };
const queries = Array.from({ length: 20 }, (_, i) => rows.slice(i * 97 * DIM, (i * 97 + 1) * DIM));

async function meanRecall(ivf: ReturnType<typeof buildInMemoryIvf>, b: VectorBlock, m: KnnMetric, nprobe: number): Promise<{ recall: number; rows: number; bytes: number; exactSame: boolean }> {
  let recall = 0, rowsSeen = 0, bytes = 0;
  let exactSame = true;
  for (const q of queries) {
    const exact = searchBlocksSync(q, [b], K, m);
    const { result, stats } = await searchIvf(ivf.index, q, K, m, nprobe, ivf.fetch);
    recall += recallAtK(exact.ids, result.ids, K);
    rowsSeen += stats.rows;
    bytes += stats.bytes;
    exactSame &&= Array.from(exact.ids).join() === Array.from(result.ids).join() && Array.from(exact.distances).join() === Array.from(result.distances).join();
  }
  return { recall: recall / queries.length, rows: rowsSeen / queries.length, bytes: bytes / queries.length, exactSame };
}

describe('IVF', () => {
  const ivf = buildInMemoryIvf(block, NLIST, { seed: 1 });

  test('every id lands in exactly one partition; offsets cover them', () => {
    expect(ivf.index.offsets[NLIST]).toBe(N);
    expect(Array.from(ivf.index.ids).sort((a, b) => a - b)).toEqual(Array.from(ids));
    for (let p = 0; p < NLIST; p++) {
      const part = ivf.index.ids.subarray(ivf.index.offsets[p], ivf.index.offsets[p + 1]);
      for (let i = 1; i < part.length; i++) expect(part[i]).toBeGreaterThan(part[i - 1]!);
    }
  });

  test('k-means finds the planted clusters: most clusters map to partitions of one label', () => {
    const assign = assignToCentroids(block, ivf.index.centroids);
    // Purity: share of rows whose partition's majority label is their own.
    const counts = new Map<number, Map<number, number>>();
    for (let i = 0; i < N; i++) {
      const m = counts.get(assign[i]!) ?? new Map<number, number>();
      m.set(label[i]!, (m.get(label[i]!) ?? 0) + 1);
      counts.set(assign[i]!, m);
    }
    let pure = 0;
    for (const m of counts.values()) pure += Math.max(...m.values());
    expect(pure / N).toBeGreaterThan(0.9);
  });

  test.each([
    ['L2', { kind: 'minkowski', p: 2 }],
    ['L1', { kind: 'minkowski', p: 1 }],
    ['cosine', { kind: 'cosine' }],
  ] as [string, KnnMetric][])('%s: nprobe = all is exact; recall grows with nprobe and is > 0 at nprobe 1', async (_n, m) => {
    const all = await meanRecall(ivf, block, m, NLIST);
    expect(all.recall).toBe(1);
    expect(all.exactSame).toBe(true);
    expect(all.rows).toBe(N);
    const r1 = await meanRecall(ivf, block, m, 1);
    const r4 = await meanRecall(ivf, block, m, 4);
    expect(r1.recall).toBeGreaterThan(0);
    expect(r1.recall).toBeLessThan(1);
    expect(r4.recall).toBeGreaterThanOrEqual(r1.recall);
    expect(r1.rows).toBeLessThan(r4.rows);
    expect(r4.rows).toBeLessThan(N);
    expect(r1.bytes).toBeCloseTo(r1.rows * bytesPerRow(DIM, 'float32') + ivfIndexBytes(ivf.index), 6);
  });

  test('int8 rows: same exactness at nprobe = all, bytes counted per int8 row', async () => {
    const normal = rows.slice();
    normaliseRows(normal, DIM);
    const { codes, scales } = quantizeInt8(normal, DIM);
    const b8: VectorBlock = { kind: 'int8', ids, codes, scales, dim: DIM };
    const ivf8 = buildInMemoryIvf(b8, 16, { seed: 3 });
    const m: KnnMetric = { kind: 'cosine' };
    const all = await meanRecall(ivf8, b8, m, 16);
    expect(all.recall).toBe(1);
    expect(all.exactSame).toBe(true);
    expect(all.bytes).toBe(N * bytesPerRow(DIM, 'int8') + ivfIndexBytes(ivf8.index));
  });

  test('the index survives serialisation byte for byte; corrupt bytes are refused', () => {
    const bytes = serializeIvf(ivf.index);
    expect(bytes.byteLength).toBe(ivfIndexBytes(ivf.index));
    const back = deserializeIvf(bytes);
    expect(back.dim).toBe(DIM);
    expect(Array.from(back.centroids)).toEqual(Array.from(ivf.index.centroids));
    expect(Array.from(back.offsets)).toEqual(Array.from(ivf.index.offsets));
    expect(Array.from(back.ids)).toEqual(Array.from(ivf.index.ids));
    expect(() => deserializeIvf(bytes.subarray(0, bytes.length - 4))).toThrow(/bytes/);
    const bad = bytes.slice();
    bad[0] = 0;
    expect(() => deserializeIvf(bad)).toThrow(/magic/);
  });

  test('k-means is seeded: the same seed gives the same centroids, another seed others', () => {
    const a = kmeansIvf(rows, DIM, 8, { seed: 5, sample: 1000 });
    const b = kmeansIvf(rows, DIM, 8, { seed: 5, sample: 1000 });
    const c = kmeansIvf(rows, DIM, 8, { seed: 6, sample: 1000 });
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
    expect(Array.from(a.centroids)).not.toEqual(Array.from(c.centroids));
  });

  test('external assignments (the cluster module seam) and partitionOrder for writing shards', () => {
    const assign = new Uint32Array([2, 0, 2, 1, 0]);
    const someIds = new Uint32Array([10, 11, 12, 13, 14]);
    const order = partitionOrder(assign, someIds);
    expect(Array.from(order)).toEqual([1, 4, 3, 0, 2]);
    const idx = buildIvfIndex(someIds, assign, new Float32Array(3 * 2), 2);
    expect(Array.from(idx.offsets)).toEqual([0, 2, 3, 5]);
    expect(Array.from(idx.ids)).toEqual([11, 14, 13, 10, 12]);
    expect(() => buildIvfIndex(someIds, new Uint32Array([0, 0, 0, 0, 9]), new Float32Array(6), 2)).toThrow(RangeError);
  });
});
