import { describe, expect, it } from 'vitest';
import { initTfBackend } from '../../../src/core/gpu/tf-backend.ts';
import { PcaAccumulator, componentsForVariance, explainedVarianceCurve, pca, pcaProject, randomizedPca } from '../../../src/core/reduce/pca.ts';
import { tfGramKernel } from '../../../src/core/reduce/pca-tf.ts';
import { simdGramKernel } from '../../../src/core/reduce/pca-simd.ts';
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
    // The float64 JS loop: exact to float64 rounding (the SIMD kernel is held to float32 below).
    const acc = new PcaAccumulator(d, { gramKernel: null });
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

// Reference: covariance by the two-pass formula and eigenpairs by cyclic Jacobi rotations, written
// here independently of util/linalg.ts (Householder + QL) and of the accumulator.
function referencePca(rows: Float32Array, n: number, d: number): { values: number[]; vectors: number[][] } {
  const mean = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j] / n;
  const a: number[][] = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < d; p++) {
      const xp = rows[i * d + p] - mean[p];
      for (let q = 0; q < d; q++) a[p][q] += (xp * (rows[i * d + q] - mean[q])) / (n - 1);
    }
  }
  const v: number[][] = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += a[p][q] ** 2;
    if (off < 1e-26) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((x, y) => a[y][y] - a[x][x]);
  return { values: order.map((i) => a[i][i]), vectors: order.map((i) => v.map((row) => row[i])) };
}

/** Rows with a decaying spectrum (variances ~ 1/(i+1)^1.5 along random orthogonal-ish axes), offset from 0. */
function spectrumRows(n: number, d: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const axes = Array.from({ length: d }, () => Array.from({ length: d }, () => rng.normal()));
  const rows = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      const a = rng.normal() * (3 / (c + 1) ** 0.75);
      for (let j = 0; j < d; j++) rows[i * d + j] += (a * axes[c][j]) / Math.sqrt(d);
    }
    for (let j = 0; j < d; j++) rows[i * d + j] += 10 + j;
  }
  return rows;
}

function* chunks(rows: Float32Array, d: number, size: number): Generator<Float32Array> {
  for (let s = 0; s < rows.length; s += size * d) yield rows.subarray(s, Math.min(rows.length, s + size * d));
}

