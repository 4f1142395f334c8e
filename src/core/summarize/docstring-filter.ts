// The study's docstring pipeline (its section 5.1): which docstrings are usable as one-sentence
// summaries, and in what form.
//
//   1. Garbage filter by length: a docstring shorter than `minChars` (e.g. "TODO", "Docstring") or
//      longer than `maxChars` (a manual page pasted into a function) is not a summary of anything.
//   2. Short version: the docstring's first sentence (firstSentence() below).
//   3. An original under `keepUnder` characters (85) is kept as it is: it is already short.
//   4. Otherwise the short version replaces it when the distance between original and short version
//      is under `maxDistance` (the first sentence says what the whole says), and the docstring is
//      dropped when it is not (the first sentence is a fragment: "Note:", "Examples", a signature...).
//   5. A short version longer than the original is dropped (a short-version function that makes
//      text up, or a broken extraction, must not pass).
//
// The distance is a parameter (e.g. the cosine distance of an embedder); the default, which the
// prebuild's summaries stage uses, is lexicalDistance(), a bag-of-words cosine distance that needs
// no model. Pure and synchronous: runs in Node and in workers.
import { classifyDocstring } from '../text/docstyle.ts';

export interface DocstringFilterOptions {
  /** Docstrings with fewer characters (after trimming) are garbage (default 10). */
  minChars?: number;
  /** Docstrings with more characters are garbage (default 4000). */
  maxChars?: number;
  /** Originals shorter than this are kept unchanged (default 85, the study's figure). */
  keepUnder?: number;
  /** Keep the short version when distance(original, short) < maxDistance (default 0.6). */
  maxDistance?: number;
  /** Distance between the original and its short version, 0 = same meaning (default lexicalDistance). */
  distance?: (original: string, short: string) => number;
  /** How the short version is made (default firstSentence). */
  shortVersion?: (original: string) => string;
}

export type DocstringVerdict =
  | { kept: true; text: string; reason: 'original-short' | 'short-version'; distance: number | null }
  | { kept: false; text: null; reason: 'empty' | 'too-short' | 'too-long' | 'too-far' | 'short-longer'; distance: number | null };

export const DOCSTRING_FILTER_DEFAULTS = { minChars: 10, maxChars: 4000, keepUnder: 85, maxDistance: 0.6 } as const;

const ABBREVIATIONS = /(?:\b(?:[eE]\.g|[iI]\.e|etc|vs|cf|approx|resp|incl|[nN]o|[fF]ig|[eE]q|[rR]ef|Dr|Mr|Mrs|St)|(?:^|\s)[A-Z])\.$/;

/**
 * The first sentence of a docstring, on one line: the first paragraph (up to a blank line or a
 * section header such as `Args:` / `Parameters` + dashes / `:param`), whitespace collapsed, cut after
 * the first `.`, `!` or `?` that is followed by whitespace or the end and does not end a common
 * abbreviation (e.g., i.e., etc.) or a capital initial (`J. Smith`). Empty when there is no text.
 */
export function firstSentence(doc: string): string {
  const lines = doc.replace(/\r\n?/g, '\n').split('\n');
  const para: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === '') {
      if (para.length) break;
      continue;
    }
    // A section starts: a field list, a numpy underline on the next line, a google header.
    if (para.length && (/^[:@][a-z]/i.test(t) || /^-{3,}$/.test((lines[i + 1] ?? '').trim()) || /^[A-Z][A-Za-z ]{1,30}:$/.test(t))) break;
    para.push(t);
  }
  const text = para.join(' ').replace(/\s+/g, ' ').trim();
  const re = /[.!?](?=\s|$)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const upto = text.slice(0, m.index + 1);
    if (m[0] === '.' && ABBREVIATIONS.test(upto) && m.index + 1 < text.length) continue;
    return upto;
  }
  return text;
}

function words(s: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of s.toLowerCase().match(/[a-z0-9]+/g) ?? []) out.set(w, (out.get(w) ?? 0) + 1);
  return out;
}

/** 1 - cosine of the two texts' word-count vectors (lower-cased alphanumeric words); 1 when either is empty. */
export function lexicalDistance(a: string, b: string): number {
  const x = words(a);
  const y = words(b);
  let dot = 0;
  let nx = 0;
  let ny = 0;
  for (const [w, c] of x) {
    nx += c * c;
    dot += c * (y.get(w) ?? 0);
  }
  for (const c of y.values()) ny += c * c;
  if (nx === 0 || ny === 0) return 1;
  return 1 - dot / Math.sqrt(nx * ny);
}

/**
 * The study's docstring filter for one docstring (see the top of this file for the steps). Returns
 * the text to use as the function's reference summary, or why there is none.
 */
export function filterDocstring(doc: string | null, opts: DocstringFilterOptions = {}): DocstringVerdict {
  const minChars = opts.minChars ?? DOCSTRING_FILTER_DEFAULTS.minChars;
  const maxChars = opts.maxChars ?? DOCSTRING_FILTER_DEFAULTS.maxChars;
  const keepUnder = opts.keepUnder ?? DOCSTRING_FILTER_DEFAULTS.keepUnder;
  const maxDistance = opts.maxDistance ?? DOCSTRING_FILTER_DEFAULTS.maxDistance;
  if (!(minChars >= 0 && maxChars >= minChars && keepUnder >= 0 && maxDistance >= 0)) {
    throw new RangeError('docstring filter: need 0 <= minChars <= maxChars, keepUnder >= 0, maxDistance >= 0');
  }
  const original = (doc ?? '').trim();
  if (original === '' || classifyDocstring(original) === 'none') return { kept: false, text: null, reason: 'empty', distance: null };
  if (original.length < minChars) return { kept: false, text: null, reason: 'too-short', distance: null };
  if (original.length > maxChars) return { kept: false, text: null, reason: 'too-long', distance: null };
  // An original under the threshold is kept as written, on one line.
  if (original.length < keepUnder) return { kept: true, text: original.replace(/\s+/g, ' '), reason: 'original-short', distance: null };
  const short = (opts.shortVersion ?? firstSentence)(original).trim();
  if (short.length > original.length) return { kept: false, text: null, reason: 'short-longer', distance: null };
  if (short === '') return { kept: false, text: null, reason: 'too-far', distance: 1 };
  const d = (opts.distance ?? lexicalDistance)(original, short);
  if (!(d < maxDistance)) return { kept: false, text: null, reason: 'too-far', distance: d };
  return { kept: true, text: short, reason: 'short-version', distance: d };
}
