import { describe, expect, it } from 'vitest';
import { decodeFloat16, encodeFloat16, fromFloat16Bits, toFloat16Bits } from '../../../src/core/util/float16.ts';
import {
  type CsrMatrix,
  csrMulDense,
  csrTranspose,
  gramSchmidtColumns,
  orthonormalizeColumns,
  randomizedSvd,
  symmetricEigen,
} from '../../../src/core/util/linalg.ts';
import { createRng, fillNormal } from '../../../src/core/util/random.ts';

function denseToCsr(a: Float64Array, rows: number, cols: number): CsrMatrix {
  const indptr = new Int32Array(rows + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = a[i * cols + j];
      if (v !== 0) {
        idx.push(j);
        val.push(v);
      }
    }
    indptr[i + 1] = idx.length;
  }
  return { rows, cols, indptr, indices: Int32Array.from(idx), data: Float64Array.from(val) };
}

/** rows x cols matrix with orthonormal columns. */
function randomOrthonormal(rows: number, cols: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const x = new Float64Array(rows * cols);
  fillNormal(x, rng);
  gramSchmidtColumns(x, rows, cols, rng);
  return x;
}

function maxOffOrthogonality(x: Float64Array, rows: number, cols: number): number {
  let worst = 0;
  for (let a = 0; a < cols; a++) {
    for (let b = a; b < cols; b++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += x[i * cols + a] * x[i * cols + b];
      worst = Math.max(worst, Math.abs(s - (a === b ? 1 : 0)));
    }
  }
  return worst;
}

describe('random', () => {
  it('is deterministic per seed and roughly uniform/normal', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xa = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(xa);
    const r = createRng(1);
    let s = 0;
    let s2 = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
    for (let i = 0; i < 1000; i++) {
      const k = r.int(7);
      expect(k >= 0 && k < 7 && Number.isInteger(k)).toBe(true);
    }
  });
});

describe('float16', () => {
  it('encodes known values and round-trips every half exactly', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(0.1)).toBe(0x2e66);
    expect(toFloat16Bits(2 ** -24)).toBe(1);
    expect(toFloat16Bits(2 ** -26)).toBe(0);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) {
      const v = fromFloat16Bits(h);
      if (Number.isNaN(v)) continue;
      if (toFloat16Bits(v) !== h) mismatches++;
    }
    expect(mismatches).toBe(0);
    // Ties round to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    const src = Float32Array.from([0.333, -1.5, 1024.7, 3e-5]);
    const dec = decodeFloat16(encodeFloat16(src));
    for (let i = 0; i < src.length; i++) expect(Math.abs(dec[i] - src[i])).toBeLessThanOrEqual(Math.abs(src[i]) * 2 ** -11 + 1e-7);
  });
});

describe('symmetricEigen', () => {
  it('recovers a known spectrum and satisfies A v = lambda v', () => {
    const n = 40;
    const q = randomOrthonormal(n, n, 3);
    const lambda = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -1 : 1) * (n - i) * 0.5);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += q[i * n + k] * lambda[k] * q[j * n + k];
        a[i * n + j] = s;
      }
    }
    const { values, vectors } = symmetricEigen(a, n);
    const sorted = [...lambda].sort((x, y) => y - x);
    for (let i = 0; i < n; i++) expect(values[i]).toBeCloseTo(sorted[i], 9);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * vectors[r * n + j];
        expect(s).toBeCloseTo(values[r] * vectors[r * n + i], 9);
      }
    }
  });

  it('handles diagonal, zero and 1x1 matrices', () => {
    expect(Array.from(symmetricEigen(Float64Array.from([3, 0, 0, 5]), 2).values)).toEqual([5, 3]);
    expect(Array.from(symmetricEigen(new Float64Array(9), 3).values)).toEqual([0, 0, 0]);
    expect(Array.from(symmetricEigen(Float64Array.from([7]), 1).values)).toEqual([7]);
  });
});

describe('orthonormalizeColumns', () => {
  it('orthonormalises well- and ill-conditioned and rank-deficient matrices', () => {
    const rng = createRng(5);
    const rows = 500;
    const cols = 30;
    const x = new Float64Array(rows * cols);
    fillNormal(x, rng);
    orthonormalizeColumns(x, rows, cols, rng);
    expect(maxOffOrthogonality(x, rows, cols)).toBeLessThan(1e-12);
    // Column scales spanning 1e-7 .. 1: Cholesky QR needs its second pass.
    const y = new Float64Array(rows * cols);
    fillNormal(y, rng);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) y[i * cols + j] *= 10 ** (-7 * (j / (cols - 1)));
    orthonormalizeColumns(y, rows, cols, rng);
    expect(maxOffOrthogonality(y, rows, cols)).toBeLessThan(1e-10);
    // Duplicate and zero columns: Gram–Schmidt fallback fills them with random directions.
    const z = new Float64Array(rows * cols);
    fillNormal(z, rng);
    for (let i = 0; i < rows; i++) {
      z[i * cols + 3] = z[i * cols + 1];
      z[i * cols + 7] = 0;
    }
    orthonormalizeColumns(z, rows, cols, rng);
    expect(maxOffOrthogonality(z, rows, cols)).toBeLessThan(1e-10);
  });
});

