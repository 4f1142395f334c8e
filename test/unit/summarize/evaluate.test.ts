import { describe, expect, it } from 'vitest';
import { bleu4, cosine, gaussianKde, lcsLength, metricTokens, ngramMatches, rougeL, scorePairs, silvermanBandwidth } from '../../../src/core/summarize/evaluate.ts';

describe('metric tokens', () => {
  it('lower-cases words and splits punctuation', () => {
    expect(metricTokens('Return the PATH, or None.')).toEqual(['return', 'the', 'path', ',', 'or', 'none', '.']);
    expect(metricTokens('get_value()')).toEqual(['get_value', '(', ')']);
  });
});

describe('BLEU-4 (smoothed, Lin & Och 2004) against hand-computed values', () => {
  it('equal lengths: the cat sat on the mat / the cat is on the mat', () => {
    // p1 = 5/6 (unsmoothed); p2 = (3+1)/(5+1); p3 = (1+1)/(4+1); p4 = (0+1)/(3+1); BP = 1.
    const want = (5 / 6 * (4 / 6) * (2 / 5) * (1 / 4)) ** 0.25;
    expect(want).toBeCloseTo(18 ** -0.25, 12);
    expect(bleu4('the cat sat on the mat', 'the cat is on the mat')).toBeCloseTo(want, 12);
  });
  it('short candidate: brevity penalty exp(1 - r/c)', () => {
    // c = 3, r = 5: p1 = 3/3, p2 = (1+1)/(2+1), p3 = (0+1)/(1+1), p4 = (0+1)/(0+1).
    const want = Math.exp(1 - 5 / 3) * (1 * (2 / 3) * (1 / 2) * 1) ** 0.25;
    expect(bleu4('return the path', 'Return the absolute path.')).toBeCloseTo(want, 12);
  });
  it('identical is 1, no shared unigram is 0, empty is 0', () => {
    expect(bleu4('Return the absolute path of a file.', 'return the absolute path of a file .')).toBeCloseTo(1, 12);
    expect(bleu4('open socket', 'close file')).toBe(0);
    expect(bleu4('', 'close file')).toBe(0);
  });
  it('clips n-gram matches by the reference count', () => {
    expect(ngramMatches(['the', 'the', 'the'], ['the', 'cat'], 1)).toEqual({ matched: 1, total: 3 });
  });
});

describe('ROUGE-L F1 against hand-computed values', () => {
  it('LCS-based precision and recall', () => {
    expect(lcsLength(['a', 'b', 'c', 'd'], ['a', 'c', 'b', 'd'])).toBe(3);
    // LCS = 5 of 6 and 6 tokens: F = 5/6.
    expect(rougeL('the cat sat on the mat', 'the cat is on the mat')).toBeCloseTo(5 / 6, 12);
    // LCS "return the path" = 3; P = 3/3, R = 3/5; F1 = 2PR/(P+R) = 0.75.
    expect(rougeL('return the path', 'Return the absolute path.')).toBeCloseTo(0.75, 12);
    // beta = 2 weighs recall: (1+4) P R / (R + 4P) = 5 * 0.6 / 4.6.
    expect(rougeL('return the path', 'Return the absolute path.', 2)).toBeCloseTo(3 / 4.6, 12);
    expect(rougeL('x', '')).toBe(0);
  });
  it('averages over pairs', () => {
    const s = scorePairs([
      { candidate: 'the cat sat on the mat', reference: 'the cat is on the mat' },
      { candidate: 'open socket', reference: 'close file' },
    ]);
    expect(s.n).toBe(2);
    expect(s.rougeL).toBeCloseTo(5 / 12, 12);
    expect(s.bleu4).toBeCloseTo(18 ** -0.25 / 2, 12);
  });
});

describe('cosine and KDE', () => {
  it('cosine', () => {
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosine([1, 1], [1, 0])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosine([0, 0], [1, 0])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow(RangeError);
  });
  it('one point with bandwidth 1 is the standard normal density', () => {
    const k = gaussianKde([0], { lo: -2, hi: 2, points: 5, bandwidth: 1 });
    expect(k.x).toEqual([-2, -1, 0, 1, 2]);
    expect(k.density[2]).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 12);
    expect(k.density[1]).toBeCloseTo(Math.exp(-0.5) / Math.sqrt(2 * Math.PI), 12);
  });
  it('integrates to about 1 and peaks near the data', () => {
    const xs = [0.1, 0.15, 0.2, 0.22, 0.3, 0.6];
    const k = gaussianKde(xs, { lo: -1, hi: 2, points: 601 });
    const dx = 3 / 600;
    const area = k.density.reduce((s, d) => s + d * dx, 0);
    expect(area).toBeCloseTo(1, 3);
    const peak = k.x[k.density.indexOf(Math.max(...k.density))];
    expect(peak).toBeGreaterThan(0.1);
    expect(peak).toBeLessThan(0.3);
    // Silverman: 0.9 min(sd, IQR/1.34) n^-1/5, here by hand.
    const m = xs.reduce((a, b) => a + b) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
    const q = (p: number) => {
      const at = p * 5;
      const lo = Math.floor(at);
      return xs[lo] + (xs[Math.min(5, lo + 1)] - xs[lo]) * (at - lo);
    };
    const iqr = (q(0.75) - q(0.25)) / 1.34;
    expect(silvermanBandwidth(xs)).toBeCloseTo(0.9 * Math.min(sd, iqr) * 6 ** -0.2, 12);
  });
});
