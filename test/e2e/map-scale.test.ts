// End to end, the map at scale (issue 9): a synthetic data set with tiles (the tiles stage forced on
// a small N), opened in scale mode (?scale=1) with a low point budget (?budget=) in Debian's Chromium,
// served by `vite preview` (Range requests answered 206). The density layer is drawn first from the
// pyramid alone (no function columns, no layout, no points read); its pixels sit where the pyramid's
// dense cells are; zooming in range-reads the visible tiles' row groups, far fewer bytes than the
// whole points table; a loaded point hovers from the loaded columns, with its code read by id; a
// search lists names of results wherever they are and rings them without reloading the points.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Manifest } from '../../src/core/data/manifest.ts';
import { buildSynthetic } from '../../prebuild/synthetic.ts';
import { addTilesToDataSet } from '../../prebuild/tiles-cli.ts';
import { runSiteSearch } from '../bench/browser/site-search.ts';
import { launchBrowser, openPage, type Browser } from './helpers/browser.ts';
import { ROOT, buildSite, startPreview, type Preview } from './helpers/site.ts';

const N = 120_000;
const BUDGET = 12_000;
const ARTIFACTS = join(ROOT, 'test', 'e2e', 'artifacts');

let work: string;
let dist: string;
let data: string;
let preview: Preview;
let browser: Browser;
let manifest: Manifest;

