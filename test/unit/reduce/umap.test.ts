import { describe, expect, it } from 'vitest';
import { sampleIndices, umapLayout, umapTransform, type UmapProgress } from '../../../src/core/reduce/umap.ts';
import { createRng } from '../../../src/core/util/random.ts';
import { gaussianMixture, knnLabelAgreement } from './mixture.ts';

describe('UMAP (umap-js, fit on a sample + chunked transform)', () => {
  it('samples distinct sorted indices, seeded', () => {
    const a = sampleIndices(1000, 100, createRng(1));
    expect(a.length).toBe(100);
    expect(new Set(a).size).toBe(100);
    for (let i = 1; i < a.length; i++) expect(a[i]).toBeGreaterThan(a[i - 1]);
    expect(Array.from(sampleIndices(1000, 100, createRng(1)))).toEqual(Array.from(a));
    expect(Array.from(sampleIndices(1000, 100, createRng(2)))).not.toEqual(Array.from(a));
    expect(sampleIndices(10, 50, createRng(1)).length).toBe(10);
  });

  it('keeps Gaussian-mixture clusters apart in 2-D, for fitted and transformed points, with progress', async () => {
    const mix = gaussianMixture(1500, 32, 5, 21);
    const progress: UmapProgress[] = [];
    const { coords, model } = await umapLayout(mix.data, mix.n, mix.d, { sampleSize: 500, chunkSize: 300, nEpochs: 200, seed: 3 }, { onProgress: (p) => progress.push(p) });
    expect(coords.length).toBe(mix.n * 2);
    expect(coords.every(Number.isFinite)).toBe(true);
    expect(model.sampleIndex.length).toBe(500);
    // Agreement among all points, and among transformed ones only.
    expect(knnLabelAgreement(coords, 2, mix.labels)).toBeGreaterThan(0.95);
    const inSample = new Set(model.sampleIndex);
    const rest = Array.from({ length: mix.n }, (_, i) => i).filter((i) => !inSample.has(i)).slice(0, 500);
    const restCoords = new Float32Array(rest.length * 2);
    rest.forEach((r, i) => restCoords.set(coords.subarray(r * 2, r * 2 + 2), i * 2));
    expect(knnLabelAgreement(restCoords, 2, Int32Array.from(rest, (r) => mix.labels[r]))).toBeGreaterThan(0.95);
    const fit = progress.filter((p) => p.phase === 'fit');
    const tr = progress.filter((p) => p.phase === 'transform');
    expect(fit[fit.length - 1]).toEqual({ phase: 'fit', done: 201, total: 201 });
    expect(tr[tr.length - 1]).toMatchObject({ done: 1000, total: 1000 });
    for (let i = 1; i < fit.length; i++) expect(fit[i].done).toBeGreaterThan(fit[i - 1].done);
    // 200 is rounded up to 201 epochs: umap-js's transform never ends unless nEpochs % 3 === 0.
  });

  it('is deterministic with a seed and differs with another; a chunk the size of the sample does not move the fit', async () => {
    const mix = gaussianMixture(400, 16, 3, 4);
    const opts = { sampleSize: 150, chunkSize: 150, nEpochs: 60, seed: 9 };
    const a = await umapLayout(mix.data, mix.n, mix.d, opts);
    const b = await umapLayout(mix.data, mix.n, mix.d, opts);
    const c = await umapLayout(mix.data, mix.n, mix.d, { ...opts, seed: 10 });
    expect(Array.from(b.coords)).toEqual(Array.from(a.coords));
    expect(Array.from(c.coords)).not.toEqual(Array.from(a.coords));
    // The fitted embedding is unchanged by the transforms (chunks of exactly sampleSize rows).
    const before = Array.from(a.model.sampleCoords);
    const after = a.model.umap.getEmbedding().flat();
    expect(after.map((v) => Math.fround(v))).toEqual(before);
    // Re-placing the same chunk with the same chunk number reproduces it.
    const rows = mix.data.subarray(0, 150 * mix.d);
    const p1 = await umapTransform(a.model, rows, 150);
    const p2 = await umapTransform(a.model, rows, 150);
    expect(Array.from(p2)).toEqual(Array.from(p1));
  });

  it('stops when aborted', async () => {
    const mix = gaussianMixture(300, 8, 3, 1);
    const ctrl = new AbortController();
    const run = umapLayout(mix.data, mix.n, mix.d, { sampleSize: 200, nEpochs: 400 }, {
      signal: ctrl.signal,
      onProgress: (p) => {
        if (p.phase === 'fit' && p.done >= 20) ctrl.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });
});
