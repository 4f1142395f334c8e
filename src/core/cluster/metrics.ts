// Clustering quality: normalised mutual information against reference labels (e.g. the package a
// function comes from) and silhouette of the same labels in a layout vs in the original space.

import { createRng } from '../util/random.ts';
import { gatherRows, sampleIndices } from './kmeans.ts';
import { silhouetteSamplesMulti } from './silhouette.ts';

/** Dense 0-based codes of arbitrary integer labels, and how many distinct ones there are. */
function encode(labels: ArrayLike<number>): { codes: Int32Array; count: number } {
  const map = new Map<number, number>();
  const codes = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    let c = map.get(v);
    if (c === undefined) {
      c = map.size;
      map.set(v, c);
    }
    codes[i] = c;
  }
  return { codes, count: map.size };
}

function entropy(counts: ArrayLike<number>, n: number): number {
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c > 0) h -= (c / n) * Math.log(c / n);
  }
  return h;
}

/** Mutual information (nats) between two labellings of the same items. */
export function mutualInformation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`mutualInformation: lengths differ (${a.length} vs ${b.length})`);
  const n = a.length;
  if (n === 0) return 0;
  const A = encode(a);
  const B = encode(b);
  const ca = new Float64Array(A.count);
  const cb = new Float64Array(B.count);
  // Sparse contingency table: key = code_a * |B| + code_b (exact in a double up to 2^53).
  const joint = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    ca[A.codes[i]]++;
    cb[B.codes[i]]++;
    const key = A.codes[i] * B.count + B.codes[i];
    joint.set(key, (joint.get(key) ?? 0) + 1);
  }
  let mi = 0;
  for (const [key, nij] of joint) {
    const i = Math.floor(key / B.count);
    const j = key - i * B.count;
    mi += (nij / n) * Math.log((nij * n) / (ca[i] * cb[j]));
  }
  return mi > 0 ? mi : 0;
}

/**
 * Normalised mutual information with arithmetic-mean normalisation (scikit-learn's default):
 * MI / ((H(a) + H(b)) / 2). 1 when both labellings are a single (identical) cluster, 0 when MI = 0.
 */
export function normalizedMutualInformation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`nmi: lengths differ (${a.length} vs ${b.length})`);
  const A = encode(a);
  const B = encode(b);
  if ((A.count === 1 && B.count === 1) || (A.count === 0 && B.count === 0)) return 1;
  const mi = mutualInformation(A.codes, B.codes);
  if (mi === 0) return 0;
  const n = a.length;
  const ca = new Float64Array(A.count);
  const cb = new Float64Array(B.count);
  for (let i = 0; i < n; i++) {
    ca[A.codes[i]]++;
    cb[B.codes[i]]++;
  }
  const norm = (entropy(ca, n) + entropy(cb, n)) / 2;
  return mi / norm;
}

export interface SpaceQuality {
  /** Mean silhouette of the labels computed in the layout (e.g. 3-d). */
  layout: number;
  /** Mean silhouette of the same labels on the same sample in the original space (e.g. 768-d). */
  original: number;
  layoutPerCluster: Float64Array;
  originalPerCluster: Float64Array;
  /** Rows scored. */
  sample: Int32Array;
  ms: number;
}

function meanBy(values: Float64Array, labels: Int32Array, k: number): { mean: number; per: Float64Array } {
  const per = new Float64Array(k);
  const cnt = new Int32Array(k);
  let s = 0;
  for (let i = 0; i < values.length; i++) {
    per[labels[i]] += values[i];
    cnt[labels[i]]++;
    s += values[i];
  }
  let present = 0;
  for (let c = 0; c < k; c++) {
    if (cnt[c] > 0) present++;
    per[c] = cnt[c] > 0 ? per[c] / cnt[c] : NaN;
  }
  return { mean: present >= 2 ? s / Math.max(1, values.length) : NaN, per };
}

/**
 * How well a layout keeps the clusters: silhouette of `labels` in the layout (n x layoutDim) and in
 * the original space (n x originalDim), on the same uniform sample of rows.
 */
export function layoutQuality(
  layout: Float32Array,
  layoutDim: number,
  original: Float32Array,
  originalDim: number,
  n: number,
  labels: Int32Array,
  k: number,
  opts: { sampleSize?: number; seed?: number; signal?: AbortSignal } = {},
): SpaceQuality {
  const t0 = performance.now();
  const sample = sampleIndices(n, Math.min(n, opts.sampleSize ?? 25_000), createRng(opts.seed ?? 0));
  const lab = new Int32Array(sample.length);
  for (let p = 0; p < sample.length; p++) lab[p] = labels[sample[p]];
  const m = sample.length;
  const sl = silhouetteSamplesMulti(gatherRows(layout, layoutDim, sample), m, layoutDim, [lab], [k], opts.signal)[0];
  const so = silhouetteSamplesMulti(gatherRows(original, originalDim, sample), m, originalDim, [lab], [k], opts.signal)[0];
  const a = meanBy(sl, lab, k);
  const b = meanBy(so, lab, k);
  return { layout: a.mean, original: b.mean, layoutPerCluster: a.per, originalPerCluster: b.per, sample, ms: performance.now() - t0 };
}
