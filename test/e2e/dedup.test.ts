// End to end: the duplicates view (#/dedup) of the built site, on the real e2e data set (three small
// Debian packages through the whole prebuild, dedup stage included). Expectations are read straight
// from the data set's Parquet here in Node; the page reads it through the dedup worker.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Manifest } from '../../src/core/data/manifest.ts';
import { memoryAsyncBuffer, readParquetColumns, toFloat32Array, toUint32Array } from '../../src/core/data/parquet-read.ts';
import { launchBrowser, openPage, type Browser } from './helpers/browser.ts';
import { prebuildDataSet, readManifest } from './helpers/data.ts';
import { ROOT, buildSite, copyDataSet, startPreview, type Preview } from './helpers/site.ts';

const ARTIFACTS = join(ROOT, 'test', 'e2e', 'artifacts');
const timings: Record<string, number> = {};

let work: string;
let dist: string;
let preview: Preview;
let browser: Browser;
let manifest: Manifest;

interface Expected {
  /** Per threshold: group id -> member ids (ascending), and member -> community. */
  groups: Map<number, Map<number, number[]>>;
  community: Map<number, Map<number, number>>;
  /** Function id -> package name, and bodies. */
  repoOf: Map<number, string>;
  body: Map<number, string>;
}
let expected: Expected;

async function readTable(dir: string, files: { path: string }[], columns: string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = Object.fromEntries(columns.map((c) => [c, []]));
  for (const f of files) {
    const { columns: cols } = await readParquetColumns(memoryAsyncBuffer(readFileSync(join(dir, f.path))), f.path, columns);
    for (const c of columns) out[c].push(...Array.from(cols[c] as ArrayLike<unknown>));
  }
  return out;
}

async function readExpected(dir: string): Promise<Expected> {
  const m = readManifest(dir);
  const d = await readTable(dir, m.tables.dedup!, ['id', 'threshold', 'group_id', 'community_id']);
  const groups = new Map<number, Map<number, number[]>>();
  const community = new Map<number, Map<number, number>>();
  const ids = toUint32Array(d.id as number[]);
  const ts = toFloat32Array(d.threshold as number[]);
  for (let i = 0; i < ids.length; i++) {
    const t = Math.round(ts[i] * 100) / 100;
    if (!groups.has(t)) groups.set(t, new Map());
    if (!community.has(t)) community.set(t, new Map());
    const g = d.group_id[i];
    if (g === null || g === undefined) continue;
    const list = groups.get(t)!.get(Number(g)) ?? [];
    list.push(ids[i]);
    groups.get(t)!.set(Number(g), list);
    community.get(t)!.set(ids[i], Number(d.community_id[i]));
  }
  const repos = await readTable(dir, m.tables.repos!, ['repo_id', 'name']);
  const repoName = new Map(repos.repo_id.map((r, i) => [Number(r), String(repos.name[i])]));
  const fns = await readTable(dir, m.tables.functions!, ['id', 'repo_id', 'body']);
  const repoOf = new Map(fns.id.map((id, i) => [Number(id), repoName.get(Number(fns.repo_id[i])) ?? '']));
  const body = new Map(fns.id.map((id, i) => [Number(id), String(fns.body[i])]));
  return { groups, community, repoOf, body };
}

/** Group ids at a threshold, largest first (ties: smaller id first), as the view lists them. */
function largestFirst(t: number): [number, number[]][] {
  return [...expected.groups.get(t)!.entries()].sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
}

async function openDedup(page: Page): Promise<void> {
  await page.goto(`${preview.url}#/dedup`);
  await page.locator('[data-view="dedup"][data-ready="true"]').waitFor({ timeout: 90_000 });
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'atlas-e2e-dedup-'));
  dist = join(work, 'dist');
  const t0 = Date.now();
  const [data] = await Promise.all([prebuildDataSet(join(ROOT, '.cache', 'e2e-data')), buildSite(dist)]);
  timings['prebuild + vite build'] = Date.now() - t0;
  copyDataSet(data.dir, join(dist, 'data'));
  manifest = readManifest(join(dist, 'data'));
  expected = await readExpected(join(dist, 'data'));
  preview = await startPreview(dist);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await preview?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
  console.log(`e2e dedup timings (ms): ${JSON.stringify(timings)}`);
});

