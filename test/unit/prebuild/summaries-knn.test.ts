// The summaries stage's batched k-NN (prebuild/summaries-knn.ts) must return exactly what the
// reference search does: the same IVF index as buildInMemoryIvf(), and for every query the same ids
// and the same float64 distances, bit for bit, as searchIvf() (IVF) or KnnQuery (exact), ties, zero
// vectors and all. Also across worker threads (prebuild/summaries-parallel.ts, real threads).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildInMemoryIvf, searchIvf } from '../../../src/core/search/ivf.ts';
import { KnnQuery, type KnnResult, type VectorBlock } from '../../../src/core/search/knn.ts';
import { BatchSearcher, buildIvfBatchIndex, exactBatchIndex, Gemm, GEMM_I16_WASM_BASE64, GemmI16, kmeansIvfFast, type BatchIndex } from '../../../prebuild/summaries-knn.ts';
import { KnnThreads } from '../../../prebuild/summaries-parallel.ts';
import { clusteredRows, rng } from '../search/helpers.ts';

type Int8Block = Extract<VectorBlock, { kind: 'int8' }>;

/** Rows quantised as the data set stores them: int8 codes, one scale (max |x| / 127) per row. */
function quantise(rows: Float32Array, dim: number, firstId = 0): Int8Block {
  const n = rows.length / dim;
  const codes = new Int8Array(n * dim);
  const scales = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let mx = 0;
    for (let j = 0; j < dim; j++) mx = Math.max(mx, Math.abs(rows[i * dim + j]));
    const s = mx > 0 ? mx / 127 : 0;
    scales[i] = s;
    for (let j = 0; j < dim; j++) codes[i * dim + j] = s > 0 ? Math.round(rows[i * dim + j] / s) : 0;
  }
  return { kind: 'int8', ids: Uint32Array.from({ length: n }, (_, i) => firstId + i * 3), codes, scales, dim };
}

/** A pool with structure (blobs), exact duplicates of earlier rows (distance ties) and zero rows. */
function pool(n: number, dim: number, seed: number): Int8Block {
  const { rows } = clusteredRows(n, dim, 12, 0.6, seed);
  for (let i = 0; i < n; i += 37) rows.copyWithin(i * dim, ((i * 7) % Math.max(1, i)) * dim, (((i * 7) % Math.max(1, i)) + 1) * dim);
  for (let i = 5; i < n; i += 401) rows.fill(0, i * dim, (i + 1) * dim);
  return quantise(rows, dim);
}

/** Queries as the stage makes them: pool rows dequantised to float32, plus float queries, a zero query and duplicates. */
function queries(p: Int8Block, extra: number, seed: number): { q: Float32Array; m: number } {
  const dim = p.dim;
  const r = rng(seed);
  const picks = [...Array(40).keys()].map(() => Math.floor(r() * p.ids.length));
  const m = picks.length + extra + 2;
  const q = new Float32Array(m * dim);
  picks.forEach((row, t) => {
    const s = p.scales[row];
    for (let j = 0; j < dim; j++) q[t * dim + j] = p.codes[row * dim + j] * s;
  });
  for (let t = picks.length; t < picks.length + extra; t++) for (let j = 0; j < dim; j++) q[t * dim + j] = (r() * 2 - 1) * (j % 3 === 0 ? 3 : 0.2);
  // one zero query (every cosine distance 1: ties broken by id), one repeat of the first query
  q.copyWithin((m - 1) * dim, 0, dim);
  return { q, m };
}

function referenceIvf(p: Int8Block, nlist: number, nprobe: number, seed: number): (q: Float32Array, k: number) => Promise<KnnResult> {
  const ivf = buildInMemoryIvf(p, nlist, { seed });
  return async (q, k) => (await searchIvf(ivf.index, q, k, { kind: 'cosine' }, nprobe, ivf.fetch)).result;
}

async function expectSame(got: KnnResult[], want: (q: Float32Array) => Promise<KnnResult>, q: Float32Array, dim: number): Promise<number> {
  let rows = 0;
  for (let t = 0; t < got.length; t++) {
    const w = await want(q.subarray(t * dim, (t + 1) * dim));
    expect(Array.from(got[t].ids), `query ${t} ids`).toEqual(Array.from(w.ids));
    // toEqual on numbers is Object.is per element: bit-identical distances.
    expect(Array.from(got[t].distances), `query ${t} distances`).toEqual(Array.from(w.distances));
    rows += w.ids.length;
  }
  return rows;
}

const gemm = Gemm.create();

const wat2wasm = ['/usr/bin/wat2wasm', '/usr/local/bin/wat2wasm'].find((p) => existsSync(p)) ?? null;

