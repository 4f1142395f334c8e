import { describe, expect, it } from 'vitest';
import { STOP_WORDS, TermTable, TokenScanner, hashRange, tokenize } from '../../../src/core/text/tokenize.ts';

describe('tokenize', () => {
  it('splits snake_case and keeps the whole identifier first', () => {
    expect(tokenize('get_user_name')).toEqual(['get_user_name', 'get', 'user', 'name']);
  });

  it('splits camelCase, PascalCase and acronyms', () => {
    expect(tokenize('parseJson')).toEqual(['parsejson', 'parse', 'json']);
    expect(tokenize('HTTPServer')).toEqual(['httpserver', 'http', 'server']);
    expect(tokenize('getHTTPResponseCode')).toEqual(['gethttpresponsecode', 'get', 'http', 'response', 'code']);
    expect(tokenize('XMLHttpRequest')).toEqual(['xmlhttprequest', 'xml', 'http', 'request']);
  });

  it('splits at letter/digit boundaries and drops 1-char parts', () => {
    expect(tokenize('sha256')).toEqual(['sha256', 'sha', '256']);
    expect(tokenize('utf8')).toEqual(['utf8', 'utf']);
    expect(tokenize('base64Encode')).toEqual(['base64encode', 'base', '64', 'encode']);
    expect(tokenize('x2')).toEqual(['x2']);
  });

  it('single-part words are emitted once; leading/trailing underscores are stripped', () => {
    expect(tokenize('name')).toEqual(['name']);
    expect(tokenize('__init__')).toEqual(['init']);
    expect(tokenize('_private_var')).toEqual(['private_var', 'private', 'var']);
    expect(tokenize('____')).toEqual([]);
  });

  it('lower-cases, skips punctuation, 1-char tokens and number literals', () => {
    expect(tokenize('Foo(a, b) + 0x1F * 404 - 1e10 / 3.14')).toEqual(['foo']);
    expect(tokenize('CONSTANT_VALUE')).toEqual(['constant_value', 'constant', 'value']);
  });

  it('drops Python keywords, self/cls and English function words, per token', () => {
    expect(tokenize('def f(self): return None if x is not None else True')).toEqual([]);
    expect(tokenize('is_valid')).toEqual(['is_valid', 'valid']);
    expect(tokenize('Return the list of files in this directory')).toEqual(['list', 'files', 'directory']);
    expect(STOP_WORDS).toContain('lambda');
  });

  it('keeps non-ASCII letters inside words', () => {
    expect(tokenize('café naïve_größe')).toEqual(['café', 'naïve_größe', 'naïve', 'größe']);
    expect(tokenize('“quoted” — dash')).toEqual(['quoted', 'dash']);
  });

  it('skips over-long words (data blobs)', () => {
    const blob = 'A'.repeat(200);
    expect(tokenize(`ok ${blob} fine`)).toEqual(['ok', 'fine']);
    expect(tokenize(`ok ${blob} fine`, { maxWordLength: 1000 })).toContain('a'.repeat(200));
  });

  it('tokens are ranges of the input with matching hashes', () => {
    const text = 'class MyHTTPHandler(BaseHandler):\n    def do_GET(self): pass';
    const sc = new TokenScanner();
    const n = sc.scan(text);
    expect(n).toBeGreaterThan(0);
    for (let k = 0; k < n; k++) {
      const tok = text.slice(sc.starts[k], sc.ends[k]).toLowerCase();
      expect(sc.hashes[k]).toBe(hashRange(tok, 0, tok.length));
    }
  });

  it('is linear on an 800k-character function', () => {
    const line = 'result_value = computeSomething(alpha_beta, gammaDelta) + other_thing  # comment words here\n';
    const big = line.repeat(Math.ceil(800_000 / line.length));
    const t0 = performance.now();
    const sc = new TokenScanner();
    const n = sc.scan(big);
    const ms = performance.now() - t0;
    expect(n).toBeGreaterThan(100_000);
    expect(ms).toBeLessThan(2000);
  });
});

describe('TermTable', () => {
  it('interns case-insensitively and round-trips terms', () => {
    const t = new TermTable(4);
    const words = Array.from({ length: 5000 }, (_, i) => `term_${i}_x`);
    const ids = words.map((w) => t.add(w));
    expect(ids).toEqual(words.map((_, i) => i));
    expect(t.size).toBe(5000);
    expect(t.get('TERM_42_X')).toBe(42);
    expect(t.get('missing')).toBe(-1);
    expect(t.term(4999)).toBe('term_4999_x');
    const text = 'xx Term_7_X yy';
    expect(t.find(text, 3, 11, hashRange(text, 3, 11))).toBe(7);
    expect(t.intern(text, 3, 11, hashRange(text, 3, 11))).toBe(7);
  });
});
