// The site on a real full-corpus data set (issue 9) in headless Chromium: the built site served with
// HTTP Range by a Node static server (browser/range-server.ts) that logs every byte it sends, and
// measured from inside the page (browser/site-probe.ts):
//  - the initial map view: time from navigation to the first frame with every point drawn (MapView's
//    `data-points`), the bytes fetched before it by what they are (site JS / WASM, manifest, layout
//    shards, functions shards split by column and row group, vectors, dedup, summaries, other), what
//    loaded that the first frame does not need (rules in FIRST_FRAME_NEEDS), and what loaded after
//    it before any interaction;
//  - Chromium's memory: every process's RSS, the page's JS heap (CDP) and page + workers
//    (performance.measureUserAgentSpecificMemory), after the first frame, after the searches, at the end;
//  - search: 5 queries typed into the search box (the shared driver browser/site-search.ts), exact
//    scan and IVF at SITE_BENCH_NPROBE (default 16): submit to results listed, and to the next
//    frame; the search worker's own time; bytes each query fetched. The first query of each scan
//    (all vectors / the IVF index head) is reported on its own;
//  - filters through the filter panel: one package, documented only, a line range, and clearing
//    them: the change to the map's new point count, and to the frame after it;
//  - Statistics, Clusters and Duplicates: click to the view's first render (data-ready) and the
//    bytes each fetched (until ready, and until the network went quiet).
// Peer for bytes: the whole data set (every file the manifest lists), as scale.bench.ts does; no peer
// for latencies. SITE_BENCH_DATA: the data set folder (a prebuild's public/data); unset or missing,
// the benchmark is skipped with a note (CI has no such data set).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import type { Manifest } from '../../src/core/data/manifest.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../e2e/helpers/browser.ts';
import { buildSite } from '../e2e/helpers/site.ts';
import { attributeRanges, parquetSpans, type FileUse, type ParquetSpans } from './browser/parquet-ranges.ts';
import { startRangeServer, type RangeServer, type ServedRequest } from './browser/range-server.ts';
import { runSiteSearch } from './browser/site-search.ts';
import { arm, chromiumRss, firstFrame, jsMemory, measured, PROBE_SCRIPT, type ActionTiming, type JsMemory, type ProcessRss } from './browser/site-probe.ts';
import type { BenchResult, BenchRow } from './types.ts';

const NAME = 'Site on the full corpus in Chromium';
const PEER = 'bytes: the whole data set (every file the manifest lists); latencies and memory: none (absolute)';
const QUERIES = ['parse a date string', 'read a configuration file', 'open a socket connection', 'compress data with zlib', 'convert a sparse matrix to dense'];
const NPROBE = process.env.SITE_BENCH_NPROBE ?? '16';
/** The package the filter step keeps (a mid-sized one of the Debian corpus). */
const PACKAGE = process.env.SITE_BENCH_PACKAGE ?? 'numpy';
const MINUTE = 60_000;
const MiB = 2 ** 20;

function log(msg: string): void {
  process.stderr.write(`site-full: ${msg}\n`);
}

const fmtMiB = (b: number): string => (b / MiB).toFixed(b >= 10 * MiB ? 1 : 2);
const med = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
};
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

/** What a served path is, in the groups the report uses. */
function kindOf(path: string): string {
  if (!path.startsWith('/data/')) {
    if (path.endsWith('.wasm')) return 'site WASM';
    if (path.endsWith('.js') || path.endsWith('.mjs')) return 'site JS';
    return 'site HTML/CSS/other';
  }
  const name = path.slice('/data/'.length);
  if (name === 'manifest.json') return 'manifest';
  if (name.startsWith('layout-') && name.endsWith('.parquet')) return 'layout shards';
  if (name.startsWith('functions-')) return 'functions shards';
  if (name.startsWith('vectors-') && name.includes('-ivf-')) return 'IVF partitions';
  if (name.startsWith('vectors-')) return 'vectors';
  if (name.startsWith('models/ivf-')) return 'IVF index';
  if (name.startsWith('models/')) return 'query model';
  if (name.startsWith('dedup-bands-')) return 'dedup bands';
  if (name.startsWith('dedup-')) return 'dedup';
  if (name.startsWith('summaries-')) return 'summaries';
  return `other: ${name.replace(/-\d{5}\.parquet$/, '-*.parquet')}`;
}

