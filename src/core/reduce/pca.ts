// Principal component analysis for the first map layout (k = 2 or 3) and the explained-variance
// curve. Streaming: feed the vectors chunk by chunk (shard by shard) to a PcaAccumulator, which keeps
// only the running sum and the d x d scatter matrix (d = 256 -> 512 KiB); then finish(k) takes the
// symmetric eigendecomposition of the covariance (Householder + QL, O(d^3), ~20 ms at d = 256) and
// pcaProject() maps the same chunks (a second pass) to k-d coordinates.
//
// Conventions (as scikit-learn's PCA): covariance with the n - 1 denominator; explained variance
// ratio = eigenvalue / sum of all eigenvalues, reported for all d components. Signs are fixed so
// that each component's largest-magnitude loading is positive (deterministic across runs).
// Numerics: rows are shifted by the first chunk's mean before accumulating, so the raw second
// moments do not cancel catastrophically when the data sit far from the origin.

import { gramUpperAccumulate, mulByTransposed, symmetricEigen, symmetrizeFromUpper } from '../util/linalg.ts';

export interface PcaModel {
  dim: number;
  /** Components kept. */
  k: number;
  /** Rows seen. */
  count: number;
  mean: Float64Array;
  /** k x dim, row-major, unit-length rows, by decreasing variance. */
  components: Float64Array;
  /** All dim eigenvalues of the covariance, descending (negatives from round-off clamped to 0). */
  explainedVariance: Float64Array;
  /** explainedVariance / its sum, all dim values (zeros when there is no variance). */
  explainedVarianceRatio: Float64Array;
}

const BLOCK = 64;

export class PcaAccumulator {
  readonly dim: number;
  private n = 0;
  private shift: Float64Array | null = null;
  private readonly sum: Float64Array;
  private readonly scatter: Float64Array;
  private readonly block: Float64Array;

  constructor(dim: number) {
    if (!(dim >= 1)) throw new RangeError('PcaAccumulator: dim must be >= 1');
    this.dim = dim;
    this.sum = new Float64Array(dim);
    this.scatter = new Float64Array(dim * dim);
    this.block = new Float64Array(BLOCK * dim);
  }

  get count(): number {
    return this.n;
  }

  /** Adds `count` rows (row-major, dim values each) from `rows`. */
  add(rows: ArrayLike<number>, count = Math.floor(rows.length / this.dim)): void {
    const d = this.dim;
    if (count * d > rows.length) throw new RangeError('PcaAccumulator.add: rows shorter than count * dim');
    if (count === 0) return;
    if (!this.shift) {
      const s = new Float64Array(d);
      for (let i = 0; i < count; i++) for (let j = 0; j < d; j++) s[j] += rows[i * d + j];
      for (let j = 0; j < d; j++) s[j] /= count;
      this.shift = s;
    }
    const shift = this.shift;
    const block = this.block;
    const sum = this.sum;
    for (let r0 = 0; r0 < count; r0 += BLOCK) {
      const nb = Math.min(BLOCK, count - r0);
      for (let i = 0; i < nb; i++) {
        const src = (r0 + i) * d;
        const dst = i * d;
        for (let j = 0; j < d; j++) {
          const v = rows[src + j] - shift[j];
          block[dst + j] = v;
          sum[j] += v;
        }
      }
      gramUpperAccumulate(block, nb, d, this.scatter);
    }
    this.n += count;
  }

  /** Covariance matrix (dim x dim, full, n - 1 denominator; zeros for fewer than 2 rows). */
  covariance(): Float64Array {
    const d = this.dim;
    const n = this.n;
    const c = new Float64Array(d * d);
    if (n < 2) return c;
    const m = new Float64Array(d);
    for (let j = 0; j < d; j++) m[j] = this.sum[j] / n;
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) c[a * d + b] = (this.scatter[a * d + b] - n * m[a] * m[b]) / (n - 1);
    }
    symmetrizeFromUpper(c, d);
    return c;
  }

  /** Mean of the rows seen. */
  mean(): Float64Array {
    const d = this.dim;
    const out = new Float64Array(d);
    if (this.n === 0) return out;
    for (let j = 0; j < d; j++) out[j] = (this.shift ? this.shift[j] : 0) + this.sum[j] / this.n;
    return out;
  }

  /** Eigendecomposition of the covariance; keeps the top k components. */
  finish(k: number): PcaModel {
    const d = this.dim;
    k = Math.max(0, Math.min(k, d));
    const { values, vectors } = symmetricEigen(this.covariance(), d);
    const explainedVariance = new Float64Array(d);
    let total = 0;
    for (let i = 0; i < d; i++) {
      explainedVariance[i] = Math.max(0, values[i]);
      total += explainedVariance[i];
    }
    const explainedVarianceRatio = new Float64Array(d);
    if (total > 0) for (let i = 0; i < d; i++) explainedVarianceRatio[i] = explainedVariance[i] / total;
    const components = vectors.slice(0, k * d);
    for (let c = 0; c < k; c++) {
      let best = 0;
      for (let j = 0; j < d; j++) if (Math.abs(components[c * d + j]) > Math.abs(best)) best = components[c * d + j];
      if (best < 0) for (let j = 0; j < d; j++) components[c * d + j] = -components[c * d + j];
    }
    return { dim: d, k, count: this.n, mean: this.mean(), components, explainedVariance, explainedVarianceRatio };
  }
}

/**
 * Projects `count` rows (row-major, model.dim values each) onto the model's components:
 * returns count x k coordinates, row-major.
 */
export function pcaProject(
  model: PcaModel,
  rows: Float32Array | Float64Array,
  count = Math.floor(rows.length / model.dim),
  out = new Float32Array(count * model.k),
): Float32Array {
  const { dim, k, components, mean } = model;
  if (count * dim > rows.length) throw new RangeError('pcaProject: rows shorter than count * dim');
  if (out.length < count * k) throw new RangeError('pcaProject: out too short');
  // (x - mean) . c = x . c - mean . c, in float64 per block, rounded once into `out`.
  const offset = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += mean[j] * components[c * dim + j];
    offset[c] = s;
  }
  const tmp = new Float64Array(BLOCK * k);
  const block = new Float64Array(BLOCK * dim);
  for (let r0 = 0; r0 < count; r0 += BLOCK) {
    const nb = Math.min(BLOCK, count - r0);
    for (let t = 0; t < nb * dim; t++) block[t] = rows[r0 * dim + t];
    mulByTransposed(block, nb, dim, components, k, tmp);
    for (let i = 0; i < nb; i++) for (let c = 0; c < k; c++) out[(r0 + i) * k + c] = tmp[i * k + c] - offset[c];
  }
  return out;
}

/** One-shot PCA of an in-memory matrix (count x dim, row-major) to k components. */
export function pca(
  rows: Float32Array | Float64Array,
  dim: number,
  k: number,
): { model: PcaModel; coords: Float32Array } {
  const acc = new PcaAccumulator(dim);
  acc.add(rows);
  const model = acc.finish(k);
  return { model, coords: pcaProject(model, rows) };
}
