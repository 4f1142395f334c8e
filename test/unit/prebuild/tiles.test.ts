// The tiles stage (prebuild/stages/tiles.ts) on a small synthetic data set with the threshold
// lowered: the pyramid's counts sum to N at every level and match a brute-force count of the layout
// (cell, dominant cluster, mean position); every point lands in its tile as src/core/map/tiles.ts
// computes it; the points shards hold every function once with its light columns, sorted by (tile,
// id) in small row groups that prune by tile code, so a small rectangle reads a small share of the
// bytes; rerunning with other shard sizes rewrites the manifest and removes the stale shards.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AsyncBuffer } from 'hyparquet';
import { validateManifest, type LayoutTiles, type Manifest } from '../../../src/core/data/manifest.ts';
import { memoryAsyncBuffer, readParquetColumns, readParquetMetadata, rowGroupStarts, toUint32Array } from '../../../src/core/data/parquet-read.ts';
import { cellOf, cellsInRect, mortonRanges, rowGroupsFor, tileCode, type TileExtent } from '../../../src/core/map/tiles.ts';
import { sha256File } from '../../../prebuild/fsutil.ts';
import { buildSynthetic } from '../../../prebuild/synthetic.ts';
import { addTilesToDataSet } from '../../../prebuild/tiles-cli.ts';
import { splitByCode } from '../../../prebuild/stages/tiles.ts';
import { parquetList, query } from './cli-helpers.ts';

