import { describe, expect, it } from 'vitest';
import { pointsInPolygon } from '../../../src/core/util/polygon.ts';
import { selectionCsv, selectionParquet, type SelectedRow } from '../../../src/ui/selection/export.ts';
import { memoryAsyncBuffer, readParquetColumns } from '../../../src/core/data/parquet-read.ts';

describe('lasso selection', () => {
  it('selects the points inside a polygon (even-odd), any winding, in 2-D and 3-D strides', () => {
    // A 10 x 10 grid of points at integer coordinates.
    const pts: number[] = [];
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) pts.push(x, y, 7);
    const square: [number, number][] = [[1.5, 1.5], [4.5, 1.5], [4.5, 4.5], [1.5, 4.5]];
    const inside = pointsInPolygon(Float32Array.from(pts), 100, 3, square);
    expect(Array.from(inside)).toEqual([22, 23, 24, 32, 33, 34, 42, 43, 44]);
    expect(Array.from(pointsInPolygon(Float32Array.from(pts), 100, 3, [...square].reverse()))).toEqual(Array.from(inside));
    // A triangle: brute-force check with barycentric signs.
    const tri: [number, number][] = [[0.2, 0.2], [9.1, 0.7], [3.3, 8.8]];
    const got = new Set(pointsInPolygon(Float32Array.from(pts), 100, 3, tri));
    const sign = (ax: number, ay: number, bx: number, by: number, x: number, y: number) => (bx - ax) * (y - ay) - (by - ay) * (x - ax);
    for (let i = 0; i < 100; i++) {
      const x = i % 10;
      const y = Math.floor(i / 10);
      const s = [sign(...tri[0]!, ...tri[1]!, x, y), sign(...tri[1]!, ...tri[2]!, x, y), sign(...tri[2]!, ...tri[0]!, x, y)];
      expect(got.has(i), `point ${x},${y}`).toBe(s.every((v) => v > 0) || s.every((v) => v < 0));
    }
    expect(pointsInPolygon(Float32Array.from(pts), 100, 3, [[0, 0], [1, 1]])).toHaveLength(0);
  });
});

const ROWS: SelectedRow[] = [
  { id: 7, qualname: 'A.parse', name: 'parse', repo: 'json', path: 'json/a.py', kind: 'method', n_lines: 12 },
  { id: 9, qualname: 'quote"me, please', name: '=cmd()', repo: 'x', path: 'multi\nline.py', kind: 'function', n_lines: 3 },
];

describe('selection export', () => {
  it('writes CSV with quoting and no spreadsheet formulas', () => {
    const csv = selectionCsv(ROWS);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('id,qualname,name,repo,path,kind,n_lines');
    expect(lines[1]).toBe('7,A.parse,parse,json,json/a.py,method,12');
    expect(csv).toContain(`9,"quote""me, please",'=cmd(),x,"multi\nline.py",function,3`);
  });

  it('writes Parquet that reads back with the same rows', async () => {
    const buf = selectionParquet(ROWS);
    const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(buf), 'selection.parquet', ['id', 'qualname', 'repo', 'path', 'n_lines']);
    expect(rows).toBe(2);
    expect(Array.from(columns.id!, Number)).toEqual([7, 9]);
    expect(Array.from(columns.qualname!)).toEqual(['A.parse', 'quote"me, please']);
    expect(Array.from(columns.path!)).toEqual(['json/a.py', 'multi\nline.py']);
    expect(Array.from(columns.n_lines!, Number)).toEqual([12, 3]);
  });
});