describe('PCA against a reference decomposition (Jacobi on the two-pass covariance)', () => {
  const n = 3000;
  const d = 24;
  const rows = spectrumRows(n, d, 17);
  const ref = referencePca(rows, n, d);
  const total = ref.values.reduce((x, y) => x + y, 0);

  it('accumulator: all variances, components and the explained-variance curve', () => {
    const acc = new PcaAccumulator(d, { gramKernel: null });
    for (const c of chunks(rows, d, 333)) acc.add(c);
    const model = acc.finish(6);
    for (let i = 0; i < d; i++) expect(model.explainedVariance[i]).toBeCloseTo(ref.values[i], 8);
    for (let c = 0; c < 6; c++) {
      const dot = ref.vectors[c].reduce((s, x, j) => s + x * model.components[c * d + j], 0);
      expect(Math.abs(dot)).toBeCloseTo(1, 6);
    }
    const curve = explainedVarianceCurve(model);
    expect(curve.ratio.length).toBe(d);
    let cum = 0;
    for (let i = 0; i < d; i++) {
      expect(curve.ratio[i]).toBeCloseTo(ref.values[i] / total, 10);
      cum += ref.values[i] / total;
      expect(curve.cumulative[i]).toBeCloseTo(cum, 10);
      if (i > 0) expect(curve.cumulative[i]).toBeGreaterThanOrEqual(curve.cumulative[i - 1]);
    }
    expect(curve.cumulative[d - 1]).toBeCloseTo(1, 12);
    const need = componentsForVariance(model, 0.9);
    expect(curve.cumulative[need - 1]).toBeGreaterThanOrEqual(0.9 - 1e-12);
    expect(need === 1 || curve.cumulative[need - 2] < 0.9).toBe(true);
    expect(explainedVarianceCurve(model, 5).cumulative.length).toBe(5);
  });

  it('randomized (streamed, sync and async sources): top-k variances, subspace and ratios', async () => {
    const k = 6;
    let passes = 0;
    const model = await randomizedPca(() => chunks(rows, d, 500), d, k, { oversample: 6, powerIterations: 4, seed: 2, onPass: () => passes++ });
    expect(passes).toBe(5);
    expect(model.count).toBe(n);
    expect(model.explainedVariance.length).toBe(k);
    for (let i = 0; i < k; i++) {
      expect(Math.abs(model.explainedVariance[i] - ref.values[i]) / ref.values[i]).toBeLessThan(1e-3);
      expect(Math.abs(model.explainedVarianceRatio[i] - ref.values[i] / total)).toBeLessThan(1e-3 * (ref.values[i] / total));
    }
    for (let c = 0; c < 3; c++) {
      const dot = ref.vectors[c].reduce((s, x, j) => s + x * model.components[c * d + j], 0);
      expect(Math.abs(dot)).toBeGreaterThan(0.999);
    }
    for (let j = 0; j < d; j++) expect(model.mean[j]).toBeCloseTo(10 + j, 1);
    // Same result from an async source with other chunk sizes (same seed).
    async function* asyncChunks(): AsyncGenerator<Float32Array> {
      for (const c of chunks(rows, d, 777)) yield c;
    }
    const again = await randomizedPca(asyncChunks, d, k, { oversample: 6, powerIterations: 4, seed: 2 });
    for (let i = 0; i < k; i++) expect(again.explainedVariance[i]).toBeCloseTo(model.explainedVariance[i], 9);
    // Projections agree with the accumulator's up to sign.
    const exact = pca(rows, d, 3);
    const p = pcaProject(model, rows.subarray(0, 50 * d));
    for (let i = 0; i < 50; i++) expect(Math.abs(p[i * k])).toBeCloseTo(Math.abs(exact.coords[i * 3]), 2);
  });

  it('randomized with no power iterations is only approximate (the test can tell)', async () => {
    const model = await randomizedPca(() => chunks(rows, d, 500), d, 6, { oversample: 0, powerIterations: 0, seed: 2 });
    const err = Math.abs(model.explainedVariance[5] - ref.values[5]) / ref.values[5];
    expect(err).toBeGreaterThan(1e-3);
  });

  it('the WebAssembly SIMD Gram kernel (the default from 64 dimensions) gives the reference model to float32 precision', () => {
    const kernel = simdGramKernel();
    expect(kernel, 'Node 20 has WebAssembly SIMD').not.toBeNull();
    expect(new PcaAccumulator(64)['kernel'], 'default at 64 dimensions').not.toBeNull();
    expect(new PcaAccumulator(63)['kernel'], 'float64 loop below').toBeNull();
    // Chunks of 333 rows and blocks of 101 rows: sub-blocks whose row counts are not multiples of 4.
    const acc = new PcaAccumulator(d, { gramKernel: kernel, kernelBlock: 101 });
    for (const c of chunks(rows, d, 333)) acc.add(c);
    const model = acc.finish(6);
    for (let i = 0; i < d; i++) expect(Math.abs(model.explainedVariance[i] - ref.values[i])).toBeLessThan(1e-5 * ref.values[0]);
    for (let c = 0; c < 6; c++) {
      const dot = ref.vectors[c].reduce((s, x, j) => s + x * model.components[c * d + j], 0);
      expect(Math.abs(dot)).toBeGreaterThan(0.99999);
    }
    // Same rows through the kernel directly: its upper triangle against the float64 products.
    const kb = 2003;
    const dd = 37; // neither a multiple of 4 nor of the kernel's 32-row tiles
    const x = new Float32Array(kb * dd);
    const rng = createRng(5);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const scatter = new Float64Array(dd * dd);
    kernel!(x, kb, dd, scatter);
    for (let a = 0; a < dd; a++) {
      for (let b = 0; b < dd; b++) {
        let s = 0;
        for (let i = 0; i < kb; i++) s += x[i * dd + a] * x[i * dd + b];
        if (b >= a) expect(Math.abs(scatter[a * dd + b] - s), `(${a}, ${b})`).toBeLessThan(1e-4 * Math.max(1, Math.abs(s)));
        else expect(scatter[a * dd + b], 'lower triangle left alone').toBe(0);
      }
    }
  });

  it('a tfjs Gram kernel gives the same model as the JS loop', async () => {
    const choice = await initTfBackend();
    const acc = new PcaAccumulator(d, { gramKernel: tfGramKernel(), kernelBlock: 700 });
    for (const c of chunks(rows, d, 1000)) acc.add(c);
    const model = acc.finish(4);
    for (let i = 0; i < d; i++) expect(Math.abs(model.explainedVariance[i] - ref.values[i])).toBeLessThan(1e-5 * ref.values[0]);
    for (let c = 0; c < 4; c++) {
      const dot = ref.vectors[c].reduce((s, x, j) => s + x * model.components[c * d + j], 0);
      expect(Math.abs(dot), `component ${c} on tfjs ${choice.backend}`).toBeGreaterThan(0.99999);
    }
  });
});
