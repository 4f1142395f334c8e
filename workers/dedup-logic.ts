// The dedup worker's pure parts (no DOM, no fetch, no node:*), so the Node tests run them on real
// data: indexing the prebuilt `dedup` table by threshold, the per-package / per-language unique
// shares, group summaries, and re-running the dedup core (src/core/dedup) over a few functions at a
// threshold of the visitor's choosing.
import { louvainCommunities } from '../src/core/dedup/communities.ts';
import { connectedComponents } from '../src/core/dedup/components.ts';
import type { FeatureBag } from '../src/core/dedup/features.ts';
import { bodyFeatures } from '../src/core/dedup/body-features.ts';
export { bodyFeatures };
import { bandHashes, candidatePairs, optimalParams } from '../src/core/dedup/lsh.ts';
import { estimateJaccard, weightedMinHash } from '../src/core/dedup/minhash.ts';
import { kindWeights, type DedupSettings } from '../src/core/dedup/settings.ts';
import { weighBags } from '../src/core/dedup/tfidf.ts';

// ---------------------------------------------------------------------------------------------------
// The prebuilt table, by threshold.

/** Groups of one threshold, indexed by function id. */
export interface DedupLevel {
  threshold: number;
  /** Group per function id (-1: in no group). */
  group: Int32Array;
  /** Louvain community per function id (-1: none). */
  community: Int32Array;
  /** Members of group g: members.subarray(start[g], start[g + 1]), ascending ids. */
  start: Uint32Array;
  members: Uint32Array;
  /** Group ids, largest first (ties: smaller group id first). */
  order: Uint32Array;
}

/** Rows of the `dedup` table (any order), as columns; group/community -1 for null. */
export interface DedupRows {
  ids: Uint32Array;
  thresholds: Float32Array;
  groups: Int32Array;
  communities: Int32Array;
}

/** Thresholds are stored as FLOAT: 0.8 reads back as 0.800000011920929. */
export function sameThreshold(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-4;
}

/** Distinct thresholds of the table, ascending, rounded to 4 decimals. */
export function thresholdsOf(rows: DedupRows): number[] {
  const out: number[] = [];
  for (let i = 0; i < rows.thresholds.length; i++) {
    const t = Math.round(rows.thresholds[i] * 1e4) / 1e4;
    if (!out.some((x) => sameThreshold(x, t))) out.push(t);
  }
  return out.sort((a, b) => a - b);
}

/** Indexes the rows of one threshold. `idCount` bounds the ids (max id + 1). */
export function buildLevel(rows: DedupRows, threshold: number, idCount: number): DedupLevel {
  const group = new Int32Array(idCount).fill(-1);
  const community = new Int32Array(idCount).fill(-1);
  let nGroups = 0;
  for (let i = 0; i < rows.ids.length; i++) {
    if (!sameThreshold(rows.thresholds[i], threshold)) continue;
    const id = rows.ids[i];
    if (id >= idCount) throw new RangeError(`dedup: id ${id} is past the functions' ids (${idCount})`);
    group[id] = rows.groups[i];
    community[id] = rows.communities[i];
    if (rows.groups[i] >= nGroups) nGroups = rows.groups[i] + 1;
  }
  const start = new Uint32Array(nGroups + 1);
  for (let id = 0; id < idCount; id++) if (group[id] >= 0) start[group[id] + 1]++;
  for (let g = 0; g < nGroups; g++) start[g + 1] += start[g];
  const members = new Uint32Array(start[nGroups]);
  const fill = start.slice(0, nGroups);
  for (let id = 0; id < idCount; id++) if (group[id] >= 0) members[fill[group[id]]++] = id;
  const order = Uint32Array.from({ length: nGroups }, (_, g) => g);
  order.sort((x, y) => start[y + 1] - start[y] - (start[x + 1] - start[x]) || x - y);
  return { threshold, group, community, start, members, order };
}

export function groupMembers(level: DedupLevel, g: number): Uint32Array {
  if (!Number.isInteger(g) || g < 0 || g + 1 >= level.start.length) throw new RangeError(`there is no group ${g} at ${level.threshold}`);
  return level.members.subarray(level.start[g], level.start[g + 1]);
}

/** Per function id: its package (repo id) and language code; names for both. */
export interface FunctionIndex {
  idCount: number;
  /** Repo id per function id (0xffffffff: no such id). */
  repo: Uint32Array;
  /** Index into `langs` per function id. */
  lang: Uint16Array;
  langs: string[];
  repoNames: string[];
  /** Function name per id ('' when unknown). */
  name: string[];
}

export const NO_REPO = 0xffffffff;

export interface ShareRow {
  name: string;
  functions: number;
  /** Per threshold (in the table's order): functions in a group of two or more. */
  duplicated: number[];
  /** Per threshold: share of functions in no such group (1 - duplicated / functions). */
  unique: number[];
}

export interface ShareTable {
  thresholds: number[];
  packages: ShareRow[];
  languages: ShareRow[];
  total: ShareRow;
}

