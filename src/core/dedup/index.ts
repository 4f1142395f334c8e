// Near-duplicate detection over a corpus of feature bags (one per function), after src-d/apollo:
//   1. exact duplicates: equal normalised-body hashes are one group (linked as a star to their first
//      member, similarity 1); only that first member goes on;
//   2. log-TF-log-IDF weighting with min df and kind weights (tfidf.ts);
//   3. weighted MinHash signatures (minhash.ts);
//   4. LSH bands -> candidate pairs (lsh.ts), big buckets linked as chains;
//   5. candidates verified by estimated weighted Jaccard >= threshold;
//   6. connected components by union-find (components.ts);
//   7. a component larger than maxComponentSize is reported and split: Louvain communities, then any
//      community still too large is cut into id-ordered chunks; each part becomes its own group;
//   8. Louvain communities inside components with >= communityMinSize members (communities.ts).
// Group and community ids are dense, ordered by smallest member; -1 for items that duplicate nothing.
import { louvainCommunities } from './communities.ts';
import { UnionFind, labelComponents } from './components.ts';
import type { FeatureBag } from './features.ts';
import { bandHashes, candidatePairs } from './lsh.ts';
import { EMPTY_SAMPLE, estimateJaccard, weightedMinHash } from './minhash.ts';
import { type DedupSettings, kindWeights } from './settings.ts';
import { type WeightedSet, weighBags } from './tfidf.ts';

export interface DedupPairs {
  a: Uint32Array;
  b: Uint32Array;
  similarity: Float32Array;
  /** 1 when the pair has equal normalised-body hashes. */
  exact: Uint8Array;
}

export interface GiantComponentReport {
  /** Smallest member id, size and edges of the component before the split. */
  firstMember: number;
  size: number;
  edges: number;
  /** Number of groups it was split into, and how many of those came from chunking. */
  parts: number;
  chunked: number;
}

export interface DedupStats {
  settings: string;
  settingsVersion: number;
  items: number;
  emptyItems: number;
  exactGroups: number;
  exactDuplicates: number;
  candidates: number;
  verifiedPairs: number;
  cappedBuckets: number;
  largestBucket: number;
  candidatesTruncated: boolean;
  groups: number;
  largestGroup: number;
  communities: number;
  giantComponents: GiantComponentReport[];
  ms: { weigh: number; minhash: number; lsh: number; verify: number; graph: number };
}

export interface DedupResult {
  groupIdPerItem: Int32Array;
  communityIdPerItem: Int32Array;
  pairs: DedupPairs;
  /** Signatures of the representatives (copies' are zero), row-major, `signatureStride` words each (the first `samples` used). */
  signatures: Uint32Array;
  signatureStride: number;
  stats: DedupStats;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Dense relabelling of keys (-1 = none) by first occurrence in item order. */
function denseByFirst(keys: Float64Array): Int32Array {
  const out = new Int32Array(keys.length).fill(-1);
  const map = new Map<number, number>();
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] < 0) continue;
    let d = map.get(keys[i]);
    if (d === undefined) {
      d = map.size;
      map.set(keys[i], d);
    }
    out[i] = d;
  }
  return out;
}

/** Index of the first bag with the same normalised-body hash, for every bag (itself when it is the first). */
export function exactRepresentatives(bags: readonly Pick<FeatureBag, 'normHash'>[]): Uint32Array {
  const firstOf = new Map<number, number>();
  const rep = new Uint32Array(bags.length);
  for (let i = 0; i < bags.length; i++) {
    const key = bags[i].normHash[0] * 4294967296 + bags[i].normHash[1];
    const f = firstOf.get(key);
    if (f === undefined) firstOf.set(key, i);
    rep[i] = f ?? i;
  }
  return rep;
}

/**
 * Weighted sets for every bag with document frequencies counted over distinct bodies only (so copies
 * do not lower the IDF); a copy (rep[i] !== i) gets an empty set, which signs to all EMPTY_SAMPLE.
 */
export function weighDistinct(bags: readonly FeatureBag[], settings: DedupSettings, rep: Uint32Array): WeightedSet[] {
  const distinct: FeatureBag[] = [];
  const distinctIndex: number[] = [];
  for (let i = 0; i < bags.length; i++) {
    if (rep[i] === i) {
      distinct.push(bags[i]);
      distinctIndex.push(i);
    }
  }
  const weighted = weighBags(distinct, kindWeights(settings), settings.minDf);
  const empty: WeightedSet = { hashes: new Uint32Array(0), weights: new Float32Array(0) };
  const sets = new Array<WeightedSet>(bags.length).fill(empty);
  for (let j = 0; j < distinct.length; j++) sets[distinctIndex[j]] = weighted[j];
  return sets;
}

