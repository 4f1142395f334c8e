// Dense and sparse linear algebra kernels for the embedders and reducers. Pure TS, Float64 math,
// row-major flat typed arrays. The hot kernels (sparse x dense, Gram, small-matrix products) are
// unrolled by hand: V8 does not vectorise, so fewer loads/stores per multiply-add is what counts.

import { fillNormal, type Rng } from './random.ts';

/** Compressed sparse rows. Row i's entries are indices/data[indptr[i] .. indptr[i+1]). */
export interface CsrMatrix {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  data: Float64Array;
}

/** Transpose of a CSR matrix (i.e. its CSC form, as CSR of A^T). Column indices stay sorted by row. */
export function csrTranspose(a: CsrMatrix): CsrMatrix {
  const nnz = a.indptr[a.rows];
  const counts = new Int32Array(a.cols + 1);
  for (let p = 0; p < nnz; p++) counts[a.indices[p] + 1]++;
  for (let j = 0; j < a.cols; j++) counts[j + 1] += counts[j];
  const indptr = counts.slice();
  const next = counts.slice(0, a.cols);
  const indices = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  for (let i = 0; i < a.rows; i++) {
    for (let p = a.indptr[i]; p < a.indptr[i + 1]; p++) {
      const j = a.indices[p];
      const q = next[j]++;
      indices[q] = i;
      data[q] = a.data[p];
    }
  }
  return { rows: a.cols, cols: a.rows, indptr, indices, data };
}

/** out (a.rows x l) = A (a.rows x a.cols) * X (a.cols x l), all dense row-major except A. */
export function csrMulDense(a: CsrMatrix, x: Float64Array, l: number, out: Float64Array): void {
  const { indptr, indices, data } = a;
  for (let i = 0; i < a.rows; i++) {
    const o = i * l;
    for (let c = 0; c < l; c++) out[o + c] = 0;
    let p = indptr[i];
    const end = indptr[i + 1];
    // Two non-zeros per sweep over the output row halves its loads and stores.
    for (; p + 1 < end; p += 2) {
      const v0 = data[p];
      const v1 = data[p + 1];
      const x0 = indices[p] * l;
      const x1 = indices[p + 1] * l;
      for (let c = 0; c < l; c++) out[o + c] += v0 * x[x0 + c] + v1 * x[x1 + c];
    }
    if (p < end) {
      const v0 = data[p];
      const x0 = indices[p] * l;
      for (let c = 0; c < l; c++) out[o + c] += v0 * x[x0 + c];
    }
  }
}

/**
 * Column sums and sums of squares of A X (a.rows x l) without storing the product (row by row).
 */
export function csrMulDenseColumnMoments(a: CsrMatrix, x: Float64Array, l: number): { sum: Float64Array; sumSq: Float64Array } {
  const sum = new Float64Array(l);
  const sumSq = new Float64Array(l);
  const row = new Float64Array(l);
  const { indptr, indices, data } = a;
  for (let i = 0; i < a.rows; i++) {
    row.fill(0);
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const v = data[p];
      const o = indices[p] * l;
      for (let c = 0; c < l; c++) row[c] += v * x[o + c];
    }
    for (let c = 0; c < l; c++) {
      sum[c] += row[c];
      sumSq[c] += row[c] * row[c];
    }
  }
  return { sum, sumSq };
}

/**
 * Accumulates the upper triangle of X^T X (cols x cols, row-major) into g, for X rows x cols
 * row-major (g[a*cols+b], b >= a). A rank-8 update per sweep: one load and store of g per 8
 * multiply-adds (measured 1.7 G multiply-adds/s against 1.1 for rank-4).
 */
