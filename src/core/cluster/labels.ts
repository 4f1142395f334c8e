// Cluster cards: size, the members nearest to the centroid (the study's Appendix A lists them) and
// an automatic label from each cluster's most distinctive identifiers.
//
// The label is class-based TF-IDF (c-TF-IDF, as BERTopic's ClassTfidfTransformer): all functions of
// a cluster form one document; tf(t, c) = count of t in c / words in c (L1), idf(t) =
// log(1 + A / f(t)) with f(t) the count of t over all clusters and A the average words per cluster.
// A term frequent in one cluster but rare overall ranks high; one common everywhere (`get`, `value`)
// does not. Terms are the identifier tokens of core/text/tokenize.ts: whole identifiers and their
// snake_case / camelCase parts, lower-cased, stop words dropped, so a cluster of parse_* functions
// is labelled by `parse`.

import { TermTable, TokenScanner, STOP_WORDS, createStopWordTable, type TokenizeOptions } from '../text/tokenize.ts';
import { sqDist } from './distance.ts';

export interface ClusterTerm {
  term: string;
  score: number;
  /** Occurrences in the cluster. */
  count: number;
}

export interface CTfidfOptions extends TokenizeOptions {
  /** Terms kept per cluster (default 10). */
  topN?: number;
  /** Ignore terms seen in fewer than this many of the cluster's documents (default 1). */
  minClusterDf?: number;
}

/** A function as the labeller sees it: its name, qualified name and body (identifiers are scanned). */
export interface FunctionText {
  name: string;
  qualname?: string;
  body?: string;
}

/** The text scanned for one function: name and qualname weigh once each, then the body. */
export function functionLabelText(f: FunctionText): string {
  return `${f.name} ${f.qualname ?? ''} ${f.body ?? ''}`;
}

/**
 * c-TF-IDF top terms per cluster. `docs[i]` is document i's text (tokenised with
 * core/text/tokenize.ts) or its token list; `assignments[i]` its cluster in [0, k) (negative =
 * unclustered, skipped). Returns k lists, best term first.
 */
export function clusterTopTerms(docs: readonly string[] | readonly (readonly string[])[], assignments: Int32Array, k: number, opts: CTfidfOptions = {}): ClusterTerm[][] {
  const topN = opts.topN ?? 10;
  const minDf = opts.minClusterDf ?? 1;
  const n = docs.length;
  if (assignments.length < n) throw new RangeError(`clusterTopTerms: ${assignments.length} assignments for ${n} documents`);
  // Documents grouped by cluster (counting sort), so each cluster's counts are built in one dense,
  // reusable array and only touched entries are read back: memory stays O(vocabulary + pairs).
  const counts = new Int32Array(k);
  for (let i = 0; i < n; i++) if (assignments[i] >= 0) counts[assignments[i]]++;
  const start = new Int32Array(k + 1);
  for (let c = 0; c < k; c++) start[c + 1] = start[c] + counts[c];
  const pos = start.slice(0, k);
  const order = new Int32Array(start[k]);
  for (let i = 0; i < n; i++) {
    const c = assignments[i];
    if (c >= 0) {
      if (c >= k) throw new RangeError(`clusterTopTerms: cluster ${c} >= k = ${k}`);
      order[pos[c]++] = i;
    }
  }
  const table: TermTable = createStopWordTable();
  const nStop = STOP_WORDS.length;
  const scanner = new TokenScanner(opts);
  let tf = new Int32Array(4096);
  let df = new Int32Array(4096);
  let lastDoc = new Int32Array(4096).fill(-1);
  let total = new Float64Array(4096);
  const touched: number[] = [];
  const clusterTerms: Int32Array[] = [];
  const clusterCounts: Int32Array[] = [];
  const words = new Float64Array(k);
  const ensure = (id: number): void => {
    if (id < tf.length) return;
    let cap = tf.length;
    while (cap <= id) cap *= 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, fill: number): T => {
      const b = new (a.constructor as new (len: number) => T)(cap);
      b.fill(fill);
      b.set(a);
      return b;
    };
    tf = grow(tf, 0);
    df = grow(df, 0);
    lastDoc = grow(lastDoc, -1);
    total = grow(total, 0);
  };
  const addTerm = (id: number, doc: number): void => {
    if (id < nStop) return;
    ensure(id);
    if (tf[id] === 0) touched.push(id);
    tf[id]++;
    if (lastDoc[id] !== doc) {
      lastDoc[id] = doc;
      df[id]++;
    }
  };
  for (let c = 0; c < k; c++) {
    for (let p = start[c]; p < start[c + 1]; p++) {
      const i = order[p];
      const doc = docs[i];
      if (typeof doc === 'string') {
        const cnt = scanner.scan(doc);
        for (let t = 0; t < cnt; t++) {
          const s = scanner.starts[t];
          const e = scanner.ends[t];
          const h = scanner.hashes[t];
          const stop = table.find(doc, s, e, h);
          if (stop >= 0 && stop < nStop) continue;
          addTerm(stop >= 0 ? stop : table.intern(doc, s, e, h), i);
        }
      } else {
        for (const tok of doc) addTerm(table.add(tok), i);
      }
    }
    const ids = new Int32Array(touched.length);
    const cs = new Int32Array(touched.length);
    let w = 0;
    let kept = 0;
    for (let r = 0; r < touched.length; r++) {
      const id = touched[r];
      w += tf[id];
      if (df[id] >= minDf) {
        ids[kept] = id;
        cs[kept] = tf[id];
        kept++;
      }
      total[id] += tf[id];
      tf[id] = 0;
      df[id] = 0;
    }
    touched.length = 0;
    words[c] = w;
    clusterTerms.push(ids.slice(0, kept));
    clusterCounts.push(cs.slice(0, kept));
  }
  let avg = 0;
  for (let c = 0; c < k; c++) avg += words[c];
  avg /= Math.max(1, k);
  const out: ClusterTerm[][] = [];
  for (let c = 0; c < k; c++) {
    const ids = clusterTerms[c];
    const cs = clusterCounts[c];
    const w = words[c];
    const scored: { id: number; score: number; count: number }[] = [];
    for (let r = 0; r < ids.length; r++) {
      const id = ids[r];
      const score = (cs[r] / w) * Math.log(1 + avg / total[id]);
      scored.push({ id, score, count: cs[r] });
    }
    // Ties (equal score) resolve by term id = first occurrence, so the ranking is deterministic.
    scored.sort((a, b) => b.score - a.score || a.id - b.id);
    out.push(scored.slice(0, topN).map((s) => ({ term: table.term(s.id), score: s.score, count: s.count })));
  }
  return out;
}

