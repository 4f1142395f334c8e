// Weighted MinHash by consistent weighted sampling (Ioffe, "Improved Consistent Sampling, Weighted
// Minhash and L1 Sketching", ICDM 2010), as apollo/gemini use it. For sample k and feature f with
// weight S > 0:
//   r, c ~ Gamma(2, 1),  beta ~ U(0, 1)      (drawn from hash(seed, k, f): nothing is stored)
//   t = floor(ln S / r + beta),  ln a = ln c - r (t - beta) - r
// and the sample is (f*, t*) of the feature with the smallest a. P[sample equal] = weighted Jaccard
// sum(min)/sum(max). Each sample is stored as one 32-bit hash of (f*, t*); the estimate of the
// similarity is the fraction of equal samples (32-bit collisions add ~2^-32 per sample).
// Gamma(2, 1) = -ln(u1 u2). Uniforms have 32 bits of resolution, centred in their cell (never 0 or 1).
import { combine32, fmix32 } from './features.ts';
import type { WeightedSet } from './tfidf.ts';

const INV_2_32 = 1 / 4294967296;
const GOLDEN = 0x9e3779b9;

/** The signature of an empty set: every sample this value (so two empty sets look identical). */
export const EMPTY_SAMPLE = 0;

/** Draws r, ln c and beta for sample stream `ks` and feature `h` into out[o..o+2]. */
function draw(ks: number, h: number, out: Float64Array, o: number): void {
  const base = combine32(ks, h);
  const u1 = (fmix32(base) + 0.5) * INV_2_32;
  const u2 = (fmix32((base + GOLDEN) >>> 0) + 0.5) * INV_2_32;
  const u3 = (fmix32((base + 2 * GOLDEN) >>> 0) + 0.5) * INV_2_32;
  const u4 = (fmix32((base + 3 * GOLDEN) >>> 0) + 0.5) * INV_2_32;
  out[o] = -Math.log(u1 * u2);
  out[o + 1] = Math.log(-Math.log(u3 * u4));
  out[o + 2] = (fmix32((base + 4 * GOLDEN) >>> 0) + 0.5) * INV_2_32;
}

/** Default memory for cached draws of frequent features (bytes). */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

/** How many features' draws fit in `cacheBytes` at `samples` samples. */
export function drawCacheCapacity(samples: number, cacheBytes = DEFAULT_CACHE_BYTES): number {
  return Math.floor(cacheBytes / (samples * 3 * 8));
}

/**
 * The draws of chosen features for every sample, computed once: a thread that signs batch after
 * batch builds one from the corpus's most frequent features and passes it to every call. Cached and
 * recomputed draws are bit-identical, so which features are cached never changes a signature.
 */
export interface DrawCache {
  samples: number;
  seed: number;
  slot: Map<number, number>;
  table: Float64Array;
}

function sampleStreams(samples: number, seed: number): Uint32Array {
  const streams = new Uint32Array(samples);
  for (let k = 0; k < samples; k++) streams[k] = combine32(seed >>> 0, k);
  return streams;
}

/** A draw cache of `features` (distinct hashes). */
export function buildDrawCache(features: ArrayLike<number>, samples: number, seed: number): DrawCache {
  const streams = sampleStreams(samples, seed);
  const table = new Float64Array(features.length * samples * 3);
  const slot = new Map<number, number>();
  for (let c = 0; c < features.length; c++) {
    slot.set(features[c], c);
    for (let k = 0; k < samples; k++) draw(streams[k], features[c], table, (c * samples + k) * 3);
  }
  return { samples, seed, slot, table };
}

/**
 * Signatures of `sets`, `samples` per set, row-major: out[i * samples + k].
 * The draws of features that occur in several sets are computed once and kept (most frequent first,
 * up to `cacheBytes`), or taken from `cache` when one is given; cached and recomputed draws are
 * bit-identical, so the cache never changes results.
 */
export function weightedMinHash(sets: readonly WeightedSet[], samples: number, seed: number, cacheBytes = DEFAULT_CACHE_BYTES, cache?: DrawCache): Uint32Array {
  const out = new Uint32Array(sets.length * samples);
  const streams = sampleStreams(samples, seed);
  if (cache && (cache.samples !== samples || cache.seed !== seed)) {
    throw new RangeError(`weightedMinHash: a draw cache for ${cache.samples} samples / seed ${cache.seed} used for ${samples} / ${seed}`);
  }
  const { slot, table } = cache ?? buildDrawCache(frequentFeatures(sets, drawCacheCapacity(samples, cacheBytes)), samples, seed);
  const tmp = new Float64Array(3);
  let logS = new Float64Array(64);
  let slots = new Int32Array(64);
  for (let i = 0; i < sets.length; i++) {
    const { hashes, weights } = sets[i];
    const n = hashes.length;
    if (n === 0) continue;
    if (logS.length < n) {
      logS = new Float64Array(n * 2);
      slots = new Int32Array(n * 2);
    }
    for (let j = 0; j < n; j++) {
      logS[j] = Math.log(weights[j]);
      slots[j] = slot.get(hashes[j]) ?? -1;
    }
    for (let k = 0; k < samples; k++) {
      const ks = streams[k];
      let best = Infinity;
      let bestH = 0;
      let bestT = 0;
      for (let j = 0; j < n; j++) {
        let r: number;
        let lnC: number;
        let beta: number;
        const sl = slots[j];
        if (sl >= 0) {
          const o = (sl * samples + k) * 3;
          r = table[o];
          lnC = table[o + 1];
          beta = table[o + 2];
        } else {
          draw(ks, hashes[j], tmp, 0);
          r = tmp[0];
          lnC = tmp[1];
          beta = tmp[2];
        }
        const t = Math.floor(logS[j] / r + beta);
        const lnA = lnC - r * (t - beta) - r;
        if (lnA < best) {
          best = lnA;
          bestH = hashes[j];
          bestT = t;
        }
      }
      out[i * samples + k] = fmix32(combine32(combine32(0x2545f491, bestH), bestT | 0)) || 1;
    }
  }
  return out;
}

/** Up to `max` features that occur in two or more of `sets`, most frequent first (ties: smaller hash first). */
function frequentFeatures(sets: readonly WeightedSet[], max: number): number[] {
  const freq = new Map<number, number>();
  for (const s of sets) for (let j = 0; j < s.hashes.length; j++) freq.set(s.hashes[j], (freq.get(s.hashes[j]) ?? 0) + 1);
  const frequent: number[] = [];
  for (const [h, c] of freq) if (c >= 2) frequent.push(h);
  frequent.sort((x, y) => (freq.get(y) ?? 0) - (freq.get(x) ?? 0) || x - y);
  return frequent.slice(0, max);
}

/**
 * Estimated weighted Jaccard of items a and b: fraction of equal samples among the first `samples`
 * of rows `stride` words long (a signature with more samples holds the shorter one as its prefix).
 */
export function estimateJaccard(sig: Uint32Array, samples: number, a: number, b: number, stride = samples): number {
  const oa = a * stride;
  const ob = b * stride;
  let eq = 0;
  for (let k = 0; k < samples; k++) if (sig[oa + k] === sig[ob + k]) eq++;
  return eq / samples;
}
