// The offline summariser: no model to download. A function's summary is the first sentence of the
// docstring of its nearest documented neighbour by the active embedder (TF-IDF/SVD or Jina),
// excluding the function itself and exact duplicates of it (same content hash: a copy would hand
// back the function's own docstring when it is hidden for evaluation).
//
// chooseRetrievalSummary() is pure: the caller finds the neighbours (the search worker, the
// prebuild's k-NN, an upload's in-memory index) and passes them with their distances, docstrings
// and content hashes; this picks the nearest usable one. Used by the prebuild's summaries stage,
// the detail panel, the summaries view and uploads alike.
import { DOCSTRING_FILTER_DEFAULTS, firstSentence } from './docstring-filter.ts';

export interface RetrievalQuery {
  /** The function's id in the data set, or null for an uploaded function that has none. */
  id: number | null;
  /** content_hash of the function's body (FNV-1a-64 hex, core/util/hash.ts). */
  contentHash: string;
}

export interface RetrievalCandidate {
  id: number;
  /** Distance from the query in the search's metric (smaller = nearer). */
  distance: number;
  docstring: string | null;
  contentHash: string;
}

export interface RetrievalSummary {
  /** The first sentence of the source's docstring. */
  text: string;
  /** Id of the documented function whose docstring was used. */
  sourceId: number;
  distance: number;
  /** Candidates passed over before this one (self, duplicates, no usable docstring). */
  skipped: number;
}

export interface RetrievalOptions {
  /** Docstrings shorter than this (trimmed) are not used (default: the docstring filter's minChars, 10). */
  minChars?: number;
  /** Nor longer than this (default: the filter's maxChars, 4000). */
  maxChars?: number;
  /** Further candidates to pass over (e.g. functions of held-out packages). */
  exclude?: (id: number) => boolean;
}

/** The summary text a documented function lends: its docstring's first sentence, or null when unusable. */
export function lendableSummary(docstring: string | null, opts: Pick<RetrievalOptions, 'minChars' | 'maxChars'> = {}): string | null {
  const doc = (docstring ?? '').trim();
  if (doc.length < (opts.minChars ?? DOCSTRING_FILTER_DEFAULTS.minChars) || doc.length > (opts.maxChars ?? DOCSTRING_FILTER_DEFAULTS.maxChars)) return null;
  const s = firstSentence(doc);
  return s.length >= 3 ? s : null;
}

/**
 * The nearest usable neighbour's first docstring sentence, or null when no candidate qualifies.
 * Candidates need not be sorted; ties in distance go to the smaller id (deterministic).
 */
export function chooseRetrievalSummary(
  query: RetrievalQuery,
  candidates: readonly RetrievalCandidate[],
  opts: RetrievalOptions = {},
): RetrievalSummary | null {
  const order = candidates
    .map((c, i) => i)
    .filter((i) => Number.isFinite(candidates[i].distance))
    .sort((a, b) => candidates[a].distance - candidates[b].distance || candidates[a].id - candidates[b].id);
  let skipped = 0;
  for (const i of order) {
    const c = candidates[i];
    if ((query.id !== null && c.id === query.id) || c.contentHash === query.contentHash || opts.exclude?.(c.id)) {
      skipped++;
      continue;
    }
    const text = lendableSummary(c.docstring, opts);
    if (text === null) {
      skipped++;
      continue;
    }
    return { text, sourceId: c.id, distance: c.distance, skipped };
  }
  return null;
}