export function gramUpperAccumulate(x: Float64Array, rows: number, cols: number, g: Float64Array): void {
  let i = 0;
  for (; i + 8 <= rows; i += 8) {
    const o0 = i * cols;
    const o1 = o0 + cols;
    const o2 = o1 + cols;
    const o3 = o2 + cols;
    const o4 = o3 + cols;
    const o5 = o4 + cols;
    const o6 = o5 + cols;
    const o7 = o6 + cols;
    for (let a = 0; a < cols; a++) {
      const x0 = x[o0 + a];
      const x1 = x[o1 + a];
      const x2 = x[o2 + a];
      const x3 = x[o3 + a];
      const x4 = x[o4 + a];
      const x5 = x[o5 + a];
      const x6 = x[o6 + a];
      const x7 = x[o7 + a];
      const ga = a * cols;
      for (let b = a; b < cols; b++) {
        g[ga + b] +=
          x0 * x[o0 + b] + x1 * x[o1 + b] + x2 * x[o2 + b] + x3 * x[o3 + b] +
          x4 * x[o4 + b] + x5 * x[o5 + b] + x6 * x[o6 + b] + x7 * x[o7 + b];
      }
    }
  }
  for (; i < rows; i++) {
    const o0 = i * cols;
    for (let a = 0; a < cols; a++) {
      const x0 = x[o0 + a];
      if (x0 === 0) continue;
      const ga = a * cols;
      for (let b = a; b < cols; b++) g[ga + b] += x0 * x[o0 + b];
    }
  }
}

/** Copies the upper triangle of a square row-major matrix onto its lower triangle. */
export function symmetrizeFromUpper(g: Float64Array, n: number): void {
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) g[b * n + a] = g[a * n + b];
}

/**
 * out (rows x k) = X (rows x inner) * M where M is given transposed: mt (k x inner, row-major),
 * so each output entry is a contiguous dot product. Register-blocked 3 rows x 3 outputs (nine
 * accumulators: 2.6 G multiply-adds/s here against 1.5 for 4 x 1). Float64 only, so the hot
 * loop stays monomorphic. `out` may not alias `x`.
 */
export function mulByTransposed(
  x: Float64Array,
  rows: number,
  inner: number,
  mt: Float64Array,
  k: number,
  out: Float64Array,
): void {
  const rows3 = rows - (rows % 3);
  const k3 = k - (k % 3);
  for (let i = 0; i < rows3; i += 3) {
    const o0 = i * inner;
    const o1 = o0 + inner;
    const o2 = o1 + inner;
    const r0 = i * k;
    const r1 = r0 + k;
    const r2 = r1 + k;
    for (let j = 0; j < k3; j += 3) {
      const m0 = j * inner;
      const m1 = m0 + inner;
      const m2 = m1 + inner;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s20 = 0;
      let s21 = 0;
      let s22 = 0;
      for (let t = 0; t < inner; t++) {
        const w0 = mt[m0 + t];
        const w1 = mt[m1 + t];
        const w2 = mt[m2 + t];
        const a0 = x[o0 + t];
        const a1 = x[o1 + t];
        const a2 = x[o2 + t];
        s00 += a0 * w0;
        s01 += a0 * w1;
        s02 += a0 * w2;
        s10 += a1 * w0;
        s11 += a1 * w1;
        s12 += a1 * w2;
        s20 += a2 * w0;
        s21 += a2 * w1;
        s22 += a2 * w2;
      }
      out[r0 + j] = s00;
      out[r0 + j + 1] = s01;
      out[r0 + j + 2] = s02;
      out[r1 + j] = s10;
      out[r1 + j + 1] = s11;
      out[r1 + j + 2] = s12;
      out[r2 + j] = s20;
      out[r2 + j + 1] = s21;
      out[r2 + j + 2] = s22;
    }
    for (let j = k3; j < k; j++) {
      const m = j * inner;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      for (let t = 0; t < inner; t++) {
        const w = mt[m + t];
        s0 += x[o0 + t] * w;
        s1 += x[o1 + t] * w;
        s2 += x[o2 + t] * w;
      }
      out[r0 + j] = s0;
      out[r1 + j] = s1;
      out[r2 + j] = s2;
    }
  }
  for (let i = rows3; i < rows; i++) {
    const o0 = i * inner;
    for (let j = 0; j < k; j++) {
      const m = j * inner;
      let s0 = 0;
      for (let t = 0; t < inner; t++) s0 += x[o0 + t] * mt[m + t];
      out[i * k + j] = s0;
    }
  }
}

/**
 * Cholesky factor of a symmetric positive definite matrix (upper triangle of g used): returns upper
 * R with G = R^T R, or null when a pivot is not safely positive (relative tolerance `tol`).
 */