/** Runs near-duplicate detection over `bags` with `settings`. */
export function runDedup(bags: readonly FeatureBag[], settings: DedupSettings): DedupResult {
  const t0 = now();
  const rep = exactRepresentatives(bags);
  // Weights: document frequencies over distinct bodies only, so copies do not lower the IDF.
  const sets = weighDistinct(bags, settings, rep);
  const t1 = now();
  const signatures = weightedMinHash(sets, settings.samples, settings.seed);
  const t2 = now();
  return runDedupOnSignatures(rep, signatures, settings.samples, settings, { weigh: t1 - t0, minhash: t2 - t1 });
}

/**
 * Steps 1 and 4-8 on signatures computed elsewhere (the prebuild signs in worker threads):
 * `rep` from exactRepresentatives, `signatures` row-major with `stride` >= settings.samples words per
 * item, of which the first settings.samples are used — the samples of weightedMinHash do not depend
 * on their number, so a 256-sample signature's first 128 words are the 128-sample signature.
 * Only representatives (rep[i] === i) need signatures; an all-EMPTY_SAMPLE signature is an empty set
 * (no features left after weighting), which takes part in nothing. `ms` fills the weigh and minhash
 * timings that happened elsewhere. runDedup(bags, s) equals runDedupOnSignatures(exactRepresentatives(bags),
 * weightedMinHash(weighDistinct(bags, s, rep), s.samples, s.seed), s.samples, s).
 */
