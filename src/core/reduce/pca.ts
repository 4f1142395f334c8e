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
//
// Two algorithms, both streaming:
//  - PcaAccumulator (one pass + eigh): n d^2 / 2 multiply-adds. Exact, and gives the whole
//    explained-variance curve (all d components: the study's Figure 15). The Gram update is the hot
//    loop: from d = 64 on it runs on the WebAssembly SIMD kernel (pca-simd.ts, upper triangle,
//    ~7x the float64 JS loop and ~3x tfjs' XNNPACK sgemm in pca-tf.ts, which callers may still plug in).
//  - randomizedPca (subspace iteration with Rayleigh–Ritz, Halko et al. 2011 on the covariance):
//    q + 1 passes over the data of 2 n d l multiply-adds each (l = k + oversample). At d = 768,
//    k = 100 (l = 110) and q = 2 that is 2.9e11 against 1.6e11 for the covariance, so the
//    accumulator is the default; randomizedPca is for large d or small k, and its curve covers
//    only the k components found (their ratios are still against the exact total variance).

import { gramUpperAccumulate, mulByTransposed, orthonormalizeColumns, symmetricEigen, symmetrizeFromUpper } from '../util/linalg.ts';
import { createRng, fillNormal } from '../util/random.ts';
import { simdGramKernel } from './pca-simd.ts';

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
  /**
   * explainedVariance / total variance, all dim values for the accumulator (k values for
   * randomizedPca); zeros when there is no variance.
   */
  explainedVarianceRatio: Float64Array;
}

/** The explained-variance curve (Figure 15): per-component ratio and its running sum. */
export interface ExplainedVarianceCurve {
  ratio: Float64Array;
  cumulative: Float64Array;
}

/** Ratio and cumulative ratio for the first `components` components (all available by default). */
export function explainedVarianceCurve(model: PcaModel, components = model.explainedVarianceRatio.length): ExplainedVarianceCurve {
  const m = Math.max(0, Math.min(components, model.explainedVarianceRatio.length));
  const ratio = model.explainedVarianceRatio.slice(0, m);
  const cumulative = new Float64Array(m);
  let acc = 0;
  for (let i = 0; i < m; i++) {
    acc += ratio[i];
    cumulative[i] = acc;
  }
  return { ratio, cumulative };
}

/** Smallest number of components whose cumulative ratio reaches `fraction` (or -1 if none does). */
export function componentsForVariance(model: PcaModel, fraction: number): number {
  const { cumulative } = explainedVarianceCurve(model);
  for (let i = 0; i < cumulative.length; i++) if (cumulative[i] >= fraction - 1e-12) return i + 1;
  return -1;
}

/**
 * Adds the full Gram matrix (dim x dim, row-major) of `rows` x dim values (row-major, float32,
 * already shifted) to `scatter` (float64). Plugged into PcaAccumulator to replace the JS loop.
 */
export type GramKernel = ((rows: Float32Array, count: number, dim: number, scatter: Float64Array) => void) & {
  /** Set when the kernel adds only the upper triangle (column >= row), as the JS loop does. */
  upperOnly?: boolean;
};

export interface PcaAccumulatorOptions {
  /**
   * Gram update: by default the WebAssembly SIMD kernel (pca-simd.ts) where the engine has SIMD and
   * dim >= SIMD_MIN_DIM, else the float64 JS loop; `null` forces the JS loop; tfGramKernel (pca-tf.ts) runs it on tfjs.
   * Rows go through a kernel in blocks of `kernelBlock`.
   */
  gramKernel?: GramKernel | null;
  /** Rows per kernel call (default 4096). */
  kernelBlock?: number;
}

const BLOCK = 64;
/**
 * Narrower rows keep the float64 loop by default: it costs little there (n d^2 / 2), and callers at
 * small d (tests, toy layouts) get float64-exact results; from the embeddings' widths (256, 768) on,
 * the Gram update dominates and the float32 SIMD kernel is ~7x the loop.
 */
const SIMD_MIN_DIM = 64;

export class PcaAccumulator {
  readonly dim: number;
  private n = 0;
  private shift: Float64Array | null = null;
  private readonly sum: Float64Array;
  private readonly scatter: Float64Array;
  private readonly block: Float64Array;
  private readonly kernel: GramKernel | null;
  private readonly kernelBlock: number;
  private kernelBuf: Float32Array | null = null;
  /** The kernel fills the full matrix; the JS loop and the SIMD kernel only the upper triangle. */
  private fullScatter = false;

