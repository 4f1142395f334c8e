// Page side of dedup-browser.bench.ts: the dedup core's hashing steps on weighted sets handed in
// from Node, timed in the page (best of `runs`).
import { estimateJaccard, weightedMinHash } from '../../../src/core/dedup/minhash.ts';
import { bandHashes, candidatePairs } from '../../../src/core/dedup/lsh.ts';
import { PRESET_GEMINI_FUNC } from '../../../src/core/dedup/settings.ts';
import type { WeightedSet } from '../../../src/core/dedup/tfidf.ts';

interface Input {
  hashes: number[][];
  weights: number[][];
  runs: number;
}

function best<T>(runs: number, fn: () => T): { s: number; value: T } {
  let s = Infinity;
  let value: T | undefined;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    value = fn();
    s = Math.min(s, (performance.now() - t0) / 1000);
  }
  return { s, value: value as T };
}

const g = globalThis as unknown as { dedupBench: (input: Input) => unknown; __kernelsReady: boolean };
g.dedupBench = (input: Input) => {
  const settings = PRESET_GEMINI_FUNC;
  const S = settings.samples;
  const sets: WeightedSet[] = input.hashes.map((h, i) => ({ hashes: Uint32Array.from(h), weights: Float32Array.from(input.weights[i]!) }));
  const n = sets.length;
  const mh = best(input.runs, () => weightedMinHash(sets, S, settings.seed));
  const sig = mh.value;
  const include = Uint8Array.from(sets, (s) => (s.hashes.length > 0 ? 1 : 0));
  const lsh = best(input.runs, () => candidatePairs(bandHashes(sig, n, S, settings.bands, settings.rows), n, settings.bands, settings.bucketCap, settings.bucketWindow, settings.maxCandidates, include));
  const keys = lsh.value.keys;
  const verify = best(input.runs, () => {
    let kept = 0;
    for (const key of keys) {
      const x = Math.floor(key / n);
      if (estimateJaccard(sig, S, x, key - x * n) >= settings.threshold) kept++;
    }
    return kept;
  });
  // A checksum of the signatures, so Node can check the page computed the same thing.
  let check = 0;
  for (let i = 0; i < sig.length; i++) check = (Math.imul(check, 31) + sig[i]!) >>> 0;
  return { minhashS: mh.s, lshS: lsh.s, verifyS: verify.s, pairs: keys.length, verified: verify.value, check };
};
g.__kernelsReady = true;
