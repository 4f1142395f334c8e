import { describe, expect, it } from 'vitest';
import { PcaAccumulator, pca, pcaProject } from '../../../src/core/reduce/pca.ts';
import { createRng } from '../../../src/core/util/random.ts';

function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe('PCA', () => {
  it('finds the direction of points on a line (far from the origin)', () => {
    const d = 6;
    const u = unit([3, -1, 0.5, 2, 0, -4]); // largest loading is negative -> sign flipped
    const p0 = [1000, -500, 20, 7, 3, 1e4];
    const n = 200;
    const rows = new Float64Array(n * d);
    const ts: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = (i - n / 2) * 0.1;
      ts.push(t);
      for (let j = 0; j < d; j++) rows[i * d + j] = p0[j] + t * u[j];
    }
    const { model, coords } = pca(rows, d, 2);
    expect(model.explainedVarianceRatio[0]).toBeCloseTo(1, 9);
    expect(model.explainedVarianceRatio.length).toBe(d);
    // Sign convention: largest-magnitude loading positive, i.e. -u here.
    for (let j = 0; j < d; j++) expect(model.components[j]).toBeCloseTo(-u[j], 9);
    const meanT = ts.reduce((a, b) => a + b, 0) / n;
    for (let i = 0; i < n; i++) {
      expect(coords[i * 2]).toBeCloseTo(-(ts[i] - meanT), 3);
      expect(Math.abs(coords[i * 2 + 1])).toBeLessThan(1e-3);
    }
  });

  it('recovers a plane with variances 4:1 and the explained variance ratio', () => {
    const d = 5;
    const rng = createRng(3);
    const e1 = unit([1, 1, 0, 0, 0]);
    const e2 = unit([0, 0, 1, -1, 0]);
    const n = 20000;
    const rows = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const a = 2 * rng.normal();
      const b = rng.normal();
      for (let j = 0; j < d; j++) rows[i * d + j] = 5 + a * e1[j] + b * e2[j];
    }
    const { model } = pca(rows, d, 2);
    expect(model.explainedVarianceRatio[0]).toBeCloseTo(0.8, 1);
    expect(model.explainedVarianceRatio[1]).toBeCloseTo(0.2, 1);
    expect(model.explainedVarianceRatio[2]).toBeLessThan(1e-6);
    expect(model.explainedVariance[0]).toBeCloseTo(4, 0);
    const dot = (c: number, v: number[]) => v.reduce((s, x, j) => s + x * model.components[c * d + j], 0);
    expect(Math.abs(dot(0, e1))).toBeCloseTo(1, 3);
    expect(Math.abs(dot(1, e2))).toBeCloseTo(1, 3);
    for (let j = 0; j < d; j++) expect(model.mean[j]).toBeCloseTo(5, 1);
  });

  it('streams: chunked accumulation equals one shot and the exact covariance', () => {
    const d = 16;
    const n = 1000;
    const rng = createRng(8);
    const rows = new Float32Array(n * d);
    for (let i = 0; i < rows.length; i++) rows[i] = rng.normal() * (1 + (i % d)) + 3;
    const acc = new PcaAccumulator(d);
    for (let s = 0; s < n; s += 137) acc.add(rows.subarray(s * d, Math.min(n, s + 137) * d));
    expect(acc.count).toBe(n);
    const streamed = acc.finish(3);
    const once = pca(rows, d, 3).model;
    for (let i = 0; i < d; i++) expect(streamed.explainedVariance[i]).toBeCloseTo(once.explainedVariance[i], 8);
    for (let i = 0; i < 3 * d; i++) expect(streamed.components[i]).toBeCloseTo(once.components[i], 8);
    // Exact covariance, two-pass.
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j] / n;
    const cov = acc.covariance();
    for (const [a, b] of [[0, 0], [3, 7], [15, 15], [2, 9]]) {
      let s = 0;
      for (let i = 0; i < n; i++) s += (rows[i * d + a] - mean[a]) * (rows[i * d + b] - mean[b]);
      expect(cov[a * d + b]).toBeCloseTo(s / (n - 1), 8);
    }
    let trace = 0;
    for (let j = 0; j < d; j++) trace += cov[j * d + j];
    const sumEv = streamed.explainedVariance.reduce((x, y) => x + y, 0);
    expect(sumEv).toBeCloseTo(trace, 6);
    const proj = pcaProject(streamed, rows.subarray(0, 10 * d));
    expect(proj.length).toBe(30);
  });

  it('is deterministic and handles degenerate input', () => {
    const rows = new Float32Array(4 * 3).fill(1);
    const { model, coords } = pca(rows, 3, 2);
    expect(Array.from(model.explainedVarianceRatio)).toEqual([0, 0, 0]);
    expect(Array.from(coords)).toEqual(new Array(8).fill(0));
    const one = new PcaAccumulator(3);
    one.add(Float32Array.from([1, 2, 3]));
    expect(Array.from(one.finish(2).explainedVariance)).toEqual([0, 0, 0]);
  });
});
