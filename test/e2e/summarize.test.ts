// End to end: summaries in the built site on the real e2e data set (three small Debian packages
// through the whole prebuild, with the generated tiny CodeT5-layout summariser): an undocumented
// function's detail panel shows its summaries with the summariser that wrote each (pre-generated
// retrieval and seq2seq texts, the retrieval summariser run live, and the model run in the page's
// summarize worker), and the summaries view draws the evaluation's density plot.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/core/data/manifest.ts';
import { memoryAsyncBuffer, readParquetColumns } from '../../src/core/data/parquet-read.ts';
import { firstSentence } from '../../src/core/summarize/docstring-filter.ts';
import type { SummariesReport } from '../../src/core/summarize/report.ts';
import { launchBrowser, openPage, type Browser } from './helpers/browser.ts';
import { prebuildDataSet, readManifest } from './helpers/data.ts';
import { ROOT, buildSite, copyDataSet, startPreview, type Preview } from './helpers/site.ts';

const ARTIFACTS = join(ROOT, 'test', 'e2e', 'artifacts');
let work: string;
let dist: string;
let preview: Preview;
let browser: Browser;
let manifest: Manifest;
let report: SummariesReport;
const stored = new Map<number, { model: string; text: string; source: number | null }[]>();
const docstring = new Map<number, string | null>();

async function readTable(dir: string, files: { path: string }[], columns: string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = Object.fromEntries(columns.map((c) => [c, []]));
  for (const f of files) {
    const { columns: cols } = await readParquetColumns(memoryAsyncBuffer(readFileSync(join(dir, f.path))), f.path, columns);
    for (const c of columns) out[c].push(...Array.from(cols[c] as ArrayLike<unknown>));
  }
  return out;
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'atlas-e2e-summ-'));
  dist = join(work, 'dist');
  const [data] = await Promise.all([prebuildDataSet(join(ROOT, '.cache', 'e2e-data')), buildSite(dist)]);
  copyDataSet(data.dir, join(dist, 'data'));
  const dir = join(dist, 'data');
  manifest = readManifest(dir);
  report = JSON.parse(readFileSync(join(dir, 'summaries-report.json'), 'utf8')) as SummariesReport;
  const s = await readTable(dir, manifest.tables.summaries!, ['id', 'model', 'text', 'source_id']);
  s.id.forEach((id, i) => {
    const list = stored.get(Number(id)) ?? [];
    list.push({ model: String(s.model[i]), text: String(s.text[i]), source: s.source_id[i] === null ? null : Number(s.source_id[i]) });
    stored.set(Number(id), list);
  });
  const f = await readTable(dir, manifest.tables.functions!, ['id', 'docstring']);
  f.id.forEach((id, i) => docstring.set(Number(id), (f.docstring[i] as string | null) ?? null));
  // A copy of the data set without the summaries stage's outputs: the panel runs the retrieval
  // summariser live (search worker + data worker) and the view says there are no summaries.
  const bare = join(dist, 'bare');
  copyDataSet(dir, bare);
  const m = readManifest(bare);
  delete m.tables.summaries;
  delete m.models['summaries-report'];
  writeFileSync(join(bare, 'manifest.json'), JSON.stringify(m, null, 1));
  preview = await startPreview(dist);
  browser = await launchBrowser();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await preview?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** An undocumented function with both a retrieval and a generated summary. */
function pickUndocumented(): number {
  for (const [id, list] of stored) {
    if (docstring.get(id) === null && list.some((s) => s.model.startsWith('retrieval:')) && list.some((s) => s.model.startsWith('seq2seq:'))) return id;
  }
  throw new Error('no undocumented function with both summaries');
}

