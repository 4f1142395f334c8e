// Exact k-NN (knn.ts, topk.ts) against a float64 brute force: every specialised loop, float32 and
// int8 rows, streaming in uneven blocks, ties, k larger than the data.
import { describe, expect, test } from 'vitest';
import { quantizeInt8 } from '../../../src/core/embed/quantize.ts';
import { describeMetric, KnnQuery, searchBlocksSync, validateMetric, type KnnMetric, type VectorBlock } from '../../../src/core/search/knn.ts';
import { mergeTopK, TopK } from '../../../src/core/search/topk.ts';
import { randomRows, referenceTopK, rng } from './helpers.ts';

const N = 1500;
const DIM = 100; // not a multiple of the 32-dim early-abandon step or of 4: tails are exercised
const K = 40;

const METRICS: [string, KnnMetric][] = [
  ['p=1', { kind: 'minkowski', p: 1 }],
  ['p=2', { kind: 'minkowski', p: 2 }],
  ['p=3', { kind: 'minkowski', p: 3 }],
  ['p=4', { kind: 'minkowski', p: 4 }],
  ['p=5', { kind: 'minkowski', p: 5 }],
  ['p=Infinity', { kind: 'minkowski', p: Infinity }],
  ['p=0.5', { kind: 'minkowski', p: 0.5 }],
  ['p=1.5', { kind: 'minkowski', p: 1.5 }],
  ['cosine', { kind: 'cosine' }],
];

function float32Blocks(rows: Float32Array, n: number, dim: number, sizes: number[]): VectorBlock[] {
  const out: VectorBlock[] = [];
  let s = 0;
  for (let b = 0; s < n; b++) {
    const e = Math.min(n, s + sizes[b % sizes.length]!);
    out.push({ kind: 'float32', ids: new Uint32Array(e - s).map((_, i) => s + i), rows: rows.subarray(s * dim, e * dim), dim });
    s = e;
  }
  return out;
}

function int8Blocks(codes: Int8Array, scales: Float32Array, n: number, dim: number, sizes: number[]): VectorBlock[] {
  const out: VectorBlock[] = [];
  let s = 0;
  for (let b = 0; s < n; b++) {
    const e = Math.min(n, s + sizes[b % sizes.length]!);
    out.push({ kind: 'int8', ids: new Uint32Array(e - s).map((_, i) => s + i), codes: codes.subarray(s * dim, e * dim), scales: scales.subarray(s, e), dim });
    s = e;
  }
  return out;
}

function expectMatches(got: { ids: Uint32Array; distances: Float64Array }, want: { ids: number[]; distances: number[] }): void {
  expect(Array.from(got.ids)).toEqual(want.ids);
  for (let i = 0; i < want.ids.length; i++) {
    expect(Math.abs(got.distances[i]! - want.distances[i]!)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want.distances[i]!)));
  }
}

describe('exact k-NN against float64 brute force', () => {
  const cosineRows = randomRows(N, DIM, 7, true);
  const rawRows = randomRows(N, DIM, 8);
  const query = Float32Array.from(randomRows(1, DIM, 9));

  test.each(METRICS)('float32 rows, %s', (_n, m) => {
    const rows = m.kind === 'cosine' ? cosineRows : rawRows;
    const got = searchBlocksSync(query, float32Blocks(rows, N, DIM, [N]), K, m);
    expectMatches(got, referenceTopK(query, N, (i) => rows.subarray(i * DIM, (i + 1) * DIM), K, m));
  });

  test.each(METRICS)('int8 rows (codes x scale, fused), %s', (_n, m) => {
    const rows = m.kind === 'cosine' ? cosineRows : rawRows;
    const { codes, scales } = quantizeInt8(rows, DIM);
    const deq = (i: number): number[] => Array.from(codes.subarray(i * DIM, (i + 1) * DIM), (c) => c * scales[i]!);
    const got = searchBlocksSync(query, int8Blocks(codes, scales, N, DIM, [N]), K, m);
    expectMatches(got, referenceTopK(query, N, deq, K, m));
  });

  test.each(METRICS)('streaming in uneven blocks equals one block, %s', (_n, m) => {
    const rows = m.kind === 'cosine' ? cosineRows : rawRows;
    const whole = searchBlocksSync(query, float32Blocks(rows, N, DIM, [N]), K, m);
    const pieces = searchBlocksSync(query, float32Blocks(rows, N, DIM, [1, 333, 7, 0 + 64, 501]), K, m);
    expect(Array.from(pieces.ids)).toEqual(Array.from(whole.ids));
    expect(Array.from(pieces.distances)).toEqual(Array.from(whole.distances));
    const { codes, scales } = quantizeInt8(rows, DIM);
    const i8whole = searchBlocksSync(query, int8Blocks(codes, scales, N, DIM, [N]), K, m);
    const i8pieces = searchBlocksSync(query, int8Blocks(codes, scales, N, DIM, [250, 3, 999]), K, m);
    expect(Array.from(i8pieces.ids)).toEqual(Array.from(i8whole.ids));
  });

  test('blocks in reverse order and results merged from two workers give the same ranking', () => {
    const m: KnnMetric = { kind: 'minkowski', p: 2 };
    const blocks = float32Blocks(rawRows, N, DIM, [200]);
    const forward = searchBlocksSync(query, blocks, K, m);
    const backward = searchBlocksSync(query, [...blocks].reverse(), K, m);
    expect(Array.from(backward.ids)).toEqual(Array.from(forward.ids));
    const a = searchBlocksSync(query, blocks.filter((_, i) => i % 2 === 0), K, m);
    const b = searchBlocksSync(query, blocks.filter((_, i) => i % 2 === 1), K, m);
    expect(Array.from(mergeTopK([a, b], K).ids)).toEqual(Array.from(forward.ids));
  });

  test('dimension below the early-abandon step (dim 5)', () => {
    const rows = randomRows(300, 5, 21);
    const q = randomRows(1, 5, 22);
    for (const [, m] of METRICS) {
      const got = searchBlocksSync(q, float32Blocks(rows, 300, 5, [300]), 17, m);
      const want = referenceTopK(q, 300, (i) => rows.subarray(i * 5, i * 5 + 5), 17, m);
      expect(Array.from(got.ids)).toEqual(want.ids);
    }
  });
});