describe('int16 GEMM kernel', () => {
  it.skipIf(!wat2wasm)(`inlined bytes are the build of summaries-gemm-i16.wat${wat2wasm ? '' : ' (skipped: wat2wasm not installed; apt-get install wabt)'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'wat-'));
    try {
      execFileSync(wat2wasm!, [fileURLToPath(new URL('../../../prebuild/summaries-gemm-i16.wat', import.meta.url)), '-o', join(dir, 'k.wasm')]);
      expect(GEMM_I16_WASM_BASE64).toBe(readFileSync(join(dir, 'k.wasm')).toString('base64'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('computes exact integer A x B^T for every tile shape (4 x 2 tiles, odd columns, leftover rows)', () => {
    const g = GemmI16.create();
    expect(g).not.toBeNull();
    const r = rng(12);
    for (const [rows, cols, inner] of [[1, 1, 8], [4, 2, 16], [7, 5, 24], [9, 3, 256], [2, 0, 8]]) {
      const a = Int16Array.from({ length: rows * inner }, () => Math.floor(r() * 256) - 128);
      const b = Int16Array.from({ length: cols * inner }, () => Math.floor(r() * 256) - 128);
      const aOff = 0;
      const bOff = (rows * inner * 2 + 15) & ~15;
      const oOff = (bOff + cols * inner * 2 + 15) & ~15;
      const buf = g!.reserve(oOff + rows * cols * 4);
      new Int16Array(buf, aOff, a.length).set(a);
      new Int16Array(buf, bOff, b.length).set(b);
      g!.nt(aOff, bOff, oOff, rows, cols, inner);
      const out = new Int32Array(buf, oOff, rows * cols);
      for (let i = 0; i < rows; i++)
        for (let c = 0; c < cols; c++) {
          let s = 0;
          for (let t = 0; t < inner; t++) s += a[i * inner + t] * b[c * inner + t];
          expect(out[i * cols + c], `${rows}x${cols}x${inner} [${i},${c}]`).toBe(s);
        }
    }
  });
});

describe('summaries batched k-NN', () => {
  it('has WebAssembly SIMD here (else every test below only checks the fallback)', () => {
    expect(gemm).not.toBeNull();
  });

  it('builds the IVF index buildInMemoryIvf() builds, sampled k-means included', () => {
    const dim = 48;
    const p = pool(2600, dim, 11);
    for (const opts of [{ seed: 3 }, { seed: 5, sample: 700, iterations: 9 }]) {
      const ref = buildInMemoryIvf(p, 45, opts);
      const got = buildIvfBatchIndex(p, 45, 8, opts);
      expect(Array.from(got.ivf!.centroids)).toEqual(Array.from(ref.index.centroids));
      expect(Array.from(got.offsets)).toEqual(Array.from(ref.index.offsets));
      expect(Array.from(got.ids)).toEqual(Array.from(ref.index.ids));
      const all = ref.fetch(0) as Int8Block;
      const n = p.ids.length;
      expect(Array.from(got.scales)).toEqual(Array.from(new Float32Array(all.scales.buffer, all.scales.byteOffset, n)));
      expect(Array.from(got.codes)).toEqual(Array.from(new Int8Array(all.codes.buffer, all.codes.byteOffset, n * dim)));
    }
  });

  it('k-means with more clusters than rows repeats centroids as kmeansIvf() does', () => {
    const dim = 16;
    const p = pool(30, dim, 4);
    const ref = buildInMemoryIvf(p, 50, { seed: 2 });
    const got = buildIvfBatchIndex(p, 50, 4, { seed: 2 });
    expect(Array.from(got.ivf!.centroids)).toEqual(Array.from(ref.index.centroids));
    expect(Array.from(got.offsets)).toEqual(Array.from(ref.index.offsets));
    expect(kmeansIvfFast(gemm!, p, dim, 50, { seed: 2 }).iterations).toBeGreaterThan(0);
  });

  it('returns searchIvf() results for every query, bit for bit (IVF, nprobe 8)', async () => {
    const dim = 64;
    const p = pool(3000, dim, 21);
    const { q, m } = queries(p, 12, 5);
    const index = buildIvfBatchIndex(p, 55, 8, { seed: 1 });
    const ref = referenceIvf(p, 55, 8, 1);
    for (const k of [1, 20]) {
      const got = await new BatchSearcher(index).search(q, m, k);
      expect(got).toHaveLength(m);
      expect(await expectSame(got, (x) => ref(x, k), q, dim)).toBeGreaterThan(0);
    }
  });

  it('visits every partition when nprobe exceeds the non-empty ones, and k may exceed the rows probed', async () => {
    const dim = 32;
    const p = pool(400, dim, 8);
    const { q, m } = queries(p, 4, 9);
    const index = buildIvfBatchIndex(p, 30, 100, { seed: 4 });
    const ref = referenceIvf(p, 30, 100, 4);
    await expectSame(await new BatchSearcher(index).search(q, m, 500), (x) => ref(x, 500), q, dim);
    // few probes, many neighbours: fewer rows probed than k
    const few = buildIvfBatchIndex(p, 30, 1, { seed: 4 });
    const refFew = referenceIvf(p, 30, 1, 4);
    await expectSame(await new BatchSearcher(few).search(q, m, 300), (x) => refFew(x, 300), q, dim);
  });

  it('exact index: KnnQuery over the whole pool, for pools smaller and larger than k', async () => {
    const dim = 40;
    for (const n of [0, 7, 1500]) {
      const p = pool(Math.max(n, 1), dim, 30 + n);
      const block: Int8Block = n === 0 ? { ...p, ids: new Uint32Array(0), codes: new Int8Array(0), scales: new Float32Array(0) } : p;
      const { q, m } = queries(p, 5, 2);
      const want = async (x: Float32Array): Promise<KnnResult> => {
        const s = new KnnQuery(x, 20, { kind: 'cosine' });
        s.add(block);
        return s.result();
      };
      await expectSame(await new BatchSearcher(exactBatchIndex(block)).search(q, m, 20), want, q, dim);
    }
  });

  it('without WebAssembly SIMD (no GEMM) the reference functions run and agree', async () => {
    const dim = 24;
    const p = pool(900, dim, 41);
    const { q, m } = queries(p, 3, 6);
    const plain = buildIvfBatchIndex(p, 20, 3, { seed: 7 }, null);
    const fast = buildIvfBatchIndex(p, 20, 3, { seed: 7 });
    expect(Array.from(plain.ids)).toEqual(Array.from(fast.ids));
    const a = await new BatchSearcher(plain, null).search(q, m, 10);
    const b = await new BatchSearcher(fast).search(q, m, 10);
    expect(a.map((r) => Array.from(r.ids))).toEqual(b.map((r) => Array.from(r.ids)));
    expect(a.map((r) => Array.from(r.distances))).toEqual(b.map((r) => Array.from(r.distances)));
  });

  it('packed results hold the same neighbours, and bad input is refused', async () => {
    const dim = 16;
    const p = pool(300, dim, 3);
    const s = new BatchSearcher(exactBatchIndex(p));
    const { q, m } = queries(p, 2, 1);
    const list = await s.search(q, m, 5);
    const packed = await s.searchPacked(q, m, 5);
    list.forEach((r, t) => {
      expect(packed.counts[t]).toBe(r.ids.length);
      expect(Array.from(packed.ids.subarray(t * 5, t * 5 + r.ids.length))).toEqual(Array.from(r.ids));
      expect(Array.from(packed.distances.subarray(t * 5, t * 5 + r.ids.length))).toEqual(Array.from(r.distances));
    });
    await expect(s.search(q.subarray(0, dim), 2, 5)).rejects.toThrow(/queries/);
    await expect(s.search(q, m, 1.5)).rejects.toThrow(/k must be/);
  });

  it('worker threads: an index built on a thread, and searches split over two threads, equal the main thread', async () => {
    const dim = 32;
    const p = pool(2500, dim, 77);
    const { q, m } = queries(p, 6, 3);
    const local: BatchIndex = buildIvfBatchIndex(p, 40, 8, { seed: 9 });
    const want = await new BatchSearcher(local).searchPacked(q, m, 20);
    const threads = new KnnThreads(2);
    try {
      const copy = { ...p, ids: p.ids.slice(), codes: p.codes.slice(), scales: p.scales.slice() };
      const built = await threads.build(copy, 40, 8, 9);
      expect(copy.codes.byteLength).toBe(0); // moved to the thread, not copied
      expect(Array.from(built.ids)).toEqual(Array.from(local.ids));
      expect(Array.from(built.ivf!.centroids)).toEqual(Array.from(local.ivf!.centroids));
      await threads.init(built);
      const half = Math.floor(m / 2);
      const parts = await Promise.all([
        (await threads.submit(q.slice(0, half * dim), half, 20)).result,
        (await threads.submit(q.slice(half * dim), m - half, 20)).result,
      ]);
      const ids = [...parts[0].ids, ...parts[1].ids];
      const distances = [...parts[0].distances, ...parts[1].distances];
      expect(ids).toEqual(Array.from(want.ids));
      expect(distances).toEqual(Array.from(want.distances));
      expect([...parts[0].counts, ...parts[1].counts]).toEqual(Array.from(want.counts));
    } finally {
      await threads.close();
    }
  });
});
