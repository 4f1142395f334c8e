// End to end: the built site, served by `vite preview`, in Debian's Chromium. The data set is made by
// the real prebuild from three small Debian packages; broken and hostile copies of it sit beside it
// and are opened with `?data=`.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Manifest } from '../../src/core/data/manifest.ts';
import type { DatasetStats } from '../../src/core/data/stats.ts';
import { memoryAsyncBuffer, readRowById, shardForId } from '../../src/core/data/parquet-read.ts';
import { DuckDBInstance } from '@duckdb/node-api';
import { launchBrowser, openPage, type Browser } from './helpers/browser.ts';
import { HOSTILE, makeCorrupt, makeHostile, makeOtherSchema, prebuildDataSet, readManifest } from './helpers/data.ts';
import { ROOT, buildSite, copyDataSet, run, startPreview, type Preview } from './helpers/site.ts';

const ARTIFACTS = join(ROOT, 'test', 'e2e', 'artifacts');
const timings: Record<string, number> = {};

let work: string;
let dist: string;
let preview: Preview;
let browser: Browser;
let manifest: Manifest;
let corruptFile: string;
let hostileId: number;

async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    timings[name] = Date.now() - t0;
  }
}

/** Reads one function's row straight from the data set's Parquet, as the expectation. */
async function functionRow(dir: string, id: number): Promise<Record<string, unknown>> {
  const m = readManifest(dir);
  const shard = shardForId(m.tables.functions!, id)!;
  const file = memoryAsyncBuffer(readFileSync(join(dir, shard.path)));
  return readRowById(file, shard.path, id, ['name', 'qualname', 'path', 'body'], { idMin: shard.id_min! });
}

/** Records every view the page shows (loading, map, error...) from the very first frame. */
async function watchViews(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __views: string[] }).__views = seen;
    new MutationObserver(() => {
      for (const el of document.querySelectorAll('[data-view]')) {
        const v = el.getAttribute('data-view')!;
        if (seen[seen.length - 1] !== v) seen.push(v);
      }
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
}

async function waitForMap(page: Page): Promise<number> {
  const map = page.locator('[data-testid="map"][data-points]');
  await map.waitFor({ timeout: 60_000 });
  return Number(await map.getAttribute('data-points'));
}

/** Moves the pointer onto a function's point and waits for its tooltip; returns the tooltip's id. */
async function hoverFunction(page: Page, id: number): Promise<number> {
  const pos = await page.evaluate((id) => {
    const atlas = (window as unknown as { __atlas?: { project(id: number): { x: number; y: number } | null } }).__atlas;
    return atlas?.project(id) ?? null;
  }, id);
  expect(pos, `function ${id} has a screen position`).not.toBeNull();
  await page.mouse.move(pos!.x - 30, pos!.y - 30);
  await page.mouse.move(pos!.x, pos!.y, { steps: 4 });
  const tip = page.locator('[data-testid="tooltip"]');
  await tip.waitFor({ timeout: 15_000 });
  await page.locator('[data-testid="tooltip-code"]').waitFor({ timeout: 15_000 });
  return Number(await tip.getAttribute('data-id'));
}

async function expectError(page: Page, query: string, kind: string): Promise<string> {
  await page.goto(`${preview.url}${query}`);
  const el = page.locator(`[data-error-kind]`);
  await el.waitFor({ timeout: 30_000 });
  expect(await el.getAttribute('data-error-kind')).toBe(kind);
  return (await el.textContent()) ?? '';
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'atlas-e2e-'));
  dist = join(work, 'dist');
  // The prebuild and the site build are independent: run them side by side.
  const [data] = await Promise.all([
    timed('prebuild', () => prebuildDataSet(join(ROOT, '.cache', 'e2e-data'))),
    timed('vite build', () => buildSite(dist)),
  ]);
  copyDataSet(data.dir, join(dist, 'data'));
  manifest = readManifest(join(dist, 'data'));
  corruptFile = makeCorrupt(join(dist, 'data'), join(dist, 'corrupt'));
  makeOtherSchema(join(dist, 'data'), join(dist, 'old-schema'));
  hostileId = await timed('hostile data', () => makeHostile(join(dist, 'data'), join(dist, 'hostile')));
  preview = await startPreview(dist);
  browser = await timed('chromium start', () => launchBrowser());
});

