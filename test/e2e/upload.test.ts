// End to end: an archive is analysed in the browser and nothing of it leaves the machine. The built
// site is served by `vite preview` with the e2e data set (three small Debian packages); a zip is made
// here from real files (stdlib modules, a function of the data set itself, a JS and a Go file, and a
// small module with a distinctive marker string), dropped on the upload view through its file input,
// and: the report appears (counts, clusters, a clone shared with the corpus), the functions are drawn
// on the map with their own legend and one can be opened, a reload restores the upload from
// IndexedDB, another browser profile is told the upload lives only on the machine that made it, and a
// hostile zip (`../` entries, a compression bomb entry) shows its refusal table without crashing.
// Every request of the browser context (pages and workers) is intercepted: none leaves the origin,
// none carries a body, and no URL carries any distinctive string of the upload.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Request } from 'playwright-core';
import type { Manifest } from '../../src/core/data/manifest.ts';
import { memoryAsyncBuffer, readParquetColumns } from '../../src/core/data/parquet-read.ts';
import { launchBrowser, openPage, type Browser } from './helpers/browser.ts';
import { prebuildDataSet, readManifest } from './helpers/data.ts';
import { ROOT, buildSite, copyDataSet, startPreview, type Preview } from './helpers/site.ts';

const ARTIFACTS = join(ROOT, 'test', 'e2e', 'artifacts');
const STDLIB = '/usr/lib/python3.11';
const STDLIB_FILES = ['colorsys.py', 'bisect.py', 'textwrap.py', 'shlex.py', 'fnmatch.py', 'glob.py'];
const JS_FILE = join(ROOT, 'node_modules', 'hyparquet', 'src', 'utils.js');
const GO_FILE = '/usr/share/doc/git/contrib/persistent-https/main.go';
/** Strings that exist only in the upload: none may appear in any request. */
const MARKERS = ['ATLAS-PRIVATE-7f3a9c1e', 'atlas_private_marker_fn', 'private_corpus_copy_b81d'];

let work: string;
let dist: string;
let preview: Preview;
let browser: Browser;
let manifest: Manifest;
let zipPath: string;
let hostilePath: string;
/** The corpus function copied into the upload, and its index among the upload's functions. */
let copied: { body: string; id: number };
let copyIndex = -1;
/** Every request the context made: URL, method, body (as latin1 text). */
const requests: { url: string; method: string; body: string }[] = [];

/** The first Python function body of the data set that is at least 5 lines (to copy into the upload). */
async function corpusFunction(dir: string): Promise<{ body: string; id: number }> {
  const f = manifest.tables.functions![0]!;
  const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(readFileSync(join(dir, f.path))), f.path, ['id', 'body', 'n_lines', 'kind']);
  for (let i = 0; i < rows; i++) {
    if (Number(columns.n_lines![i]) >= 6 && columns.kind![i] === 'function') return { body: String(columns.body![i]), id: Number(columns.id![i]) };
  }
  throw new Error('no function of 6+ lines in the data set');
}