  constructor(dim: number, opts: PcaAccumulatorOptions = {}) {
    if (!(dim >= 1)) throw new RangeError('PcaAccumulator: dim must be >= 1');
    this.dim = dim;
    this.sum = new Float64Array(dim);
    this.scatter = new Float64Array(dim * dim);
    this.block = new Float64Array(BLOCK * dim);
    this.kernel = opts.gramKernel === undefined ? (dim >= SIMD_MIN_DIM ? simdGramKernel() : null) : opts.gramKernel;
    this.kernelBlock = Math.max(1, Math.floor(opts.kernelBlock ?? 4096));
    this.fullScatter = this.kernel !== null && !this.kernel.upperOnly;
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
    if (this.kernel) {
      // Shifted rows in float32 blocks; each block's Gram is summed into the float64 scatter, so
      // float32 rounding stays within one block of rows.
      const kb = this.kernelBlock;
      this.kernelBuf ??= new Float32Array(kb * d);
      const buf = this.kernelBuf;
      for (let r0 = 0; r0 < count; r0 += kb) {
        const nb = Math.min(kb, count - r0);
        for (let i = 0; i < nb; i++) {
          const src = (r0 + i) * d;
          const dst = i * d;
          for (let j = 0; j < d; j++) {
            const v = rows[src + j] - shift[j];
            buf[dst + j] = v;
            sum[j] += v;
          }
        }
        this.kernel(buf.subarray(0, nb * d), nb, d, this.scatter);
      }
      this.n += count;
      return;
    }
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
      for (let b = a; b < d; b++) {
        // With a kernel the full matrix is accumulated: average both triangles.
        const s = this.fullScatter ? 0.5 * (this.scatter[a * d + b] + this.scatter[b * d + a]) : this.scatter[a * d + b];
        c[a * d + b] = (s - n * m[a] * m[b]) / (n - 1);
      }
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
    fixSigns(components, k, d);
    return { dim: d, k, count: this.n, mean: this.mean(), components, explainedVariance, explainedVarianceRatio };
  }
}

function fixSigns(components: Float64Array, k: number, d: number): void {
  for (let c = 0; c < k; c++) {
    let best = 0;
    for (let j = 0; j < d; j++) if (Math.abs(components[c * d + j]) > Math.abs(best)) best = components[c * d + j];
    if (best < 0) for (let j = 0; j < d; j++) components[c * d + j] = -components[c * d + j];
  }
}

/** Chunks of whole rows (row-major, dim values each); called once per pass, must yield the same rows each time. */
export type RowSource = () => Iterable<Float32Array | Float64Array> | AsyncIterable<Float32Array | Float64Array>;

export interface RandomizedPcaOptions {
  /** Extra directions beyond k (default 10). */
  oversample?: number;
  /** Power (subspace) iterations (default 2); passes over the data = powerIterations + 1. */
  powerIterations?: number;
  seed?: number;
  /** Called after each pass with (pass, passes). */
  onPass?(pass: number, passes: number): void;
}

/**
 * Streaming randomized PCA: subspace iteration on the covariance, V <- orth(C V), with C V formed
 * chunk by chunk as sum_i (x_i - s)(x_i - s)^T V and corrected for the mean afterwards (s is the
 * first chunk's mean, as in the accumulator). The last pass also yields the Rayleigh quotient
 * V^T C V, whose eigenpairs give the components and variances; the total variance (trace of C)
 * comes from the same pass, so explained-variance ratios are exact fractions of the total.
 */