describe('sparse kernels', () => {
  it('csrMulDense and csrTranspose match dense products', () => {
    const rng = createRng(9);
    const m = 37;
    const n = 23;
    const l = 5;
    const a = new Float64Array(m * n);
    for (let i = 0; i < a.length; i++) if (rng.next() < 0.2) a[i] = rng.normal();
    const csr = denseToCsr(a, m, n);
    const x = new Float64Array(n * l);
    fillNormal(x, rng);
    const out = new Float64Array(m * l);
    csrMulDense(csr, x, l, out);
    for (let i = 0; i < m; i++) {
      for (let c = 0; c < l; c++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j] * x[j * l + c];
        expect(out[i * l + c]).toBeCloseTo(s, 12);
      }
    }
    const at = csrTranspose(csr);
    const y = new Float64Array(m * l);
    fillNormal(y, rng);
    const out2 = new Float64Array(n * l);
    csrMulDense(at, y, l, out2);
    for (let j = 0; j < n; j++) {
      for (let c = 0; c < l; c++) {
        let s = 0;
        for (let i = 0; i < m; i++) s += a[i * n + j] * y[i * l + c];
        expect(out2[j * l + c]).toBeCloseTo(s, 12);
      }
    }
  });
});

describe('randomizedSvd', () => {
  it('recovers the singular values and vectors of a matrix with a known SVD', () => {
    const m = 300;
    const n = 200;
    const r = 25;
    const u = randomOrthonormal(m, r, 11);
    const v = randomOrthonormal(n, r, 12);
    const s = Array.from({ length: r }, (_, i) => 10 * 0.8 ** i);
    const a = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let t = 0;
        for (let k = 0; k < r; k++) t += u[i * r + k] * s[k] * v[j * r + k];
        a[i * n + j] = t;
      }
    }
    const k = 10;
    const res = randomizedSvd(denseToCsr(a, m, n), k, { rng: createRng(1), oversample: 10, powerIterations: 4 });
    expect(res.k).toBe(k);
    for (let i = 0; i < k; i++) expect(Math.abs(res.s[i] - s[i]) / s[i]).toBeLessThan(1e-8);
    // Each right singular vector matches the true one up to sign.
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += res.v[j * k + c] * v[j * r + c];
      expect(Math.abs(dot)).toBeGreaterThan(1 - 1e-8);
    }
    expect(maxOffOrthogonality(res.v, n, k)).toBeLessThan(1e-10);
  });

  it('matches an exact SVD (eigen of A^T A) on a sparse matrix', () => {
    const rng = createRng(21);
    const m = 400;
    const n = 120;
    const a = new Float64Array(m * n);
    for (let i = 0; i < a.length; i++) if (rng.next() < 0.05) a[i] = rng.next();
    const ata = new Float64Array(n * n);
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < n; p++) {
        const x = a[i * n + p];
        if (x === 0) continue;
        for (let q = 0; q < n; q++) ata[p * n + q] += x * a[i * n + q];
      }
    }
    const exact = symmetricEigen(ata, n).values.map((l) => Math.sqrt(Math.max(0, l)));
    const k = 8;
    const res = randomizedSvd(denseToCsr(a, m, n), k, { rng: createRng(2), oversample: 10, powerIterations: 20 });
    for (let i = 0; i < k; i++) expect(Math.abs(res.s[i] - exact[i]) / exact[i]).toBeLessThan(1e-3);
    // Without power iterations the estimates are lower bounds, and looser.
    const rough = randomizedSvd(denseToCsr(a, m, n), k, { rng: createRng(2), oversample: 10, powerIterations: 0 });
    for (let i = 0; i < k; i++) expect(rough.s[i]).toBeLessThanOrEqual(exact[i] * (1 + 1e-9));
    expect(rough.s[0] / exact[0]).toBeGreaterThan(0.5);
  });

  it('clamps k to the rank bound and handles rank-deficient input', () => {
    const a = denseToCsr(Float64Array.from([2, 0, 0, 0, 1, 0, 2, 0, 0]), 3, 3); // rank 2, A^T A = diag(8, 1, 0)
    const res = randomizedSvd(a, 5, { rng: createRng(3), powerIterations: 2 });
    expect(res.k).toBe(3);
    expect(res.s[0]).toBeCloseTo(Math.sqrt(8), 10);
    expect(res.s[1]).toBeCloseTo(1, 10);
    expect(res.s[2]).toBeCloseTo(0, 6);
  });
});
