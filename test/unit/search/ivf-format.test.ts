// The IVF index's format 2 (head first: header, centroids as float32/float16/int8, offsets; ids
// optional after it): round trips, header checks, format 1 still read, and what storing the
// centroids in fewer bytes costs in recall against exact search (k-means on clustered 256-d data).
import { describe, expect, test } from 'vitest';
import { quantizeInt8 } from '../../../src/core/embed/quantize.ts';
import {
  buildInMemoryIvf,
  deserializeIvf,
  ivfHeadBytes,
  parseIvfHead,
  parseIvfHeader,
  recallAtK,
  searchIvf,
  serializeIvf,
  serializeIvfHead,
  storedCentroids,
  type CentroidDtype,
  type IvfIndex,
} from '../../../src/core/search/ivf.ts';
import { searchBlocksSync, type KnnMetric, type VectorBlock } from '../../../src/core/search/knn.ts';
import { clusteredRows, normaliseRows } from './helpers.ts';

const DIM = 256;
const N = 12_000;
const NLIST = 110; // ~sqrt(N), as the prebuild picks
const { rows } = clusteredRows(N, DIM, 150, 0.35, 9);
normaliseRows(rows, DIM);
const { codes, scales } = quantizeInt8(rows, DIM);
const ids = new Uint32Array(N).map((_, i) => i * 3 + 1);
const block: VectorBlock = { kind: 'int8', ids, codes, scales, dim: DIM };
const ivf = buildInMemoryIvf(block, NLIST, { seed: 2, sample: 6000, iterations: 12 });

