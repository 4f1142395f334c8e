// The dedup core's hashing steps on weighted sets, timed (best of `runs`): weighted MinHash, LSH
// band hashes + candidate pairs, verification. One implementation for both sides of
// dedup-browser.bench.ts: Node calls it directly, the page through dedup-entry.ts.
import { estimateJaccard, weightedMinHash } from '../../../src/core/dedup/minhash.ts';
import { bandHashes, candidatePairs } from '../../../src/core/dedup/lsh.ts';
import { PRESET_GEMINI_FUNC } from '../../../src/core/dedup/settings.ts';
import type { WeightedSet } from '../../../src/core/dedup/tfidf.ts';

export interface StepTimes {
  minhashS: number;
  lshS: number;
  verifyS: number;
  pairs: number;
  verified: number;
  /** A checksum of the signatures, so the two sides can be shown to compute the same thing. */
  check: number;
}

/** Weighted sets packed into one buffer: [n, total], offsets (n + 1), hashes (total), weights (total, float32). */
export function packSets(sets: readonly WeightedSet[]): ArrayBuffer {
  const n = sets.length;
  const total = sets.reduce((s, x) => s + x.hashes.length, 0);
  const buf = new ArrayBuffer(4 * (2 + n + 1 + 2 * total));
  const head = new Uint32Array(buf, 0, 2 + n + 1);
  head[0] = n;
  head[1] = total;
  const hashes = new Uint32Array(buf, 4 * (3 + n), total);
  const weights = new Float32Array(buf, 4 * (3 + n + total), total);
  let at = 0;
  for (let i = 0; i < n; i++) {
    head[2 + i] = at;
    hashes.set(sets[i]!.hashes, at);
    weights.set(sets[i]!.weights, at);
    at += sets[i]!.hashes.length;
  }
  head[2 + n] = at;
  return buf;
}

/** The sets of packSets, as views into `buf`. */
export function unpackSets(buf: ArrayBuffer): WeightedSet[] {
  const [n, total] = new Uint32Array(buf, 0, 2) as unknown as [number, number];
  const off = new Uint32Array(buf, 8, n + 1);
  const hashes = new Uint32Array(buf, 4 * (3 + n), total);
  const weights = new Float32Array(buf, 4 * (3 + n + total), total);
  const sets: WeightedSet[] = [];
  for (let i = 0; i < n; i++) sets.push({ hashes: hashes.subarray(off[i], off[i + 1]), weights: weights.subarray(off[i], off[i + 1]) });
  return sets;
}

export function best<T>(runs: number, fn: () => T): { s: number; value: T } {
  let s = Infinity;
  let value: T | undefined;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    value = fn();
    s = Math.min(s, (performance.now() - t0) / 1000);
  }
  return { s, value: value as T };
}

export function hashSteps(sets: readonly WeightedSet[], runs: number): StepTimes {
  const settings = PRESET_GEMINI_FUNC;
  const S = settings.samples;
  const n = sets.length;
  const mh = best(runs, () => weightedMinHash(sets, S, settings.seed));
  const sig = mh.value;
  const include = Uint8Array.from(sets, (s) => (s.hashes.length > 0 ? 1 : 0));
  const lsh = best(runs, () => candidatePairs(bandHashes(sig, n, S, settings.bands, settings.rows), n, settings.bands, settings.bucketCap, settings.bucketWindow, settings.maxCandidates, include));
  const keys = lsh.value.keys;
  const verify = best(runs, () => {
    let kept = 0;
    for (const key of keys) {
      const x = Math.floor(key / n);
      if (estimateJaccard(sig, S, x, key - x * n) >= settings.threshold) kept++;
    }
    return kept;
  });
  let check = 0;
  for (let i = 0; i < sig.length; i++) check = (Math.imul(check, 31) + sig[i]!) >>> 0;
  return { minhashS: mh.s, lshS: lsh.s, verifyS: verify.s, pairs: keys.length, verified: verify.value, check };
}
