// Tile math of the map at scale (millions of functions): a square extent over a layout's x, y cut
// into a quadtree of 2^level x 2^level cells per level, and a Z-order (Morton) code of the finest
// level's cell. The prebuild's tiles stage sorts the layout's points by that code, so the points of
// any rectangle lie in a few contiguous code ranges, which select row groups by their min/max code;
// the browser's map draws the pyramid's cell counts until a view holds few enough points to load.
// Pure: no DOM, no node:* imports. The prebuild computes the same cells in SQL (prebuild/stages/
// tiles.ts tileSql); the unit tests check that the two agree point for point.

/** The square the tiles cover and how deep the pyramid goes (levels 0..levels). */
export interface TileExtent {
  x0: number;
  y0: number;
  /** Side of the square in layout units. */
  size: number;
  /** The finest level: 2^levels cells per axis, and the level the tile code is taken at. */
  levels: number;
}

/** An axis-aligned rectangle in layout units. */
export interface Rect {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** Cells [tx0..tx1] x [ty0..ty1] (inclusive) of one level. */
export interface CellRange {
  level: number;
  tx0: number;
  ty0: number;
  tx1: number;
  ty1: number;
}

/** Deepest pyramid a code may address: two 15-bit coordinates in a 30-bit code. */
export const MAX_TILE_LEVELS = 15;
/** Default finest level: 256 x 256 cells. */
export const DEFAULT_TILE_LEVELS = 8;

export class TileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TileError';
  }
}

function checkLevels(levels: number): void {
  if (!Number.isInteger(levels) || levels < 0 || levels > MAX_TILE_LEVELS) {
    throw new TileError(`tile levels must be a whole number from 0 to ${MAX_TILE_LEVELS}, got ${levels}`);
  }
}

/** The square around a layout's x, y bounds (centred on the shorter axis) tiled to `levels`. */
export function squareExtent(bounds: { min: readonly number[]; max: readonly number[] }, levels = DEFAULT_TILE_LEVELS): TileExtent {
  checkLevels(levels);
  const [ax = 0, ay = 0] = bounds.min;
  const [bx = 1, by = 1] = bounds.max;
  if (![ax, ay, bx, by].every(Number.isFinite) || bx < ax || by < ay) {
    throw new TileError(`layout bounds [${ax}, ${ay}]-[${bx}, ${by}] are not a finite box`);
  }
  const dx = bx - ax;
  const dy = by - ay;
  const size = Math.max(dx, dy) || 1;
  return { x0: ax - (size - dx) / 2, y0: ay - (size - dy) / 2, size, levels };
}

/** Interleaves the low 16 bits of v with zeros: bit i goes to bit 2i. */
export function spreadBits(v: number): number {
  let x = v & 0xffff;
  x = (x | (x << 8)) & 0x00ff00ff;
  x = (x | (x << 4)) & 0x0f0f0f0f;
  x = (x | (x << 2)) & 0x33333333;
  x = (x | (x << 1)) & 0x55555555;
  return x >>> 0;
}

/** Inverse of spreadBits: the even bits of v, packed. */
export function compactBits(v: number): number {
  let x = v & 0x55555555;
  x = (x | (x >>> 1)) & 0x33333333;
  x = (x | (x >>> 2)) & 0x0f0f0f0f;
  x = (x | (x >>> 4)) & 0x00ff00ff;
  x = (x | (x >>> 8)) & 0x0000ffff;
  return x >>> 0;
}

/** Z-order code of cell (tx, ty): x in the even bits, y in the odd bits. */
export function morton(tx: number, ty: number): number {
  return (spreadBits(tx) | (spreadBits(ty) << 1)) >>> 0;
}

export function demorton(code: number): [number, number] {
  return [compactBits(code), compactBits(code >>> 1)];
}

