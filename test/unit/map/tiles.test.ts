// The map's tile math (src/core/map/tiles.ts): Morton codes, cells of points, the code intervals of
// a rectangle (checked against brute force), row-group selection, level choice and the count grid.
import { describe, expect, test } from 'vitest';
import {
  CountGrid,
  cellBounds,
  cellOf,
  cellsInRect,
  demorton,
  levelForZoom,
  morton,
  mortonRanges,
  overlapsRanges,
  rowGroupsFor,
  squareExtent,
  tileCode,
  TileError,
  type CellRange,
} from '../../../src/core/map/tiles.ts';
import { createRng } from '../../../src/core/util/random.ts';

describe('Morton codes', () => {
  test('interleave x into the even bits and y into the odd bits, and invert', () => {
    expect(morton(0, 0)).toBe(0);
    expect(morton(1, 0)).toBe(1);
    expect(morton(0, 1)).toBe(2);
    expect(morton(1, 1)).toBe(3);
    expect(morton(2, 0)).toBe(4);
    expect(morton(3, 5)).toBe(0b100111);
    expect(morton(0xffff, 0xffff)).toBe(0xffffffff);
    const rng = createRng(3);
    for (let i = 0; i < 2000; i++) {
      const x = rng.int(1 << 15);
      const y = rng.int(1 << 15);
      expect(demorton(morton(x, y))).toEqual([x, y]);
    }
  });

  test('order the cells of a level so that each quadrant is one contiguous interval', () => {
    const L = 4;
    const codes = new Set<number>();
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) codes.add(morton(x, y));
    expect(codes.size).toBe(256);
    expect(Math.max(...codes)).toBe(255);
    // The top-right quadrant (x >= 8, y < 8) is codes 64..127.
    for (let y = 0; y < 8; y++) for (let x = 8; x < 16; x++) expect(morton(x, y) >> (2 * (L - 1))).toBe(1);
  });
});

describe('extent and cells', () => {
  test('the square extent centres the shorter axis and covers the bounds', () => {
    const e = squareExtent({ min: [-2, 10, 5], max: [6, 12, 9] }, 8);
    expect(e).toEqual({ x0: -2, y0: 7, size: 8, levels: 8 });
    expect(cellOf(-2, 7, e)).toEqual([0, 0]);
    expect(cellOf(6, 15, e)).toEqual([255, 255]); // the far edge is clamped into the grid
    expect(cellOf(2, 11, e, 1)).toEqual([1, 1]);
    expect(cellOf(-100, 100, e)).toEqual([0, 255]);
    expect(() => squareExtent({ min: [0, 0], max: [Number.NaN, 1] })).toThrow(TileError);
    expect(() => squareExtent({ min: [0, 0], max: [1, 1] }, 16)).toThrow(/from 0 to 15/);
  });

  test('every point lies inside its cell’s rectangle', () => {
    const e = squareExtent({ min: [-3.5, -1], max: [4.25, 2] }, 6);
    const rng = createRng(11);
    for (let i = 0; i < 5000; i++) {
      const x = -3.5 + rng.next() * 7.75;
      const y = -1 + rng.next() * 3;
      const [tx, ty] = cellOf(x, y, e);
      const b = cellBounds(e, 6, tx, ty);
      expect(x >= b.minX - 1e-12 && x <= b.maxX + 1e-12 && y >= b.minY - 1e-12 && y <= b.maxY + 1e-12).toBe(true);
      expect(tileCode(x, y, e)).toBe(morton(tx, ty));
    }
  });
});

/** Brute force: the codes of every cell in a range. */
function codesIn(r: CellRange): number[] {
  const out: number[] = [];
  for (let y = r.ty0; y <= r.ty1; y++) for (let x = r.tx0; x <= r.tx1; x++) out.push(morton(x, y));
  return out.sort((a, b) => a - b);
}

