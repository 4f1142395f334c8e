// Locality-sensitive hashing over weighted-MinHash signatures: b bands of r rows. Two items with
// similarity s share at least one band bucket with probability 1 - (1 - s^r)^b.
// (b, r) for a threshold t and n samples minimise, as apollo's hasher and datasketch's _optimal_param
// do, wFP * FP + wFN * FN with
//   FP = integral_0^t  1 - (1 - s^r)^b ds,    FN = integral_t^1 (1 - s^r)^b ds,
// over b = 1..n, r = 1..floor(n / b) (first minimum kept, b outer, r inner — datasketch's order).
// The integrals are computed with composite Gauss–Legendre quadrature (exact to ~1e-12 here).
import { combine32, fmix32 } from './features.ts';

// 8-point Gauss–Legendre nodes and weights on [-1, 1].
const GL_X = [-0.9602898564975363, -0.7966664774136267, -0.5255324099163290, -0.1834346424956498, 0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363];
const GL_W = [0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.3626837833783620, 0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763];

function integrate(f: (s: number) => number, lo: number, hi: number, pieces = 64): number {
  if (hi <= lo) return 0;
  const h = (hi - lo) / pieces;
  let sum = 0;
  for (let p = 0; p < pieces; p++) {
    const mid = lo + (p + 0.5) * h;
    for (let i = 0; i < 8; i++) sum += GL_W[i] * f(mid + 0.5 * h * GL_X[i]);
  }
  return 0.5 * h * sum;
}

/** Probability-integral of false positives below `threshold` for b bands of r rows. */
export function falsePositiveArea(threshold: number, b: number, r: number): number {
  return integrate((s) => 1 - Math.pow(1 - Math.pow(s, r), b), 0, threshold);
}

/** Probability-integral of false negatives above `threshold`. */
export function falseNegativeArea(threshold: number, b: number, r: number): number {
  return integrate((s) => Math.pow(1 - Math.pow(s, r), b), threshold, 1);
}

export interface LshParams {
  bands: number;
  rows: number;
  falsePositive: number;
  falseNegative: number;
}

/** datasketch's _optimal_param: the (bands, rows) minimising the weighted error for `threshold`. */
export function optimalParams(threshold: number, samples: number, fpWeight = 0.5, fnWeight = 0.5): LshParams {
  let best: LshParams = { bands: 0, rows: 0, falsePositive: 0, falseNegative: 0 };
  let minErr = Infinity;
  for (let b = 1; b <= samples; b++) {
    const maxR = Math.floor(samples / b);
    for (let r = 1; r <= maxR; r++) {
      const fp = falsePositiveArea(threshold, b, r);
      const fn = falseNegativeArea(threshold, b, r);
      const err = fp * fpWeight + fn * fnWeight;
      if (err < minErr) {
        minErr = err;
        best = { bands: b, rows: r, falsePositive: fp, falseNegative: fn };
      }
    }
  }
  return best;
}

/** Band hashes: out[i * bands + band] = hash of rows band*r..band*r+r-1 of item i's signature (and the band). */
export function bandHashes(sig: Uint32Array, nItems: number, samples: number, bands: number, rows: number): Uint32Array {
  if (bands * rows > samples) throw new RangeError(`lsh: ${bands} x ${rows} > ${samples} samples`);
  const out = new Uint32Array(nItems * bands);
  for (let i = 0; i < nItems; i++) {
    for (let band = 0; band < bands; band++) {
      let h = combine32(0x6a09e667, band);
      const o = i * samples + band * rows;
      for (let j = 0; j < rows; j++) h = combine32(h, sig[o + j]);
      out[i * bands + band] = fmix32(h ^ rows);
    }
  }
  return out;
}

export interface CandidateResult {
  /** Candidate pairs (a < b), as pair keys a * nItems + b, sorted ascending. */
  keys: Float64Array;
  /** Buckets whose size passed the cap (linked as chains), and the largest bucket seen. */
  cappedBuckets: number;
  largestBucket: number;
  /** True when candidate generation stopped at maxCandidates. */
  truncated: boolean;
}

/**
 * Candidate pairs: items sharing a bucket in any band. A bucket of m <= cap items gives all its
 * m(m-1)/2 pairs; a larger one links each member (in id order) to the next `window` members only,
 * which keeps it connected in O(m) pairs. `include[i] === 0` leaves item i out.
 */
export function candidatePairs(
  bh: Uint32Array,
  nItems: number,
  bands: number,
  cap: number,
  window: number,
  maxCandidates: number,
  include?: Uint8Array,
): CandidateResult {
  const seen = new Set<number>();
  let cappedBuckets = 0;
  let largestBucket = 0;
  let truncated = false;
  const members: number[] = [];
  for (let i = 0; i < nItems; i++) if (!include || include[i]) members.push(i);
  const order = new Uint32Array(members.length);
  const keyOf = new Uint32Array(nItems);
  outer: for (let band = 0; band < bands; band++) {
    for (const i of members) keyOf[i] = bh[i * bands + band];
    order.set(members);
    // Sort by (bucket hash, id): runs are buckets with members in id order.
    order.sort((x, y) => keyOf[x] - keyOf[y] || x - y);
    let s = 0;
    while (s < order.length) {
      let e = s + 1;
      while (e < order.length && keyOf[order[e]] === keyOf[order[s]]) e++;
      const m = e - s;
      if (m > largestBucket) largestBucket = m;
      if (m > 1) {
        const w = m > cap ? window : m;
        if (m > cap) cappedBuckets++;
        for (let x = s; x < e; x++) {
          const xe = Math.min(e, x + 1 + w);
          for (let y = x + 1; y < xe; y++) {
            seen.add(order[x] * nItems + order[y]);
            if (seen.size >= maxCandidates) {
              truncated = true;
              break outer;
            }
          }
        }
      }
      s = e;
    }
  }
  const keys = Float64Array.from(seen).sort();
  return { keys, cappedBuckets, largestBucket, truncated };
}
