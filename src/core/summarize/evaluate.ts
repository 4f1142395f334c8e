// Summary quality measures (the study's Figure 26 and the usual text-generation scores):
//   - BLEU-4 of a candidate against one reference, sentence level, with the smoothing that code
//     summarisation papers use (CodeXGLUE's / CodeT5's "smoothed BLEU-4", Lin & Och 2004): the
//     unigram precision is plain, and for n = 2..4 one is added to both the matched and the total
//     n-gram counts; geometric mean of the four with uniform weights, times the brevity penalty
//     exp(1 - r/c) when the candidate is shorter than the reference (1 otherwise). A candidate with
//     no matching unigram scores 0.
//   - ROUGE-L: longest common subsequence of the token lists, P = LCS/|candidate|,
//     R = LCS/|reference|, F = (1 + b^2) P R / (R + b^2 P), b = 1 by default (F1, as Google's
//     rouge-score reports it).
//   - cosine of two vectors, and a Gaussian kernel density estimate for the density plots.
// Tokens for BLEU and ROUGE: lower-cased runs of letters/digits/underscore, and single punctuation
// characters (so "Return the path." is return / the / path / .).
// Pure functions: no DOM, no Node APIs.

export function metricTokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0001');
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** Clipped n-gram matches and the candidate's n-gram count. */
export function ngramMatches(candidate: readonly string[], reference: readonly string[], n: number): { matched: number; total: number } {
  const c = ngramCounts(candidate, n);
  const r = ngramCounts(reference, n);
  let matched = 0;
  let total = 0;
  for (const [g, k] of c) {
    total += k;
    matched += Math.min(k, r.get(g) ?? 0);
  }
  return { matched, total };
}

/** Smoothed sentence BLEU-4 (see the top of the file) of token lists, in [0, 1]. */
export function bleu4Tokens(candidate: readonly string[], reference: readonly string[]): number {
  const c = candidate.length;
  const r = reference.length;
  if (c === 0 || r === 0) return 0;
  let logSum = 0;
  for (let n = 1; n <= 4; n++) {
    const { matched, total } = ngramMatches(candidate, reference, n);
    const p = n === 1 ? (total > 0 ? matched / total : 0) : (matched + 1) / (total + 1);
    if (p === 0) return 0;
    logSum += Math.log(p) / 4;
  }
  const bp = c > r ? 1 : Math.exp(1 - r / c);
  return bp * Math.exp(logSum);
}

export function bleu4(candidate: string, reference: string): number {
  return bleu4Tokens(metricTokens(candidate), metricTokens(reference));
}

/** Length of the longest common subsequence (O(|a| |b|) time, O(|b|) memory). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  const row = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(up, row[j - 1]);
      diag = up;
    }
  }
  return row[b.length];
}

/** ROUGE-L F of token lists (beta = 1: F1), in [0, 1]. */
export function rougeLTokens(candidate: readonly string[], reference: readonly string[], beta = 1): number {
  if (candidate.length === 0 || reference.length === 0) return 0;
  const l = lcsLength(candidate, reference);
  if (l === 0) return 0;
  const p = l / candidate.length;
  const r = l / reference.length;
  const b2 = beta * beta;
  return ((1 + b2) * p * r) / (r + b2 * p);
}

export function rougeL(candidate: string, reference: string, beta = 1): number {
  return rougeLTokens(metricTokens(candidate), metricTokens(reference), beta);
}

/** Cosine similarity of two equal-length vectors; 0 when either is all zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`cosine: lengths differ (${a.length} vs ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

function stdev(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return xs.length > 1 ? Math.sqrt(s / (xs.length - 1)) : 0;
}

/**
 * Silverman's rule-of-thumb bandwidth: 0.9 min(sd, IQR/1.34) n^(-1/5) (falls back to sd, then to a
 * small constant, when the spread is zero).
 */
export function silvermanBandwidth(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return 0.05;
  const sorted = Float64Array.from(xs).sort();
  const q = (p: number): number => {
    const at = p * (n - 1);
    const lo = Math.floor(at);
    const hi = Math.min(n - 1, lo + 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
  };
  const sd = stdev(xs);
  const iqr = (q(0.75) - q(0.25)) / 1.34;
  const spread = iqr > 0 ? Math.min(sd, iqr) : sd;
  return spread > 0 ? 0.9 * spread * n ** -0.2 : 0.05;
}

/**
 * Gaussian kernel density estimate of `xs` at `points` evenly spaced values from `lo` to `hi`
 * (each density integrates to ~1 over the real line). Bandwidth: Silverman's unless given.
 */
export function gaussianKde(
  xs: ArrayLike<number>,
  opts: { lo: number; hi: number; points?: number; bandwidth?: number },
): { x: number[]; density: number[]; bandwidth: number } {
  const points = opts.points ?? 101;
  if (!(points >= 2 && opts.hi > opts.lo)) throw new RangeError('gaussianKde: need points >= 2 and hi > lo');
  const h = opts.bandwidth ?? silvermanBandwidth(xs);
  if (!(h > 0)) throw new RangeError('gaussianKde: the bandwidth must be > 0');
  const x: number[] = [];
  const density: number[] = [];
  const norm = 1 / (xs.length * h * Math.sqrt(2 * Math.PI));
  for (let i = 0; i < points; i++) {
    const at = opts.lo + ((opts.hi - opts.lo) * i) / (points - 1);
    let s = 0;
    for (let j = 0; j < xs.length; j++) {
      const z = (at - xs[j]) / h;
      s += Math.exp(-0.5 * z * z);
    }
    x.push(at);
    density.push(xs.length ? s * norm : 0);
  }
  return { x, density, bandwidth: h };
}

/** Means of BLEU-4 and ROUGE-L over pairs (candidate, reference). */
export function scorePairs(pairs: readonly { candidate: string; reference: string }[]): { bleu4: number; rougeL: number; n: number } {
  let b = 0;
  let r = 0;
  for (const p of pairs) {
    const c = metricTokens(p.candidate);
    const ref = metricTokens(p.reference);
    b += bleu4Tokens(c, ref);
    r += rougeLTokens(c, ref);
  }
  const n = pairs.length;
  return { bleu4: n ? b / n : Number.NaN, rougeL: n ? r / n : Number.NaN, n };
}
