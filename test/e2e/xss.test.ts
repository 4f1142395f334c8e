// End to end: text-only rendering. A copy of the e2e data set in which every string the site shows
// — function names, qualnames, paths, docstrings and code, repository names, urls (javascript:),
// licences and topics, cluster labels and terms, summaries, report fields — carries <script>,
// <img onerror>, "><svg onload> and javascript: payloads (helpers/data.ts makeHostileEverywhere),
// opened in every view that shows them, plus a permalink whose values are payloads. Each view must
// show the payload as text, create no element from it and run none of it.
//
// The browser here ignores the site's Content-Security-Policy (bypassCSP): the CSP would block an
// injected handler anyway (test/e2e/csp.test.ts), and this test proves the rendering itself is safe,
// so that a mistake in either layer is caught on its own.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Manifest } from '../../src/core/data/manifest.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './helpers/browser.ts';
import { PAYLOAD, makeHostileEverywhere, prebuildDataSet, readManifest } from './helpers/data.ts';
import { ROOT, buildSite, copyDataSet, startPreview, type Preview } from './helpers/site.ts';

const ARTIFACTS = join(ROOT, 'test', 'e2e', 'artifacts');

let work: string;
let dist: string;
let preview: Preview;
let context: BrowserContext;
let profile: string;
let manifest: Manifest;
/** A function with a docstring, one member of the largest duplicate group, all read from the hostile copy. */
let documentedId: number;
let groupId: number;

/** The site opened on the hostile copy, at a route. */
const at = (route: string) => `${preview.url}?data=hostile/#/${route}`;

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

const files = (table: string) => `[${manifest.tables[table]!.map((f) => `'${join(dist, 'hostile', f.path)}'`).join(', ')}]`;

async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return { page, errors };
}

/**
 * Nothing from a payload became markup or ran: no handler ran, no element a payload would make
 * exists, no element carries an inline handler, no javascript: link, no payload <script>.
 */
async function expectInert(page: Page, where: string): Promise<void> {
  await page.waitForTimeout(300); // an <img onerror> fires asynchronously
  const found = await page.evaluate(() => {
    const all = [...document.querySelectorAll('*')];
    return {
      pwned: (window as unknown as { __pwned?: unknown }).__pwned,
      imgX: document.querySelectorAll('img[src="x"]').length,
      svgOnload: document.querySelectorAll('svg[onload]').length,
      handlers: all.filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name))).map((e) => e.outerHTML.slice(0, 120)),
      payloadScripts: [...document.querySelectorAll('script')].filter((s) => /__pwned/.test(s.textContent ?? '')).length,
      jsUrls: all.filter((e) => ['href', 'src', 'action', 'formaction', 'xlink:href'].some((a) => /^\s*javascript:/i.test(e.getAttribute(a) ?? ''))).length,
      frames: document.querySelectorAll('iframe, object, embed').length,
    };
  });
  expect(found, where).toEqual({ pwned: undefined, imgX: 0, svgOnload: 0, handlers: [], payloadScripts: 0, jsUrls: 0, frames: 0 });
}

async function visibleText(page: Page, selector: string): Promise<string> {
  return page.locator(selector).evaluateAll((els) => els.map((e) => (e as HTMLElement).innerText || e.textContent || '').join('\n'));
}

async function waitForMap(page: Page): Promise<void> {
  await page.locator('[data-testid="map"][data-points]').waitFor({ timeout: 60_000 });
}

async function waitForSearch(page: Page): Promise<void> {
  const status = page.locator('[data-testid="search-status"][data-status="done"], [data-testid="search-status"][data-status="error"]');
  await status.waitFor({ timeout: 120_000 });
  expect(await status.getAttribute('data-status'), (await status.textContent()) ?? '').toBe('done');
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'atlas-e2e-xss-'));
  dist = join(work, 'dist');
  const [data] = await Promise.all([prebuildDataSet(join(ROOT, '.cache', 'e2e-data')), buildSite(dist)]);
  copyDataSet(data.dir, join(dist, 'data'));
  await makeHostileEverywhere(join(dist, 'data'), join(dist, 'hostile'));
  manifest = readManifest(join(dist, 'hostile'));
  [{ id: documentedId }] = await duck<{ id: number }>(`SELECT min(id)::INT id FROM read_parquet(${files('functions')}) WHERE docstring IS NOT NULL`);
  [{ group_id: groupId }] = await duck<{ group_id: number }>(
    `SELECT group_id::INT group_id FROM read_parquet(${files('dedup')}) WHERE group_id IS NOT NULL AND abs(threshold - 0.8) < 1e-4
     GROUP BY group_id HAVING count(*) > 1 ORDER BY count(*) DESC, group_id LIMIT 1`,
  );
  preview = await startPreview(dist);
  profile = mkdtempSync(join(tmpdir(), 'atlas-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 }, bypassCSP: true });
});

