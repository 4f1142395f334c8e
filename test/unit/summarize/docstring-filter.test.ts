import { describe, expect, it } from 'vitest';
import { filterDocstring, firstSentence, lexicalDistance } from '../../../src/core/summarize/docstring-filter.ts';

const LONG =
  'Return the absolute path of the given file name. The path is normalised, symbolic links are not resolved, ' +
  'and the result always begins with a slash on POSIX systems.';

describe('firstSentence', () => {
  it('cuts after the first sentence end, not after abbreviations or initials', () => {
    expect(firstSentence('Return e.g. the value. More text.')).toBe('Return e.g. the value.');
    expect(firstSentence('Parse a file, i.e. read it.\nThen close.')).toBe('Parse a file, i.e. read it.');
    expect(firstSentence('Is it empty? Check.')).toBe('Is it empty?');
    expect(firstSentence('Version 3.11 of the format. Next.')).toBe('Version 3.11 of the format.');
  });
  it('joins wrapped lines and stops at a blank line or a section header', () => {
    expect(firstSentence('Compute the\n   running mean\n\nOf the values.')).toBe('Compute the running mean');
    expect(firstSentence('Compute things\nArgs:\n    x: a value')).toBe('Compute things');
    expect(firstSentence('Compute things\n:param x: a value')).toBe('Compute things');
    expect(firstSentence('Compute things\nParameters\n----------\nx : int')).toBe('Compute things');
    expect(firstSentence('\n\n  Leading blank lines.  ')).toBe('Leading blank lines.');
    expect(firstSentence('')).toBe('');
  });
});

describe('filterDocstring (the study section 5.1)', () => {
  it('drops empty, too-short and too-long docstrings (garbage filter)', () => {
    expect(filterDocstring(null)).toMatchObject({ kept: false, reason: 'empty' });
    expect(filterDocstring('   \n ')).toMatchObject({ kept: false, reason: 'empty' });
    expect(filterDocstring('TODO.')).toMatchObject({ kept: false, reason: 'too-short' });
    expect(filterDocstring('x'.repeat(20), { minChars: 25 })).toMatchObject({ kept: false, reason: 'too-short' });
    expect(filterDocstring(`${'Word '.repeat(900)}end.`)).toMatchObject({ kept: false, reason: 'too-long' });
  });

  it('keeps an original under 85 characters as written (whitespace on one line)', () => {
    const v = filterDocstring('Return the sum\n    of a and b.');
    expect(v).toEqual({ kept: true, text: 'Return the sum of a and b.', reason: 'original-short', distance: null });
    // 84 characters: kept whole even though it has two sentences.
    const two = 'Open the file. Read every line of it and return them as a list of str.'.padEnd(84, '!');
    expect(two.length).toBe(84);
    expect(filterDocstring(two)).toMatchObject({ kept: true, text: two, reason: 'original-short' });
  });

  it('keeps the short version of a longer docstring only when it is close to the original', () => {
    expect(LONG.length).toBeGreaterThanOrEqual(85);
    const near = filterDocstring(LONG, { distance: () => 0.2 });
    expect(near).toEqual({ kept: true, text: 'Return the absolute path of the given file name.', reason: 'short-version', distance: 0.2 });
    expect(filterDocstring(LONG, { distance: () => 0.7 })).toEqual({ kept: false, text: null, reason: 'too-far', distance: 0.7 });
    // The threshold is strict: equal to maxDistance is too far.
    expect(filterDocstring(LONG, { distance: () => 0.5, maxDistance: 0.5 })).toMatchObject({ kept: false, reason: 'too-far' });
    // The default lexical distance is computed from the two texts.
    const d = lexicalDistance(LONG, 'Return the absolute path of the given file name.');
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(1);
    expect(filterDocstring(LONG, { maxDistance: d + 1e-9 })).toMatchObject({ kept: true, reason: 'short-version' });
    expect(filterDocstring(LONG, { maxDistance: d })).toMatchObject({ kept: false, reason: 'too-far' });
  });

  it('drops a fragment as first sentence (far from the whole) with the default distance', () => {
    const doc = 'Note:\n\nThis function reads the configuration from disk, merges the defaults and validates every section before returning it.';
    expect(filterDocstring(doc)).toMatchObject({ kept: false, reason: 'too-far' });
  });

  it('drops a short version longer than the original', () => {
    const v = filterDocstring(LONG, { shortVersion: (s) => `${s} (and more)` });
    expect(v).toEqual({ kept: false, text: null, reason: 'short-longer', distance: null });
  });

  it('refuses inconsistent thresholds', () => {
    expect(() => filterDocstring('Return x.', { minChars: 10, maxChars: 5 })).toThrow(RangeError);
  });
});
