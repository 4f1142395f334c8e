// The upload's report, pure: counts by language and kind, docstring coverage and conventions, the
// clusters its functions fall into, duplicated code inside it and shared with the corpus, length
// outliers (Tukey's upper fence on lines), and what the archive reader refused and why.
import type { DocStyle, ExtractedFunction } from '../data/schema.ts';

/** One extracted function of an upload: the extractor's record plus its path inside the archive. */
export interface UploadFunction extends ExtractedFunction {
  path: string;
}

/** Near-duplicate pairs inside the upload (function indices) and the groups they make. */
export interface InnerClones {
  threshold: number;
  a: Uint32Array;
  b: Uint32Array;
  similarity: Float32Array;
  /** Group per function (-1: alone). */
  group: Int32Array;
  method: string;
}

/** Upload functions whose near-duplicates are in the corpus: function index, corpus id, similarity. */
export interface CorpusClones {
  threshold: number;
  index: Uint32Array;
  corpusId: Uint32Array;
  similarity: Float32Array;
  /** Functions that could be compared (the corpus's language, parsed) and how candidates were found. */
  compared: number;
  method: string;
}

export interface CountRow {
  name: string;
  count: number;
}

export interface LanguageRow {
  lang: string;
  files: number;
  functions: number;
  documented: number;
}

export interface UploadReport {
  functions: number;
  files: number;
  byLanguage: LanguageRow[];
  byKind: CountRow[];
  docstrings: { documented: number; coverage: number; styles: CountRow[] };
  /** Clusters of the map the functions were assigned to, most functions first. */
  clusters: { cluster: number; count: number }[];
  inside: { threshold: number; groups: { members: number[] }[]; functions: number; method: string } | null;
  corpus: { threshold: number; functions: number; pairs: number; compared: number; method: string } | null;
  lines: { q1: number; median: number; q3: number; fence: number; max: number };
  /** Functions longer than the fence, longest first (at most 50). */
  outliers: { index: number; n_lines: number }[];
  outliersTotal: number;
  skipped: CountRow[];
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function countRows(values: Iterable<string>): CountRow[] {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export const MAX_OUTLIERS = 50;

export function buildReport(opts: {
  functions: readonly UploadFunction[];
  /** Source files read (with or without functions), per language. */
  filesByLanguage: Record<string, number>;
  clusters: Int32Array | null;
  inside: InnerClones | null;
  corpus: CorpusClones | null;
  skippedReasons: readonly string[];
}): UploadReport {
  const fns = opts.functions;
  const n = fns.length;
  const langs = new Map<string, LanguageRow>();
  for (const [lang, files] of Object.entries(opts.filesByLanguage)) langs.set(lang, { lang, files, functions: 0, documented: 0 });
  let documented = 0;
  for (const f of fns) {
    let row = langs.get(f.lang);
    if (!row) langs.set(f.lang, (row = { lang: f.lang, files: 0, functions: 0, documented: 0 }));
    row.functions++;
    if (f.docstring !== null && f.docstring.trim() !== '') {
      row.documented++;
      documented++;
    }
  }
  const byLanguage = [...langs.values()].sort((a, b) => b.functions - a.functions || (a.lang < b.lang ? -1 : 1));
  const styles = countRows(fns.filter((f) => f.docstring !== null && f.docstring.trim() !== '').map((f) => f.docstyle as DocStyle));

  const clusterCount = new Map<number, number>();
  if (opts.clusters) for (const c of opts.clusters) if (c >= 0) clusterCount.set(c, (clusterCount.get(c) ?? 0) + 1);
  const clusters = [...clusterCount].map(([cluster, count]) => ({ cluster, count })).sort((a, b) => b.count - a.count || a.cluster - b.cluster);

  let inside: UploadReport['inside'] = null;
  if (opts.inside) {
    const byGroup = new Map<number, number[]>();
    opts.inside.group.forEach((g, i) => {
      if (g < 0) return;
      let list = byGroup.get(g);
      if (!list) byGroup.set(g, (list = []));
      list.push(i);
    });
    const groups = [...byGroup.values()].filter((m) => m.length >= 2).sort((a, b) => b.length - a.length || a[0]! - b[0]!);
    inside = { threshold: opts.inside.threshold, groups: groups.map((members) => ({ members })), functions: groups.reduce((s, g) => s + g.length, 0), method: opts.inside.method };
  }

  let corpus: UploadReport['corpus'] = null;
  if (opts.corpus) {
    corpus = {
      threshold: opts.corpus.threshold,
      functions: new Set(opts.corpus.index).size,
      pairs: opts.corpus.index.length,
      compared: opts.corpus.compared,
      method: opts.corpus.method,
    };
  }

  const lines = Float64Array.from(fns, (f) => f.n_lines).sort();
  const q1 = quantile(lines, 0.25);
  const q3 = quantile(lines, 0.75);
  const fence = q3 + 1.5 * (q3 - q1);
  const over = fns.map((f, index) => ({ index, n_lines: f.n_lines })).filter((x) => x.n_lines > fence);
  over.sort((a, b) => b.n_lines - a.n_lines || a.index - b.index);

  return {
    functions: n,
    files: byLanguage.reduce((s, r) => s + r.files, 0),
    byLanguage,
    byKind: countRows(fns.map((f) => f.kind)),
    docstrings: { documented, coverage: n > 0 ? documented / n : 0, styles },
    clusters,
    inside,
    corpus,
    lines: { q1, median: quantile(lines, 0.5), q3, fence, max: lines.length ? lines[lines.length - 1]! : 0 },
    outliers: over.slice(0, MAX_OUTLIERS),
    outliersTotal: over.length,
    skipped: countRows(opts.skippedReasons),
  };
}