export function choleskyUpper(g: Float64Array, n: number, tol = 1e-13): Float64Array | null {
  const r = new Float64Array(n * n);
  let maxDiag = 0;
  for (let j = 0; j < n; j++) maxDiag = Math.max(maxDiag, g[j * n + j]);
  if (!(maxDiag > 0)) return null;
  for (let j = 0; j < n; j++) {
    let d = g[j * n + j];
    for (let k = 0; k < j; k++) d -= r[k * n + j] * r[k * n + j];
    if (!(d > tol * maxDiag)) return null;
    const rjj = Math.sqrt(d);
    r[j * n + j] = rjj;
    for (let c = j + 1; c < n; c++) {
      let s = g[j * n + c];
      for (let k = 0; k < j; k++) s -= r[k * n + j] * r[k * n + c];
      r[j * n + c] = s / rjj;
    }
  }
  return r;
}

/** Inverse of an upper-triangular matrix, returned transposed (lower-triangular, row-major). */
function upperInverseTransposed(r: Float64Array, n: number): Float64Array {
  // Solve R * Inv = I column by column; Inv is upper. Store Inv^T (row j holds column j of Inv).
  const invT = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const row = j * n;
    invT[row + j] = 1 / r[j * n + j];
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let k = i + 1; k <= j; k++) s += r[i * n + k] * invT[row + k];
      invT[row + i] = -s / r[i * n + i];
    }
  }
  return invT;
}

/** X := X * U^{-1}... specialised: X (rows x n) times upper-triangular Inv given as invT (lower). */
function mulUpperInPlace(x: Float64Array, rows: number, n: number, invT: Float64Array): void {
  const tmp = new Float64Array(4 * n);
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const o0 = i * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    for (let j = 0; j < n; j++) {
      const m = j * n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t <= j; t++) {
        const w = invT[m + t];
        s0 += x[o0 + t] * w;
        s1 += x[o1 + t] * w;
        s2 += x[o2 + t] * w;
        s3 += x[o3 + t] * w;
      }
      tmp[j] = s0;
      tmp[n + j] = s1;
      tmp[2 * n + j] = s2;
      tmp[3 * n + j] = s3;
    }
    x.set(tmp, o0);
  }
  for (; i < rows; i++) {
    const o0 = i * n;
    for (let j = 0; j < n; j++) {
      const m = j * n;
      let s0 = 0;
      for (let t = 0; t <= j; t++) s0 += x[o0 + t] * invT[m + t];
      tmp[j] = s0;
    }
    for (let j = 0; j < n; j++) x[o0 + j] = tmp[j];
  }
}

/**
 * Orthonormalises the columns of X (rows x cols, row-major, rows >= cols) in place.
 * Cholesky QR (Gram + triangular solve: two BLAS-3-like passes, the fastest here), repeated once
 * when the factor is ill-conditioned; falls back to modified Gram–Schmidt with reorthogonalisation
 * when X is (numerically) rank deficient, replacing dependent columns with random directions from
 * `rng` so the result always has orthonormal columns.
 */
export function orthonormalizeColumns(x: Float64Array, rows: number, cols: number, rng: Rng): void {
  if (cols === 0) return;
  if (rows < cols) throw new RangeError(`orthonormalizeColumns: rows (${rows}) < cols (${cols})`);
  for (let pass = 0; pass < 2; pass++) {
    const g = new Float64Array(cols * cols);
    gramUpperAccumulate(x, rows, cols, g);
    const r = choleskyUpper(g, cols, 1e-12);
    if (!r) break; // -> Gram–Schmidt
    let minD = Infinity;
    let maxD = 0;
    for (let j = 0; j < cols; j++) {
      const d = r[j * cols + j];
      minD = Math.min(minD, d);
      maxD = Math.max(maxD, d);
    }
    mulUpperInPlace(x, rows, cols, upperInverseTransposed(r, cols));
    if (minD > 1e-3 * maxD) return; // orthogonality ~ eps * cond^2 is already ~1e-10 or better
    if (pass === 1) return;
  }
  gramSchmidtColumns(x, rows, cols, rng);
}

