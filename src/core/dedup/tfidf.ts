// log-TF-log-IDF weighting of feature bags over a corpus (apollo's weighting), with a minimum
// document frequency and per-kind weights:
//   w(f, d) = (1 + ln tf(f, d)) * ln((N + 1) / df(f))      for df(f) >= minDf, else dropped;
// then, inside each document, each kind's weights are L1-normalised and scaled by that kind's
// weight, so a kind's weight is its share of the document's mass whatever the number of features.
// (N + 1 keeps a feature present in every document of a tiny corpus from vanishing.)
import { N_KINDS } from './settings.ts';
import type { FeatureBag } from './features.ts';

/** One weighted document: feature hashes and their (positive) weights. */
export interface WeightedSet {
  hashes: Uint32Array;
  weights: Float32Array;
}

/** Document frequency by feature hash: a Map, or any table with the same lookup (the prebuild shares one with its threads). */
export interface DocumentFrequencyLookup {
  get(hash: number): number | undefined;
}

/** Document frequency of every feature hash in `bags`. */
export function documentFrequencies(bags: readonly FeatureBag[]): Map<number, number> {
  const df = new Map<number, number>();
  for (const bag of bags) {
    // Hashes are unique within a kind segment; the same hash in two kinds is a (rare) 32-bit
    // collision and counts twice, which is harmless.
    for (let i = 0; i < bag.hashes.length; i++) df.set(bag.hashes[i], (df.get(bag.hashes[i]) ?? 0) + 1);
  }
  return df;
}

/** Weighs `bags` (see the file comment). `kindWeight` has N_KINDS entries. */
export function weighBags(
  bags: readonly FeatureBag[],
  kindWeight: ArrayLike<number>,
  minDf: number,
  df: DocumentFrequencyLookup = documentFrequencies(bags),
  nDocs: number = bags.length,
): WeightedSet[] {
  const out: WeightedSet[] = [];
  const logN1 = Math.log(nDocs + 1);
  for (const bag of bags) {
    const hs: number[] = [];
    const ws: number[] = [];
    for (let k = 0; k < N_KINDS; k++) {
      const from = hs.length;
      let sum = 0;
      for (let i = bag.kindOffsets[k]; i < bag.kindOffsets[k + 1]; i++) {
        const h = bag.hashes[i];
        const d = df.get(h) ?? 0;
        if (d < minDf || d === 0) continue;
        const w = (1 + Math.log(bag.counts[i])) * (logN1 - Math.log(d));
        if (!(w > 0)) continue;
        hs.push(h);
        ws.push(w);
        sum += w;
      }
      const scale = sum > 0 ? kindWeight[k] / sum : 0;
      for (let i = from; i < hs.length; i++) ws[i] *= scale;
    }
    // Drop zero-weight kinds' entries.
    let n = 0;
    for (let i = 0; i < ws.length; i++) if (ws[i] > 0) n++;
    const hashes = new Uint32Array(n);
    const weights = new Float32Array(n);
    let o = 0;
    for (let i = 0; i < ws.length; i++) {
      if (ws[i] > 0) {
        hashes[o] = hs[i];
        weights[o++] = ws[i];
      }
    }
    out.push({ hashes, weights });
  }
  return out;
}

/** Exact weighted Jaccard sum(min)/sum(max) of two weighted sets (hash collisions across kinds are merged). */
export function weightedJaccard(a: WeightedSet, b: WeightedSet): number {
  const m = new Map<number, number>();
  for (let i = 0; i < a.hashes.length; i++) m.set(a.hashes[i], (m.get(a.hashes[i]) ?? 0) + a.weights[i]);
  const mb = new Map<number, number>();
  for (let i = 0; i < b.hashes.length; i++) mb.set(b.hashes[i], (mb.get(b.hashes[i]) ?? 0) + b.weights[i]);
  let num = 0;
  let den = 0;
  for (const [h, wa] of m) {
    const wb = mb.get(h) ?? 0;
    num += Math.min(wa, wb);
    den += Math.max(wa, wb);
  }
  for (const [h, wb] of mb) if (!m.has(h)) den += wb;
  return den > 0 ? num / den : 0;
}