/**
 * apollo's "unique at 80% / 95%": for each package and language, the share of its functions that are
 * in no group of two or more members at each threshold. Rows sorted by function count, largest first.
 */
export function uniqueShares(index: FunctionIndex, levels: readonly DedupLevel[]): ShareTable {
  const T = levels.length;
  const nRepos = index.repoNames.length;
  const nLangs = index.langs.length;
  const repoFns = new Float64Array(nRepos);
  const repoDup = new Float64Array(nRepos * T);
  const langFns = new Float64Array(nLangs);
  const langDup = new Float64Array(nLangs * T);
  const sizes = levels.map((l) => l.start);
  let totalFns = 0;
  const totalDup = new Float64Array(T);
  for (let id = 0; id < index.idCount; id++) {
    const r = index.repo[id];
    if (r === NO_REPO) continue;
    const lg = index.lang[id];
    totalFns++;
    repoFns[r]++;
    langFns[lg]++;
    for (let t = 0; t < T; t++) {
      const g = levels[t].group[id];
      if (g >= 0 && sizes[t][g + 1] - sizes[t][g] >= 2) {
        repoDup[r * T + t]++;
        langDup[lg * T + t]++;
        totalDup[t]++;
      }
    }
  }
  const row = (name: string, fns: number, dup: ArrayLike<number>): ShareRow => {
    const duplicated = Array.from(dup);
    return { name, functions: fns, duplicated, unique: duplicated.map((d) => (fns > 0 ? 1 - d / fns : 1)) };
  };
  const packages: ShareRow[] = [];
  for (let r = 0; r < nRepos; r++) if (repoFns[r] > 0) packages.push(row(index.repoNames[r] || `#${r}`, repoFns[r], repoDup.subarray(r * T, r * T + T)));
  const languages: ShareRow[] = [];
  for (let l = 0; l < nLangs; l++) if (langFns[l] > 0) languages.push(row(index.langs[l] || 'unknown', langFns[l], langDup.subarray(l * T, l * T + T)));
  const bySize = (a: ShareRow, b: ShareRow) => b.functions - a.functions || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  packages.sort(bySize);
  languages.sort(bySize);
  return { thresholds: levels.map((l) => l.threshold), packages, languages, total: row('all', totalFns, totalDup) };
}

export interface GroupSummary {
  groupId: number;
  size: number;
  /** Distinct packages of the members, most members first (at most 6), and how many in all. */
  packages: string[];
  packageCount: number;
  /** The most common function name among the members. */
  name: string;
  /** Member ids (ascending) and their Louvain communities. */
  ids: Uint32Array;
  communities: Int32Array;
  communityCount: number;
}