async function sql<T>(q: string): Promise<T[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(q)).getRowObjectsJS() as T[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Bytes of response bodies per data file name, as the page received them. */
function countBytes(page: Page): Map<string, number> {
  const sent = new Map<string, number>();
  page.on('response', (res) => {
    const url = new URL(res.url());
    const m = /\/scale\/(.+)$/.exec(url.pathname);
    if (!m) return;
    const len = Number(res.headers()['content-length'] ?? Number.NaN);
    const add = (n: number) => sent.set(m[1]!, (sent.get(m[1]!) ?? 0) + n);
    if (Number.isFinite(len)) add(len);
    else void res.body().then((b) => add(b.length), () => {});
  });
  return sent;
}

const sum = (sent: Map<string, number>, prefix: string) => [...sent].filter(([k]) => k.startsWith(prefix)).reduce((a, [, b]) => a + b, 0);

type Atlas = {
  scale(): { densityLevel: number; inView: number; status: string; budget: number; extent: { x0: number; y0: number; size: number } } | null;
  loadedIds(n?: number): number[];
  project(id: number): { x: number; y: number } | null;
  projectXY(x: number, y: number): { x: number; y: number } | null;
};

const atlas = <T>(page: Page, f: (a: Atlas, arg: unknown) => T, arg?: unknown): Promise<T> =>
  page.evaluate(
    ([src, a]) => {
      const at = (window as unknown as { __atlas: Atlas }).__atlas;
      return new Function('a', 'arg', `return (${src})(a, arg)`)(at, a) as T;
    },
    [f.toString(), arg] as const,
  );

/** RGB of the screenshot pixel at page coordinates. */
async function pixelAt(page: Page, x: number, y: number): Promise<[number, number, number]> {
  const png = await page.screenshot({ clip: { x: Math.round(x) - 1, y: Math.round(y) - 1, width: 3, height: 3 } });
  // Decode the 3x3 screenshot in the page (the browser has a PNG decoder).
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(1, 1, 1, 1).data;
    return [d[0]!, d[1]!, d[2]!] as [number, number, number];
  }, png.toString('base64'));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'atlas-e2e-scale-'));
  dist = join(work, 'dist');
  data = join(dist, 'scale');
  await buildSite(dist);
  // The generator runs the tiles stage at its end; the threshold is lowered so a small N gets tiles.
  await buildSynthetic({ n: N, seed: 4, outDir: data, quiet: true, exactVectors: false, tilesMinFunctions: 0 });
  // Smaller row groups for this small N and budget (DuckDB writes at least 2,048 rows per group).
  await addTilesToDataSet(data, { rowGroupRows: 2048, quiet: true });
  manifest = JSON.parse(readFileSync(join(data, 'manifest.json'), 'utf8')) as Manifest;
  preview = await startPreview(dist);
  browser = await launchBrowser();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await preview?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the map at scale', () => {
  it('draws the density first, loads only the zoomed view’s tiles, hovers and searches without loading every function', async () => {
    // The static server answers Range requests (the scale mode depends on it).
    const pts = manifest.tables['points-default']!;
    const probe = await fetch(`${preview.url}scale/${pts[0]!.path}`, { headers: { Range: 'bytes=4-99' } });
    expect(probe.status).toBe(206);
    expect((await probe.arrayBuffer()).byteLength).toBe(96);

    const { page, errors } = await openPage(browser.context);
    const sent = countBytes(page);
    await page.goto(`${preview.url}?data=scale/&scale=1&budget=${BUDGET}#/map`);
    const map = page.locator('[data-testid="map"][data-density]');
    await map.waitFor({ timeout: 120_000 });
    await page.locator('[data-testid="scale-legend"][data-status="density"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="map"]').getAttribute('data-points')).toBeNull();
    expect(Number(await page.locator('[data-testid="map"]').getAttribute('data-in-view'))).toBe(N);
    expect(Number((await page.locator('[data-testid="scale-count"]').innerText()).replace(/\D/g, ''))).toBe(N);
    // Up front: the pyramid, repos and stats only; no function column, no layout, no point.
    expect(sent.get('tiles-default.parquet')).toBeGreaterThan(0);
    for (const prefix of ['functions-', 'layout-', 'points-', 'vectors-']) expect(sum(sent, prefix), prefix).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'map-scale-density.png') });

    // The density's pixels are where the pyramid's dense cells are, and empty far from any cell.
    const cells = await sql<{ tx: number; ty: number; count: number; x: number; y: number }>(
      `SELECT tx::INT AS tx, ty::INT AS ty, count::INT AS count, x::DOUBLE AS x, y::DOUBLE AS y FROM '${join(data, 'tiles-default.parquet')}' WHERE level = 8 ORDER BY count DESC`,
    );
    const level = (await atlas(page, (a) => a.scale()!.densityLevel))!;
    expect(level).toBeGreaterThanOrEqual(5);
    const e = manifest.layouts[0]!.tiles!.extent;
    const dense = cells[0]!;
    // The centre of the densest level-8 cell's cell at the drawn level.
    const shift = 8 - level;
    const side = e.size / 2 ** level;
    const cx = e.x0 + ((dense.tx >> shift) + 0.5) * side;
    const cy = e.y0 + ((dense.ty >> shift) + 0.5) * side;
    const at = (await atlas(page, (a, p) => a.projectXY((p as number[])[0]!, (p as number[])[1]!), [cx, cy]))!;
    const bg = [251, 251, 252];
    const rgbDense = await pixelAt(page, at.x, at.y);
    expect(rgbDense.some((v, i) => Math.abs(v - bg[i]!) > 30), `pixel ${rgbDense} at the densest cell`).toBe(true);
    // A level-8 cell with no point within 6 cells: the background shows.
    const occupied = new Set(cells.map((c) => `${c.tx},${c.ty}`));
    let empty: [number, number] | null = null;
    outer: for (let ty = 6; ty < 250; ty += 3) {
      for (let tx = 6; tx < 250; tx += 3) {
        let clear = true;
        for (let dy = -6; dy <= 6 && clear; dy++) for (let dx = -6; dx <= 6 && clear; dx++) if (occupied.has(`${tx + dx},${ty + dy}`)) clear = false;
        if (clear) {
          empty = [tx, ty];
          break outer;
        }
      }
    }
    expect(empty).not.toBeNull();
    const es = e.size / 256;
    const atEmpty = (await atlas(page, (a, p) => a.projectXY((p as number[])[0]!, (p as number[])[1]!), [e.x0 + (empty![0] + 0.5) * es, e.y0 + (empty![1] + 0.5) * es]))!;
    const vp = page.viewportSize()!;
    if (atEmpty.x > 0 && atEmpty.y > 0 && atEmpty.x < vp.width && atEmpty.y < vp.height) {
      const rgbEmpty = await pixelAt(page, atEmpty.x, atEmpty.y);
      expect(rgbEmpty.every((v, i) => Math.abs(v - bg[i]!) <= 6), `pixel ${rgbEmpty} at an empty cell`).toBe(true);
    }

    // Zoom in on the densest cell until the view holds at most the budget: its tiles' points load.
    await page.mouse.move(at.x, at.y);
    for (let i = 0; i < 40; i++) {
      const s = await atlas(page, (a) => a.scale()!);
      if (s.inView <= BUDGET / 2) break;
      await page.mouse.wheel(0, -240);
      await page.waitForTimeout(150);
    }
    await page.locator('[data-testid="map"][data-points]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="scale-legend"][data-status="points"]').waitFor({ timeout: 30_000 });
    const loaded = Number(await page.locator('[data-testid="map"]').getAttribute('data-loaded'));
    const inView = Number(await page.locator('[data-testid="map"]').getAttribute('data-in-view'));
    expect(loaded).toBeGreaterThanOrEqual(inView);
    expect(loaded).toBeLessThanOrEqual(BUDGET * 2);
    expect(loaded).toBeLessThan(N / 3);
    await page.screenshot({ path: join(ARTIFACTS, 'map-scale-points.png') });
    const pointsBytes = sum(sent, 'points-');
    const pointsTotal = pts.reduce((a, f) => a + f.bytes, 0);
    console.log(`map-scale: zoomed view loaded ${loaded} of ${N} points (${inView} in view), ${pointsBytes} of ${pointsTotal} points bytes`);
    expect(pointsBytes).toBeGreaterThan(0);
    expect(pointsBytes).toBeLessThan(pointsTotal / 3);
    expect(sum(sent, 'functions-')).toBe(0);
    expect(sum(sent, 'layout-')).toBe(0);

    // Hover a loaded point: its name from the loaded columns, then its code read by id.
    const ids = await atlas(page, (a) => a.loadedIds(400));
    let hovered: number | null = null;
    for (const id of ids) {
      const pos = await atlas(page, (a, i) => a.project(i as number), id);
      if (!pos || pos.x < 20 || pos.y < 20 || pos.x > 700 || pos.y > vp.height - 20) continue;
      await page.mouse.move(pos.x - 30, pos.y - 30);
      await page.mouse.move(pos.x, pos.y, { steps: 4 });
      const tip = page.locator('[data-testid="tooltip"]');
      try {
        await tip.waitFor({ timeout: 3_000 });
      } catch {
        continue;
      }
      hovered = Number(await tip.getAttribute('data-id'));
      break;
    }
    expect(hovered, 'a loaded point shows a tooltip').not.toBeNull();
    await page.locator('[data-testid="tooltip-code"]').waitFor({ timeout: 30_000 });
    const fnFiles = manifest.tables.functions!.map((f) => `'${join(data, f.path)}'`).join(', ');
    const [row] = await sql<{ name: string; body: string }>(`SELECT name, body FROM read_parquet([${fnFiles}]) WHERE id = ${hovered}`);
    expect(await page.locator('[data-testid="tooltip-name"]').innerText()).toBe(row!.name);
    expect(await page.locator('[data-testid="tooltip-code"]').innerText()).toContain(row!.body.split('\n')[0]!);
    expect(sum(sent, 'functions-'), 'the code was read by id from one row group').toBeGreaterThan(0);
    expect(sum(sent, 'functions-')).toBeLessThan(manifest.tables.functions!.reduce((a, f) => a + f.bytes, 0) / 4);

    // A search: results are listed by name wherever they are; the points are not reloaded.
    await page.mouse.move(5, vp.height - 5);
    const pointsBefore = sum(sent, 'points-');
    // IVF, 4 partitions probed: the search path at scale (this data set has no id-ordered vectors for exact scans).
    await runSiteSearch(page, 'parse the config file', '4', 180_000);
    const highlighted = Number(await page.locator('[data-testid="map"]').getAttribute('data-highlighted'));
    expect(highlighted).toBeGreaterThan(0);
    const names = await page.locator('[data-testid="search-results"] li').allInnerTexts();
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((t) => t.trim().length > 0)).toBe(true);
    expect(sum(sent, 'points-')).toBe(pointsBefore);
    expect(errors).toEqual([]);
    await page.close();
  }, 600_000);

  it('opens the same data set normally (every point) with ?scale=0', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}?data=scale/&scale=0#/map`);
    const map = page.locator('[data-testid="map"][data-points]');
    await map.waitFor({ timeout: 120_000 });
    expect(Number(await map.getAttribute('data-points'))).toBe(N);
    expect(await map.getAttribute('data-density')).toBeNull();
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});
