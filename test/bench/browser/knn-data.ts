// Seeded synthetic 768-d vectors for the browser k-NN benchmark, generated block by block by the
// same code in Node and in Chromium (so the page never downloads 400 MB to 1.7 GB of vectors and
// both sides search bit-identical rows). The shape is knn.bench.ts': a two-level mixture (1000
// clusters around 40 topic centres), centre + noise of 1.5x the centre's norm, rows L2-normalised;
// int8 is quantizeInt8 (codes + one scale per row), as the data set stores vectors.
import { quantizeInt8 } from '../../../src/core/embed/quantize.ts';
import { KnnQuery, type VectorBlock } from '../../../src/core/search/knn.ts';

export const KNN_DIM = 768;
export const KNN_CLUSTERS = 1000;
export const KNN_SUPER = 40;
export const KNN_NOISE = 1.5;
/** Rows per block: about one Parquet row group of the vectors table. */
export const KNN_BLOCK = 8192;

/** xorshift32 uniforms and an Irwin-Hall (sum of 4) approximate normal. */
function gen(seed: number): { u: () => number; g: () => number } {
  let s = seed >>> 0 || 1;
  const u = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return { u, g: () => (u() + u() + u() + u() - 2) * Math.sqrt(3) };
}

/** Cluster centres (unit rows) of the mixture, from `seed`. */
function centresOf(seed: number): Float32Array {
  const { g } = gen(seed);
  const D = KNN_DIM;
  const supers = new Float32Array(KNN_SUPER * D).map(() => g());
  const centres = new Float32Array(KNN_CLUSTERS * D);
  for (let c = 0; c < KNN_CLUSTERS; c++) {
    let ss = 0;
    const sup = c % KNN_SUPER;
    for (let j = 0; j < D; j++) ss += (centres[c * D + j] = supers[sup * D + j]! + g()) ** 2;
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < D; j++) centres[c * D + j]! *= inv;
  }
  return centres;
}

export interface KnnDataGen {
  /** Queries: a cluster centre plus row-sized noise, then a little more noise (like a stored row nudged). */
  queries(count: number): Float32Array[];
  /** The next block of float32 rows (ids start..start+rows-1), or null after `n` rows. */
  nextFloat32(): Extract<VectorBlock, { kind: 'float32' }> | null;
}

/** Blocks of `n` rows from `seed`: the same numbers on every JS engine (xorshift, IEEE float64, Math.sqrt). */
export function knnDataGen(n: number, seed: number): KnnDataGen {
  const D = KNN_DIM;
  const centres = centresOf(seed);
  const { u, g } = gen(seed ^ 0x9e3779b9);
  const noise = KNN_NOISE / Math.sqrt(D);
  let at = 0;
  return {
    queries(count) {
      const q = gen(seed ^ 0x51ed270b);
      const out: Float32Array[] = [];
      for (let i = 0; i < count; i++) {
        const c = Math.floor(q.u() * KNN_CLUSTERS);
        const v = new Float32Array(D);
        let ss = 0;
        for (let j = 0; j < D; j++) ss += (v[j] = centres[c * D + j]! + noise * q.g()) ** 2;
        const inv = 1 / Math.sqrt(ss);
        for (let j = 0; j < D; j++) v[j] = v[j]! * inv + (0.5 / Math.sqrt(D)) * q.g();
        out.push(v);
      }
      return out;
    },
    nextFloat32() {
      if (at >= n) return null;
      const s = at;
      const e = Math.min(n, s + KNN_BLOCK);
      const rows = new Float32Array((e - s) * D);
      for (let r = 0; r < e - s; r++) {
        const c = Math.floor(u() * KNN_CLUSTERS);
        let ss = 0;
        for (let j = 0; j < D; j++) ss += (rows[r * D + j] = centres[c * D + j]! + noise * g()) ** 2;
        const inv = 1 / Math.sqrt(ss);
        for (let j = 0; j < D; j++) rows[r * D + j]! *= inv;
      }
      at = e;
      const ids = new Uint32Array(e - s).map((_, i) => s + i);
      return { kind: 'float32', ids, rows, dim: D };
    },
  };
}