afterAll(async () => {
  await browser?.close();
  await preview?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  console.log(`e2e timings (ms): ${JSON.stringify(timings)}`);
});

describe('Code Atlas site', () => {
  it('draws every function on the map, after a loading view, and says which backend renders', async () => {
    const { page, errors } = await openPage(browser.context);
    await watchViews(page);
    const t0 = Date.now();
    await page.goto(`${preview.url}#/map`);
    const points = await waitForMap(page);
    timings['map ready'] = Date.now() - t0;
    expect(manifest.counts.functions).toBeGreaterThan(100);
    expect(points).toBe(manifest.counts.functions);
    const views = await page.evaluate(() => (window as unknown as { __views: string[] }).__views);
    expect(views[0]).toBe('loading');
    expect(views).toContain('map');
    const renderer = await page.locator('footer[data-renderer]').getAttribute('data-renderer');
    expect(['webgl', 'webgpu']).toContain(renderer);
    await expect.poll(() => page.locator('[data-testid="renderer"]').textContent()).toBe(renderer);
    await page.screenshot({ path: join(ARTIFACTS, 'map.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a function’s name, repository, path and code when a point is hovered', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/map`);
    await waitForMap(page);
    // A function in the middle of the id range; the tooltip names whichever point is on top there.
    const target = manifest.tables.functions![0]!.id_min! + Math.floor(manifest.counts.functions / 2);
    const shown = await hoverFunction(page, target);
    const row = await functionRow(join(dist, 'data'), shown);
    expect(await page.locator('[data-testid="tooltip-name"]').textContent()).toBe(row.name);
    const tip = (await page.locator('[data-testid="tooltip"]').textContent()) ?? '';
    expect(tip).toContain(String(row.path));
    const code = (await page.locator('[data-testid="tooltip-code"]').textContent()) ?? '';
    expect(code.startsWith(String(row.body).split('\n')[0]!)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'map-hover.png') });
    // A click on the same point opens its detail panel with the whole body.
    await page.mouse.down();
    await page.mouse.up();
    const detail = page.locator(`[data-testid="detail"][data-id="${shown}"]`);
    await detail.locator('[data-testid="detail-code"]').waitFor({ timeout: 30_000 });
    expect(await detail.locator('[data-testid="detail-code"]').textContent()).toBe(String(row.body));
    expect(page.url()).toContain(`fn=${shown}`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lists a function’s near-duplicates in its detail panel, each one clickable', async () => {
    const dedupFiles = manifest.tables.dedup!.map((f) => `'${join(dist, 'data', f.path)}'`).join(',');
    const [g] = await duck<{ group_id: number; n: number; first_id: number }>(
      `SELECT group_id, count(*)::INT n, min(id)::INT first_id FROM read_parquet([${dedupFiles}]) WHERE group_id IS NOT NULL AND abs(threshold - 0.8) < 1e-4 GROUP BY group_id HAVING count(*) > 1 ORDER BY n DESC, group_id LIMIT 1`,
    );
    expect(g).toBeDefined();
    const members = (await duck<{ id: number }>(`SELECT id::INT id FROM read_parquet([${dedupFiles}]) WHERE group_id = ${g!.group_id} AND abs(threshold - 0.8) < 1e-4`)).map((r) => r.id);
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/map?fn=${g!.first_id}`);
    const dups = page.locator('[data-testid="detail-duplicates"][data-threshold="0.8"]');
    await dups.waitFor({ timeout: 60_000 });
    const listed = await dups.locator('button[data-id]').evaluateAll((bs) => bs.map((b) => Number(b.getAttribute('data-id'))));
    expect(listed).toHaveLength(Math.min(50, g!.n - 1));
    for (const id of listed) expect(members).toContain(id);
    expect(listed).not.toContain(g!.first_id);
    await dups.locator('button[data-id]').first().click();
    await expect.poll(() => page.url()).toContain(`fn=${listed[0]}`);
    await page.locator(`[data-testid="detail"][data-id="${listed[0]}"] [data-testid="detail-code"]`).waitFor({ timeout: 30_000 });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('renders every statistics chart as an SVG with marks, computed by DuckDB-WASM as in stats.json', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.setViewportSize({ width: 1280, height: 2300 });
    const t0 = Date.now();
    await page.goto(`${preview.url}#/stats`);
    await page.locator('[data-view="stats"][data-ready="true"]').waitFor({ timeout: 90_000 });
    timings['stats ready'] = Date.now() - t0;
    const stats = JSON.parse(readFileSync(join(dist, 'data', manifest.stats!.path), 'utf8')) as DatasetStats;
    const charts = {
      'repos-by-bytes': { mark: 'bar', el: 'rect', n: Math.min(25, stats.repos_by_bytes.length) },
      'repos-by-functions': { mark: 'bar', el: 'rect', n: Math.min(25, stats.repos_by_functions.length) },
      tags: stats.tags.length
        ? { mark: 'dot', el: 'circle', n: Math.min(80, stats.tags.length) }
        : { mark: 'text', el: 'text', n: 1 },
      'length-histogram': { mark: 'rect', el: 'rect', n: stats.length_histogram.length },
      docstyles: { mark: 'bar', el: 'rect', n: stats.docstyles.length },
      kinds: { mark: 'bar', el: 'rect', n: stats.kinds.length },
    };
    for (const [name, { mark, el, n }] of Object.entries(charts)) {
      const chart = page.locator(`[data-chart="${name}"]`);
      await expect.poll(() => chart.locator('svg').count(), { message: `${name} has an SVG` }).toBeGreaterThan(0);
      const marks = await chart.locator(`svg g[aria-label="${mark}"] ${el}`).count();
      expect(marks, `${name}: ${mark} marks`).toBe(n);
      expect(n).toBeGreaterThan(0);
    }
    const totals = (await page.locator('[data-testid="totals"]').textContent()) ?? '';
    expect(totals.replace(/,/g, '')).toContain(String(manifest.counts.functions));
    const outliers = page.locator('[data-table="length-outliers"] tbody tr');
    expect(await outliers.count()).toBe(stats.length_outliers.length);
    expect(await outliers.first().textContent()).toContain(stats.length_outliers[0]!.qualname);
    // The browser's DuckDB-WASM run of the shared SQL agrees with the prebuild's Node DuckDB run.
    expect(await page.locator('[data-testid="stats-engine"]').textContent()).toMatch(/DuckDB-WASM[\s\S]*Identical/);
    await page.screenshot({ path: join(ARTIFACTS, 'stats.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('explains how to create the data set when there is none', async () => {
    const { page } = await openPage(browser.context);
    const text = await expectError(page, '?data=no-such-folder/#/map', 'missing');
    expect(text).toContain('npm run prebuild -- --source python-stdlib');
    await page.screenshot({ path: join(ARTIFACTS, 'error-missing.png') });
    await page.close();
  });

  it('names the corrupt file when a sha256 does not match', async () => {
    const { page } = await openPage(browser.context);
    const text = await expectError(page, '?data=corrupt/', 'corrupt');
    expect(text).toContain(corruptFile);
    expect(text).toMatch(/sha256/);
    expect(await page.locator('[data-testid="error-file"]').textContent()).toBe(corruptFile);
    await page.screenshot({ path: join(ARTIFACTS, 'error-corrupt.png') });
    await page.close();
  });

  it('refuses a data set of another schema version', async () => {
    const { page } = await openPage(browser.context);
    const text = await expectError(page, '?data=old-schema/', 'schema-version');
    expect(text).toContain('schema version 999');
    await page.screenshot({ path: join(ARTIFACTS, 'error-schema.png') });
    await page.close();
  });

  it('refuses a ?data= location on another origin', async () => {
    const { page } = await openPage(browser.context);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    for (const bad of ['https://example.org/data/', '//example.org/data/', '/abs/data/']) {
      await expectError(page, `?data=${encodeURIComponent(bad)}`, 'bad-data-url');
    }
    expect(requests.filter((u) => !u.startsWith(preview.url))).toEqual([]);
    await page.close();
  });

  it('shows hostile names and code as text, never as markup', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}?data=hostile/#/map`);
    expect(await waitForMap(page)).toBe(manifest.counts.functions);
    const shown = await hoverFunction(page, hostileId);
    expect(shown).toBe(hostileId);
    const tip = page.locator('[data-testid="tooltip"]');
    expect(await page.locator('[data-testid="tooltip-name"]').textContent()).toBe(HOSTILE.name);
    expect(await tip.textContent()).toContain(HOSTILE.path);
    expect(await page.locator('[data-testid="tooltip-code"]').textContent()).toContain('<script>window.__pwned=4</script>');
    expect(await tip.locator('img, script, b').count()).toBe(0);
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.screenshot({ path: join(ARTIFACTS, 'hostile-tooltip.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a hostile function in the detail panel and its highlighted code as text only', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}?data=hostile/#/map?fn=${hostileId}`);
    const detail = page.locator(`[data-testid="detail"][data-id="${hostileId}"]`);
    await detail.locator('[data-testid="detail-code"]').waitFor({ timeout: 60_000 });
    expect(await detail.locator('[data-testid="detail-name"]').textContent()).toBe(HOSTILE.qualname);
    expect(await detail.locator('[data-testid="detail-code"]').textContent()).toBe(HOSTILE.body);
    expect(await detail.locator('img, script, b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(errors).toEqual([]);
    await page.close();
  });
});

/** The same search from the command line (`npm run search`), over the same data set, as the expectation. */
async function cliSearch(args: string[]): Promise<{ id: number; distance: number }[]> {
  const out = await run(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'prebuild/search-cli.ts', '--data', join(dist, 'data'), '--json', ...args], {
    timeoutMs: 120_000,
  });
  const json = JSON.parse(out.slice(out.indexOf('{'))) as { results: { id: number; distance: number }[] };
  return json.results;
}

async function resultIds(page: Page): Promise<number[]> {
  await page.locator('[data-testid="search-status"][data-status="done"]').waitFor({ timeout: 120_000 });
  return page.locator('[data-testid="search-results"] li').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-id'))));
}

describe('semantic search', () => {
  const QUERY = 'read a configuration file and return a dict';

  it('ranks functions for a typed query as the command line does, highlights them, and keeps the search in the link', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/map`);
    await waitForMap(page);
    await page.locator('[data-testid="search-input"]').fill(QUERY);
    const t0 = Date.now();
    await page.locator('[data-testid="search-submit"]').click();
    const ids = await resultIds(page);
    timings['first search'] = Date.now() - t0;
    expect(ids).toHaveLength(100);
    const expected = await cliSearch(['--query', QUERY, '--k', '100', '--p', '2']);
    expect(ids).toEqual(expected.map((r) => r.id));
    const shown = await page.locator('[data-testid="search-results"] li .dist').first().textContent();
    expect(Number(shown)).toBeCloseTo(expected[0]!.distance, 3);
    await expect.poll(() => page.locator('[data-testid="map"]').getAttribute('data-highlighted')).toBe('100');
    expect(decodeURIComponent(page.url())).toContain(`q=${QUERY.replaceAll(' ', '+')}`);
    await page.screenshot({ path: join(ARTIFACTS, 'search.png') });

    // p and k are part of the result: change them, and the list and the link follow.
    await page.locator('[data-testid="search-k"]').fill('25');
    await page.locator('[data-testid="search-k"]').dispatchEvent('change');
    await expect.poll(async () => (await resultIds(page)).length).toBe(25);
    expect(page.url()).toContain('k=25');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('reproduces the same result list from a permalink in a fresh page, for p = 1, 3, inf and cosine', async () => {
    for (const [params, cli] of [
      ['p=1', ['--p', '1']],
      ['p=3', ['--p', '3']],
      ['p=inf', ['--p', 'inf']],
      ['metric=cosine', ['--metric', 'cosine']],
    ] as const) {
      const { page, errors } = await openPage(browser.context);
      await page.goto(`${preview.url}#/map?q=${encodeURIComponent(QUERY)}&k=30&${params}`);
      const ids = await resultIds(page);
      const expected = await cliSearch(['--query', QUERY, '--k', '30', ...cli]);
      expect(ids, params).toEqual(expected.map((r) => r.id));
      // The same link in another fresh page gives the identical list.
      const again = await openPage(browser.context);
      await again.page.goto(page.url());
      expect(await resultIds(again.page), `${params} again`).toEqual(ids);
      expect([...errors, ...again.errors]).toEqual([]);
      await again.page.close();
      await page.close();
    }
  });

  it('IVF mode reads only the probed partitions by range requests; probing all of them gives the exact ranking', async () => {
    const info = manifest.embeddings.find((e) => e.model.startsWith('tfidf'))!;
    expect(info.ivf).toBeDefined();
    const nlist = info.ivf!.nlist;
    expect(nlist).toBeGreaterThan(1);
    const q = encodeURIComponent(QUERY);
    const exact = await openPage(browser.context);
    await exact.page.goto(`${preview.url}#/map?q=${q}&k=30`);
    const exactIds = await resultIds(exact.page);
    const all = await openPage(browser.context);
    await all.page.goto(`${preview.url}#/map?q=${q}&k=30&ivf=${nlist}`);
    expect(await resultIds(all.page)).toEqual(exactIds);
    const one = await openPage(browser.context);
    await one.page.goto(`${preview.url}#/map?q=${q}&k=30&ivf=1`);
    await resultIds(one.page);
    const ivf = one.page.locator('[data-testid="search-ivf"]');
    const scanned = Number(await ivf.getAttribute('data-scanned'));
    expect(scanned).toBeGreaterThan(0);
    expect(scanned).toBeLessThan(manifest.counts.functions);
    // Bytes read: footer, index and the probed partitions' row groups — never more than visiting them all.
    const bytes = Number(await ivf.getAttribute('data-bytes'));
    const allBytes = Number(await all.page.locator('[data-testid="search-ivf"]').getAttribute('data-bytes'));
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(allBytes);
    expect(await ivf.textContent()).toMatch(new RegExp(`IVF 1/${nlist} partitions`));
    expect([...exact.errors, ...all.errors, ...one.errors]).toEqual([]);
    for (const p of [exact, all, one]) await p.page.close();
  });

  it('finds a function’s neighbours from its detail panel, itself first', async () => {
    const { page, errors } = await openPage(browser.context);
    const target = manifest.tables.functions![0]!.id_min! + 7;
    await page.goto(`${preview.url}#/map?fn=${target}`);
    await page.locator('[data-testid="detail-code"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="detail-neighbours"]').click();
    const ids = await resultIds(page);
    expect(ids[0]).toBe(target);
    expect(Number(await page.locator('[data-testid="search-results"] li .dist').first().textContent())).toBeLessThan(1e-3);
    expect(page.url()).toContain(`nn=${target}`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses hostile permalink values with a clear message, runs nothing from them and falls back to safe defaults', async () => {
    const { page, errors } = await openPage(browser.context);
    const evil = '<img src=x onerror="window.__pwned=1">';
    await page.goto(`${preview.url}#/map?q=${encodeURIComponent(evil)}&p=javascript:alert(1)&k=-4&metric=%3Cscript%3E&cam=1,2,1e300&fn=abc`);
    const warnings = page.locator('[data-testid="link-warnings"]');
    await warnings.waitFor({ timeout: 60_000 });
    const text = (await warnings.textContent()) ?? '';
    for (const why of [/p is a number/, /k is a whole number/, /metric is minkowski or cosine/, /camera/, /not a function id/]) expect(text).toMatch(why);
    // The query itself is only text to search for: it runs with the defaults (p = 2, k = 100).
    const ids = await resultIds(page);
    expect(ids).toHaveLength(100);
    expect(await page.locator('[data-testid="search-p-value"]').textContent()).toBe('2');
    expect(await page.locator('[data-testid="search-input"]').inputValue()).toBe(evil);
    expect(await page.locator('main img, main script, [data-testid="link-warnings"] script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.screenshot({ path: join(ARTIFACTS, 'permalink-hostile.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('searches with the Jina-signature model: loaded by the embed worker on WASM from the site, close to the command line’s ranking', async () => {
    const { page, errors } = await openPage(browser.context);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${preview.url}#/map?q=${encodeURIComponent(QUERY)}&emb=jina&k=20`);
    const ids = await resultIds(page);
    expect(ids).toHaveLength(20);
    const model = page.locator('[data-testid="embed-model"]');
    expect(await model.getAttribute('data-device')).toBe('wasm');
    expect(await model.textContent()).toMatch(/jina-v2-base-code/);
    const expected = await cliSearch(['--query', QUERY, '--k', '20', '--embedder', 'jina']);
    // Node's onnxruntime and the browser's differ in float rounding inside the int8 kernels: the
    // rankings agree up to near-ties.
    const overlap = ids.slice(0, 10).filter((id) => expected.slice(0, 10).some((r) => r.id === id)).length;
    expect(overlap).toBeGreaterThanOrEqual(8);
    const d0 = Number(await page.locator('[data-testid="search-results"] li .dist').first().textContent());
    expect(d0).toBeCloseTo(expected[0]!.distance, 2);
    // The model and ONNX Runtime came from this site, nothing from a hub or CDN (blob: URLs are
    // ONNX Runtime's own in-memory module, made in the page).
    expect(requests.filter((u) => !u.startsWith(preview.url) && !u.startsWith('blob:'))).toEqual([]);
    expect(requests.some((u) => u.includes('/data/models/jina-v2-base-code/onnx/model_quantized.onnx'))).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('falls back with a clear message when the Jina model cannot be loaded', async () => {
    // A fresh profile: the earlier test left the model in this browser's cache, where it belongs.
    const fresh = await launchBrowser();
    const { page } = await openPage(fresh.context);
    await page.route('**/models/jina-v2-base-code/**', (route) => route.fulfill({ status: 404, body: 'gone' }));
    await page.goto(`${preview.url}#/map?q=${encodeURIComponent(QUERY)}&emb=jina&k=20`);
    const status = page.locator('[data-testid="search-status"][data-status="error"]');
    await status.waitFor({ timeout: 120_000 });
    expect(await status.textContent()).toMatch(/could not load[\s\S]*TF-IDF\/SVD/);
    await fresh.close();
  });
});

describe('maps and clusters', () => {
  it('shows the layout report: sweep, explained variance, VAE losses, quality per layout and cluster cards', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/clusters`);
    await page.locator('[data-view="clusters"][data-ready="true"]').waitFor({ timeout: 60_000 });
    const report = JSON.parse(readFileSync(join(dist, 'data', 'layout-report.json'), 'utf8')) as { k: number; sweep: unknown[]; quality: { layout: string }[] };
    expect(await page.locator('[data-testid="cluster-k"]').textContent()).toBe(String(report.k));
    for (const name of ['silhouette-sweep', 'explained-variance', 'vae-loss', 'vae-kl']) {
      await expect.poll(() => page.locator(`[data-chart="${name}"] svg`).count(), { message: name }).toBeGreaterThan(0);
    }
    expect(await page.locator('[data-chart="silhouette-sweep"] svg g[aria-label="dot"] circle').count()).toBe(report.sweep.length);
    expect(await page.locator('[data-table="layout-quality"] tbody tr').count()).toBe(report.quality.length);
    expect(await page.locator('[data-testid="cluster-cards"] > li').count()).toBe(report.k);
    await page.screenshot({ path: join(ARTIFACTS, 'clusters.png'), fullPage: true });
    // A card opens its cluster on the map, filtered to it.
    const card = page.locator('[data-testid="cluster-cards"] > li').first();
    const cluster = await card.getAttribute('data-cluster');
    await card.locator('button.head').click();
    await waitForMap(page);
    expect(page.url()).toContain(`cluster=${cluster}`);
    const shown = Number(await page.locator('[data-testid="map"]').getAttribute('data-shown'));
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(manifest.counts.functions);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('filters change the number of points drawn, and live in the link', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/map?kind=method`);
    await waitForMap(page);
    const methods = Number(await page.locator('[data-testid="map"]').getAttribute('data-shown'));
    const [row] = await duck<{ n: number }>(`SELECT count(*)::INT n FROM read_parquet('${join(dist, 'data', manifest.tables.functions![0]!.path)}') WHERE kind = 'method'`);
    expect(methods).toBe(row!.n);
    await page.locator('[data-testid="filter-doc"]').selectOption('yes');
    await expect.poll(() => page.url()).toContain('doc=1');
    const [both] = await duck<{ n: number }>(
      `SELECT count(*)::INT n FROM read_parquet('${join(dist, 'data', manifest.tables.functions![0]!.path)}') WHERE kind = 'method' AND docstyle <> 'none'`,
    );
    await expect.poll(async () => Number(await page.locator('[data-testid="map"]').getAttribute('data-shown'))).toBe(both!.n);
    await page.locator('[data-testid="filters-clear"]').click();
    await expect.poll(async () => Number(await page.locator('[data-testid="map"]').getAttribute('data-shown'))).toBe(manifest.counts.functions);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('selects functions with the lasso, lists them, keeps the polygon in the link and exports CSV and Parquet with the selected ids', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/map`);
    await waitForMap(page);
    const box = (await page.locator('[data-testid="map"]').boundingBox())!;
    await page.locator('[data-testid="lasso"]').click();
    // A square around the middle of the map, drawn as a person would.
    const cx = box.x + box.width * 0.4;
    const cy = box.y + box.height * 0.5;
    const r = Math.min(box.width, box.height) * 0.3;
    await page.mouse.move(cx - r, cy - r);
    await page.mouse.down();
    for (const [x, y] of [[cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r], [cx - r, cy - r + 5]]) await page.mouse.move(x!, y!, { steps: 12 });
    await page.mouse.up();
    await expect.poll(() => page.url()).toContain('sel=');
    const count = Number(await page.locator('[data-testid="selection"]').getAttribute('data-count'));
    expect(count).toBeGreaterThan(0);
    // The same polygon over the layout's own coordinates, read from Parquet, selects the same number.
    const sel = decodeURIComponent(new URL(page.url()).hash).split('sel=')[1]!.split('&')[0]!;
    const poly = sel.split(';').map((p) => p.split(',').map(Number) as [number, number]);
    const layout = manifest.layouts.find((l) => l.name === manifest.default_layout)!;
    const pts = await duck<{ id: number; x: number; y: number }>(
      `SELECT id, x, y FROM read_parquet([${manifest.tables[layout.table]!.map((f) => `'${join(dist, 'data', f.path)}'`).join(',')}]) ORDER BY id`,
    );
    const inside = (x: number, y: number) => {
      let c = false;
      for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
        const [xa, ya] = poly[a]!;
        const [xb, yb] = poly[b]!;
        if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) c = !c;
      }
      return c;
    };
    const expected = pts.filter((p) => inside(Math.fround(p.x), Math.fround(p.y))).map((p) => p.id);
    expect(count, `${sel} / ${JSON.stringify(pts.slice(0, 3))}`).toBe(expected.length);
    expect(await page.locator('[data-testid="selection"] tbody tr').count()).toBe(Math.min(200, count));
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="export-csv"]').click()]);
    const csv = readFileSync((await csvDownload.path())!, 'utf8');
    const csvIds = csv.trim().split('\r\n').slice(1).map((line) => Number(line.split(',')[0]));
    expect(csvIds.sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
    const [pqDownload] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="export-parquet"]').click()]);
    const pq = await duck<{ id: bigint | number }>(`SELECT id FROM read_parquet('${(await pqDownload.path())!}') ORDER BY id`);
    expect(pq.map((r) => Number(r.id))).toEqual([...expected].sort((a, b) => a - b));
    // The link alone reproduces the selection in a fresh page.
    const again = await openPage(browser.context);
    await again.page.goto(page.url());
    await waitForMap(again.page);
    await expect.poll(async () => Number(await again.page.locator('[data-testid="selection"]').getAttribute('data-count'))).toBe(count);
    await page.screenshot({ path: join(ARTIFACTS, 'selection.png') });
    expect([...errors, ...again.errors]).toEqual([]);
    await again.page.close();
    await page.close();
  });

  it('switches to 3-D on the VAE-3 map and recolours by package', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/map`);
    await waitForMap(page);
    await page.locator('[data-testid="toggle-3d"]').check();
    await expect.poll(() => page.locator('[data-testid="map"]').getAttribute('data-dims')).toBe('3');
    expect(page.url()).toContain('dims=3');
    // Coloured by cluster, the biggest clusters' labels sit at their centroids.
    expect(Number(await page.locator('[data-testid="map"]').getAttribute('data-labels'))).toBeGreaterThan(0);
    await page.locator('[data-testid="color-by"]').selectOption('package');
    await expect.poll(() => page.locator('[data-testid="map"]').getAttribute('data-color-by')).toBe('package');
    expect(await page.locator('[data-testid="legend"] li').count()).toBe(manifest.counts.repos);
    expect(await page.locator('[data-testid="map"]').getAttribute('data-labels')).toBe('0');
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(ARTIFACTS, 'map-3d.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('trains a VAE in the browser, shows the loss per epoch, clusters by silhouette sweep and draws the new map', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/train`);
    await page.locator('[data-testid="train-backend"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-testid="train-backend"]').textContent()).toBe('wasm');
    await page.locator('[data-testid="train-epochs"]').fill('5');
    await page.locator('[data-testid="train-start"]').click();
    // The table grows epoch by epoch while training runs.
    await expect.poll(() => page.locator('[data-testid="train-epochs-table"] tbody tr').count(), { timeout: 120_000 }).toBeGreaterThan(0);
    await page.locator('[data-testid="train-show-map"]').waitFor({ timeout: 120_000 });
    expect(await page.locator('[data-testid="train-epochs-table"] tbody tr').count()).toBe(5);
    expect(await page.locator('[data-chart="train-loss"] svg g[aria-label="line"] path').count()).toBe(2);
    expect(await page.locator('[data-chart="train-sweep"] svg g[aria-label="dot"] circle').count()).toBeGreaterThan(1);
    await page.screenshot({ path: join(ARTIFACTS, 'train.png'), fullPage: true });
    await page.locator('[data-testid="train-show-map"]').click();
    await waitForMap(page);
    expect(page.url()).toContain('layout=trained');
    expect(await page.locator('[data-testid="map"]').getAttribute('data-color-by')).toBe('cluster');
    expect(await page.locator('[data-testid="legend"] li').count()).toBeGreaterThan(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});

async function duck<T>(sql: string): Promise<T[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as T[];
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