export async function randomizedPca(source: RowSource, dim: number, k: number, opts: RandomizedPcaOptions = {}): Promise<PcaModel> {
  const d = dim;
  k = Math.max(0, Math.min(k, d));
  const l = Math.min(d, k + Math.max(0, opts.oversample ?? 10));
  const passes = Math.max(0, opts.powerIterations ?? 2) + 1;
  const rng = createRng(opts.seed ?? 0);
  // V: l x d, rows are the current basis vectors (orthonormalised as columns of d x l).
  const vt = new Float64Array(d * l); // d x l (columns = basis) for orthonormalizeColumns
  fillNormal(vt, rng);
  orthonormalizeColumns(vt, d, l, rng);
  const v = new Float64Array(l * d);
  let shift: Float64Array | null = null;
  let n = 0;
  const sum = new Float64Array(d);
  let sumSq = 0;
  const z = new Float64Array(l * d); // (S V)^T = sum_i y_i (x_i - s)^T, l x d
  const block = new Float64Array(BLOCK * d);
  const blockT = new Float64Array(d * BLOCK);
  const y = new Float64Array(BLOCK * l);
  const yT = new Float64Array(l * BLOCK);
  const zt = new Float64Array(d * l);
  let rayleigh = new Float64Array(l * l);
  for (let pass = 0; pass < passes; pass++) {
    for (let c = 0; c < l; c++) for (let j = 0; j < d; j++) v[c * d + j] = vt[j * l + c];
    z.fill(0);
    const first = pass === 0;
    for await (const chunk of source()) {
      const count = Math.floor(chunk.length / d);
      if (count === 0) continue;
      if (!shift) {
        shift = new Float64Array(d);
        for (let i = 0; i < count; i++) for (let j = 0; j < d; j++) shift[j] += chunk[i * d + j];
        for (let j = 0; j < d; j++) shift[j] /= count;
      }
      for (let r0 = 0; r0 < count; r0 += BLOCK) {
        const nb = Math.min(BLOCK, count - r0);
        for (let i = 0; i < nb; i++) {
          for (let j = 0; j < d; j++) {
            const val = chunk[(r0 + i) * d + j] - shift[j];
            block[i * d + j] = val;
            blockT[j * nb + i] = val;
            if (first) {
              sum[j] += val;
              sumSq += val * val;
            }
          }
        }
        mulByTransposed(block, nb, d, v, l, y); // y = B V^T: nb x l
        for (let i = 0; i < nb; i++) for (let c = 0; c < l; c++) yT[c * nb + i] = y[i * l + c];
        mulByTransposed(blockT, d, nb, yT, l, zt); // zt = B^T y: d x l
        for (let j = 0; j < d; j++) for (let c = 0; c < l; c++) z[c * d + j] += zt[j * l + c];
      }
      if (first) n += count;
    }
    if (n === 0 || !shift) break;
    // C V (n - 1) = S V - n delta (delta^T V), delta = mean - shift.
    for (let c = 0; c < l; c++) {
      let dv = 0;
      for (let j = 0; j < d; j++) dv += (sum[j] / n) * v[c * d + j];
      for (let j = 0; j < d; j++) z[c * d + j] = (z[c * d + j] - n * (sum[j] / n) * dv) / Math.max(1, n - 1);
    }
    if (pass === passes - 1) {
      // Rayleigh quotient H = V^T C V (l x l).
      rayleigh = new Float64Array(l * l);
      for (let a = 0; a < l; a++) {
        for (let b = 0; b < l; b++) {
          let acc = 0;
          for (let j = 0; j < d; j++) acc += v[a * d + j] * z[b * d + j];
          rayleigh[a * l + b] = acc;
        }
      }
    } else {
      for (let c = 0; c < l; c++) for (let j = 0; j < d; j++) vt[j * l + c] = z[c * d + j];
      orthonormalizeColumns(vt, d, l, rng);
    }
    opts.onPass?.(pass + 1, passes);
  }
  const mean = new Float64Array(d);
  let total = 0;
  if (shift && n > 0) {
    for (let j = 0; j < d; j++) mean[j] = shift[j] + sum[j] / n;
    // Trace of the covariance: sum |x - s|^2 - n |delta|^2, over n - 1.
    let dd = 0;
    for (let j = 0; j < d; j++) dd += (sum[j] / n) ** 2;
    total = n > 1 ? Math.max(0, (sumSq - n * dd) / (n - 1)) : 0;
  }
  const { values, vectors } = symmetricEigen(rayleigh, l);
  const components = new Float64Array(k * d);
  const explainedVariance = new Float64Array(k);
  const explainedVarianceRatio = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    explainedVariance[c] = n > 1 ? Math.max(0, values[c]) : 0;
    explainedVarianceRatio[c] = total > 0 ? explainedVariance[c] / total : 0;
    for (let t = 0; t < l; t++) {
      const w = vectors[c * l + t];
      for (let j = 0; j < d; j++) components[c * d + j] += w * v[t * d + j];
    }
  }
  fixSigns(components, k, d);
  return { dim: d, k, count: n, mean, components, explainedVariance, explainedVarianceRatio };
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