export function runDedupOnSignatures(
  rep: Uint32Array,
  signatures: Uint32Array,
  stride: number,
  settings: DedupSettings,
  ms: { weigh: number; minhash: number } = { weigh: 0, minhash: 0 },
): DedupResult {
  const n = rep.length;
  const S = settings.samples;
  if (stride < S) throw new RangeError(`dedup: signatures of ${stride} samples, ${settings.name} needs ${S}`);
  if (settings.bands * settings.rows > S) throw new RangeError(`lsh: ${settings.bands} x ${settings.rows} > ${S} samples`);
  if (signatures.length < n * stride) throw new RangeError(`dedup: ${signatures.length} signature words for ${n} items x ${stride}`);

  // 1. Exact duplicates.
  const pa: number[] = [];
  const pb: number[] = [];
  const ps: number[] = [];
  const pe: number[] = [];
  let exactDuplicates = 0;
  for (let i = 0; i < n; i++) {
    if (rep[i] === i) continue;
    exactDuplicates++;
    pa.push(rep[i]);
    pb.push(i);
    ps.push(1);
    pe.push(1);
  }
  const exactGroupFirst = new Set<number>();
  for (let i = 0; i < pa.length; i++) exactGroupFirst.add(pa[i]);

  // 2. Items that go through LSH: representatives whose weighted set is not empty.
  const include = new Uint8Array(n);
  let emptyItems = 0;
  for (let i = 0; i < n; i++) {
    if (rep[i] !== i) continue;
    let nonzero = false;
    for (let k = 0, o = i * stride; k < S && !nonzero; k++) nonzero = signatures[o + k] !== EMPTY_SAMPLE;
    if (nonzero) include[i] = 1;
    else emptyItems++;
  }

  // 3-5. LSH, verification.
  const t2 = now();
  const bh = bandHashes(signatures, n, stride, settings.bands, settings.rows);
  const cand = candidatePairs(bh, n, settings.bands, settings.bucketCap, settings.bucketWindow, settings.maxCandidates, include);
  const t3 = now();
  let verified = 0;
  for (let c = 0; c < cand.keys.length; c++) {
    const key = cand.keys[c];
    const a = Math.floor(key / n);
    const b = key - a * n;
    const sim = estimateJaccard(signatures, S, a, b, stride);
    if (sim >= settings.threshold) {
      pa.push(a);
      pb.push(b);
      ps.push(sim);
      pe.push(0);
      verified++;
    }
  }
  const t4 = now();

  // 6. Components.
  const uf = new UnionFind(n);
  const linked = new Uint8Array(n);
  for (let e = 0; e < pa.length; e++) {
    uf.union(pa[e], pb[e]);
    linked[pa[e]] = 1;
    linked[pb[e]] = 1;
  }
  const comps = labelComponents(uf, linked);

  // Members and edges per component (counting sort by component id).
  const memberStart = new Uint32Array(comps.count + 1);
  for (let i = 0; i < n; i++) if (comps.idPerItem[i] >= 0) memberStart[comps.idPerItem[i] + 1]++;
  for (let c = 0; c < comps.count; c++) memberStart[c + 1] += memberStart[c];
  const members = new Uint32Array(memberStart[comps.count]);
  const fill = memberStart.slice(0, comps.count);
  for (let i = 0; i < n; i++) if (comps.idPerItem[i] >= 0) members[fill[comps.idPerItem[i]]++] = i;
  const edgeStart = new Uint32Array(comps.count + 1);
  for (let e = 0; e < pa.length; e++) edgeStart[comps.idPerItem[pa[e]] + 1]++;
  for (let c = 0; c < comps.count; c++) edgeStart[c + 1] += edgeStart[c];
  const edges = new Uint32Array(pa.length);
  const efill = edgeStart.slice(0, comps.count);
  for (let e = 0; e < pa.length; e++) edges[efill[comps.idPerItem[pa[e]]]++] = e;

  // 7-8. Giant components split; communities.
  const groupKey = new Float64Array(n).fill(-1);
  const communityKey = new Float64Array(n).fill(-1);
  const giant: GiantComponentReport[] = [];
  for (let c = 0; c < comps.count; c++) {
    const mem = members.subarray(memberStart[c], memberStart[c + 1]);
    const eIdx = edges.subarray(edgeStart[c], edgeStart[c + 1]);
    const size = mem.length;
    let community: Uint32Array | null = null;
    const giantOne = size > settings.maxComponentSize;
    if (size >= settings.communityMinSize || giantOne) {
      const ea = new Uint32Array(eIdx.length);
      const eb = new Uint32Array(eIdx.length);
      const ew = new Float32Array(eIdx.length);
      for (let k = 0; k < eIdx.length; k++) {
        ea[k] = pa[eIdx[k]];
        eb[k] = pb[eIdx[k]];
        ew[k] = ps[eIdx[k]];
      }
      community = louvainCommunities(mem, ea, eb, ew, settings.seed ^ mem[0], settings.louvainResolution).communityPerMember;
    }
    // Keys are the smallest member of a group / community (members are in ascending id order).
    const communityFirst = new Map<number, number>();
    for (let k = 0; k < size; k++) {
      const cm = community ? community[k] : 0;
      if (!communityFirst.has(cm)) communityFirst.set(cm, mem[k]);
      communityKey[mem[k]] = communityFirst.get(cm) ?? mem[k];
    }
    if (giantOne && community) {
      // Split: each community is a group; communities still too large are cut into id-ordered chunks.
      const seen = new Map<number, number>();
      const partFirst = new Map<string, number>();
      let chunked = 0;
      for (let k = 0; k < size; k++) {
        const cm = community[k];
        const idx = seen.get(cm) ?? 0;
        seen.set(cm, idx + 1);
        const chunk = Math.floor(idx / settings.maxComponentSize);
        const part = `${cm}:${chunk}`;
        let first = partFirst.get(part);
        if (first === undefined) {
          first = mem[k];
          partFirst.set(part, first);
          if (chunk > 0) chunked++;
        }
        groupKey[mem[k]] = first;
        // A community cut into chunks becomes one community per chunk.
        communityKey[mem[k]] = first;
      }
      giant.push({ firstMember: mem[0], size, edges: eIdx.length, parts: partFirst.size, chunked });
    } else {
      for (let k = 0; k < size; k++) groupKey[mem[k]] = mem[0];
    }
  }
  const groupIdPerItem = denseByFirst(groupKey);
  const communityIdPerItem = denseByFirst(communityKey);
  const t5 = now();

  let groups = 0;
  const groupSize: number[] = [];
  for (let i = 0; i < n; i++) {
    const g = groupIdPerItem[i];
    if (g < 0) continue;
    if (g >= groups) groups = g + 1;
    groupSize[g] = (groupSize[g] ?? 0) + 1;
  }
  let communities = 0;
  for (let i = 0; i < n; i++) if (communityIdPerItem[i] >= communities) communities = communityIdPerItem[i] + 1;

  return {
    groupIdPerItem,
    communityIdPerItem,
    pairs: { a: Uint32Array.from(pa), b: Uint32Array.from(pb), similarity: Float32Array.from(ps), exact: Uint8Array.from(pe) },
    signatures,
    signatureStride: stride,
    stats: {
      settings: settings.name,
      settingsVersion: settings.version,
      items: n,
      emptyItems,
      exactGroups: exactGroupFirst.size,
      exactDuplicates,
      candidates: cand.keys.length,
      verifiedPairs: verified,
      cappedBuckets: cand.cappedBuckets,
      largestBucket: cand.largestBucket,
      candidatesTruncated: cand.truncated,
      groups,
      largestGroup: groupSize.reduce((m, x) => Math.max(m, x), 0),
      communities,
      giantComponents: giant,
      ms: { weigh: ms.weigh, minhash: ms.minhash, lsh: t3 - t2, verify: t4 - t3, graph: t5 - t4 },
    },
  };
}

export * from './settings.ts';
export { extractFeatures, splitIdentifier, type FeatureBag } from './features.ts';
export { weighBags, weightedJaccard, documentFrequencies, type WeightedSet } from './tfidf.ts';
export { weightedMinHash, estimateJaccard, EMPTY_SAMPLE } from './minhash.ts';
export { optimalParams, bandHashes, candidatePairs, falsePositiveArea, falseNegativeArea } from './lsh.ts';
export { connectedComponents, UnionFind } from './components.ts';
export { louvainCommunities } from './communities.ts';