export function summarise(level: DedupLevel, index: FunctionIndex, g: number): GroupSummary {
  const ids = groupMembers(level, g).slice();
  const communities = Int32Array.from(ids, (id) => level.community[id]);
  const repoCount = new Map<number, number>();
  const nameCount = new Map<string, number>();
  for (const id of ids) {
    repoCount.set(index.repo[id], (repoCount.get(index.repo[id]) ?? 0) + 1);
    const n = index.name[id] ?? '';
    nameCount.set(n, (nameCount.get(n) ?? 0) + 1);
  }
  const repos = [...repoCount.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  let name = '';
  let best = -1;
  for (const [n, c] of nameCount) {
    if (c > best || (c === best && n < name)) {
      best = c;
      name = n;
    }
  }
  return {
    groupId: g,
    size: ids.length,
    packages: repos.slice(0, 6).map(([r]) => index.repoNames[r] ?? `#${r}`),
    packageCount: repos.length,
    name,
    ids,
    communities,
    communityCount: new Set(communities).size,
  };
}


const normKey = (bag: FeatureBag): number => bag.normHash[0] * 4294967296 + bag.normHash[1];

/** Document frequencies over distinct bodies (by normalised hash), as the prebuild counts them. */
export interface Background {
  df: Map<number, number>;
  /** Distinct bodies counted. */
  docs: number;
  /** Normalised-body hashes counted, so a member already in the background is not counted twice. */
  seen: Set<number>;
}

export function backgroundOf(bags: readonly FeatureBag[]): Background {
  const bg: Background = { df: new Map(), docs: 0, seen: new Set() };
  addToBackground(bg, bags);
  return bg;
}

function addToBackground(bg: Background, bags: readonly FeatureBag[]): void {
  for (const bag of bags) {
    const k = normKey(bag);
    if (bg.seen.has(k)) continue;
    bg.seen.add(k);
    bg.docs++;
    for (let i = 0; i < bag.hashes.length; i++) bg.df.set(bag.hashes[i], (bg.df.get(bag.hashes[i]) ?? 0) + 1);
  }
}

export interface SimilarityResult {
  threshold: number;
  /** Items (bags) compared. */
  items: number;
  /** How candidate pairs were found: every pair, or LSH with bands x rows. */
  method: string;
  /** Pairs at or above the threshold: item indices and estimated similarity (1 for equal normalised bodies). */
  a: Uint32Array;
  b: Uint32Array;
  similarity: Float32Array;
  /** Group per item (-1: alone) and community per item (-1: alone), dense, by smallest member. */
  group: Int32Array;
  community: Int32Array;
  groups: number;
  ms: { weigh: number; minhash: number; pairs: number; graph: number };
}

const now = (): number => performance.now();

/**
 * Re-runs the dedup core over `bags` at `threshold`: log-TF-log-IDF weights with document
 * frequencies over `background` plus these bags (distinct bodies), the settings' weighted MinHash,
 * then every pair (up to `allPairsMax` items) or LSH candidates with the optimal bands x rows for the
 * threshold, verified by estimated Jaccard; equal normalised bodies are similarity 1. Components by
 * union-find, Louvain communities inside those of `communityMinSize` or more.
 */
export function similarityGroups(
  bags: readonly FeatureBag[],
  threshold: number,
  settings: DedupSettings,
  background: Background | null,
  allPairsMax = 600,
): SimilarityResult {
  const n = bags.length;
  const S = settings.samples;
  const t0 = now();
  const bg: Background = background
    ? { df: new Map(background.df), docs: background.docs, seen: new Set(background.seen) }
    : { df: new Map(), docs: 0, seen: new Set() };
  addToBackground(bg, bags);
  const sets = weighBags(bags, kindWeights(settings), settings.minDf, bg.df, bg.docs);
  const t1 = now();
  const sig = weightedMinHash(sets, S, settings.seed);
  const t2 = now();
  const pa: number[] = [];
  const pb: number[] = [];
  const ps: number[] = [];
  const keys = bags.map(normKey);
  const consider = (x: number, y: number): void => {
    const sim = keys[x] === keys[y] ? 1 : sets[x].hashes.length && sets[y].hashes.length ? estimateJaccard(sig, S, x, y) : 0;
    if (sim >= threshold) {
      pa.push(x);
      pb.push(y);
      ps.push(sim);
    }
  };
  let method: string;
  if (n <= allPairsMax) {
    method = 'every pair';
    for (let x = 0; x < n; x++) for (let y = x + 1; y < n; y++) consider(x, y);
  } else {
    const p = optimalParams(threshold, S);
    method = `LSH ${p.bands} bands x ${p.rows} rows`;
    const bh = bandHashes(sig, n, S, p.bands, p.rows);
    const include = Uint8Array.from(sets, (s) => (s.hashes.length > 0 ? 1 : 0));
    const cand = candidatePairs(bh, n, p.bands, settings.bucketCap, settings.bucketWindow, settings.maxCandidates, include);
    const seen = new Set<number>();
    for (let c = 0; c < cand.keys.length; c++) {
      const x = Math.floor(cand.keys[c] / n);
      const y = cand.keys[c] - x * n;
      seen.add(cand.keys[c]);
      consider(x, y);
    }
    // Equal bodies are duplicates whatever their buckets (empty sets never share a bucket).
    const firstOf = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const f = firstOf.get(keys[i]);
      if (f === undefined) firstOf.set(keys[i], i);
      else if (!seen.has(f * n + i)) {
        pa.push(f);
        pb.push(i);
        ps.push(1);
      }
    }
  }
  const t3 = now();
  const comps = connectedComponents(n, pa, pb);
  const community = new Int32Array(n).fill(-1);
  // Members per component, ascending.
  const byComp: number[][] = Array.from({ length: comps.count }, () => []);
  for (let i = 0; i < n; i++) if (comps.idPerItem[i] >= 0) byComp[comps.idPerItem[i]].push(i);
  const edgesOf: number[][] = Array.from({ length: comps.count }, () => []);
  for (let e = 0; e < pa.length; e++) edgesOf[comps.idPerItem[pa[e]]].push(e);
  let nextCommunity = 0;
  for (let c = 0; c < comps.count; c++) {
    const mem = Uint32Array.from(byComp[c]);
    if (mem.length >= settings.communityMinSize) {
      const es = edgesOf[c];
      const r = louvainCommunities(
        mem,
        es.map((e) => pa[e]),
        es.map((e) => pb[e]),
        es.map((e) => ps[e]),
        settings.seed ^ mem[0],
        settings.louvainResolution,
      );
      for (let k = 0; k < mem.length; k++) community[mem[k]] = nextCommunity + r.communityPerMember[k];
      nextCommunity += r.count;
    } else {
      for (const i of mem) community[i] = nextCommunity;
      nextCommunity++;
    }
  }
  const t4 = now();
  return {
    threshold,
    items: n,
    method,
    a: Uint32Array.from(pa),
    b: Uint32Array.from(pb),
    similarity: Float32Array.from(ps),
    group: comps.idPerItem,
    community,
    groups: comps.count,
    ms: { weigh: t1 - t0, minhash: t2 - t1, pairs: t3 - t2, graph: t4 - t3 },
  };
}
