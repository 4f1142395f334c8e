// Page entry for test/e2e/knn-kernel.test.ts: runs the WebGPU k-NN kernel and its JS twin on the
// same seeded data inside Chromium and hands both results back as plain arrays.
import { computeDevice } from '../../../src/core/gpu/device.ts';
import { quantizeInt8 } from '../../../src/core/embed/quantize.ts';
import { KnnQuery, type KnnMetric, type VectorBlock } from '../../../src/core/search/knn.ts';
import { WebGpuKnn } from '../../../src/core/search/knn-webgpu.ts';

export interface KnnCase {
  n: number;
  dim: number;
  k: number;
  /** null stands for Infinity (JSON cannot carry it); 'cosine' for cosine distance. */
  p: number | null | 'cosine';
  dtype: 'float32' | 'int8';
  seed: number;
  /** Rows per block fed to both backends. */
  block: number;
}

export interface KnnCaseResult {
  gpu: { ids: number[]; distances: number[] };
  js: { ids: number[]; distances: number[] };
  backend: string;
  /** Whether the JS twin ran its WebAssembly SIMD loops. */
  twinSimd: boolean;
}

/** mulberry32: a tiny seeded generator, so the test can regenerate nothing and still be reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function blocks(c: KnnCase, rows: Float32Array): VectorBlock[] {
  const out: VectorBlock[] = [];
  const q8 = c.dtype === 'int8' ? quantizeInt8(rows, c.dim) : null;
  for (let s = 0; s < c.n; s += c.block) {
    const e = Math.min(c.n, s + c.block);
    const ids = new Uint32Array(e - s).map((_, i) => s + i);
    if (q8) out.push({ kind: 'int8', ids, codes: q8.codes.subarray(s * c.dim, e * c.dim), scales: q8.scales.subarray(s, e), dim: c.dim });
    else out.push({ kind: 'float32', ids, rows: rows.subarray(s * c.dim, e * c.dim), dim: c.dim });
  }
  return out;
}

async function runCase(c: KnnCase): Promise<KnnCaseResult> {
  const r = rng(c.seed);
  const rows = new Float32Array(c.n * c.dim);
  for (let i = 0; i < rows.length; i++) rows[i] = r() * 2 - 1;
  if (c.p === 'cosine') {
    for (let i = 0; i < c.n; i++) {
      let ss = 0;
      for (let j = 0; j < c.dim; j++) ss += rows[i * c.dim + j] ** 2;
      const inv = 1 / Math.sqrt(ss);
      for (let j = 0; j < c.dim; j++) rows[i * c.dim + j] *= inv;
    }
  }
  const query = new Float32Array(c.dim);
  for (let j = 0; j < c.dim; j++) query[j] = r() * 2 - 1;
  const metric: KnnMetric = c.p === 'cosine' ? { kind: 'cosine' } : { kind: 'minkowski', p: c.p === null ? Infinity : c.p };
  const bs = blocks(c, rows);
  const gpu = await WebGpuKnn.create({ allowFallbackAdapter: true });
  if (!gpu) throw new Error('no WebGPU device in this page');
  const g = await gpu.search(query, bs, c.k, metric);
  gpu.dispose();
  const js = new KnnQuery(query, c.k, metric);
  for (const b of bs) js.add(b);
  const j = js.result();
  const twinSimd = js.usesSimd;
  const device = await computeDevice({ allowFallbackAdapter: true });
  return {
    gpu: { ids: Array.from(g.ids), distances: Array.from(g.distances) },
    js: { ids: Array.from(j.ids), distances: Array.from(j.distances) },
    backend: device ? 'webgpu' : 'none',
    twinSimd,
  };
}

(globalThis as { __knn?: unknown }).__knn = { runCase };
(globalThis as { __kernelsReady?: boolean }).__kernelsReady = true;