/** Who asked: the page, or a worker (its script's name without Vite's hash). */
function requester(r: ServedRequest): string {
  if (r.referer === '' || r.referer === '/' || r.referer.endsWith('.html')) return 'page';
  return basename(r.referer).replace(/-[\w-]{8}\.js$/, '').replace(/\.js$/, '') + ' worker';
}

/** Site JS of a worker the map does not start for its first frame (by Vite's chunk name). */
const OTHER_WORKER_JS = /^\/assets\/(search|dedup|embed|train|train-shard|summarize|parse)-[\w-]{8}\.js$/;

interface Item {
  key: string;
  bytes: number;
  /** Why the initial map view does not need it; null when it does. */
  notNeeded: string | null;
}

/**
 * What the map's first frame needs, by rule: the site's HTML/CSS/JS of the page and the data worker,
 * the manifest, the default layout's shards, its cluster labels (the legend), repos.parquet (package
 * names: the colouring before categories arrive, the filter list), and of the functions shards the
 * footers and the id and repo_id columns (the package colour of every point). Everything else is
 * listed with the reason it is not needed for that frame.
 */
function firstFrameNeed(path: string, column: string | null, m: Manifest): string | null {
  const kind = kindOf(path);
  const def = m.default_layout ?? m.layouts[0]?.name ?? '';
  if (kind === 'site WASM') return 'the map decodes Parquet in JS and draws with WebGL: no WASM is needed to draw it';
  if (kind === 'site JS' && OTHER_WORKER_JS.test(path)) return 'another worker than the data worker: the map does not use it to draw';
  if (kind.startsWith('site') || kind === 'manifest') return null;
  const name = path.slice('/data/'.length);
  if (kind === 'layout shards') return name.startsWith(`layout-${def}-`) ? null : `a layout other than the default (${def})`;
  if (name.startsWith(`clusters-${def}`)) return null;
  if (name === 'repos.parquet') return null;
  if (kind === 'functions shards') {
    if (column === null || column === 'id' || column === 'repo_id') return null;
    return 'a functions column the first frame does not draw (hover, filters and result names read it later)';
  }
  return 'not drawn by the map';
}

interface Breakdown {
  total: number;
  byKind: Map<string, number>;
  /** Parquet files by table: columns and row groups read. */
  parquet: Map<string, { use: FileUse; files: number; rowGroups: number }>;
  items: Item[];
  byRequester: Map<string, number>;
  requests: number;
  notFound: string[];
}

function breakdown(reqs: ServedRequest[], m: Manifest, spans: Map<string, ParquetSpans>): Breakdown {
  const byKind = new Map<string, number>();
  const byRequester = new Map<string, number>();
  const parquet = new Map<string, { use: FileUse; files: number; rowGroups: number }>();
  const items = new Map<string, Item>();
  const seenFiles = new Map<string, Set<string>>();
  const addItem = (key: string, bytes: number, notNeeded: string | null) => {
    const it = items.get(key);
    if (it) it.bytes += bytes;
    else items.set(key, { key, bytes, notNeeded });
  };
  let total = 0;
  const notFound: string[] = [];
  for (const r of reqs) {
    if (r.status === 404) notFound.push(r.path);
    if (r.bytes <= 0) continue;
    total += r.bytes;
    const kind = kindOf(r.path);
    byKind.set(kind, (byKind.get(kind) ?? 0) + r.bytes);
    const who = requester(r);
    byRequester.set(who, (byRequester.get(who) ?? 0) + r.bytes);
    const name = r.path.slice('/data/'.length);
    const sp = r.path.startsWith('/data/') ? spans.get(name) : undefined;
    if (sp) {
      const table = name.replace(/-\d{5}\.parquet$/, '').replace(/\.parquet$/, '');
      let t = parquet.get(table);
      if (!t) parquet.set(table, (t = { use: { columns: new Map(), footer: 0 }, files: 0, rowGroups: 0 }));
      const files = seenFiles.get(table) ?? new Set<string>();
      if (!files.has(name)) {
        files.add(name);
        seenFiles.set(table, files);
        t.files++;
        t.rowGroups += sp.rowGroups;
      }
      // Row-group numbers are per file: count them per (file, group) by offsetting with a file index.
      const one = attributeRanges(sp, [r]);
      const fileIndex = [...files].indexOf(name);
      for (const [col, u] of one.columns) {
        let c = t.use.columns.get(col);
        if (!c) t.use.columns.set(col, (c = { bytes: 0, rowGroups: new Set() }));
        c.bytes += u.bytes;
        for (const g of u.rowGroups) c.rowGroups.add(fileIndex * 100_000 + g);
        addItem(`${table} column ${col}`, u.bytes, firstFrameNeed(r.path, col, m));
      }
      t.use.footer += one.footer;
      if (one.footer > 0) addItem(`${table} footers`, one.footer, firstFrameNeed(r.path, null, m));
    } else {
      const key = r.path.startsWith('/data/') ? name : r.path;
      addItem(key, r.bytes, firstFrameNeed(r.path, null, m));
    }
  }
  return { total, byKind, parquet, items: [...items.values()].sort((a, b) => b.bytes - a.bytes), byRequester, requests: reqs.length, notFound };
}