describe('ties, sizes and bad input', () => {
  test('equal distances rank by id ascending, however the rows arrive', () => {
    const dim = 8;
    const r = rng(3);
    // 60 rows, but only 6 distinct vectors: many exact ties.
    const distinct = Array.from({ length: 6 }, () => Array.from({ length: dim }, () => Math.round(r() * 8) / 4));
    const n = 60;
    const rows = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) rows.set(distinct[(i * 7) % 6]!, i * dim);
    const q = new Float32Array(dim);
    for (const m of [{ kind: 'minkowski', p: 1 }, { kind: 'minkowski', p: 2 }, { kind: 'minkowski', p: Infinity }] as KnnMetric[]) {
      const want = referenceTopK(q, n, (i) => rows.subarray(i * dim, (i + 1) * dim), 25, m);
      const inOrder = searchBlocksSync(q, float32Blocks(rows, n, dim, [n]), 25, m);
      expect(Array.from(inOrder.ids)).toEqual(want.ids);
      // Reversed blocks of 1: the heap sees the larger ids first and must still keep the smaller.
      const single = float32Blocks(rows, n, dim, [1]).reverse();
      expect(Array.from(searchBlocksSync(q, single, 25, m).ids)).toEqual(want.ids);
    }
  });

  test('k larger than the data returns every row, sorted; k = 0 returns nothing', () => {
    const rows = randomRows(10, 4, 5);
    const q = randomRows(1, 4, 6);
    const m: KnnMetric = { kind: 'minkowski', p: 2 };
    const all = searchBlocksSync(q, float32Blocks(rows, 10, 4, [3]), 50, m);
    expect(all.ids).toHaveLength(10);
    expect(Array.from(all.ids)).toEqual(referenceTopK(q, 10, (i) => rows.subarray(i * 4, i * 4 + 4), 10, m).ids);
    expect(searchBlocksSync(q, float32Blocks(rows, 10, 4, [3]), 0, m).ids).toHaveLength(0);
  });

  test('a NaN row is never returned', () => {
    const rows = randomRows(20, 4, 5);
    rows[4 * 3] = Number.NaN;
    const got = searchBlocksSync(new Float32Array(4), float32Blocks(rows, 20, 4, [20]), 20, { kind: 'minkowski', p: 2 });
    expect(got.ids).toHaveLength(19);
    expect(Array.from(got.ids)).not.toContain(3);
  });

  test('metric labels: p >= 1 is a metric, 0 < p < 1 and cosine are not; bad p is refused', () => {
    expect(describeMetric({ kind: 'minkowski', p: 2 })).toEqual({ isMetric: true, label: 'L2' });
    expect(describeMetric({ kind: 'minkowski', p: Infinity })).toEqual({ isMetric: true, label: 'Chebyshev' });
    expect(describeMetric({ kind: 'minkowski', p: 0.5 }).isMetric).toBe(false);
    expect(describeMetric({ kind: 'cosine' }).isMetric).toBe(false);
    const r = searchBlocksSync(new Float32Array(2), [], 3, { kind: 'minkowski', p: 0.5 });
    expect(r.isMetric).toBe(false);
    for (const p of [0, -1, Number.NaN]) expect(() => validateMetric({ kind: 'minkowski', p })).toThrow(RangeError);
    expect(() => new KnnQuery(new Float32Array(2), 3, { kind: 'minkowski', p: -2 })).toThrow(/p must be/);
    expect(() => new TopK(-1)).toThrow(RangeError);
  });

  test('a block shorter than its ids is refused', () => {
    const s = new KnnQuery(new Float32Array(4), 3, { kind: 'minkowski', p: 2 });
    expect(() => s.addFloat32(new Uint32Array(3), new Float32Array(8))).toThrow(RangeError);
    expect(() => s.add({ kind: 'float32', ids: new Uint32Array(1), rows: new Float32Array(5), dim: 5 })).toThrow(/dimensions/);
  });
});

