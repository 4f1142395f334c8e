// The WebGPU k-NN kernel against its JS twin (knn.ts) in Debian's Chromium (SwiftShader WebGPU):
// the same seeded data, identical top-k ids, distances equal within float32 tolerance.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openKernelPage, type KernelPage } from './helpers/kernel-page.ts';
import type { KnnCase, KnnCaseResult } from './kernels/knn-entry.ts';

let page: KernelPage;

beforeAll(async () => {
  page = await openKernelPage(join(import.meta.dirname, 'kernels', 'knn-entry.ts'));
});

afterAll(async () => {
  await page?.close();
});

const run = (c: KnnCase): Promise<KnnCaseResult> =>
  page.evaluate((arg: KnnCase) => (globalThis as unknown as { __knn: { runCase(c: KnnCase): Promise<KnnCaseResult> } }).__knn.runCase(arg), c);

// dim 70 (not a multiple of 4) exercises the int8 word padding; blocks of 700 exercise streaming.
const metrics: KnnCase['p'][] = [1, 2, 3, null, 'cosine'];
const cases: KnnCase[] = [];
for (const dtype of ['float32', 'int8'] as const) {
  for (const [i, p] of metrics.entries()) cases.push({ n: 3000, dim: 70, k: 25, p, dtype, seed: 11 + i, block: 700 });
  // dim 64: the JS twin takes its WebAssembly SIMD path (cosine, L1, L2 when dim % 8 == 0) in the browser too.
  for (const [i, p] of ([2, 'cosine'] as const).entries()) cases.push({ n: 3000, dim: 64, k: 25, p, dtype, seed: 31 + i, block: 1500 });
}

describe('k-NN WebGPU kernel vs JS twin', () => {
  test.each(cases.map((c) => [`${c.dtype} dim ${c.dim} p=${c.p === null ? 'Infinity' : c.p}`, c] as const))('%s: same top-k ids, distances within float tolerance', async (_name, c) => {
    const r = await run(c);
    expect(r.backend).toBe('webgpu');
    expect(r.twinSimd).toBe(c.dim % 8 === 0 && (c.p === 1 || c.p === 2 || c.p === 'cosine'));
    expect(r.js.ids).toHaveLength(c.k);
    expect(r.gpu.ids).toEqual(r.js.ids);
    for (let i = 0; i < c.k; i++) {
      const want = r.js.distances[i]!;
      // float32 accumulation on the GPU against float64 in JS: a relative 1e-4 (plus absolute 1e-5 for cosine near 0).
      expect(Math.abs(r.gpu.distances[i]! - want), `rank ${i}`).toBeLessThanOrEqual(1e-4 * Math.abs(want) + 1e-5);
    }
    // Sanity: ranked ascending and not all equal (a kernel writing zeros would fail here).
    for (let i = 1; i < c.k; i++) expect(r.js.distances[i]!).toBeGreaterThanOrEqual(r.js.distances[i - 1]!);
    expect(r.js.distances[c.k - 1]!).toBeGreaterThan(r.js.distances[0]!);
  });

  test('no page errors', () => {
    expect(page.errors).toEqual([]);
  });
});