afterAll(async () => {
  await context?.close().catch(() => {});
  if (profile) rmSync(profile, { recursive: true, force: true });
  await preview?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('text-only rendering of hostile data', () => {
  it('no Svelte view renders markup from a string ({@html} is not used anywhere in src/)', () => {
    const hits: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(svelte|ts)$/.test(e.name)) {
          const text = readFileSync(p, 'utf8');
          if (/\{@html\b/.test(text) || /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write/.test(text)) hits.push(p);
        }
      }
    };
    walk(join(ROOT, 'src'));
    walk(join(ROOT, 'workers'));
    expect(hits).toEqual([]);
  });

  it('the hostile copy is a valid data set whose strings all carry payloads', async () => {
    const [fn] = await duck<{ n: number; bad: number }>(
      `SELECT count(*)::INT n, count(*) FILTER (WHERE NOT (name LIKE '%onerror=%' AND qualname LIKE '%<svg onload=%' AND path LIKE '%<script>%' AND body LIKE '%<script>%'))::INT bad FROM read_parquet(${files('functions')})`,
    );
    expect(fn).toEqual({ n: manifest.counts.functions, bad: 0 });
    const [repo] = await duck<{ bad: number }>(`SELECT count(*) FILTER (WHERE NOT (name LIKE '%onerror=%' AND url LIKE 'javascript:%'))::INT bad FROM read_parquet(${files('repos')})`);
    expect(repo.bad).toBe(0);
  });

  it('map: the hover tooltip, the package filter and the legend show payloads as text', async () => {
    const { page, errors } = await newPage();
    await page.goto(at('map?color=package'));
    await waitForMap(page);
    const id = manifest.tables.functions![0]!.id_min! + Math.floor(manifest.counts.functions / 2);
    const pos = await page.evaluate((id) => (window as unknown as { __atlas?: { project(id: number): { x: number; y: number } | null } }).__atlas?.project(id) ?? null, id);
    expect(pos).not.toBeNull();
    await page.mouse.move(pos!.x - 30, pos!.y - 30);
    await page.mouse.move(pos!.x, pos!.y, { steps: 4 });
    await page.locator('[data-testid="tooltip-code"]').waitFor({ timeout: 15_000 });
    expect(await visibleText(page, '[data-testid="tooltip-name"]')).toContain(PAYLOAD.img('name'));
    const tip = await visibleText(page, '[data-testid="tooltip"]');
    for (const p of [PAYLOAD.img('qualname'), PAYLOAD.script('path'), PAYLOAD.img('repo')]) expect(tip).toContain(p);
    expect(await visibleText(page, '[data-testid="tooltip-code"]')).toContain(PAYLOAD.script('body'));
    expect(await visibleText(page, '[data-testid="legend"]')).toContain(PAYLOAD.img('repo'));
    if ((await page.locator('[data-testid="filter-repos"]').count()) === 0) await page.locator('[data-testid="filters"] button.toggle').click();
    expect(await page.locator('[data-testid="filter-repos"] option').evaluateAll((os) => os.map((o) => o.textContent ?? '').join('\n'))).toContain(PAYLOAD.img('repo'));
    await page.screenshot({ path: join(ARTIFACTS, 'xss-tooltip.png') });
    await expectInert(page, 'map');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('detail panel: qualname, path, docstring, highlighted code, near-duplicates and summaries as text', async () => {
    const { page, errors } = await newPage();
    await page.goto(at(`map?fn=${documentedId}`));
    const detail = page.locator(`[data-testid="detail"][data-id="${documentedId}"]`);
    await detail.locator('[data-testid="detail-code"]').waitFor({ timeout: 60_000 });
    expect(await visibleText(page, '[data-testid="detail-name"]')).toContain(PAYLOAD.svg('qualname'));
    expect(await visibleText(page, '[data-testid="detail-docstring"]')).toContain(PAYLOAD.img('docstring'));
    expect(await visibleText(page, '[data-testid="detail-docstring"]')).toContain(PAYLOAD.js('docstring'));
    expect(await visibleText(page, '[data-testid="detail-code"]')).toContain(PAYLOAD.img('body'));
    expect(await visibleText(page, '[data-testid="detail"]')).toContain(PAYLOAD.script('path'));
    // Summaries, where the data set has them.
    if (manifest.tables.summaries?.length) {
      const summary = page.locator('[data-testid="summary-text"]');
      if (await summary.count().catch(() => 0)) expect(await visibleText(page, '[data-testid="summary-text"]')).toContain(PAYLOAD.script('summary'));
    }
    await expectInert(page, 'detail');
    // A function in a duplicate group lists its near-duplicates by their hostile names.
    const [member] = await duck<{ id: number }>(`SELECT min(id)::INT id FROM read_parquet(${files('dedup')}) WHERE group_id = ${groupId} AND abs(threshold - 0.8) < 1e-4`);
    await page.goto(at(`map?fn=${member!.id}`));
    await page.reload();
    const dups = page.locator('[data-testid="detail-duplicates"]').first();
    await dups.waitFor({ timeout: 60_000 });
    expect(await dups.innerText()).toContain(PAYLOAD.img('name').slice(0, 20));
    await expectInert(page, 'detail duplicates');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('search: a payload as the query, and results named by payloads, as text', async () => {
    const { page, errors } = await newPage();
    const query = `${PAYLOAD.img('query')} read a file`;
    await page.goto(at(`map?q=${encodeURIComponent(query)}&k=30`));
    await waitForSearch(page);
    expect(await page.locator('[data-testid="search-input"]').inputValue()).toBe(query);
    const results = await visibleText(page, '[data-testid="search-results"]');
    expect(results).toContain(PAYLOAD.img('name').slice(0, 20));
    await expectInert(page, 'search');
    // Neighbours of a function: the same list, reached from the detail panel.
    await page.goto(at(`map?fn=${documentedId}`));
    await page.reload();
    await page.locator('[data-testid="detail-neighbours"]').click();
    await waitForSearch(page);
    await expectInert(page, 'neighbours');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('selection table: a lasso over the whole map lists hostile qualnames and packages as text', async () => {
    const { page, errors } = await newPage();
    const layout = manifest.layouts.find((l) => l.name === manifest.default_layout)!;
    const [x0, y0] = [layout.bounds.min[0]! - 1, layout.bounds.min[1]! - 1];
    const [x1, y1] = [layout.bounds.max[0]! + 1, layout.bounds.max[1]! + 1];
    await page.goto(at(`map?sel=${x0},${y0};${x1},${y0};${x1},${y1};${x0},${y1}`));
    await waitForMap(page);
    const sel = page.locator('[data-testid="selection"]');
    await expect.poll(async () => Number(await sel.getAttribute('data-count')), { timeout: 30_000 }).toBe(manifest.counts.functions);
    await sel.locator('tbody tr').first().waitFor({ timeout: 30_000 });
    const text = await visibleText(page, '[data-testid="selection"] tbody');
    expect(text).toContain(PAYLOAD.svg('qualname'));
    expect(text).toContain(PAYLOAD.img('repo'));
    await expectInert(page, 'selection');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('clusters view: labels, terms, nearest functions and the report’s fields as text', async () => {
    const { page, errors } = await newPage();
    await page.goto(at('clusters'));
    await page.locator('[data-view="clusters"][data-ready="true"]').waitFor({ timeout: 60_000 });
    const cards = await visibleText(page, '[data-testid="cluster-cards"]');
    expect(cards).toContain(PAYLOAD.svg('label'));
    expect(cards).toContain(PAYLOAD.svg('qualname'));
    expect(await visibleText(page, '[data-view="clusters"]')).toContain(PAYLOAD.img('layout-report.embedding'));
    await page.screenshot({ path: join(ARTIFACTS, 'xss-clusters.png') });
    await expectInert(page, 'clusters');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('duplicates view: package shares, a group’s pickers, side-by-side diff and graph as text', async () => {
    const { page, errors } = await newPage();
    await page.goto(at(`dedup?th=0.8&group=${groupId}`));
    await page.locator('[data-view="dedup"][data-ready="true"]').waitFor({ timeout: 90_000 });
    expect(await visibleText(page, '[data-table="unique-packages"]')).toContain(PAYLOAD.img('repo'));
    await page.locator(`[data-testid="group-detail"][data-group-id="${groupId}"][data-ready="true"]`).waitFor({ timeout: 60_000 });
    expect(await visibleText(page, '[data-testid="code-diff"]')).toContain(PAYLOAD.script('body'));
    const options = await page.locator('[data-testid="pick-a"] option').evaluateAll((os) => os.map((o) => o.textContent ?? '').join('\n'));
    expect(options).toContain(PAYLOAD.img('qualname'));
    await page.locator('[data-testid="group-graph"][data-ready="true"]').waitFor({ timeout: 90_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'xss-dedup.png'), fullPage: true });
    await expectInert(page, 'dedup');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('statistics view: repository charts and the longest-functions table as text', async () => {
    const { page, errors } = await newPage();
    await page.setViewportSize({ width: 1280, height: 2300 });
    await page.goto(at('stats'));
    await page.locator('[data-view="stats"][data-ready="true"]').waitFor({ timeout: 90_000 });
    const outliers = await visibleText(page, '[data-table="length-outliers"]');
    expect(outliers).toContain(PAYLOAD.svg('qualname'));
    // Observable Plot writes repository names and topics into SVG <text> as text nodes.
    const chartText = await page.locator('[data-chart] svg text').evaluateAll((ts) => ts.map((t) => t.textContent ?? '').join('\n'));
    expect(chartText).toContain('onerror=');
    await expectInert(page, 'stats');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('summaries view: hostile summaries and names as text', async () => {
    const { page, errors } = await newPage();
    await page.goto(at('summaries'));
    await page.locator('[data-view="summaries"]').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(2000);
    if (manifest.tables.summaries?.length && (await page.locator('[data-testid="summaries-rows"] tbody tr').count())) {
      expect(await visibleText(page, '[data-testid="summaries-rows"]')).toContain(PAYLOAD.script('summary'));
    }
    await expectInert(page, 'summaries');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the checks catch a payload that is rendered as markup (control: the same payloads inserted as HTML on purpose)', async () => {
    const { page } = await newPage();
    await page.goto(at('map'));
    await waitForMap(page);
    await page.evaluate((html) => document.body.insertAdjacentHTML('beforeend', html), PAYLOAD.img('control'));
    await expect(expectInert(page, 'control')).rejects.toThrow(/control/);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBe('control');
    await page.close();
  });

  it('a permalink whose values are payloads: warnings quote them as text and nothing runs', async () => {
    const { page, errors } = await newPage();
    const evil = '<svg onload=window.__pwned=1>';
    const params = ['p', 'k', 'metric', 'emb', 'layout', 'color', 'dims', 'cam', 'fn', 'cluster', 'kind', 'lines', 'th', 'group', 'ivf', 'upload', evil]
      .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(evil)}`)
      .join('&');
    await page.goto(`${at('map')}?${params}&repo=${encodeURIComponent(PAYLOAD.img('repo-param'))}`);
    const warnings = page.locator('[data-testid="link-warnings"]');
    await warnings.waitFor({ timeout: 60_000 });
    const text = await warnings.innerText();
    expect(text).toContain(JSON.stringify(evil));
    await expectInert(page, 'permalink on the map');
    // An unknown view named by a payload, and a payload route for the duplicates view.
    await page.goto(`${preview.url}?data=hostile/#/${encodeURIComponent(evil)}?q=x`);
    await page.reload();
    await page.locator('[data-testid="link-warnings"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-testid="link-warnings"]').innerText()).toContain('unknown view');
    await expectInert(page, 'unknown view');
    await page.goto(at(`dedup?th=${encodeURIComponent(evil)}&group=${encodeURIComponent(PAYLOAD.script('group'))}`));
    await page.reload();
    await page.locator('[data-view="dedup"][data-ready="true"]').waitFor({ timeout: 90_000 });
    await expectInert(page, 'dedup permalink');
    expect(errors).toEqual([]);
    await page.close();
  });
});
