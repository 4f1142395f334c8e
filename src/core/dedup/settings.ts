// Near-duplicate detection settings, after src-d/apollo and src-d/gemini. One versioned object holds
// everything that changes results (feature weights, weighting, hashing, LSH, graph limits), so a
// stored result can say exactly what produced it. Bump DEDUP_SETTINGS_VERSION on any change to the
// defaults or to the meaning of a field.

/** Feature kinds, in the order they are stored in a bag (see features.ts). */
export const FEATURE_KINDS = ['id', 'lit', 'graphlet', 'children', 'uast2seq'] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];
export const N_KINDS = FEATURE_KINDS.length;

export const DEDUP_SETTINGS_VERSION = 1;

export interface DedupSettings {
  version: number;
  /** Preset name, for reports. */
  name: string;
  /** Weight of each feature kind: after log-TF-log-IDF, each kind of a document is L1-normalised and scaled by this. */
  weights: Record<FeatureKind, number>;
  /** Features seen in fewer documents than this are dropped. */
  minDf: number;
  /** Weighted MinHash samples (128 or 256). */
  samples: number;
  /** Seed of the consistent weighted sampling. */
  seed: number;
  /** Similarity threshold (estimated weighted Jaccard) for a verified pair. */
  threshold: number;
  /** LSH bands x rows (bands * rows <= samples); see lsh.ts optimalParams. */
  bands: number;
  rows: number;
  /** Buckets larger than this are linked as a chain (each member to the next `bucketWindow`), not all pairs. */
  bucketCap: number;
  bucketWindow: number;
  /** Upper bound on candidate pairs; past it candidate generation stops and the result says so. */
  maxCandidates: number;
  /** Components larger than this are reported and split (by Louvain, then by id order into chunks). */
  maxComponentSize: number;
  /** Louvain runs inside components with at least this many members; smaller ones are one community. */
  communityMinSize: number;
  /** Louvain resolution. */
  louvainResolution: number;
}

const BASE = {
  version: DEDUP_SETTINGS_VERSION,
  // Structure dominates so that renamed (type-2) clones stay above 0.8: with every local name and
  // most literals changed, 300 stdlib functions' clones measured exact weighted Jaccard 0.856..0.96
  // (median 0.888) with these weights, and 0.72..0.79 with id 0.12 / lit 0.04. Names and literals
  // still separate structurally identical but unrelated functions (random stdlib pairs: median 0.04,
  // max 0.38).
  weights: { id: 0.06, lit: 0.02, graphlet: 0.3, children: 0.17, uast2seq: 0.45 },
  minDf: 1,
  seed: 0x5eed,
  bucketCap: 64,
  bucketWindow: 2,
  maxCandidates: 20_000_000,
  maxComponentSize: 2000,
  communityMinSize: 8,
  louvainResolution: 1,
} as const;

/** Strict near-duplicates: estimated weighted Jaccard >= 0.95; 128 samples, 3 bands x 42 rows (datasketch's optimum). */
export const PRESET_95: DedupSettings = { ...BASE, weights: { ...BASE.weights }, name: 'similar-0.95', samples: 128, threshold: 0.95, bands: 3, rows: 42 };
/**
 * Near-duplicates: >= 0.80; 256 samples, 17 bands x 15 rows (datasketch's optimum). With 128 samples
 * the optimum (9 x 13) finds only ~69% of pairs at similarity 0.85; 17 x 15 finds ~79%, 96% at 0.89.
 */
export const PRESET_80: DedupSettings = { ...BASE, weights: { ...BASE.weights }, name: 'similar-0.80', samples: 256, threshold: 0.8, bands: 17, rows: 15 };
/** src-d/gemini's function-level preset: 256 samples, 32 bands x 8 rows, threshold ~0.59 (whose optimum is 32 x 8). */
export const PRESET_GEMINI_FUNC: DedupSettings = {
  ...BASE,
  weights: { ...BASE.weights },
  name: 'gemini-func',
  samples: 256,
  threshold: 0.59,
  bands: 32,
  rows: 8,
};

export const PRESETS: Readonly<Record<string, DedupSettings>> = {
  [PRESET_95.name]: PRESET_95,
  [PRESET_80.name]: PRESET_80,
  [PRESET_GEMINI_FUNC.name]: PRESET_GEMINI_FUNC,
};

/** Kind weights as an array in FEATURE_KINDS order. */
export function kindWeights(s: DedupSettings): Float64Array {
  return Float64Array.from(FEATURE_KINDS, (k) => s.weights[k]);
}