describe('duplicates view', () => {
  it('the data set has duplicate groups at 80% and 95%', () => {
    expect(manifest.tables.dedup?.length).toBeGreaterThan(0);
    expect([...expected.groups.keys()].sort()).toEqual([0.8, 0.95]);
    expect(largestFirst(0.8)[0][1].length).toBeGreaterThanOrEqual(3);
    expect(largestFirst(0.95).length).toBeGreaterThanOrEqual(1);
  });

  it('shows the unique shares per package and language, the share chart and the groups largest first', async () => {
    const { page, errors } = await openPage(browser.context);
    const t0 = Date.now();
    await openDedup(page);
    timings['dedup view ready'] = Date.now() - t0;

    // Unique share per package at 80% and 95%, against the Parquet.
    const rows = page.locator('[data-table="unique-packages"] tbody tr');
    const packages = new Set(expected.repoOf.values());
    expect(await rows.count()).toBe(packages.size);
    for (const name of packages) {
      const ids = [...expected.repoOf.entries()].filter(([, r]) => r === name).map(([id]) => id);
      const cells = page.locator(`[data-table="unique-packages"] tr[data-name="${name}"] td[data-unique]`);
      expect(await cells.count()).toBe(2);
      for (const [k, t] of [0.8, 0.95].entries()) {
        const grouped = new Set([...expected.groups.get(t)!.values()].filter((m) => m.length >= 2).flat());
        const unique = ids.filter((id) => !grouped.has(id)).length / ids.length;
        expect(Number(await cells.nth(k).getAttribute('data-unique'))).toBeCloseTo(unique, 3);
      }
    }
    // Per language: all Python here.
    await expect(page.locator('[data-table="unique-languages"] tr[data-name="python"]').count()).resolves.toBe(1);
    // Sorting by "unique at 80%" puts the least unique package first.
    await page.locator('[data-table="unique-packages"] button[data-sort="unique-80"]').click();
    const firstUnique = Number(await page.locator('[data-table="unique-packages"] tbody tr').first().locator('td[data-unique]').first().getAttribute('data-unique'));
    const allUnique = await page.locator('[data-table="unique-packages"] tbody tr td[data-unique]:nth-child(3)').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-unique'))));
    expect(firstUnique).toBe(Math.max(...allUnique));

    // The chart: one bar per package drawn.
    const chart = page.locator('[data-chart="duplicate-share"] svg');
    await chart.first().waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-chart="duplicate-share"] svg rect').count()).toBeGreaterThanOrEqual(1);

    // Groups at 80%, largest first.
    const want = largestFirst(0.8);
    const list = page.locator('[data-testid="dedup-groups"]');
    expect(Number(await list.getAttribute('data-total'))).toBe(want.length);
    const sizes = await list.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-size'))));
    expect(sizes).toEqual(want.slice(0, sizes.length).map(([, m]) => m.length));
    expect(Number(await list.locator('tbody tr').first().getAttribute('data-group-id'))).toBe(want[0][0]);
    await page.screenshot({ path: join(ARTIFACTS, 'dedup.png'), fullPage: true });

    // The 95% switch changes the list.
    await page.locator('.switch label', { hasText: '95%' }).click();
    await page.locator('[data-view="dedup"][data-threshold="0.95"]').waitFor();
    const want95 = largestFirst(0.95);
    await page.waitForFunction((n) => document.querySelector('[data-testid="dedup-groups"]')?.getAttribute('data-total') === String(n), want95.length);
    expect(Number(await list.locator('tbody tr').first().getAttribute('data-size'))).toBe(want95[0][1].length);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('opens the largest group: two members side by side with a line diff, and the graph by community', async () => {
    const { page, errors } = await openPage(browser.context);
    await openDedup(page);
    const [gid, members] = largestFirst(0.8)[0];
    const t0 = Date.now();
    await page.locator(`[data-testid="dedup-groups"] button[data-open-group="${gid}"]`).click();
    const detail = page.locator(`[data-testid="group-detail"][data-group-id="${gid}"][data-ready="true"]`);
    await detail.waitFor({ timeout: 60_000 });
    timings['group detail ready'] = Date.now() - t0;

    // Two different members of the group, side by side; the diff rows rebuild both bodies.
    const left = Number(await page.locator('[data-testid="code-diff"] .head[data-side="left"]').getAttribute('data-id'));
    const right = Number(await page.locator('[data-testid="code-diff"] .head[data-side="right"]').getAttribute('data-id'));
    expect(members).toContain(left);
    expect(members).toContain(right);
    expect(left).not.toBe(right);
    const sides = await page.locator('[data-testid="code-diff"] .row').evaluateAll((rows) =>
      rows.map((r) => [r.querySelector('.code.left')?.textContent ?? '', r.querySelector('.code.right')?.textContent ?? '', r.getAttribute('data-diff') ?? '']),
    );
    const lines = (s: string) => s.replace(/\n$/, '').split('\n').map((l) => l.replace(/\r$/, ''));
    expect(sides.filter(([, , k]) => k !== 'add').map(([l]) => l)).toEqual(lines(expected.body.get(left)!));
    expect(sides.filter(([, , k]) => k !== 'del').map(([, r]) => r)).toEqual(lines(expected.body.get(right)!));
    expect(sides.some(([, , k]) => k === 'same')).toBe(true);

    // The graph: every member a circle coloured by its prebuilt community; pairs above 80% as lines.
    const graph = page.locator('[data-testid="group-graph"][data-ready="true"]');
    await graph.waitFor({ timeout: 90_000 });
    timings['group graph ready'] = Date.now() - t0;
    const nodes = await graph.locator('circle[data-node-id]').evaluateAll((cs) => cs.map((c) => [Number(c.getAttribute('data-node-id')), Number(c.getAttribute('data-community'))]));
    expect(nodes.map(([id]) => id).sort((a, b) => a - b)).toEqual([...members].sort((a, b) => a - b));
    for (const [id, c] of nodes) expect(c).toBe(expected.community.get(0.8)!.get(id));
    expect(await graph.locator('line').count()).toBeGreaterThanOrEqual(members.length - 1);
    await page.screenshot({ path: join(ARTIFACTS, 'dedup-group.png'), fullPage: true });

    // Clicking another member puts it on the right.
    const other = members.find((id) => id !== left && id !== right)!;
    await graph.locator(`circle[data-node-id="${other}"]`).click();
    await page.waitForFunction(
      (id) => document.querySelector('[data-testid="code-diff"] .head[data-side="right"]')?.getAttribute('data-id') === String(id),
      other,
    );

    // Rerunning the core over the members at a stricter threshold (90% by default) splits or keeps the group.
    await page.locator('[data-testid="group-rerun"] button').click();
    const summary = page.locator('[data-testid="rerun-summary"]');
    await summary.waitFor({ timeout: 60_000 });
    expect(Number(await summary.getAttribute('data-groups'))).toBeGreaterThanOrEqual(1);
    await page.locator('[data-testid="rerun-graph"][data-ready="true"]').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'dedup-rerun.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a permalink opens a group at a threshold in a fresh page; opening one writes the link', async () => {
    // The largest group at 95% (group ids are per threshold: the link needs both).
    const [gid, members] = largestFirst(0.95)[0];
    const { page, errors } = await openPage(browser.context);
    const t0 = Date.now();
    await page.goto(`${preview.url}#/dedup?th=0.95&group=${gid}`);
    await page.locator('[data-view="dedup"][data-ready="true"][data-threshold="0.95"]').waitFor({ timeout: 90_000 });
    const detail = page.locator(`[data-testid="group-detail"][data-group-id="${gid}"][data-ready="true"]`);
    await detail.waitFor({ timeout: 60_000 });
    timings['permalink group ready'] = Date.now() - t0;
    expect(await page.locator('.switch label.active').innerText()).toContain('95%');
    expect(await page.locator('[data-testid="link-warnings"]').count()).toBe(0);
    // The detail lists the group's members (both pickers hold every member).
    const picked = await page.locator('[data-testid="pick-a"] option').evaluateAll((os) => os.map((o) => Number((o as HTMLOptionElement).value)));
    expect(picked.sort((a, b) => a - b)).toEqual([...members].sort((a, b) => a - b));
    const left = Number(await page.locator('[data-testid="code-diff"] .head[data-side="left"]').getAttribute('data-id'));
    expect(members).toContain(left);

    // Switching the threshold writes th and drops the group; opening a group writes both.
    await page.locator('.switch label', { hasText: '80%' }).click();
    await page.locator('[data-view="dedup"][data-threshold="0.8"]').waitFor();
    await page.waitForFunction(() => /[?&]th=0\.8(&|$)/.test(location.hash) && !/[?&]group=/.test(location.hash));
    expect(await page.locator('[data-testid="group-detail"]').count()).toBe(0);
    const [gid80] = largestFirst(0.8)[1] ?? largestFirst(0.8)[0];
    await page.locator(`[data-testid="dedup-groups"] button[data-open-group="${gid80}"]`).click();
    await page.waitForFunction((g) => location.hash.startsWith('#/dedup?') && new URLSearchParams(location.hash.split('?')[1]).get('group') === String(g), gid80);
    const link = await page.evaluate(() => location.href);
    expect(new URLSearchParams(link.split('#')[1].split('?')[1]).get('th')).toBe('0.8');
    expect(errors).toEqual([]);
    await page.close();

    // That link in a fresh page opens the same group at the same threshold.
    const again = await openPage(browser.context);
    await again.page.goto(link);
    await again.page.locator(`[data-view="dedup"][data-ready="true"][data-threshold="0.8"][data-group="${gid80}"]`).waitFor({ timeout: 90_000 });
    await again.page.locator(`[data-testid="group-detail"][data-group-id="${gid80}"][data-ready="true"]`).waitFor({ timeout: 60_000 });
    await again.page.screenshot({ path: join(ARTIFACTS, 'dedup-permalink.png'), fullPage: true });
    expect(again.errors).toEqual([]);
    await again.page.close();
  });

  it('a permalink with bad values shows the link warning and the default view', async () => {
    const noGroup = Math.max(...expected.groups.get(0.95)!.keys()) + 1000;
    // [query, warning, refused by the view (which rewrites the link) rather than by the URL parser]
    const cases: [string, RegExp, boolean][] = [
      ['th=2&group=x', /threshold|group/i, false],
      ['th=0.7', /0\.7.*80%.*95%/, true],
      [`th=0.95&group=${noGroup}`, new RegExp(`no duplicate group ${noGroup} at 95%`), true],
    ];
    for (const [query, warning, byView] of cases) {
      const { page, errors } = await openPage(browser.context);
      await page.goto(`${preview.url}#/dedup?${query}`);
      const warnings = page.locator('[data-testid="link-warnings"]');
      await warnings.waitFor({ timeout: 90_000 });
      // The default view: 80%, the groups list, no group open; the link no longer names the bad values.
      await page.locator('[data-view="dedup"][data-ready="true"][data-threshold="0.8"][data-group=""]').waitFor({ timeout: 90_000 });
      await page.waitForFunction((n) => document.querySelector('[data-testid="dedup-groups"]')?.getAttribute('data-total') === String(n), largestFirst(0.8).length);
      expect(await warnings.innerText()).toMatch(warning);
      expect(await page.locator('[data-testid="group-detail"]').count()).toBe(0);
      if (byView) await page.waitForFunction(() => !/[?&](th|group)=/.test(location.hash));
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it('reruns the dedup core over a package in the browser', async () => {
    const { page, errors } = await openPage(browser.context);
    await openDedup(page);
    const box = page.locator('[data-testid="package-rerun"]');
    await box.locator('select').selectOption({ index: 0 });
    await box.locator('button', { hasText: 'Run' }).click();
    const summary = page.locator('[data-testid="package-rerun-summary"]');
    await summary.waitFor({ timeout: 90_000 });
    expect(Number(await summary.getAttribute('data-groups'))).toBeGreaterThanOrEqual(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