const N = 30_000;
let work: string;
let dir: string;
let m: Manifest;
let tiles: LayoutTiles;
let extent: TileExtent;
/** The layout as the layout table holds it, in id order. */
let lx: Float32Array;
let ly: Float32Array;
let lc: Int32Array;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-tiles-'));
  dir = join(work, 'data');
  // The generator calls the stage at its end when N is above the threshold: lowered to 0 here.
  await buildSynthetic({ n: N, seed: 5, outDir: dir, quiet: true, exactVectors: false, tilesMinFunctions: 0 });
  m = validateManifest(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  tiles = m.layouts[0]!.tiles!;
  extent = { ...tiles.extent, levels: tiles.levels };
  const rows = await query<{ id: number; x: number; y: number; cluster: number }>(
    `SELECT id::INT AS id, x::DOUBLE AS x, y::DOUBLE AS y, cluster::INT AS cluster FROM read_parquet(${parquetList(dir, m, 'layout-default')}) ORDER BY id`,
  );
  lx = Float32Array.from(rows, (r) => r.x);
  ly = Float32Array.from(rows, (r) => r.y);
  lc = Int32Array.from(rows, (r) => r.cluster);
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('tiles stage', () => {
  test('adds a valid tiles entry and files with the sha256 the manifest names', async () => {
    expect(tiles).toMatchObject({ table: 'tiles-default', points: 'points-default', levels: 8 });
    expect(tiles.code_ranges).toHaveLength(m.tables['points-default']!.length);
    for (const f of [...m.tables['tiles-default']!, ...m.tables['points-default']!]) expect(await sha256File(join(dir, f.path)), f.path).toBe(f.sha256);
    // The square covers the layout's x, y bounds.
    const b = m.layouts[0]!.bounds;
    expect(extent.x0).toBeLessThanOrEqual(b.min[0]!);
    expect(extent.y0).toBeLessThanOrEqual(b.min[1]!);
    expect(extent.x0 + extent.size).toBeGreaterThanOrEqual(b.max[0]!);
    expect(extent.y0 + extent.size).toBeGreaterThanOrEqual(b.max[1]!);
  });

  test('the pyramid counts sum to N at every level and match a brute-force count', async () => {
    const cells = await query<{ level: number; tx: number; ty: number; count: number; cluster: number; x: number; y: number }>(
      `SELECT level::INT AS level, tx::INT AS tx, ty::INT AS ty, count::INT AS count, cluster::INT AS cluster, x::DOUBLE AS x, y::DOUBLE AS y FROM '${join(dir, 'tiles-default.parquet')}'`,
    );
    const levels = new Set(cells.map((c) => c.level));
    expect([...levels].sort((a, b) => a - b)).toEqual(Array.from({ length: 9 }, (_, i) => i));
    for (let l = 0; l <= 8; l++) expect(cells.filter((c) => c.level === l).reduce((a, c) => a + c.count, 0), `level ${l}`).toBe(N);
    // Sorted by level, ty, tx (the browser slices levels).
    for (let i = 1; i < cells.length; i++) {
      const a = cells[i - 1]!;
      const c = cells[i]!;
      expect(a.level < c.level || (a.level === c.level && (a.ty < c.ty || (a.ty === c.ty && a.tx < c.tx)))).toBe(true);
    }
    for (const level of [0, 3, 8]) {
      const per = new Map<string, { n: number; sx: number; sy: number; byCluster: Map<number, number> }>();
      for (let i = 0; i < N; i++) {
        const [tx, ty] = cellOf(lx[i]!, ly[i]!, extent, level);
        const k = `${tx},${ty}`;
        let c = per.get(k);
        if (!c) per.set(k, (c = { n: 0, sx: 0, sy: 0, byCluster: new Map() }));
        c.n++;
        c.sx += lx[i]!;
        c.sy += ly[i]!;
        c.byCluster.set(lc[i]!, (c.byCluster.get(lc[i]!) ?? 0) + 1);
      }
      const got = cells.filter((c) => c.level === level);
      expect(got.length, `non-empty cells at level ${level}`).toBe(per.size);
      for (const c of got) {
        const want = per.get(`${c.tx},${c.ty}`)!;
        expect(c.count).toBe(want.n);
        const best = [...want.byCluster].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
        expect(c.cluster).toBe(best);
        expect(c.x).toBeCloseTo(want.sx / want.n, 4);
        expect(c.y).toBeCloseTo(want.sy / want.n, 4);
      }
    }
  });

  test('every point is in the points shards once, in its tile, with its light columns, sorted by (tile, id)', async () => {
    const pts = await query<{ id: number; x: number; y: number; tile: number; cluster: number; ok: boolean; rn: number }>(
      `SELECT p.id::INT AS id, p.x::DOUBLE AS x, p.y::DOUBLE AS y, p.tile::INT AS tile, p.cluster::INT AS cluster,
              (p.repo_id = f.repo_id AND p.kind = f.kind AND p.docstyle = f.docstyle AND p.n_lines = f.n_lines AND p.name = f.name) AS ok,
              row_number() OVER () AS rn
       FROM read_parquet(${parquetList(dir, m, 'points-default')}) p JOIN read_parquet(${parquetList(dir, m, 'functions')}) f USING (id)`,
    );
    expect(pts.length).toBe(N);
    expect(new Set(pts.map((p) => p.id)).size).toBe(N);
    for (const p of pts) {
      expect(p.ok, `light columns of ${p.id}`).toBe(true);
      expect(p.x).toBe(lx[p.id]);
      expect(p.cluster).toBe(lc[p.id]);
      expect(p.tile, `tile of ${p.id}`).toBe(tileCode(lx[p.id]!, ly[p.id]!, extent));
    }
    // File order: read each shard in row order and check (tile, id) ascends across them.
    let prev: [number, number] = [-1, -1];
    for (const [k, f] of m.tables['points-default']!.entries()) {
      const file = memoryAsyncBuffer(await readFile(join(dir, f.path)));
      const { columns } = await readParquetColumns(file, f.path, ['id', 'tile']);
      const ids = toUint32Array(columns.id!);
      const t = toUint32Array(columns.tile!);
      expect(t[0]).toBeGreaterThanOrEqual(tiles.code_ranges[k]![0]);
      expect(t[t.length - 1]).toBeLessThanOrEqual(tiles.code_ranges[k]![1]);
      for (let i = 0; i < ids.length; i++) {
        expect(t[i]! > prev[0] || (t[i] === prev[0] && ids[i]! > prev[1])).toBe(true);
        prev = [t[i]!, ids[i]!];
      }
    }
  });

  test('a small rectangle reads only the row groups of its tiles: every point inside, a small share of the bytes', async () => {
    const f = m.tables['points-default']![0]!;
    const bytes = await readFile(join(dir, f.path));
    const inner = memoryAsyncBuffer(bytes);
    let read = 0;
    const counting: AsyncBuffer = { byteLength: inner.byteLength, slice: (a, b) => ((read += (b ?? inner.byteLength) - a), inner.slice(a, b)) };
    const metadata = await readParquetMetadata(counting, f.path);
    const footer = read;
    const tileCol = metadata.row_groups[0]!.columns.findIndex((c) => c.meta_data?.path_in_schema[0] === 'tile');
    const stats = metadata.row_groups.map((g) => ({ min: Number(g.columns[tileCol]!.meta_data!.statistics!.min_value), max: Number(g.columns[tileCol]!.meta_data!.statistics!.max_value) }));
    expect(metadata.row_groups.length).toBeGreaterThan(3);
    for (const g of metadata.row_groups) expect(Number(g.num_rows)).toBeLessThanOrEqual(4096);
    // A rectangle around the densest level-8 cell's neighbourhood.
    const [dense] = await query<{ tx: number; ty: number }>(`SELECT tx::INT AS tx, ty::INT AS ty FROM '${join(dir, 'tiles-default.parquet')}' WHERE level = 8 ORDER BY count DESC LIMIT 1`);
    const s = extent.size / 256;
    const rect = { minX: extent.x0 + (dense!.tx - 2) * s, minY: extent.y0 + (dense!.ty - 2) * s, maxX: extent.x0 + (dense!.tx + 3) * s, maxY: extent.y0 + (dense!.ty + 3) * s };
    const ranges = mortonRanges(cellsInRect(extent, rect)!);
    const groups = rowGroupsFor(stats, ranges);
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.length).toBeLessThan(metadata.row_groups.length / 2);
    const starts = rowGroupStarts(metadata);
    const got = new Set<number>();
    for (const g of groups) {
      const { columns } = await readParquetColumns(counting, f.path, ['id', 'x', 'y', 'tile'], { metadata, rowStart: starts[g]!, rowEnd: starts[g + 1]! });
      for (const id of toUint32Array(columns.id!)) got.add(id);
    }
    // Every point whose cell is in the rectangle's cells was read.
    const r = cellsInRect(extent, rect)!;
    let inside = 0;
    for (let id = 0; id < N; id++) {
      const [tx, ty] = cellOf(lx[id]!, ly[id]!, extent);
      if (tx < r.tx0 || tx > r.tx1 || ty < r.ty0 || ty > r.ty1) continue;
      inside++;
      expect(got.has(id), `point ${id} in the rectangle`).toBe(true);
    }
    expect(inside).toBeGreaterThan(0);
    const dataRead = read - footer;
    expect(dataRead).toBeLessThan(bytes.length / 3);
    console.log(`tiles: rectangle of ${inside} points read ${groups.length}/${metadata.row_groups.length} row groups, ${dataRead} of ${bytes.length} bytes (+${footer} footer)`);
  });

  test('splits shards at tile boundaries; a rerun with other sizes rewrites the manifest and removes stale shards', async () => {
    expect(splitByCode([1, 2, 5, 9], [3, 4, 2, 6], 7)).toEqual([
      { lo: 1, hi: 2, rows: 7 },
      { lo: 5, hi: 5, rows: 2 },
      { lo: 9, hi: 9, rows: 6 },
    ]);
    // A code with more rows than a shard holds gets a shard of its own.
    expect(splitByCode([0, 3], [10, 1], 4)).toEqual([
      { lo: 0, hi: 0, rows: 10 },
      { lo: 3, hi: 3, rows: 1 },
    ]);
    const m2 = await addTilesToDataSet(dir, { shardRows: 8000, rowGroupRows: 1024, quiet: true });
    const shards = m2.tables['points-default']!;
    expect(shards.length).toBeGreaterThanOrEqual(4);
    expect(shards.reduce((a, f) => a + f.rows!, 0)).toBe(N);
    const cr = m2.layouts[0]!.tiles!.code_ranges;
    for (let i = 1; i < cr.length; i++) expect(cr[i]![0]).toBeGreaterThan(cr[i - 1]![1]);
    const m3 = await addTilesToDataSet(dir, { quiet: true });
    expect(m3.tables['points-default']).toHaveLength(1);
    for (const f of shards.slice(1)) expect(existsSync(join(dir, f.path)), f.path).toBe(false);
    expect(validateManifest(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))).layouts[0]!.tiles).toEqual(m3.layouts[0]!.tiles);
  }, 300_000);
});