describe('summaries in the site', () => {
  it('the prebuild wrote summaries and an evaluation', () => {
    expect(report.summarizers.map((s) => s.kind).sort()).toEqual(['retrieval', 'seq2seq']);
    expect(report.summarizers.every((s) => s.rows > 0)).toBe(true);
    expect(report.evaluation?.n).toBeGreaterThan(3);
    expect(report.evaluation?.retrieval.cosines).toHaveLength(report.evaluation!.n);
    expect(manifest.models[report.seq2seq_model_files!]?.some((f) => f.path.endsWith('onnx/decoder_model_merged_quantized.onnx'))).toBe(true);
  });

  it('summarises an undocumented function from its detail panel: texts with their summariser labels, and the model run in the page', async () => {
    const id = pickUndocumented();
    const want = stored.get(id)!;
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/map?fn=${id}`);
    await page.locator(`[data-testid="detail"][data-id="${id}"] [data-testid="detail-name"]`).waitFor({ timeout: 90_000 });
    await page.locator('[data-testid="detail-summarise"]').click();
    await page.locator('[data-testid="detail-summaries"][data-status="done"]').waitFor({ timeout: 60_000 });
    const shown = page.locator('[data-testid="summary"]');
    expect(await shown.count()).toBe(want.length);
    for (const s of want) {
      const el = page.locator(`[data-testid="summary"][data-model="${s.model}"]`);
      expect(await el.locator('[data-testid="summary-text"]').textContent()).toBe(s.text);
      const label = (await el.locator('[data-testid="summary-label"]').textContent()) ?? '';
      if (s.model.startsWith('retrieval:')) {
        expect(label).toContain('retrieval baseline');
        expect(label).toContain(report.embedding);
        expect(await el.locator(`button[data-id="${s.source}"]`).count()).toBe(1);
        expect(s.text).toBe(firstSentence(docstring.get(s.source!)!));
      } else {
        expect(label).toContain('generated by');
      }
      expect(label).toContain('pre-generated');
    }
    // The seq2seq model in this page's summarize worker (onnxruntime-web WASM, q8).
    await page.locator('[data-testid="detail-generate"]').click();
    const live = page.locator('[data-testid="summary"][data-where="this browser"]');
    await live.waitFor({ timeout: 120_000 });
    expect(((await live.locator('[data-testid="summary-text"]').textContent()) ?? '').length).toBeGreaterThan(0);
    expect(await live.locator('[data-testid="summary-label"]').textContent()).toContain('generated by');
    expect(await page.locator('[data-testid="summary-message"]').textContent()).toMatch(/tokens in .* s on wasm \(q8\)/);
    await page.screenshot({ path: join(ARTIFACTS, 'summaries-detail.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('runs the retrieval summariser live when the data set has no summaries', async () => {
    const id = pickUndocumented();
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}?data=bare/#/map?fn=${id}&emb=jina`);
    await page.locator(`[data-testid="detail"][data-id="${id}"] [data-testid="detail-name"]`).waitFor({ timeout: 90_000 });
    expect(await page.locator('[data-testid="detail-generate"]').count()).toBe(0);
    await page.locator('[data-testid="detail-summarise"]').click();
    await page.locator('[data-testid="detail-summaries"][data-status="done"]').waitFor({ timeout: 60_000 });
    const el = page.locator('[data-testid="summary"]');
    expect(await el.count()).toBe(1);
    expect(await el.getAttribute('data-where')).toBe('this browser');
    const src = Number(await el.locator('button[data-id]').getAttribute('data-id'));
    expect(src).not.toBe(id);
    expect(await el.locator('[data-testid="summary-text"]').textContent()).toBe(firstSentence(docstring.get(src)!));
    expect(await el.locator('[data-testid="summary-label"]').textContent()).toContain('retrieval baseline');
    await page.goto(`${preview.url}?data=bare/#/summaries`);
    await page.getByText('This data set has no summaries').waitFor({ timeout: 60_000 });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('the summaries view draws the evaluation density plot and summarises a package', async () => {
    const { page, errors } = await openPage(browser.context);
    await page.goto(`${preview.url}#/summaries`);
    await page.locator('[data-testid="summaries-eval"]').waitFor({ timeout: 90_000 });
    const svg = page.locator('[data-chart="summaries-density"] svg');
    await svg.first().waitFor({ timeout: 30_000 });
    // One density curve per method (original, generated, retrieval).
    expect(await page.locator('[data-chart="summaries-density"] svg g[aria-label="line"] path').count()).toBe(3);
    const rows = page.locator('[data-testid="summaries-scores"] tbody tr');
    expect(await rows.count()).toBe(3);
    const e = report.evaluation!;
    expect(await page.locator('[data-testid="summaries-scores"] tr[data-method="retrieval"] td').nth(1).textContent()).toBe(e.retrieval.mean_cosine.toFixed(3));
    expect(await page.locator('[data-testid="summaries-scores"] tr[data-method="retrieval"] td').nth(2).textContent()).toBe(e.retrieval.bleu4!.toFixed(3));
    // Every undocumented function of one package, from the pre-generated retrieval summaries.
    await page.locator('[data-testid="summaries-package"]').selectOption('idna');
    await page.locator('[data-testid="summaries-run"]').click();
    await page.locator('[data-testid="summaries-rows"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="summaries-run"]:not([disabled])').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-testid="summaries-rows"] tbody tr').count()).toBeGreaterThan(10);
    await page.screenshot({ path: join(ARTIFACTS, 'summaries-view.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