/** Cell index along one axis at a level (clamped into the grid). Same arithmetic as the SQL. */
export function cellIndex(v: number, origin: number, size: number, level: number): number {
  const n = 2 ** level;
  const i = Math.floor(((v - origin) / size) * n);
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** The cell of a point at a level. */
export function cellOf(x: number, y: number, e: TileExtent, level = e.levels): [number, number] {
  return [cellIndex(x, e.x0, e.size, level), cellIndex(y, e.y0, e.size, level)];
}

/** The tile code (Morton code of the finest level's cell) of a point. */
export function tileCode(x: number, y: number, e: TileExtent): number {
  const [tx, ty] = cellOf(x, y, e);
  return morton(tx, ty);
}

/** A cell's rectangle in layout units. */
export function cellBounds(e: TileExtent, level: number, tx: number, ty: number): Rect {
  const s = e.size / 2 ** level;
  return { minX: e.x0 + tx * s, minY: e.y0 + ty * s, maxX: e.x0 + (tx + 1) * s, maxY: e.y0 + (ty + 1) * s };
}

/** The cells of a level a rectangle touches; null when it misses the extent. */
export function cellsInRect(e: TileExtent, r: Rect, level = e.levels): CellRange | null {
  if (!(r.maxX >= e.x0 && r.minX <= e.x0 + e.size && r.maxY >= e.y0 && r.minY <= e.y0 + e.size)) return null;
  return {
    level,
    tx0: cellIndex(r.minX, e.x0, e.size, level),
    ty0: cellIndex(r.minY, e.y0, e.size, level),
    tx1: cellIndex(r.maxX, e.x0, e.size, level),
    ty1: cellIndex(r.maxY, e.y0, e.size, level),
  };
}

/**
 * The tile codes (at `range.level`) of the cells in a range, as sorted, merged, inclusive code
 * intervals: a quadtree walk that emits a whole subtree's interval when the subtree lies inside.
 */
export function mortonRanges(range: CellRange): [number, number][] {
  const out: [number, number][] = [];
  const L = range.level;
  checkLevels(L);
  const visit = (l: number, tx: number, ty: number): void => {
    const shift = L - l;
    const ax = tx << shift;
    const ay = ty << shift;
    const bx = ax + (1 << shift) - 1;
    const by = ay + (1 << shift) - 1;
    if (bx < range.tx0 || ax > range.tx1 || by < range.ty0 || ay > range.ty1) return;
    if (ax >= range.tx0 && bx <= range.tx1 && ay >= range.ty0 && by <= range.ty1) {
      const lo = morton(ax, ay);
      const hi = lo + 4 ** shift - 1;
      const last = out[out.length - 1];
      if (last && last[1] + 1 === lo) last[1] = hi;
      else out.push([lo, hi]);
      return;
    }
    // Children in code order: (x bit, y bit) = (0,0), (1,0), (0,1), (1,1).
    for (let c = 0; c < 4; c++) visit(l + 1, 2 * tx + (c & 1), 2 * ty + (c >> 1));
  };
  visit(0, 0, 0);
  return out;
}

/** Whether [lo, hi] overlaps any of the sorted, disjoint intervals. */
export function overlapsRanges(ranges: readonly (readonly [number, number])[], lo: number, hi: number): boolean {
  // First interval whose end is >= lo.
  let a = 0;
  let b = ranges.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (ranges[m]![1] < lo) a = m + 1;
    else b = m;
  }
  return a < ranges.length && ranges[a]![0] <= hi;
}

/** Indices of the row groups (given their min/max tile code) that hold codes of the ranges. */
export function rowGroupsFor(stats: readonly { min: number; max: number }[], ranges: readonly (readonly [number, number])[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < stats.length; i++) if (overlapsRanges(ranges, stats[i]!.min, stats[i]!.max)) out.push(i);
  return out;
}

/**
 * The pyramid level to draw at a zoom: the finest whose cells are at least `minCellPx` pixels wide
 * (deck.gl's orthographic zoom z draws 2^z pixels per layout unit).
 */
export function levelForZoom(e: TileExtent, zoom: number, minCellPx = 2): number {
  const pxPerUnit = 2 ** zoom;
  for (let l = e.levels; l > 0; l--) if ((e.size / 2 ** l) * pxPerUnit >= minCellPx) return l;
  return 0;
}

/**
 * Point counts of the finest level as a summed-area table, so the points in any cell range are
 * counted in O(1) (the map's budget check on every move).
 */
export class CountGrid {
  readonly n: number;
  private readonly sat: Float64Array;
  readonly total: number;

  constructor(
    readonly level: number,
    tx: ArrayLike<number>,
    ty: ArrayLike<number>,
    count: ArrayLike<number>,
  ) {
    checkLevels(level);
    const n = 2 ** level;
    this.n = n;
    const w = n + 1;
    const sat = new Float64Array(w * w);
    let total = 0;
    for (let i = 0; i < count.length; i++) {
      const x = tx[i]!;
      const y = ty[i]!;
      if (x < 0 || y < 0 || x >= n || y >= n) throw new TileError(`cell (${x}, ${y}) is outside level ${level}`);
      sat[(y + 1) * w + (x + 1)]! += count[i]!;
      total += count[i]!;
    }
    for (let y = 1; y <= n; y++) {
      let row = 0;
      for (let x = 1; x <= n; x++) {
        row += sat[y * w + x]!;
        sat[y * w + x] = sat[(y - 1) * w + x]! + row;
      }
    }
    this.sat = sat;
    this.total = total;
  }

  /** Points in the cells of a range of this grid's level (inclusive). */
  count(r: CellRange | null): number {
    if (!r) return 0;
    if (r.level !== this.level) throw new TileError(`range is of level ${r.level}, the grid of level ${this.level}`);
    const w = this.n + 1;
    const s = this.sat;
    const x0 = r.tx0;
    const y0 = r.ty0;
    const x1 = r.tx1 + 1;
    const y1 = r.ty1 + 1;
    return s[y1 * w + x1]! - s[y0 * w + x1]! - s[y1 * w + x0]! + s[y0 * w + x0]!;
  }
}

/** The pyramid as columns: one row per non-empty cell of every level. */
export interface Pyramid {
  extent: TileExtent;
  level: Uint8Array;
  tx: Uint16Array;
  ty: Uint16Array;
  count: Uint32Array;
  /** The cell's most common cluster (-1 where the layout has none). */
  cluster: Int32Array;
  /** Mean x, y of the cell's points. */
  x: Float32Array;
  y: Float32Array;
}

/** Row range [start, end) of each level in a pyramid sorted by level. */
export function levelRows(p: Pyramid): { start: number; end: number }[] {
  const out = Array.from({ length: p.extent.levels + 1 }, () => ({ start: 0, end: 0 }));
  let i = 0;
  for (let l = 0; l <= p.extent.levels; l++) {
    out[l]!.start = i;
    while (i < p.level.length && p.level[i] === l) i++;
    out[l]!.end = i;
  }
  if (i !== p.level.length) throw new TileError('the pyramid is not sorted by level');
  return out;
}
