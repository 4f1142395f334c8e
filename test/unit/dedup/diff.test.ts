import { describe, expect, it } from 'vitest';
import { diffLines, sideBySide, splitLines } from '../../../src/ui/dedup/diff.ts';

/** Rebuilds both sides from a diff: 'same' and 'del' lines give a, 'same' and 'add' lines give b. */
function sides(d: ReturnType<typeof diffLines>): { a: string[]; b: string[] } {
  return {
    a: d.lines.filter((l) => l.op !== 'add').map((l) => l.text),
    b: d.lines.filter((l) => l.op !== 'del').map((l) => l.text),
  };
}

/** LCS length by the textbook recursion (memoised), as the reference. */
function lcsLength(a: string[], b: string[]): number {
  const memo = new Map<string, number>();
  const f = (i: number, j: number): number => {
    if (i === a.length || j === b.length) return 0;
    const k = `${i},${j}`;
    const m = memo.get(k);
    if (m !== undefined) return m;
    const v = a[i] === b[j] ? 1 + f(i + 1, j + 1) : Math.max(f(i + 1, j), f(i, j + 1));
    memo.set(k, v);
    return v;
  };
  return f(0, 0);
}

describe('splitLines', () => {
  it('splits on \\n and \\r\\n; a final newline makes no empty line', () => {
    expect(splitLines('')).toEqual([]);
    expect(splitLines('a')).toEqual(['a']);
    expect(splitLines('a\n')).toEqual(['a']);
    expect(splitLines('a\r\nb\n\nc')).toEqual(['a', 'b', '', 'c']);
  });
});

describe('diffLines', () => {
  it('finds nothing to change between equal texts', () => {
    const t = 'def f(x):\n    return x + 1\n';
    const d = diffLines(t, t);
    expect(d).toMatchObject({ same: 2, deleted: 0, added: 0, exact: true });
    expect(d.lines.map((l) => [l.op, l.a, l.b])).toEqual([
      ['same', 0, 0],
      ['same', 1, 1],
    ]);
  });

  it('shows a renamed clone as one changed line among equal ones', () => {
    const a = 'def total(items):\n    s = 0\n    for x in items:\n        s += x\n    return s\n';
    const b = 'def sum_all(values):\n    s = 0\n    for x in values:\n        s += x\n    return s\n';
    const d = diffLines(a, b);
    expect(d.same).toBe(3);
    expect(d.deleted).toBe(2);
    expect(d.added).toBe(2);
    expect(sides(d)).toEqual({ a: splitLines(a), b: splitLines(b) });
    const rows = sideBySide(d, a, b);
    expect(rows.map((r) => r.kind)).toEqual(['change', 'same', 'change', 'same', 'same']);
    expect(rows[0].left).toEqual({ n: 1, text: 'def total(items):' });
    expect(rows[0].right).toEqual({ n: 1, text: 'def sum_all(values):' });
  });

  it('handles insertions, deletions and empty sides', () => {
    expect(diffLines('', '')).toMatchObject({ lines: [], same: 0, deleted: 0, added: 0 });
    expect(diffLines('a\nb', '')).toMatchObject({ same: 0, deleted: 2, added: 0 });
    expect(diffLines('', 'a\nb')).toMatchObject({ same: 0, deleted: 0, added: 2 });
    const d = diffLines('a\nb\nc', 'a\nx\nb\nc\ny');
    expect(d.lines.map((l) => `${l.op}:${l.text}`)).toEqual(['same:a', 'add:x', 'same:b', 'same:c', 'add:y']);
    const rows = sideBySide(d, 'a\nb\nc', 'a\nx\nb\nc\ny');
    expect(rows.map((r) => r.kind)).toEqual(['same', 'add', 'same', 'same', 'add']);
    expect(rows[1].left).toBeNull();
  });

  it('keeps a longest common subsequence on random texts (against a reference recursion)', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let trial = 0; trial < 200; trial++) {
      const a = Array.from({ length: rnd(12) }, () => 'abcd'[rnd(4)]);
      const b = Array.from({ length: rnd(12) }, () => 'abcd'[rnd(4)]);
      const d = diffLines(a.join('\n'), b.join('\n'));
      expect(sides(d)).toEqual({ a, b });
      expect(d.same).toBe(lcsLength(a, b));
      // Line numbers are in order on both sides.
      const as = d.lines.filter((l) => l.a !== null).map((l) => l.a);
      const bs = d.lines.filter((l) => l.b !== null).map((l) => l.b);
      expect(as).toEqual(a.map((_, i) => i));
      expect(bs).toEqual(b.map((_, i) => i));
    }
  });

  it('falls back to a block replacement when the middle is too large, keeping prefix and suffix', () => {
    const a = ['head', ...Array.from({ length: 50 }, (_, i) => `a${i}`), 'tail'].join('\n');
    const b = ['head', ...Array.from({ length: 50 }, (_, i) => `b${i}`), 'tail'].join('\n');
    const d = diffLines(a, b, 100);
    expect(d.exact).toBe(false);
    expect(d).toMatchObject({ same: 2, deleted: 50, added: 50 });
    expect(d.lines[0]).toMatchObject({ op: 'same', text: 'head' });
    expect(d.lines[d.lines.length - 1]).toMatchObject({ op: 'same', text: 'tail', a: 51, b: 51 });
    expect(sides(d)).toEqual({ a: splitLines(a), b: splitLines(b) });
  });
});