describe('WebAssembly SIMD path (dim % 8 == 0)', () => {
  const n = 2600; // more than two SIMD chunks of 1024 rows
  const dim = 96;
  const simdMetrics = METRICS.filter(([name]) => ['p=1', 'p=2', 'cosine'].includes(name));

  test.each(simdMetrics)('%s: SIMD is used, matches brute force and the JS loops', (_n, m) => {
    const rows = randomRows(n, dim, 31, m.kind === 'cosine');
    const { codes, scales } = quantizeInt8(rows, dim);
    const q = randomRows(1, dim, 32);
    const probe = new KnnQuery(q, 50, m);
    expect(probe.usesSimd).toBe(true);
    const blocks = int8Blocks(codes, scales, n, dim, [n]);
    const simd = searchBlocksSync(q, blocks, 50, m);
    const deq = (i: number): number[] => Array.from(codes.subarray(i * dim, (i + 1) * dim), (c) => c * scales[i]!);
    expectMatches(simd, referenceTopK(q, n, deq, 50, m));
    const js = new KnnQuery(q, 50, m, { simd: false });
    expect(js.usesSimd).toBe(false);
    for (const b of blocks) js.add(b);
    const jr = js.result();
    expect(Array.from(simd.ids)).toEqual(Array.from(jr.ids));
    simd.distances.forEach((d, i) => expect(Math.abs(d - jr.distances[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(d))));
    // Uneven streaming through the SIMD path (chunk boundaries inside blocks, tiny blocks).
    const pieces = searchBlocksSync(q, int8Blocks(codes, scales, n, dim, [1100, 5, 1500, 1]), 50, m);
    expect(Array.from(pieces.ids)).toEqual(Array.from(simd.ids));
  });

  test.each(simdMetrics)('float32 rows, %s: SIMD is used, matches brute force and the JS loops', (_n, m) => {
    const rows = randomRows(n, dim, 41, m.kind === 'cosine');
    const q = randomRows(1, dim, 42);
    expect(new KnnQuery(q, 50, m).usesSimd).toBe(true);
    const blocks = float32Blocks(rows, n, dim, [n]);
    const simd = searchBlocksSync(q, blocks, 50, m);
    expectMatches(simd, referenceTopK(q, n, (i) => rows.subarray(i * dim, (i + 1) * dim), 50, m));
    const js = new KnnQuery(q, 50, m, { simd: false });
    for (const b of blocks) js.add(b);
    expect(Array.from(simd.ids)).toEqual(Array.from(js.result().ids));
    const pieces = searchBlocksSync(q, float32Blocks(rows, n, dim, [1100, 5, 1500, 1]), 50, m);
    expect(Array.from(pieces.ids)).toEqual(Array.from(simd.ids));
  });

  test('p = 3 and Chebyshev stay on the JS loops', () => {
    expect(new KnnQuery(new Float32Array(96), 5, { kind: 'minkowski', p: 3 }).usesSimd).toBe(false);
    expect(new KnnQuery(new Float32Array(96), 5, { kind: 'minkowski', p: Infinity }).usesSimd).toBe(false);
    expect(new KnnQuery(new Float32Array(100), 5, { kind: 'minkowski', p: 2 }).usesSimd).toBe(false);
  });

  test('ties through the SIMD path still rank by id', () => {
    const rows = new Float32Array(40 * 8);
    for (let i = 0; i < 40; i++) rows.set([1, 0, 0, 0, 0, 0, 0, i % 4], i * 8);
    const { codes, scales } = quantizeInt8(rows, 8);
    const got = searchBlocksSync(new Float32Array(8), int8Blocks(codes, scales, 40, 8, [7]).reverse(), 12, { kind: 'minkowski', p: 2 });
    const deq = (i: number): number[] => Array.from(codes.subarray(i * 8, (i + 1) * 8), (c) => c * scales[i]!);
    expect(Array.from(got.ids)).toEqual(referenceTopK(new Float32Array(8), 40, deq, 12, { kind: 'minkowski', p: 2 }).ids);
  });
});
