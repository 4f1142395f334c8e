// Looking an upload's functions up against the corpus's LSH band hashes (the prebuild's
// `dedup-bands` table: id, band, hash of the gemini preset), pure. The upload's feature bags are
// weighed with the corpus's document frequencies (features the corpus never saw are dropped, as
// they would be had the function been in the corpus), signed with the same weighted MinHash and cut
// into the same bands; a corpus function sharing a band is a candidate, which the caller verifies.
import type { FeatureBag } from '../dedup/features.ts';
import { bandHashes } from '../dedup/lsh.ts';
import { weightedMinHash } from '../dedup/minhash.ts';
import { kindWeights, type DedupSettings } from '../dedup/settings.ts';
import { weighBags, weightedJaccard, type WeightedSet } from '../dedup/tfidf.ts';

/** The corpus's band hashes, per band sorted by hash, for lookups. */
export class BandIndex {
  private constructor(
    readonly bands: number,
    /** Per band: hashes ascending and the ids beside them. */
    private readonly hashes: Uint32Array[],
    private readonly ids: Uint32Array[],
  ) {}

  /** From the table's columns (any row order). Rows with a band outside [0, bands) are refused. */
  static build(ids: ArrayLike<number>, band: ArrayLike<number>, hash: ArrayLike<number>, bands: number): BandIndex {
    const n = ids.length;
    if (band.length !== n || hash.length !== n) throw new RangeError('dedup-bands: columns of different lengths');
    const count = new Uint32Array(bands);
    for (let i = 0; i < n; i++) {
      const b = band[i]!;
      if (!(b >= 0 && b < bands)) throw new RangeError(`dedup-bands: band ${b} is outside 0..${bands - 1}`);
      count[b]!++;
    }
    const hs: Uint32Array[] = [];
    const is: Uint32Array[] = [];
    const order: Uint32Array[] = [];
    for (let b = 0; b < bands; b++) {
      hs.push(new Uint32Array(count[b]!));
      is.push(new Uint32Array(count[b]!));
      order.push(new Uint32Array(count[b]!));
    }
    const fill = new Uint32Array(bands);
    for (let i = 0; i < n; i++) {
      const b = band[i]!;
      const at = fill[b]!++;
      hs[b]![at] = hash[i]! >>> 0;
      is[b]![at] = ids[i]!;
    }
    for (let b = 0; b < bands; b++) {
      const h = hs[b]!;
      const id = is[b]!;
      const o = order[b]!;
      for (let i = 0; i < o.length; i++) o[i] = i;
      o.sort((x, y) => h[x]! - h[y]! || id[x]! - id[y]!);
      hs[b] = Uint32Array.from(o, (i) => h[i]!);
      is[b] = Uint32Array.from(o, (i) => id[i]!);
    }
    return new BandIndex(bands, hs, is);
  }

  /** Rows indexed. */
  get size(): number {
    return this.hashes.reduce((s, h) => s + h.length, 0);
  }

  /** Corpus ids sharing at least one band with `query` (bands values), ascending, at most `cap`. */
  candidates(query: Uint32Array, cap = Infinity): { ids: number[]; truncated: boolean } {
    const found = new Set<number>();
    for (let b = 0; b < this.bands; b++) {
      const h = this.hashes[b]!;
      const q = query[b]! >>> 0;
      let lo = 0;
      let hi = h.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (h[mid]! < q) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < h.length && h[i] === q; i++) found.add(this.ids[b]![i]!);
    }
    const ids = [...found].sort((a, b) => a - b);
    return ids.length > cap ? { ids: ids.slice(0, cap), truncated: true } : { ids, truncated: false };
  }
}

/**
 * Weighted sets of `bags` with fixed document frequencies (`df` over `docs` distinct corpus
 * bodies): nothing of the bags is added to the counts, so a bag equal to a corpus body gets the
 * corpus body's weights exactly when `df` is the corpus's.
 */
export function weighAgainst(bags: readonly FeatureBag[], settings: DedupSettings, df: Map<number, number>, docs: number): WeightedSet[] {
  return weighBags(bags, kindWeights(settings), settings.minDf, df, docs);
}

/** Band hashes (n x settings.bands) of weighted sets, and which sets are empty (no bands). */
export function queryBands(sets: readonly WeightedSet[], settings: DedupSettings): { bands: Uint32Array; empty: Uint8Array } {
  const n = sets.length;
  const sig = weightedMinHash(sets, settings.samples, settings.seed);
  const bands = bandHashes(sig, n, settings.samples, settings.bands, settings.rows);
  const empty = Uint8Array.from(sets, (s) => (s.hashes.length === 0 ? 1 : 0));
  return { bands, empty };
}

/** Document frequencies over distinct bodies (keyed by normalised-body hash), as the dedup views count them. */
export interface DfCounts {
  df: Map<number, number>;
  docs: number;
  /** Normalised-body hashes already counted. */
  seen: Set<number>;
}

const normKey = (bag: FeatureBag): number => bag.normHash[0]! * 4294967296 + bag.normHash[1]!;

/**
 * Verifies candidate pairs (upload bag index, candidate bag index) by exact weighted Jaccard. The
 * weights use `background` plus every upload and candidate body (distinct ones once): a feature the
 * background never saw then weighs as rare instead of vanishing, so two functions that share only
 * common structure do not look alike just because their distinctive parts were dropped (which is
 * what weighing with a sample of the corpus alone would do). Equal normalised bodies are 1.
 */
export function verifyCandidates(
  upload: readonly FeatureBag[],
  candidates: readonly FeatureBag[],
  pairs: readonly (readonly [number, number])[],
  settings: DedupSettings,
  background: DfCounts,
  threshold: number,
): { upload: number; candidate: number; similarity: number }[] {
  const df = new Map(background.df);
  const seen = new Set(background.seen);
  let docs = background.docs;
  for (const bag of [...upload, ...candidates]) {
    const k = normKey(bag);
    if (seen.has(k)) continue;
    seen.add(k);
    docs++;
    for (let i = 0; i < bag.hashes.length; i++) df.set(bag.hashes[i]!, (df.get(bag.hashes[i]!) ?? 0) + 1);
  }
  const us = weighBags(upload, kindWeights(settings), settings.minDf, df, docs);
  const cs = weighBags(candidates, kindWeights(settings), settings.minDf, df, docs);
  const out: { upload: number; candidate: number; similarity: number }[] = [];
  for (const [u, c] of pairs) {
    const same = normKey(upload[u]!) === normKey(candidates[c]!);
    const sim = same ? 1 : weightedJaccard(us[u]!, cs[c]!);
    if (sim >= threshold) out.push({ upload: u, candidate: c, similarity: sim });
  }
  return out;
}