/** Modified Gram–Schmidt, twice ("twice is enough"), with random replacement of dependent columns. */
export function gramSchmidtColumns(x: Float64Array, rows: number, cols: number, rng: Rng): void {
  // Work column-major for contiguous column access.
  const q = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) q[j * rows + i] = x[i * cols + j];
  const col = new Float64Array(rows);
  for (let j = 0; j < cols; j++) {
    let attempts = 0;
    for (;;) {
      const base = j * rows;
      let norm0 = 0;
      for (let i = 0; i < rows; i++) norm0 += q[base + i] * q[base + i];
      norm0 = Math.sqrt(norm0);
      for (let pass = 0; pass < 2; pass++) {
        for (let k = 0; k < j; k++) {
          const kb = k * rows;
          let d = 0;
          for (let i = 0; i < rows; i++) d += q[kb + i] * q[base + i];
          for (let i = 0; i < rows; i++) q[base + i] -= d * q[kb + i];
        }
      }
      let norm = 0;
      for (let i = 0; i < rows; i++) norm += q[base + i] * q[base + i];
      norm = Math.sqrt(norm);
      if (norm > 1e-10 * Math.max(norm0, 1e-300) && norm > 1e-300) {
        for (let i = 0; i < rows; i++) q[base + i] /= norm;
        break;
      }
      if (++attempts > 10) throw new Error('gramSchmidtColumns: cannot complete an orthonormal basis');
      fillNormal(col, rng);
      q.set(col, base);
    }
  }
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) x[i * cols + j] = q[j * rows + i];
}

/**
 * Symmetric eigendecomposition (Householder tridiagonalisation + implicit QL; the EISPACK
 * tred2/tql2 pair as in JAMA). `a` is n x n row-major (only read). Returns eigenvalues in
 * *descending* order and eigenvectors as the rows of `vectors` (row i pairs with values[i]).
 */
export function symmetricEigen(a: Float64Array | Float32Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const V = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) {
    const v = a[i];
    if (!Number.isFinite(v)) throw new RangeError('symmetricEigen: non-finite input');
    V[i] = v;
  }
  // Symmetrise defensively (average) so tiny asymmetries do not matter.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const m = 0.5 * (V[i * n + j] + V[j * n + i]);
      V[i * n + j] = m;
      V[j * n + i] = m;
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: V };
  if (n === 1) {
    d[0] = V[0];
    V[0] = 1;
    return { values: d, vectors: V };
  }
  tred2(V, d, e, n);
  tql2(V, d, e, n);
  // tql2 sorts ascending with eigenvectors in columns. Return descending, as rows.
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    const c = n - 1 - r;
    values[r] = d[c];
    for (let k = 0; k < n; k++) vectors[r * n + k] = V[k * n + c];
  }
  return { values, vectors };
}

function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

function tql2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 200) throw new Error('symmetricEigen: QL iteration did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < n; k++) {
            const kn = k * n;
            h = V[kn + i + 1];
            V[kn + i + 1] = s * V[kn + i] + c * h;
            V[kn + i] = c * V[kn + i] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  // Selection sort ascending, swapping eigenvector columns.
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i];
    for (let j = i + 1; j < n; j++) {
      if (d[j] < p) {
        k = j;
        p = d[j];
      }
    }
    if (k !== i) {
      d[k] = d[i];
      d[i] = p;
      for (let j = 0; j < n; j++) {
        const jn = j * n;
        const t = V[jn + i];
        V[jn + i] = V[jn + k];
        V[jn + k] = t;
      }
    }
  }
}

export interface RandomizedSvdOptions {
  /** Extra random directions beyond k (default 10). */
  oversample?: number;
  /** Subspace (power) iterations (default 4). */
  powerIterations?: number;
  rng: Rng;
}

export interface RandomizedSvdResult {
  /** Number of singular triplets returned (min(k, rows, cols)). */
  k: number;
  /** Singular values, descending. */
  s: Float64Array;
  /** Right singular vectors as columns: a.cols x k, row-major (row j = column j's loadings). */
  v: Float64Array;
}

/**
 * Truncated SVD of a sparse matrix by randomized subspace iteration (Halko, Martinsson & Tropp
 * 2011, Alg. 4.3/4.4, the same scheme as scikit-learn's randomized_svd):
 *   Z = Omega (cols x l);  repeat q times: Z = A^T (A orth(Z));
 *   Y = A Z = Q R;  B^T = A^T Q = (A^T Y) R^-1;  B B^T = W L W^T;
 *   sigma = sqrt(L);  V = B^T W sigma^-1.
 * With q = 0 this is the basic range finder Q = orth(A Omega). The power iterations are
 * orthonormalised on the column side (cols x l, Cholesky QR). The range basis Q is never formed:
 * its Cholesky factor R is folded into the small l x l problem and into the final product
 * (an explicit orthonormalisation is the fallback when Y is rank deficient; singular vectors of
 * zero singular values are then completed with random orthonormal directions).
 * Cost: (2q + 2) sparse products of nnz * l, q orthonormalisations of cols x l, one Gram of
 * rows x l and one of cols x l, one cols x l x k product.
 */