describe('IVF index format 2', () => {
  test.each(['float32', 'float16', 'int8'] as CentroidDtype[])('%s centroids: round trip with ids, head-only parse, sizes', (dtype) => {
    const bytes = serializeIvf(ivf.index, { format: 2, centroids: dtype });
    const head = ivfHeadBytes(NLIST, DIM, dtype);
    expect(bytes.byteLength).toBe(head + 4 * N);
    const h = parseIvfHeader(bytes.subarray(0, 32));
    expect(h).toMatchObject({ format: 2, dim: DIM, nlist: NLIST, count: N, centroidDtype: dtype, hasIds: true, headBytes: head, totalBytes: bytes.byteLength });
    const back = deserializeIvf(bytes);
    expect(Array.from(back.ids)).toEqual(Array.from(ivf.index.ids));
    expect(Array.from(back.offsets)).toEqual(Array.from(ivf.index.offsets));
    // The reader sees exactly what storedCentroids predicts; the error is bounded by the dtype.
    expect(Array.from(back.centroids)).toEqual(Array.from(storedCentroids(ivf.index.centroids, DIM, dtype)));
    let maxErr = 0;
    let maxAbs = 0;
    for (let i = 0; i < back.centroids.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(back.centroids[i]! - ivf.index.centroids[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(ivf.index.centroids[i]!));
    }
    if (dtype === 'float32') expect(maxErr).toBe(0);
    else expect(maxErr).toBeLessThan(dtype === 'float16' ? maxAbs * 1e-3 : maxAbs / 127);
    expect(maxErr).toBeGreaterThanOrEqual(0);
    // The head alone (what a browser reads) gives the same centroids and offsets.
    const only = parseIvfHead(bytes.slice(0, head));
    expect(Array.from(only.centroids)).toEqual(Array.from(back.centroids));
    expect(Array.from(only.offsets)).toEqual(Array.from(ivf.index.offsets));
    // serializeIvfHead is the file's prefix.
    expect(Array.from(serializeIvfHead(ivf.index, dtype))).toEqual(Array.from(bytes.subarray(0, head)));
  });

  test('sizes at the 20-million scale: 4,096 x 256 centroids', () => {
    expect(ivfHeadBytes(4096, 256, 'float32')).toBe(32 + 4 * 4096 * 256 + 4 * 4097);
    expect(ivfHeadBytes(4096, 256, 'float16')).toBe(32 + 2 * 4096 * 256 + 4 * 4097);
    expect(ivfHeadBytes(4096, 256, 'int8')).toBe(32 + 4 * 4096 + 4096 * 256 + 4 * 4097);
  });

  test('without ids: the head is the whole file; deserializeIvf says where the ids are', () => {
    const bytes = serializeIvf(ivf.index, { format: 2, centroids: 'float16', ids: false });
    expect(bytes.byteLength).toBe(ivfHeadBytes(NLIST, DIM, 'float16'));
    expect(parseIvfHeader(bytes).hasIds).toBe(false);
    expect(() => deserializeIvf(bytes)).toThrow(/no id list.*id column/);
    expect(parseIvfHead(bytes).offsets[NLIST]).toBe(N);
  });

  test('format 1 files are still read (whole and head only)', () => {
    const v1 = serializeIvf(ivf.index);
    const h = parseIvfHeader(v1);
    expect(h).toMatchObject({ format: 1, centroidDtype: 'float32', hasIds: true, totalBytes: v1.byteLength });
    expect(h.headBytes).toBe(16 + 4 * (NLIST * DIM + NLIST + 1));
    const head = parseIvfHead(v1.slice(0, h.headBytes));
    expect(Array.from(head.centroids)).toEqual(Array.from(ivf.index.centroids));
    expect(Array.from(deserializeIvf(v1).ids)).toEqual(Array.from(ivf.index.ids));
  });

  test('bad headers and heads are refused with a reason', () => {
    const bytes = serializeIvf(ivf.index, { format: 2 });
    const bad = (mut: (b: Uint8Array, v: DataView) => void) => {
      const b = bytes.slice();
      mut(b, new DataView(b.buffer));
      return b;
    };
    expect(() => parseIvfHeader(bytes.subarray(0, 8))).toThrow(/shorter than any header/);
    expect(() => parseIvfHeader(bytes.subarray(0, 20))).toThrow(/32-byte header/);
    expect(() => parseIvfHeader(bad((b) => (b[0] = 0)))).toThrow(/magic/);
    expect(() => parseIvfHeader(bad((_, v) => v.setUint32(16, 7, true)))).toThrow(/dtype 7/);
    expect(() => parseIvfHeader(bad((_, v) => v.setUint32(24, 1000, true)))).toThrow(/head of 1000 bytes/);
    expect(() => parseIvfHeader(bad((_, v) => v.setUint32(4, 0, true)))).toThrow(/dim 0/);
    expect(() => parseIvfHead(bytes.subarray(0, 500))).toThrow(/head is \d+ bytes, got 500/);
    expect(() => deserializeIvf(bytes.subarray(0, bytes.length - 4))).toThrow(/header says/);
    // Offsets that do not end at count.
    const h = parseIvfHeader(bytes);
    expect(() => parseIvfHead(bad((_, v) => v.setUint32(h.headBytes - 4, N + 1, true)))).toThrow(/offsets run from 0 to/);
  });
});

/** Mean recall@k of IVF (centroids stored as dtype) against exact search, over the queries. */
async function recallWith(index: IvfIndex, dtype: CentroidDtype, nprobe: number, queries: Float32Array[], m: KnnMetric): Promise<number> {
  const stored = { ...index, centroids: storedCentroids(index.centroids, DIM, dtype) };
  let r = 0;
  for (const q of queries) {
    const exact = searchBlocksSync(q, [block], 100, m);
    const { result } = await searchIvf(stored, q, 100, m, nprobe, ivf.fetch);
    r += recallAtK(exact.ids, result.ids, 100);
  }
  return r / queries.length;
}

describe('centroid storage vs recall (recall@100 against exact search)', () => {
  // Queries: stored vectors plus noise (near the data, not on it).
  const queries = Array.from({ length: 24 }, (_, i) => {
    const q = rows.slice(i * 479 * DIM, (i * 479 + 1) * DIM);
    for (let j = 0; j < DIM; j++) q[j]! += 0.02 * Math.sin(i * 31 + j);
    return q;
  });
  const m: KnnMetric = { kind: 'cosine' };

  test('float16 centroids keep float32 recall at nprobe 1/4/16; int8 stays within 0.02', async () => {
    const table: string[] = [];
    for (const nprobe of [1, 4, 16]) {
      const f32 = await recallWith(ivf.index, 'float32', nprobe, queries, m);
      const f16 = await recallWith(ivf.index, 'float16', nprobe, queries, m);
      const i8 = await recallWith(ivf.index, 'int8', nprobe, queries, m);
      table.push(`nprobe ${nprobe}: float32 ${f32.toFixed(4)}, float16 ${f16.toFixed(4)}, int8 ${i8.toFixed(4)}`);
      expect(f32).toBeGreaterThan(0);
      expect(Math.abs(f16 - f32)).toBeLessThanOrEqual(0.002);
      expect(Math.abs(i8 - f32)).toBeLessThanOrEqual(0.02);
    }
    // Recall grows with nprobe whatever the storage.
    console.log(`IVF centroid storage, ${N} x ${DIM} int8 vectors, ${NLIST} partitions, ${queries.length} queries:\n  ${table.join('\n  ')}`);
  }, 120_000);
});