async function waitForReport(page: Page): Promise<number> {
  const report = page.locator('[data-testid="upload-report"]');
  await report.waitFor({ timeout: 240_000 });
  return Number(await report.getAttribute('data-functions'));
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'atlas-upload-e2e-'));
  dist = join(work, 'dist');
  const [data] = await Promise.all([prebuildDataSet(join(ROOT, '.cache', 'e2e-data')), buildSite(dist)]);
  copyDataSet(data.dir, join(dist, 'data'));
  manifest = readManifest(join(dist, 'data'));
  const copy = await corpusFunction(join(dist, 'data'));
  copied = copy;
  const files: Record<string, Uint8Array> = {};
  for (const f of STDLIB_FILES) files[`repo/lib/${f}`] = new Uint8Array(readFileSync(join(STDLIB, f)));
  files['repo/web/utils.js'] = new Uint8Array(readFileSync(JS_FILE));
  files['repo/cmd/main.go'] = new Uint8Array(readFileSync(GO_FILE));
  files['repo/private/marker.py'] = strToU8(
    `def atlas_private_marker_fn(value):\n    """Return the marker."""\n    secret = "${MARKERS[0]}"\n    return secret + str(value)\n`,
  );
  // A function of the corpus itself, in a module of its own name: a clone shared with the corpus.
  files['repo/private/private_corpus_copy_b81d.py'] = strToU8(`${copy.body}\n`);
  files['repo/README.md'] = strToU8('# a repository\n');
  zipPath = join(work, 'repo.zip');
  writeFileSync(zipPath, zipSync(files, { level: 6 }));
  // Hostile: path traversal, an absolute path, and a 4 MiB run of blanks (ratio far above 200).
  const hostile: Record<string, Uint8Array> = {};
  for (const f of STDLIB_FILES) hostile[`ok/${f}`] = new Uint8Array(readFileSync(join(STDLIB, f)));
  hostile['../../escape.py'] = strToU8('def escaped():\n    return 1\n');
  hostile['ok/../../../etc/evil.py'] = strToU8('def evil():\n    return 2\n');
  hostile['ok/bomb.py'] = new Uint8Array(4 * 1024 * 1024).fill(0x20);
  hostilePath = join(work, 'hostile.zip');
  writeFileSync(hostilePath, zipSync(hostile, { level: 9 }));
  preview = await startPreview(dist);
  browser = await launchBrowser();
  const origin = new URL(preview.url).origin;
  // Context-level: requests of every page and of their workers.
  await browser.context.route('**/*', (route) => {
    const req = route.request();
    requests.push({ url: req.url(), method: req.method(), body: req.postDataBuffer()?.toString('latin1') ?? '' });
    if (!req.url().startsWith(origin) && !req.url().startsWith('blob:') && !req.url().startsWith('data:')) return route.abort();
    return route.continue();
  });
  browser.context.on('request', (req: Request) => {
    if (!requests.some((r) => r.url === req.url())) requests.push({ url: req.url(), method: req.method(), body: req.postDataBuffer()?.toString('latin1') ?? '' });
  });
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await preview?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('upload', () => {
  let uploadId = '';
  let functions = 0;

  it('analyses a zip in the browser: report, clusters, a clone shared with the corpus, steps timed', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.setViewportSize({ width: 1400, height: 2200 });
    await page.goto(`${preview.url}#/upload`);
    await page.locator('[data-testid="upload-input"]').setInputFiles(zipPath);
    functions = await waitForReport(page);
    uploadId = (await page.locator('[data-testid="upload-report"]').getAttribute('data-upload')) ?? '';
    expect(uploadId).toMatch(/^u-[0-9a-f]{12}$/);
    expect(page.url()).toContain(`upload=${uploadId}`);
    // Real counts: every stdlib module has functions; Python, JavaScript and Go are all listed.
    expect(functions).toBeGreaterThan(40);
    const langs = await page.locator('[data-testid="report-languages"] tbody tr td:first-child').allTextContents();
    expect(langs).toEqual(expect.arrayContaining(['python', 'javascript', 'go']));
    expect(Number(await page.locator('[data-testid="report-functions"]').textContent())).toBe(functions);
    // Placed: the clusters table lists the map's clusters the functions fell into.
    const clusterRows = await page.locator('[data-testid="report-clusters"] tbody tr').count();
    expect(clusterRows).toBeGreaterThan(0);
    // The copied corpus function is found in the corpus.
    expect(Number(await page.locator('[data-testid="report-corpus-clones"]').textContent())).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await page.locator('[data-testid="report-corpus"]').textContent()) ?? '').toContain('100%');
    // The README is not source: it is in the refusal table with its reason.
    const readme = page.locator('[data-testid="report-skipped"] tr', { hasText: 'repo/README.md' });
    expect(await readme.getAttribute('data-reason')).toBe('not-source');
    const steps = await page.locator('[data-testid="report-timings"] tr td:first-child').allTextContents();
    expect(steps).toEqual(['read', 'extract', 'features', 'clones', 'embed', 'place', 'corpus', 'summaries', 'save']);
    // Undocumented functions are summarised (the data set's seq2seq model, or retrieval without one).
    const summariesNote = (await page.locator('[data-testid="report-timings"] tr[data-step="summaries"]').textContent()) ?? '';
    expect(summariesNote).toMatch(/summaries by seq2seq|retrieval summaries/);
    // Exports are made in the page: the Parquet has one row per function, the JSON the same functions.
    const [pq] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="export-parquet"]').click()]);
    const pqBytes = readFileSync((await pq.path())!);
    const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(pqBytes), 'export.parquet', ['index', 'qualname', 'lang', 'cluster']);
    expect(rows).toBe(functions);
    expect(Array.from(columns.qualname!)).toContain('atlas_private_marker_fn');
    expect(new Set(Array.from(columns.lang!, String))).toEqual(new Set(['python', 'javascript', 'go']));
    const [js] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid="export-json"]').click()]);
    const json = JSON.parse(readFileSync((await js.path())!, 'utf8')) as {
      functions: { qualname: string; path: string; cluster: number | null; docstring: string | null; summary: string | null }[];
      report: { functions: number };
    };
    const summarised = json.functions.filter((f) => f.summary !== null);
    expect(summarised.length).toBeGreaterThan(0);
    for (const f of summarised) expect(f.docstring).toBeNull();
    copyIndex = json.functions.findIndex((f) => f.path === 'repo/private/private_corpus_copy_b81d.py');
    expect(copyIndex).toBeGreaterThanOrEqual(0);
    expect(json.functions).toHaveLength(functions);
    expect(json.report.functions).toBe(functions);
    expect(json.functions.map((f) => f.cluster)).toEqual(Array.from(columns.cluster!, (c) => (c === null ? null : Number(c))));
    await page.screenshot({ path: join(ARTIFACTS, 'upload-report.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('draws the upload on the map with its own legend; a point opens its code and nearest corpus functions', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/map?upload=${uploadId}`);
    const map = page.locator(`[data-testid="map"][data-upload-points="${functions}"]`);
    await map.waitFor({ timeout: 120_000 });
    const legend = page.locator('[data-testid="upload-legend"][data-status="ready"]');
    expect(await legend.textContent()).toContain('repo.zip');
    const pos = await page.evaluate(() => (window as unknown as { __atlas: { uploadPoint(i: number): { x: number; y: number } | null } }).__atlas.uploadPoint(0));
    expect(pos).not.toBeNull();
    await page.mouse.move(pos!.x - 20, pos!.y - 20);
    await page.mouse.move(pos!.x, pos!.y, { steps: 3 });
    await page.mouse.down();
    await page.mouse.up();
    const panel = page.locator('[data-testid="upload-function"]');
    await panel.waitFor({ timeout: 30_000 });
    expect(((await panel.locator('[data-testid="upload-code"]').textContent()) ?? '').length).toBeGreaterThan(10);
    await panel.locator('[data-testid="upload-neighbours"] li').first().waitFor({ timeout: 60_000 });
    expect(await panel.locator('[data-testid="upload-neighbours"] li').count()).toBe(10);
    // colorsys.rgb_to_yiq has no docstring: the panel shows a summary (made at upload, or now).
    expect(await panel.locator('[data-testid="upload-code"]').textContent()).toContain('def rgb_to_yiq');
    await panel.locator('[data-testid="upload-summary"], [data-testid="upload-summary-note"]').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'upload-map.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('puts the uploaded copy of a corpus function on its corpus point, on the VAE map and on a PCA map', async () => {
    type Atlas = { __atlas: { uploadPoint(i: number): { x: number; y: number } | null; project(id: number): { x: number; y: number } | null } };
    for (const layout of ['', '&layout=pca-2']) {
      const { page, errors } = await openPage(browser.context);
      await page.goto(`${preview.url}#/map?upload=${uploadId}${layout}`);
      await page.locator(`[data-testid="map"][data-upload-points="${functions}"]`).waitFor({ timeout: 120_000 });
      const [mine, theirs] = await page.evaluate(
        ([i, id]) => {
          const a = (window as unknown as Atlas).__atlas;
          return [a.uploadPoint(i), a.project(id)];
        },
        [copyIndex, copied.id] as const,
      );
      expect(mine, layout).not.toBeNull();
      expect(theirs, layout).not.toBeNull();
      // Embedded again in the browser (ORT-web) where the prebuild used ORT-node: equal to within a pixel or two.
      expect(Math.hypot(mine!.x - theirs!.x, mine!.y - theirs!.y), `${layout || 'default'}: upload point vs corpus point`).toBeLessThan(3);
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it('restores the upload after a reload, and another machine is told it is not there', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/upload?upload=${uploadId}`);
    expect(await waitForReport(page)).toBe(functions);
    await page.reload();
    expect(await waitForReport(page)).toBe(functions);
    expect(await page.locator('[data-testid="upload-list"] li').count()).toBeGreaterThanOrEqual(1);
    expect(errors).toEqual([]);
    await page.close();
    const other = await launchBrowser();
    try {
      const { page: p2 } = await openPage(other.context);
      await p2.goto(`${preview.url}#/upload?upload=${uploadId}`);
      const missing = p2.locator('[data-testid="upload-missing"]');
      await missing.waitFor({ timeout: 60_000 });
      expect(await missing.textContent()).toContain('stored only on the machine that made it');
    } finally {
      await other.close();
    }
  });

  it('cancels an upload mid-way: nothing is kept', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/upload`);
    await page.locator('[data-testid="upload-list"] li').first().waitFor();
    const before = await page.locator('[data-testid="upload-list"] li').count();
    await page.locator('[data-testid="upload-input"]').setInputFiles(zipPath);
    await page.locator('[data-testid="upload-steps"] li[data-step="embed"][data-status="running"]').waitFor({ timeout: 120_000 });
    await page.locator('[data-testid="upload-cancel"]').click();
    await expect.poll(async () => (await page.locator('[data-testid="upload-error"]').textContent()) ?? '', { timeout: 30_000 }).toContain('cancelled');
    expect(await page.locator('[data-testid="upload-report"]').count()).toBe(0);
    await page.reload();
    await page.locator('[data-testid="upload-list"] li').first().waitFor();
    expect(await page.locator('[data-testid="upload-list"] li').count()).toBe(before);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lists a hostile zip’s refused entries (path traversal, bomb) and analyses the rest', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/upload`);
    await page.locator('[data-testid="upload-input"]').setInputFiles(hostilePath);
    await waitForReport(page);
    const reasons = await page.locator('[data-testid="report-skipped"] tbody tr').evaluateAll((rows) => rows.map((r) => [r.querySelector('code')?.textContent ?? '', r.getAttribute('data-reason') ?? '']));
    const byPath = new Map(reasons.map(([p, r]) => [p, r]));
    expect(byPath.get('../../escape.py')).toBe('path-traversal');
    expect(byPath.get('ok/../../../etc/evil.py')).toBe('path-traversal');
    expect(byPath.get('ok/bomb.py')).toBe('ratio');
    expect(Number(await page.locator('[data-testid="report-functions"]').textContent())).toBeGreaterThan(20);
    await page.screenshot({ path: join(ARTIFACTS, 'upload-hostile.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('sent nothing of the upload anywhere: same origin only, no request bodies, no upload strings', () => {
    const origin = new URL(preview.url).origin;
    expect(requests.length).toBeGreaterThan(10);
    // Workers' requests are among those seen: the encoder is fetched only by the parse worker, the
    // corpus's band hashes only by the dedup worker.
    expect(requests.some((r) => r.url.endsWith('/models/vae-3/model.bin'))).toBe(true);
    expect(requests.some((r) => /\/dedup-bands-\d+\.parquet$/.test(r.url))).toBe(true);
    const zipBytes = readFileSync(zipPath).toString('latin1');
    for (const r of requests) {
      expect(r.url.startsWith(origin) || r.url.startsWith('blob:') || r.url.startsWith('data:'), r.url).toBe(true);
      expect(r.body, `${r.method} ${r.url} carries a body`).toBe('');
      for (const m of MARKERS) {
        expect(decodeURIComponent(r.url)).not.toContain(m);
        expect(r.body).not.toContain(m);
      }
      // Not even a 32-byte run of the archive itself.
      expect(r.body.includes(zipBytes.slice(100, 132))).toBe(false);
    }
  });
});