function describeKinds(b: Breakdown): string {
  return [...b.byKind].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${fmtMiB(v)}`).join(', ');
}

function describeParquet(b: Breakdown): string {
  const parts: string[] = [];
  for (const [table, t] of [...b.parquet].sort((x, y) => sum([...y[1].use.columns.values()].map((c) => c.bytes)) - sum([...x[1].use.columns.values()].map((c) => c.bytes)))) {
    const cols = [...t.use.columns].sort((x, y) => y[1].bytes - x[1].bytes).map(([c, u]) => `${c} ${fmtMiB(u.bytes)} (${u.rowGroups.size}/${t.rowGroups} row groups)`);
    parts.push(`${table} [${t.files} file(s)]: ${cols.join(', ') || 'no column'}${t.use.footer ? `, footers/metadata ${fmtMiB(t.use.footer)}` : ''}`);
  }
  return parts.join('; ');
}

function describeRequesters(b: Breakdown): string {
  return [...b.byRequester].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${fmtMiB(v)}`).join(', ');
}

function describeMemory(rss: ProcessRss, js: JsMemory): string {
  const types = [...rss.byType].sort((a, b) => b[1] - a[1]).map(([t, v]) => `${t} ${v.toFixed(0)}`).join(', ');
  const agent = js.agentMiB !== null ? `page + workers (measureUserAgentSpecificMemory) ${js.agentMiB.toFixed(0)} MiB: ${js.agentBreakdown.slice(0, 6).map((x) => `${x.what} ${x.mib.toFixed(0)}`).join(', ')}` : `page + workers: not measured (${js.agentError})`;
  return `RSS ${rss.totalMiB.toFixed(0)} MiB over ${rss.processes} processes (${types}); page JS heap ${js.heapUsedMiB.toFixed(0)} of ${js.heapTotalMiB.toFixed(0)} MiB; ${agent}`;
}

interface SearchRun {
  query: string;
  nodeMs: number;
  t: ActionTiming;
  /** The search worker's ranking time and its vector loading time, as its status line shows them. */
  workerMs: number;
  loadMs: number;
  bytes: Breakdown;
  ivfBytes: number | null;
  scanned: number | null;
}