export function toInt8(b: Extract<VectorBlock, { kind: 'float32' }>): Extract<VectorBlock, { kind: 'int8' }> {
  const { codes, scales } = quantizeInt8(b.rows, b.dim);
  return { kind: 'int8', ids: b.ids, codes, scales, dim: b.dim };
}

/** Generates int8 blocks for all `n` rows and float32 blocks for the first `nF32` of them. */
export function makeKnnData(n: number, nF32: number, seed: number): { i8: VectorBlock[]; f32: VectorBlock[] } {
  const g = knnDataGen(n, seed);
  const i8: VectorBlock[] = [];
  const f32: VectorBlock[] = [];
  for (let b = g.nextFloat32(); b; b = g.nextFloat32()) {
    i8.push(toInt8(b));
    const keep = nF32 - b.ids[0]!;
    if (keep >= b.ids.length) f32.push(b);
    else if (keep > 0) f32.push({ kind: 'float32', ids: b.ids.slice(0, keep), rows: b.rows.slice(0, keep * b.dim), dim: b.dim });
  }
  return { i8, f32 };
}

export type KnnCase = { name: string; dtype: 'f32' | 'i8'; metric: { kind: 'minkowski'; p: number } | { kind: 'cosine' } };

export const KNN_CASES: KnnCase[] = [
  { name: 'int8 L2', dtype: 'i8', metric: { kind: 'minkowski', p: 2 } },
  { name: 'int8 L1', dtype: 'i8', metric: { kind: 'minkowski', p: 1 } },
  { name: 'int8 L3', dtype: 'i8', metric: { kind: 'minkowski', p: 3 } },
  { name: 'int8 cosine', dtype: 'i8', metric: { kind: 'cosine' } },
  { name: 'float32 L2', dtype: 'f32', metric: { kind: 'minkowski', p: 2 } },
  { name: 'float32 L1', dtype: 'f32', metric: { kind: 'minkowski', p: 1 } },
  { name: 'float32 L3', dtype: 'f32', metric: { kind: 'minkowski', p: 3 } },
  { name: 'float32 cosine', dtype: 'f32', metric: { kind: 'cosine' } },
];

/** Generates the blocks of one dtype: int8 for all `n` rows, or float32 for them. */
export function makeBlocks(dtype: 'f32' | 'i8', n: number, seed: number): VectorBlock[] {
  const g = knnDataGen(n, seed);
  const out: VectorBlock[] = [];
  for (let b = g.nextFloat32(); b; b = g.nextFloat32()) out.push(dtype === 'i8' ? toInt8(b) : b);
  return out;
}

export interface CaseTiming {
  /** Median ms per query over the timed queries (after one warm-up query). */
  ms: number;
  all: number[];
  /** Top-10 ids of the first query. */
  ids: number[];
  simd: boolean;
}

/** Exact top-k over `blocks` for each query with src/core/search/knn.ts, one warm-up query first. */
export function timeCase(blocks: VectorBlock[], queries: Float32Array[], k: number, metric: KnnCase['metric']): CaseTiming {
  let simd = false;
  const run = (q: Float32Array): { ms: number; ids: number[] } => {
    const t0 = performance.now();
    const s = new KnnQuery(q, k, metric);
    simd = s.usesSimd;
    for (const b of blocks) s.add(b);
    const r = s.result();
    return { ms: performance.now() - t0, ids: Array.from(r.ids.subarray(0, 10)) };
  };
  run(queries[0]!);
  const all: number[] = [];
  let ids: number[] = [];
  for (const [i, q] of queries.entries()) {
    const r = run(q);
    all.push(r.ms);
    if (i === 0) ids = r.ids;
  }
  const sorted = [...all].sort((a, b) => a - b);
  return { ms: sorted[Math.floor(sorted.length / 2)]!, all, ids, simd };
}