export function randomizedSvd(a: CsrMatrix, k: number, opts: RandomizedSvdOptions): RandomizedSvdResult {
  const m = a.rows;
  const n = a.cols;
  const rank = Math.min(m, n);
  k = Math.max(0, Math.min(k, rank));
  const l = Math.min(rank, k + Math.max(0, opts.oversample ?? 10));
  const q = Math.max(0, opts.powerIterations ?? 4);
  if (k === 0 || l === 0) return { k: 0, s: new Float64Array(0), v: new Float64Array(0) };
  const at = csrTranspose(a);
  const z = new Float64Array(n * l);
  fillNormal(z, opts.rng);
  const y = new Float64Array(m * l);
  for (let it = 0; it < q; it++) {
    orthonormalizeColumns(z, n, l, opts.rng);
    csrMulDense(a, z, l, y);
    csrMulDense(at, y, l, z);
  }
  csrMulDense(a, z, l, y);
  // Y = Q R with Q = Y R^-1 left implicit, unless Y is too ill-conditioned for that.
  let invT: Float64Array | null = null; // (R^-1)^T, lower triangular
  {
    const gy = new Float64Array(l * l);
    gramUpperAccumulate(y, m, l, gy);
    const r = choleskyUpper(gy, l, 1e-12);
    let ok = r !== null;
    if (r) {
      let minD = Infinity;
      let maxD = 0;
      for (let j = 0; j < l; j++) {
        minD = Math.min(minD, r[j * l + j]);
        maxD = Math.max(maxD, r[j * l + j]);
      }
      ok = minD > 1e-5 * maxD;
      if (ok) invT = upperInverseTransposed(r, l);
    }
    if (!ok) orthonormalizeColumns(y, m, l, opts.rng);
  }
  csrMulDense(at, y, l, z); // z = A^T Y = B^T R
  let g = new Float64Array(l * l);
  gramUpperAccumulate(z, n, l, g);
  symmetrizeFromUpper(g, l);
  if (invT) {
    // g := Inv^T g Inv with Inv = R^-1 (Inv[i][j] = invT[j*l + i], upper triangular).
    const t = new Float64Array(l * l); // t = g Inv
    for (let i = 0; i < l; i++) {
      for (let b = 0; b < l; b++) {
        let acc = 0;
        for (let j = 0; j <= b; j++) acc += g[i * l + j] * invT[b * l + j];
        t[i * l + b] = acc;
      }
    }
    const h = new Float64Array(l * l);
    for (let aa = 0; aa < l; aa++) {
      for (let b = 0; b < l; b++) {
        let acc = 0;
        for (let i = 0; i <= aa; i++) acc += invT[aa * l + i] * t[i * l + b];
        h[aa * l + b] = acc;
      }
    }
    g = h;
  }
  const { values, vectors } = symmetricEigen(g, l); // rows of `vectors` are W's columns
  const s = new Float64Array(k);
  for (let i = 0; i < k; i++) s[i] = Math.sqrt(Math.max(0, values[i]));
  const tol = Math.max(s[0] * 1e-7, 1e-300);
  // V (n x k) = Z M with M = Inv W[:, :k] diag(1/sigma); mulByTransposed takes M^T (k x l).
  const mt = new Float64Array(k * l);
  let deficient = false;
  for (let j = 0; j < k; j++) {
    if (!(s[j] > tol)) {
      deficient = true;
      continue; // zero column for now
    }
    const inv = 1 / s[j];
    for (let tt = 0; tt < l; tt++) {
      let acc: number;
      if (invT) {
        acc = 0;
        for (let u = tt; u < l; u++) acc += invT[u * l + tt] * vectors[j * l + u];
      } else {
        acc = vectors[j * l + tt];
      }
      mt[j * l + tt] = acc * inv;
    }
  }
  const v = new Float64Array(n * k);
  mulByTransposed(z, n, l, mt, k, v);
  if (deficient) gramSchmidtColumns(v, n, k, opts.rng); // completes the null-space columns
  return { k, s, v };
}
