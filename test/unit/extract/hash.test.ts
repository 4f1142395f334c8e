// The content hash: FNV-1a-64 over UTF-8, checked against published test vectors and Python.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { contentHash, digestText, fnv1a64Bytes } from '../../../src/core/util/hash.ts';
import { findPython } from './cpython.ts';

describe('contentHash (FNV-1a-64 of UTF-8)', () => {
  it('matches the published FNV-1a-64 vectors', () => {
    expect(contentHash('')).toBe('cbf29ce484222325');
    expect(contentHash('a')).toBe('af63dc4c8601ec8c');
    expect(contentHash('foobar')).toBe('85944171f73967e8');
  });

  it('hashes the UTF-8 bytes (same as hashing TextEncoder output)', () => {
    for (const s of ['é', '€', '😀', 'def f():\n    return "é€😀"\n', 'x'.repeat(10_000)]) {
      expect(contentHash(s)).toBe(fnv1a64Bytes(new TextEncoder().encode(s)));
    }
    // A lone surrogate is hashed as U+FFFD, as TextEncoder encodes it.
    expect(contentHash('a\ud800b')).toBe(fnv1a64Bytes(new TextEncoder().encode('a\ud800b')));
  });

  it('counts code points and newlines in the same pass', () => {
    expect(digestText('a😀\nb\n')).toMatchObject({ codePoints: 5, newlines: 2 });
    expect(digestText('')).toMatchObject({ codePoints: 0, newlines: 0 });
  });

  it('is deterministic and sensitive to every character', () => {
    const a = 'def f(x):\n    return x + 1';
    expect(contentHash(a)).toBe(contentHash(`${a}`));
    expect(contentHash(a)).not.toBe(contentHash(a.replace('1', '2')));
  });

  const py = findPython();
  it.skipIf(py === null)('matches a Python implementation', () => {
    const samples = ['', 'abc', 'Grüße 😀 — “quotes”', 'def f():\n\treturn None\n'];
    const script = `import json,sys
def f(b):
    h=0xcbf29ce484222325
    for x in b: h=((h^x)*0x100000001b3)&0xffffffffffffffff
    return '%016x'%h
print(json.dumps([f(s.encode('utf-8')) for s in json.loads(sys.stdin.read())]))`;
    const out = execFileSync(py!.exe, ['-c', script], { input: JSON.stringify(samples), encoding: 'utf8' });
    expect(samples.map(contentHash)).toEqual(JSON.parse(out));
  });
});