/**
 * The `m` rows of each cluster nearest to its centroid (ids from `ids[row]` when given, else row
 * numbers), nearest first, with their squared distances.
 */
export function nearestToCentroid(
  data: Float32Array,
  n: number,
  d: number,
  assignments: Int32Array,
  centroids: Float32Array | Float64Array,
  k: number,
  m: number,
  ids: Int32Array | Uint32Array | null = null,
): { ids: Int32Array[]; dist2: Float64Array[] } {
  const bestIdx: Int32Array[] = [];
  const bestD: Float64Array[] = [];
  const fill = new Int32Array(k);
  for (let c = 0; c < k; c++) {
    bestIdx.push(new Int32Array(m).fill(-1));
    bestD.push(new Float64Array(m).fill(Infinity));
  }
  for (let i = 0; i < n; i++) {
    const c = assignments[i];
    if (c < 0) continue;
    const dd = sqDist(data, i, centroids, c, d);
    const bd = bestD[c];
    const f = fill[c];
    if (f === m && !(dd < bd[m - 1])) continue;
    // Insertion into the small sorted list (m is a handful).
    const bi = bestIdx[c];
    let p = f < m ? f : m - 1;
    while (p > 0 && bd[p - 1] > dd) {
      bd[p] = bd[p - 1];
      bi[p] = bi[p - 1];
      p--;
    }
    bd[p] = dd;
    bi[p] = i;
    if (f < m) fill[c] = f + 1;
  }
  const outIds: Int32Array[] = [];
  const outD: Float64Array[] = [];
  for (let c = 0; c < k; c++) {
    const f = fill[c];
    const r = new Int32Array(f);
    for (let p = 0; p < f; p++) r[p] = ids ? ids[bestIdx[c][p]] : bestIdx[c][p];
    outIds.push(r);
    outD.push(bestD[c].slice(0, f));
  }
  return { ids: outIds, dist2: outD };
}

export interface ClusterCard {
  cluster: number;
  size: number;
  /** Ids of the members nearest to the centroid, nearest first. */
  nearest: Int32Array;
  /** Their squared distances to the centroid. */
  nearestDist2: Float64Array;
  terms: ClusterTerm[];
  /** The top terms joined, e.g. "parse, json, token". */
  label: string;
}

export interface ClusterCardOptions extends CTfidfOptions {
  /** Nearest members listed per card (default 10). */
  nearest?: number;
  /** Terms in the label (default 3). */
  labelTerms?: number;
  /** Ids of the rows (default: row numbers). */
  ids?: Int32Array | Uint32Array;
}

/**
 * One card per cluster. `docs` are per-row texts (see functionLabelText) or token lists, aligned
 * with the rows of `data`.
 */
export function clusterCards(
  data: Float32Array,
  n: number,
  d: number,
  assignments: Int32Array,
  centroids: Float32Array | Float64Array,
  k: number,
  docs: readonly string[] | readonly (readonly string[])[],
  opts: ClusterCardOptions = {},
): ClusterCard[] {
  const near = nearestToCentroid(data, n, d, assignments, centroids, k, opts.nearest ?? 10, opts.ids ?? null);
  const terms = clusterTopTerms(docs, assignments, k, opts);
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) if (assignments[i] >= 0) sizes[assignments[i]]++;
  const nl = opts.labelTerms ?? 3;
  const cards: ClusterCard[] = [];
  for (let c = 0; c < k; c++) {
    cards.push({
      cluster: c,
      size: sizes[c],
      nearest: near.ids[c],
      nearestDist2: near.dist2[c],
      terms: terms[c],
      label: terms[c]
        .slice(0, nl)
        .map((t) => t.term)
        .join(', '),
    });
  }
  return cards;
}