export default async function bench(): Promise<BenchResult> {
  const dataDir = process.env.SITE_BENCH_DATA;
  if (!dataDir || !existsSync(join(dataDir, 'manifest.json'))) {
    const why = !dataDir ? 'SITE_BENCH_DATA is not set' : `${dataDir} holds no manifest.json`;
    log(`skipped: ${why}`);
    // `skipped`: the runner leaves the measured section in BENCHMARKS.md alone.
    const skipped: BenchResult = {
      name: NAME,
      peer: PEER,
      rows: [],
      notes: [`Skipped: ${why}. Point SITE_BENCH_DATA at a prebuilt data set folder (a prebuild's public/data) to run it.`],
      skipped: why,
    };
    return skipped;
  }
  const m = JSON.parse(readFileSync(join(dataDir, 'manifest.json'), 'utf8')) as Manifest;
  const allFiles = [...Object.values(m.tables).flat(), ...Object.values(m.models).flat(), ...(m.stats ? [m.stats] : [])];
  const wholeData = sum(allFiles.map((f) => f.bytes));
  const spans = new Map<string, ParquetSpans>();
  for (const f of allFiles.filter((x) => x.path.endsWith('.parquet'))) spans.set(f.path, await parquetSpans(join(dataDir, f.path)));
  const emb = m.embeddings[0];
  const nlist = emb?.ivf?.nlist ?? null;
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const loadBefore = load();

  const work = mkdtempSync(join(tmpdir(), 'site-full-bench-'));
  const dist = join(work, 'dist');
  log('building the site');
  const tb = Date.now();
  await buildSite(dist);
  log(`built in ${((Date.now() - tb) / 1000).toFixed(0)} s`);
  const server: RangeServer = await startRangeServer(dist, dataDir);
  const profile = mkdtempSync(join(tmpdir(), 'site-full-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    // ForceEagerMeasureMemory: measureUserAgentSpecificMemory answers at once instead of at the next GC.
    args: [...CHROMIUM_ARGS, '--enable-blink-features=ForceEagerMeasureMemory'],
    viewport: { width: 1280, height: 800 },
  });
  const errors: string[] = [];
  try {
    const page: Page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(10 * MINUTE);
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
    await page.addInitScript({ content: PROBE_SCRIPT });
    const cdp = await context.newCDPSession(page);

    // ---- the initial map view ----
    log(`opening the map (${m.counts.functions} functions); load average ${load()}`);
    const loadAtOpen = load();
    await page.goto(`${server.url}#/map`);
    const ff = await firstFrame(page, 15 * MINUTE);
    const points = Number(await page.locator('[data-testid="map"]').getAttribute('data-points'));
    log(`first frame with ${points} points at ${ff.ms.toFixed(0)} ms (the frame after it at ${ff.paintedMs.toFixed(0)} ms)`);
    const timings = (await page.locator('[data-testid="load-time"]').getAttribute('data-timings').catch(() => null)) ?? '{}';
    const before = breakdown(server.log.filter((r) => r.at <= ff.epoch), m, spans);
    const rss0 = chromiumRss(profile);
    const js0 = await jsMemory(page, cdp);
    const quiet = await server.settle(3000, 3 * MINUTE);
    // Frames with nothing happening: whether the map keeps redrawing on its own.
    const f0 = (await page.evaluate('window.__probe.frames')) as number;
    await new Promise((r) => setTimeout(r, 3000));
    const idleFps = ((await page.evaluate('window.__probe.frames')) as number - f0) / 3;
    const after = breakdown(server.log.filter((r) => r.at > ff.epoch), m, spans);
    const rss0b = chromiumRss(profile);

    const dataBefore = before.total - sum([...before.byKind].filter(([k]) => k.startsWith('site')).map(([, v]) => v));
    const notNeeded = before.items.filter((i) => i.notNeeded !== null);
    const notNeededBytes = sum(notNeeded.map((i) => i.bytes));
    rows.push({ metric: `initial view: navigation to the first map frame with all ${points} points (draw issued)`, ours: ff.ms, peer: null, unit: 'ms', higherIsBetter: false });
    rows.push({ metric: 'initial view: navigation to the animation frame after it (draw on screen)', ours: ff.paintedMs, peer: null, unit: 'ms', higherIsBetter: false });
    const phases = JSON.parse(timings) as Record<string, number>;
    if (phases['function columns'] !== undefined) rows.push({ metric: 'initial view: of which the data worker reading the functions columns', ours: phases['function columns'], peer: null, unit: 'ms', higherIsBetter: false });
    rows.push({ metric: 'initial view: data bytes fetched before the first frame', ours: dataBefore / MiB, peer: wholeData / MiB, unit: 'MiB (peer: the whole data set)', higherIsBetter: false });
    rows.push({ metric: 'initial view: site bytes (HTML, JS, WASM) before the first frame', ours: (before.total - dataBefore) / MiB, peer: null, unit: 'MiB', higherIsBetter: false });
    rows.push({ metric: 'initial view: bytes before the first frame that it does not need', ours: notNeededBytes / MiB, peer: null, unit: 'MiB (rules: FIRST_FRAME_NEEDS)', higherIsBetter: false });
    rows.push({ metric: 'initial view: bytes fetched after the first frame, no interaction', ours: after.total / MiB, peer: null, unit: 'MiB', higherIsBetter: false });
    rows.push({ metric: 'initial view: Chromium RSS after the first frame', ours: rss0.totalMiB, peer: null, unit: 'MiB (all processes)', higherIsBetter: false });
    rows.push({ metric: 'initial view: page JS heap used after the first frame', ours: js0.heapUsedMiB, peer: null, unit: 'MiB (main thread, CDP)', higherIsBetter: false });
    if (js0.agentMiB !== null) rows.push({ metric: 'initial view: JS memory of the page and its workers', ours: js0.agentMiB, peer: null, unit: 'MiB (measureUserAgentSpecificMemory)', higherIsBetter: false });
    notes.push(
      `Initial view: ${points} of ${m.counts.functions} points drawn ${ff.ms.toFixed(0)} ms after navigation (MapView's data-points: deck.gl issued the draw), the animation frame after it at ${ff.paintedMs.toFixed(0)} ms (the data worker's own phases, ms: ${timings}); before it ${fmtMiB(before.total)} MiB in ${before.requests} requests: ${describeKinds(before)}. Requested by: ${describeRequesters(before)}. Load average at navigation ${loadAtOpen}.`,
      `Initial view, Parquet read before the first frame (column, MiB, row groups read of those in the files touched): ${describeParquetOrNone(before)}.`,
      notNeeded.length
        ? `Initial view, loaded before the first frame but not needed for it: ${notNeeded.map((i) => `${i.key} ${fmtMiB(i.bytes)} MiB (${i.notNeeded})`).join('; ')}.`
        : 'Initial view: nothing loaded before the first frame that it does not need.',
      `After the first frame, before any interaction (until the network was quiet 3 s${quiet ? '' : ': it was not, within 3 minutes'}): ${after.total ? `${fmtMiB(after.total)} MiB in ${after.requests} requests: ${describeKinds(after)}; by ${describeRequesters(after)}${after.parquet.size ? `; Parquet: ${describeParquetOrNone(after)}` : ''}` : 'nothing'}.`,
      `Memory after the first frame: ${describeMemory(rss0, js0)}; once the network was quiet: RSS ${rss0b.totalMiB.toFixed(0)} MiB. Idle animation frame rate then: ${idleFps.toFixed(1)} fps (3 s, nothing moving).`,
    );
    if (before.notFound.length || after.notFound.length) notes.push(`Initial view: 404 for ${[...before.notFound, ...after.notFound].join(', ')}.`);

    // ---- search ----
    // The scan select appears once the search worker has opened (only for a data set with IVF partitions).
    const hasScan = await page
      .locator('[data-testid="search-scan"]')
      .waitFor({ timeout: 5 * MINUTE })
      .then(() => true, () => false);
    if (!hasScan) notes.push(`Search: not measured: the search panel showed no scan choice within 5 minutes (the data set has ${nlist === null ? 'no' : nlist} IVF lists).`);
    const scans = hasScan ? ['exact', ...(nlist !== null ? [NPROBE] : [])] : [];
    for (const scan of scans) {
      const runs: SearchRun[] = [];
      for (const q of QUERIES) {
        const nodeMs = await runSiteSearch(page, q, scan === 'exact' ? 'exact' : scan, 10 * MINUTE, async () => {
          server.reset();
          await arm(page, 'search');
        });
        const t = await measured(page, 10 * MINUTE);
        await server.settle(1000, MINUTE);
        const status = (await page.locator('[data-testid="search-status"]').innerText()).replace(/\s+/g, ' ');
        const workerMs = Number(/(\d+) ms on /.exec(status)?.[1] ?? Number.NaN);
        const loadMs = Number(/vectors loaded in (\d+) ms/.exec(status)?.[1] ?? 0);
        const ivf = page.locator('[data-testid="search-ivf"]');
        const isIvf = (await ivf.count()) > 0;
        runs.push({
          query: q,
          nodeMs,
          t,
          workerMs,
          loadMs,
          bytes: breakdown([...server.log], m, spans),
          ivfBytes: isIvf ? Number(await ivf.getAttribute('data-bytes')) : null,
          scanned: isIvf ? Number(await ivf.getAttribute('data-scanned')) : null,
        });
        log(`search (${scan}) '${q}': ${t.reachedMs.toFixed(0)} ms to listed (${t.value} results; ${describeTiming(t)}), worker ${workerMs} ms, ${fmtMiB(runs.at(-1)!.bytes.total)} MiB`);
      }
      const label = scan === 'exact' ? 'exact scan' : `IVF nprobe ${scan}/${nlist}`;
      const [first, ...rest] = runs;
      const vecPeer = sum((m.tables[scan === 'exact' ? emb!.table : emb!.ivf!.table] ?? []).map((f) => f.bytes));
      rows.push({ metric: `search, ${label}: first query, submit to results listed`, ours: first!.t.reachedMs, peer: null, unit: 'ms', higherIsBetter: false });
      rows.push({ metric: `search, ${label}: first query bytes fetched`, ours: first!.bytes.total / MiB, peer: vecPeer / MiB, unit: `MiB (peer: all ${scan === 'exact' ? 'vectors' : 'IVF partitions'})`, higherIsBetter: false });
      rows.push({ metric: `search, ${label}: submit to results listed (median of ${rest.length})`, ours: med(rest.map((r) => r.t.reachedMs)), peer: null, unit: 'ms', higherIsBetter: false });
      rows.push({ metric: `search, ${label}: submit to the frame after the results (median)`, ours: med(rest.map((r) => r.t.frameMs)), peer: null, unit: 'ms', higherIsBetter: false });
      rows.push({ metric: `search, ${label}: search worker's time in its status line (median)`, ours: med(rest.map((r) => r.workerMs)), peer: null, unit: 'ms', higherIsBetter: false });
      rows.push({ metric: `search, ${label}: main-thread long tasks between submit and listing (median)`, ours: med(rest.map((r) => r.t.blockedMs ?? Number.NaN)), peer: null, unit: 'ms', higherIsBetter: false });
      rows.push({ metric: `search, ${label}: bytes fetched per query (median)`, ours: med(rest.map((r) => r.bytes.total)) / MiB, peer: vecPeer / MiB, unit: `MiB (peer: all ${scan === 'exact' ? 'vectors' : 'IVF partitions'})`, higherIsBetter: false });
      notes.push(
        `Search, ${label}: first query '${first!.query}' ${first!.t.reachedMs.toFixed(0)} ms to listed results (${first!.t.frameMs.toFixed(0)} ms to the next frame; ${describeTiming(first!.t)}; worker ${first!.workerMs} ms${first!.loadMs ? `, vectors loaded in ${first!.loadMs} ms` : ''}), ${fmtMiB(first!.bytes.total)} MiB in ${first!.bytes.requests} requests: ${describeKinds(first!.bytes)}${first!.bytes.parquet.size ? `; Parquet: ${describeParquetOrNone(first!.bytes)}` : ''}.`,
        `Search, ${label}, the other queries: ${rest
          .map((r) => `'${r.query}' ${r.t.reachedMs.toFixed(0)} ms listed / ${r.t.frameMs.toFixed(0)} ms frame / worker ${r.workerMs} ms / driver ${r.nodeMs} ms (${describeTiming(r.t)}), ${r.t.value} results, ${fmtMiB(r.bytes.total)} MiB in ${r.bytes.requests} requests (${describeKinds(r.bytes) || 'nothing'})${r.scanned !== null ? `, ${r.scanned} vectors scanned, worker counted ${fmtMiB(r.ivfBytes ?? 0)} MiB` : ''}`)
          .join('; ')}. Load average ${load()}.`,
      );
    }
    const rss1 = chromiumRss(profile);
    const js1 = await jsMemory(page, cdp);
    rows.push({ metric: 'after the searches: Chromium RSS', ours: rss1.totalMiB, peer: null, unit: 'MiB (all processes)', higherIsBetter: false });
    if (js1.agentMiB !== null) rows.push({ metric: 'after the searches: JS memory of the page and its workers', ours: js1.agentMiB, peer: null, unit: 'MiB (measureUserAgentSpecificMemory)', higherIsBetter: false });
    notes.push(`Memory after the searches: ${describeMemory(rss1, js1)}.`);

    // ---- filters ----
    await page.locator('[data-testid="filters"] button.toggle').click();
    await page.locator('[data-testid="filter-repos"]').waitFor();
    const packages = await page.locator('[data-testid="filter-repos"] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    const pkg = packages.includes(PACKAGE) ? PACKAGE : packages[0];
    if (!pkg) throw new Error('the filter panel lists no package');
    if (pkg !== PACKAGE) notes.push(`Filters: ${PACKAGE} is not among the data set's packages; filtered by ${pkg} instead.`);
    const filterSteps: { label: string; act: () => Promise<void> }[] = [
      { label: `one package (${pkg})`, act: () => page.locator('[data-testid="filter-repos"]').selectOption([pkg]).then(() => {}) },
      { label: 'clear', act: () => page.locator('[data-testid="filters-clear"]').click() },
      { label: 'documented only', act: () => page.locator('[data-testid="filter-doc"]').selectOption('yes').then(() => {}) },
      { label: 'clear', act: () => page.locator('[data-testid="filters-clear"]').click() },
      {
        label: 'at least 10 lines',
        act: async () => {
          await page.locator('[data-testid="filter-min-lines"]').fill('10');
          await page.locator('[data-testid="filter-min-lines"]').press('Tab');
        },
      },
      {
        label: '10 to 50 lines',
        act: async () => {
          await page.locator('[data-testid="filter-max-lines"]').fill('50');
          await page.locator('[data-testid="filter-max-lines"]').press('Tab');
        },
      },
      { label: 'clear', act: () => page.locator('[data-testid="filters-clear"]').click() },
    ];
    const filterRuns: { label: string; t: ActionTiming; bytes: number }[] = [];
    for (const step of filterSteps) {
      server.reset();
      await arm(page, 'shown');
      await step.act();
      const t = await measured(page, 10 * MINUTE);
      await server.settle(1000, MINUTE);
      filterRuns.push({ label: step.label, t, bytes: sum(server.log.map((r) => r.bytes)) });
      log(`filter ${step.label}: ${t.reachedMs.toFixed(0)} ms to ${t.value} points shown, ${t.frameMs.toFixed(0)} ms to the frame (${describeTiming(t)})`);
    }
    for (const f of filterRuns.filter((x) => x.label !== 'clear')) {
      rows.push({ metric: `filter: ${f.label}, change to the map's new point count`, ours: f.t.reachedMs, peer: null, unit: `ms (${f.t.value} points)`, higherIsBetter: false });
      rows.push({ metric: `filter: ${f.label}, change to the frame after it`, ours: f.t.frameMs, peer: null, unit: 'ms', higherIsBetter: false });
    }
    const clears = filterRuns.filter((x) => x.label === 'clear');
    rows.push({ metric: 'filter: clear (back to every point), change to the frame after it (median)', ours: med(clears.map((c) => c.t.frameMs)), peer: null, unit: 'ms', higherIsBetter: false });
    const pkgCount = await packageCount(dataDir, pkg);
    notes.push(
      `Filters (filter panel): ${filterRuns.map((f) => `${f.label}: ${f.t.reachedMs.toFixed(0)} ms to ${f.t.value} points shown (${describeTiming(f.t)}), ${f.t.frameMs.toFixed(0)} ms to the frame after it, ${fmtMiB(f.bytes)} MiB fetched`).join('; ')}. The map draws the filtered points as one new layer; the time from the new point count to the next frame is the redraw. The package ${pkg} has ${pkgCount ?? 'an unknown number of'} functions in repos.parquet. Load average ${load()}.`,
    );
    if (pkgCount !== null && filterRuns[0]!.t.value !== String(pkgCount)) notes.push(`Filter check: the map showed ${filterRuns[0]!.t.value} points for ${pkg}, repos.parquet counts ${pkgCount}.`);

    // ---- views ----
    for (const [route, link] of [
      ['stats', 'Statistics'],
      ['clusters', 'Clusters'],
      ['dedup', 'Duplicates'],
    ] as const) {
      server.reset();
      await arm(page, 'view', route);
      await page.locator('header nav a', { hasText: link }).click();
      let t: ActionTiming;
      try {
        t = await measured(page, 10 * MINUTE);
      } catch (e) {
        notes.push(`${link}: no first render within 10 minutes (${(e as Error).message.split('\n')[0]}).`);
        continue;
      }
      const untilReady = breakdown(server.log.filter((r) => r.at <= t.reachedEpoch), m, spans);
      const settled = await server.settle(2000, 3 * MINUTE);
      const all = breakdown([...server.log], m, spans);
      log(`${link}: ready after ${t.reachedMs.toFixed(0)} ms, ${fmtMiB(untilReady.total)} MiB (${fmtMiB(all.total)} MiB until quiet)`);
      rows.push({ metric: `${link} view: click to first render`, ours: t.reachedMs, peer: null, unit: 'ms', higherIsBetter: false });
      rows.push({ metric: `${link} view: bytes fetched until its first render`, ours: untilReady.total / MiB, peer: wholeData / MiB, unit: 'MiB (peer: the whole data set)', higherIsBetter: false });
      const extra = route === 'stats' ? ` (engine line: ${(await page.locator('[data-testid="stats-engine"]').innerText().catch(() => 'not shown')).replace(/\s+/g, ' ')})` : '';
      notes.push(
        `${link} view: first render ${t.reachedMs.toFixed(0)} ms after the click (${t.frameMs.toFixed(0)} ms to the frame after it)${extra}; until then ${fmtMiB(untilReady.total)} MiB in ${untilReady.requests} requests: ${describeKinds(untilReady) || 'nothing'}; until the network was quiet${settled ? '' : ' (it was not, within 3 minutes)'} ${fmtMiB(all.total)} MiB: ${describeKinds(all) || 'nothing'}; by ${describeRequesters(all) || 'nobody'}${all.parquet.size ? `; Parquet: ${describeParquetOrNone(all)}` : ''}.`,
      );
    }

    const rss2 = chromiumRss(profile);
    const js2 = await jsMemory(page, cdp);
    rows.push({ metric: 'at the end (after the views): Chromium RSS', ours: rss2.totalMiB, peer: null, unit: 'MiB (all processes)', higherIsBetter: false });
    if (js2.agentMiB !== null) rows.push({ metric: 'at the end: JS memory of the page and its workers', ours: js2.agentMiB, peer: null, unit: 'MiB (measureUserAgentSpecificMemory)', higherIsBetter: false });
    notes.push(`Memory at the end (Duplicates view open): ${describeMemory(rss2, js2)}.`);
  } finally {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
  if (errors.length) notes.push(`Page errors: ${errors.slice(0, 5).join(' | ').slice(0, 1500)}`);
  notes.push(
    `Data set: ${dataDir} (${m.counts.functions} functions, ${m.counts.repos} repositories; ${m.sources.join(', ')}; embeddings ${m.embeddings.map((e) => `${e.model} ${e.dtype}${e.ivf ? `, IVF ${e.ivf.nlist} lists` : ''}`).join(', ')}; layouts ${m.layouts.map((l) => l.name).join(', ')}, default ${m.default_layout}), ${fmtMiB(wholeData)} MiB in all, served from disk by a Node static server with HTTP Range and COOP/COEP; bytes are what that server sent (Parquet ranges split over column chunks by the files' footers). Chromium ${CHROMIUM_PATH} headless, software WebGL (SwiftShader), viewport 1280x800. Queries: ${QUERIES.map((q) => `'${q}'`).join(', ')}. Load average before ${loadBefore}, after ${load()}.`,
  );
  return { name: NAME, peer: PEER, rows, notes };
}

/** Where an action's time went, from the page's side. */
function describeTiming(t: ActionTiming): string {
  const parts = [`${t.frames} animation frames until then`];
  if (t.runningMs !== null) parts.push(`'running' shown after ${t.runningMs.toFixed(0)} ms`);
  if (t.blockedMs !== null) parts.push(`main thread in long tasks ${t.blockedMs.toFixed(0)} ms (longest ${(t.longestMs ?? 0).toFixed(0)} ms)`);
  return parts.join(', ');
}

function describeParquetOrNone(b: Breakdown): string {
  return describeParquet(b) || 'none';
}

/** Functions of a package, as repos.parquet counts them (null when it cannot be read). */
async function packageCount(dataDir: string, name: string): Promise<number | null> {
  try {
    const { asyncBufferFromFile, parquetReadObjects } = await import('hyparquet');
    const { compressors } = await import('hyparquet-compressors');
    const file = await asyncBufferFromFile(join(dataDir, 'repos.parquet'));
    const rows = (await parquetReadObjects({ file, compressors, columns: ['name', 'functions'] })) as { name: string; functions: number | bigint }[];
    const r = rows.find((x) => x.name === name);
    return r ? Number(r.functions) : null;
  } catch {
    return null;
  }
}