describe('code intervals of a rectangle', () => {
  test('cover exactly the rectangle’s cells, sorted and merged', () => {
    const rng = createRng(5);
    for (let t = 0; t < 300; t++) {
      const level = 1 + rng.int(7);
      const n = 2 ** level;
      const a = rng.int(n);
      const b = rng.int(n);
      const c = rng.int(n);
      const d = rng.int(n);
      const r: CellRange = { level, tx0: Math.min(a, b), tx1: Math.max(a, b), ty0: Math.min(c, d), ty1: Math.max(c, d) };
      const ranges = mortonRanges(r);
      const listed: number[] = [];
      for (const [lo, hi] of ranges) for (let k = lo; k <= hi; k++) listed.push(k);
      expect(listed).toEqual(codesIn(r));
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThan(ranges[i - 1]![1] + 1);
    }
    // The whole grid is one interval.
    expect(mortonRanges({ level: 8, tx0: 0, ty0: 0, tx1: 255, ty1: 255 })).toEqual([[0, 65535]]);
  });

  test('a viewport rectangle maps to the cells it touches; one outside the extent to none', () => {
    const e = squareExtent({ min: [0, 0], max: [16, 16] }, 4);
    expect(cellsInRect(e, { minX: 1.5, minY: 3, maxX: 4.2, maxY: 3.9 })).toEqual({ level: 4, tx0: 1, ty0: 3, tx1: 4, ty1: 3 });
    expect(cellsInRect(e, { minX: -10, minY: -10, maxX: 100, maxY: 100 })).toEqual({ level: 4, tx0: 0, ty0: 0, tx1: 15, ty1: 15 });
    expect(cellsInRect(e, { minX: 20, minY: 0, maxX: 30, maxY: 5 })).toBeNull();
    expect(cellsInRect(e, { minX: 0, minY: 0, maxX: 8, maxY: 8 }, 1)).toEqual({ level: 1, tx0: 0, ty0: 0, tx1: 1, ty1: 1 });
  });

  test('select the row groups whose min/max code meets an interval', () => {
    const stats = [
      { min: 0, max: 9 },
      { min: 10, max: 19 },
      { min: 20, max: 20 },
      { min: 21, max: 40 },
    ];
    expect(rowGroupsFor(stats, [[12, 13]])).toEqual([1]);
    expect(rowGroupsFor(stats, [[5, 5], [20, 22]])).toEqual([0, 2, 3]);
    expect(rowGroupsFor(stats, [[41, 50]])).toEqual([]);
    expect(overlapsRanges([[1, 2], [8, 9]], 3, 7)).toBe(false);
    expect(overlapsRanges([[1, 2], [8, 9]], 3, 8)).toBe(true);
  });
});

describe('level choice and counts', () => {
  test('the finest level whose cells are at least minCellPx wide', () => {
    const e = squareExtent({ min: [0, 0], max: [256, 256] }, 8);
    // zoom 0: one pixel per unit, level-8 cells are 1 px, level-7 cells 2 px.
    expect(levelForZoom(e, 0, 2)).toBe(7);
    expect(levelForZoom(e, 1, 2)).toBe(8);
    expect(levelForZoom(e, 10, 2)).toBe(8);
    expect(levelForZoom(e, -20, 2)).toBe(0);
  });

  test('the count grid sums any cell range as brute force does', () => {
    const rng = createRng(9);
    const level = 5;
    const n = 32;
    const tx: number[] = [];
    const ty: number[] = [];
    const cnt: number[] = [];
    const dense = new Float64Array(n * n);
    for (let i = 0; i < 300; i++) {
      const x = rng.int(n);
      const y = rng.int(n);
      if (dense[y * n + x]) continue;
      const c = 1 + rng.int(1000);
      tx.push(x);
      ty.push(y);
      cnt.push(c);
      dense[y * n + x] = c;
    }
    const g = new CountGrid(level, tx, ty, cnt);
    expect(g.total).toBe(cnt.reduce((a, b) => a + b, 0));
    for (let t = 0; t < 200; t++) {
      const a = rng.int(n);
      const b = rng.int(n);
      const c = rng.int(n);
      const d = rng.int(n);
      const r: CellRange = { level, tx0: Math.min(a, b), tx1: Math.max(a, b), ty0: Math.min(c, d), ty1: Math.max(c, d) };
      let want = 0;
      for (let y = r.ty0; y <= r.ty1; y++) for (let x = r.tx0; x <= r.tx1; x++) want += dense[y * n + x]!;
      expect(g.count(r)).toBe(want);
    }
    expect(g.count(null)).toBe(0);
    expect(() => new CountGrid(2, [4], [0], [1])).toThrow(/outside level 2/);
  });
});
