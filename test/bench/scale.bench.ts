// Scale: the synthetic data set (prebuild/synthetic.ts) at growing N, served by a static server with
// HTTP Range support, opened in headless Chromium through the real site.
//  - prebuild: wall time and peak RSS of the generator at each N (memory should stay flat; the peer
//    row is the same generator at the smallest N);
//  - the initial view: bytes the server sent until the map's first frame (by file kind), the time to
//    it, and Chromium's resident memory (every process of the profile);
//  - IVF search typed into the site's search box at nprobe 1 / 4 / 16: bytes the server sent per query
//    (range reads of the probed partitions' row groups) and click-to-results latency. The first
//    query also reads the partition index and the shard footers: it is reported on its own.
//  - scale mode (issue 9: density pyramid first, points of the visible tiles on zoom; ?scale=1): the
//    tiles stage's time and memory on each data set (run on it when its manifest has no tiles), the
//    initial view (first density frame, bytes, RSS) and a zoomed view (the wheel turned over the
//    densest cell until the view holds under half the point budget: time from the last wheel step
//    to the points drawn, bytes range-read, RSS), and the same searches. The full mode (every point
//    loaded, ?scale=0) runs as the peer at sizes up to SCALE_BENCH_FULL_MAX (default 1000000).
// SCALE_BENCH_N: comma-separated sizes (default 250000,1000000); SCALE_BENCH_SITE_N: the sizes opened in
// Chromium (default: all of them). Data sets are cached in
// .cache/synthetic/n<N> with the generator's measurements beside them (n<N>.summary.json).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { startRangeServer as startLoggingRangeServer } from './browser/range-server.ts';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import type { Manifest } from '../../src/core/data/manifest.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../e2e/helpers/browser.ts';
import { buildSite, ROOT } from '../e2e/helpers/site.ts';
import type { BenchResult, BenchRow } from './types.ts';
import { runSiteSearch } from './browser/site-search.ts';
import { DuckDBInstance } from '@duckdb/node-api';

const ALL_QUERIES = ['parse a date string', 'read a configuration file', 'open a socket connection', 'compress data with zlib'];
// SCALE_BENCH_QUERIES (queries per nprobe, default 4) and SCALE_BENCH_PROBES (default 1,4,16) shorten a
// run at sizes where every query redraws millions of points.
const QUERIES = ALL_QUERIES.slice(0, Math.max(2, Math.min(ALL_QUERIES.length, Number(process.env.SCALE_BENCH_QUERIES ?? ALL_QUERIES.length) || ALL_QUERIES.length)));
const PROBES = (process.env.SCALE_BENCH_PROBES ?? '1,4,16').split(',').map((s) => Number(s.trim())).filter((p) => Number.isInteger(p) && p > 0);

function log(msg: string): void {
  process.stderr.write(`scale: ${msg}\n`);
}

interface GenSummary {
  n: number;
  seconds: number;
  maxRssMiB: number;
  bytes: number;
  /** DuckDB memory limit of the run (the writer database gets half). */
  memoryLimit?: string;
  phases: { phase: string; seconds: number; peakRssMiB: number }[];
  loadavg?: number[];
}

/** Builds (or reuses) the synthetic data set of n functions; returns the generator's measurements. */
async function dataSet(n: number): Promise<{ dir: string; gen: GenSummary }> {
  const dir = join(ROOT, '.cache', 'synthetic', `n${n}`);
  const summaryPath = `${dir}.summary.json`;
  if (existsSync(join(dir, 'manifest.json')) && existsSync(summaryPath)) return { dir, gen: JSON.parse(readFileSync(summaryPath, 'utf8')) as GenSummary };
  log(`generating ${n} functions into ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  const before = loadavg();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'prebuild/synthetic.ts', '--n', String(n), '--out', dir, '--json'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let s = '';
    child.stdout.on('data', (d: Buffer) => (s += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`synthetic generator exited with ${code}`))));
  });
  const gen = { ...(JSON.parse(out.trim().split('\n').pop()!) as GenSummary), loadavg: before };
  writeFileSync(summaryPath, JSON.stringify(gen));
  return { dir, gen };
}

interface RangeServer {
  url: string;
  /** Bytes of response bodies sent, per path, since the last reset. */
  sent: Map<string, number>;
  requests: { path: string; range: string | null }[];
  reset(): void;
  close(): Promise<void>;
}

/** The shared Range-capable static server (browser/range-server.ts), seen as bytes per path and requests. */
async function startRangeServer(dist: string, dataDir: string): Promise<RangeServer> {
  const s = await startLoggingRangeServer(dist, dataDir);
  return {
    url: s.url,
    get sent(): Map<string, number> {
      const m = new Map<string, number>();
      for (const r of s.log) if (r.bytes > 0) m.set(r.path, (m.get(r.path) ?? 0) + r.bytes);
      return m;
    },
    get requests(): { path: string; range: string | null }[] {
      return s.log.filter((r) => r.status === 200 || r.status === 206).map((r) => ({ path: r.path, range: r.status === 206 ? `bytes=${r.start}-${r.end}` : null }));
    },
    reset: () => s.reset(),
    close: () => s.close(),
  };
}

/** Resident memory of every Chromium process using this profile folder (MiB). */
function chromiumRssMiB(profile: string): number {
  let kib = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(profile)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kib += Number(m[1]);
    } catch {
      // the process ended
    }
  }
  return kib / 1024;
}

/** Kind of a data file, for the initial view's breakdown. */
function kindOf(path: string): string {
  const name = path.replace(/^\/data\//, '');
  if (!path.startsWith('/data/')) return 'site (HTML, JS, WASM)';
  if (name.startsWith('functions-')) return 'functions (light columns, range reads)';
  if (name.startsWith('layout-')) return 'layout';
  if (name.startsWith('tiles-')) return 'density tiles';
  if (name.startsWith('points-')) return 'points (range reads)';
  if (name.startsWith('vectors-') && name.includes('-ivf-')) return 'IVF partitions';
  if (name.startsWith('vectors-')) return 'vectors';
  if (name.startsWith('models/ivf-')) return 'IVF index';
  if (name.startsWith('models/')) return 'query model';
  return name;
}

function summarize(sent: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [p, b] of sent) out.set(kindOf(p), (out.get(kindOf(p)) ?? 0) + b);
  return out;
}

interface SearchRun {
  ms: number;
  workerMs: number;
  workerBytes: number;
  scanned: number;
  /** The search worker's read of the listed results' names (large data sets): ms and bytes. */
  namesMs: number;
  namesBytes: number;
}

async function search(page: Page, query: string, scan: string, beforeSubmit?: () => void): Promise<SearchRun> {
  const ms = await runSiteSearch(page, query, scan, 600_000, beforeSubmit);
  const ivf = page.locator('[data-testid="search-ivf"]');
  // The status line reads `<model> · <ms> ms on <backend>`: the worker's own time for embedding and ranking.
  const status = (await page.locator('[data-testid="search-status"]').innerText()).replace(/\s+/g, ' ');
  const workerMs = Number(/(\d+) ms on /.exec(status)?.[1] ?? Number.NaN);
  const num = async (attr: string) => Number((await ivf.getAttribute(attr)) ?? Number.NaN);
  return { ms, workerMs, workerBytes: await num('data-bytes'), scanned: await num('data-scanned'), namesMs: await num('data-names-ms'), namesBytes: await num('data-names-bytes') };
}

/** Requests of the same path and range made more than once (a query reading something twice). */
function repeatedRanges(requests: { path: string; range: string | null }[]): number {
  const seen = new Set<string>();
  let dup = 0;
  for (const r of requests) {
    const key = `${r.path} ${r.range ?? 'whole'}`;
    if (seen.has(key)) dup++;
    seen.add(key);
  }
  return dup;
}

/** Runs the tiles stage on a data set without tiles (in place; it is a cache); returns its measurements. */
async function ensureTiles(dir: string): Promise<{ seconds: number; maxRssMiB: number; ran: boolean; loadavg: number[] }> {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const summaryPath = `${dir}.tiles.json`;
  if (m.layouts.every((l) => l.tiles) && existsSync(summaryPath)) return { ...(JSON.parse(readFileSync(summaryPath, 'utf8')) as { seconds: number; maxRssMiB: number; loadavg: number[] }), ran: false };
  log(`running the tiles stage on ${dir}`);
  const before = loadavg();
  const t0 = Date.now();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'prebuild/tiles-cli.ts', '--data', dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let o = '';
    child.stdout.on('data', (d: Buffer) => (o += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(o) : reject(new Error(`tiles-cli exited with ${code}`))));
  });
  const rss = Number(/process max (\d+) MiB/.exec(out)?.[1] ?? Number.NaN);
  const r = { seconds: (Date.now() - t0) / 1000, maxRssMiB: rss, loadavg: before };
  writeFileSync(summaryPath, JSON.stringify(r));
  return { ...r, ran: true };
}

/** The densest finest-level cell's mean position (where the zoomed view zooms in). */
async function densestCell(dir: string, m: Manifest): Promise<{ x: number; y: number; count: number }> {
  const t = m.layouts.find((l) => l.name === (m.default_layout ?? m.layouts[0]?.name))!.tiles!;
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const rows = (await conn.runAndReadAll(`SELECT x::DOUBLE AS x, y::DOUBLE AS y, count::DOUBLE AS count FROM '${join(dir, m.tables[t.table]![0]!.path)}' WHERE level = ${t.levels} ORDER BY count DESC LIMIT 1`)).getRowObjectsJS() as { x: number; y: number; count: number }[];
    return rows[0]!;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

const MiB = 2 ** 20;
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export default async function bench(): Promise<BenchResult> {
  const sizes = (process.env.SCALE_BENCH_N ?? '250000,1000000').split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1000)) throw new Error('SCALE_BENCH_N takes comma-separated sizes of at least 1000');
  sizes.sort((a, b) => a - b);
  const siteSizes = process.env.SCALE_BENCH_SITE_N ? process.env.SCALE_BENCH_SITE_N.split(',').map((s) => Number(s.trim())) : sizes;
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const gens: { n: number; gen: GenSummary; dir: string }[] = [];
  for (const n of sizes) gens.push({ n, ...(await dataSet(n)) });
  const prebuildRows = (): void => {
    // Re-read here, at the end: a generator run measured while the site ran may have replaced them.
    for (const g of gens) g.gen = JSON.parse(readFileSync(`${g.dir}.summary.json`, 'utf8')) as GenSummary;
    const base = gens[0]!;
    for (const { n, gen } of gens) {
      rows.push({ metric: `prebuild (synthetic) peak RSS, N=${n}`, ours: gen.maxRssMiB, peer: base.gen.maxRssMiB, unit: `MiB (peer: same generator at N=${base.n})`, higherIsBetter: false });
      rows.push({ metric: `prebuild (synthetic) wall time, N=${n}`, ours: gen.seconds, peer: null, unit: 's', higherIsBetter: false });
      notes.push(
        `prebuild N=${n}: ${(gen.bytes / 2 ** 30).toFixed(2)} GiB written in ${gen.seconds.toFixed(0)} s, peak RSS ${gen.maxRssMiB} MiB (DuckDB memory limit ${gen.memoryLimit ?? '1GB'} plus half that for the writer, spilling to disk); per phase: ${gen.phases.map((p) => `${p.phase} ${p.seconds.toFixed(1)} s / ${p.peakRssMiB} MiB`).join(', ')}; load average before ${gen.loadavg?.map((x) => x.toFixed(1)).join(' ') ?? 'not recorded'}.`,
      );
    }

  };

  const work = mkdtempSync(join(tmpdir(), 'scale-bench-'));
  const dist = join(work, 'dist');
  log('building the site');
  await buildSite(dist);
  try {
    const fullMax = Number(process.env.SCALE_BENCH_FULL_MAX ?? 1_000_000);
    const runs: { n: number; dir: string; mode: 'full' | 'scale' }[] = [];
    for (const g of gens.filter((x) => siteSizes.includes(x.n))) {
      if (g.n <= fullMax) runs.push({ n: g.n, dir: g.dir, mode: 'full' });
      runs.push({ n: g.n, dir: g.dir, mode: 'scale' });
    }
    const fullFrame = new Map<number, number>();
    const fullRss = new Map<number, number>();
    for (const { n, dir, mode } of runs) {
      if (mode === 'scale') {
        const t = await ensureTiles(dir);
        rows.push({ metric: `tiles stage wall time, N=${n}`, ours: t.seconds, peer: null, unit: 's', higherIsBetter: false });
        rows.push({ metric: `tiles stage peak RSS, N=${n}`, ours: t.maxRssMiB, peer: null, unit: 'MiB (DuckDB 512MB limit, spilling)', higherIsBetter: false });
        notes.push(`N=${n} tiles stage (prebuild/tiles-cli.ts): ${t.seconds.toFixed(0)} s, peak RSS ${t.maxRssMiB} MiB${t.ran ? '' : ' (measured when it ran on this cached data set)'}; load average before ${t.loadavg.map((x) => x.toFixed(1)).join(' ')}.`);
      }
      const tag = mode === 'scale' ? ', scale mode' : '';
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      const info = m.embeddings[0]!;
      const server = await startRangeServer(dist, dir);
      const profile = mkdtempSync(join(tmpdir(), 'scale-chromium-'));
      const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 } });
      const load = loadavg();
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        // A million points redrawn in software GL on a loaded machine keep the page busy for a while.
        page.setDefaultTimeout(600_000);
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        log(`N=${n}: opening the map (${mode} mode)`);
        const t0 = Date.now();
        await page.goto(`${server.url}?scale=${mode === 'scale' ? 1 : 0}#/map`);
        const map = page.locator(mode === 'scale' ? '[data-testid="map"][data-density]' : '[data-testid="map"][data-points]');
        try {
          await map.waitFor({ timeout: 900_000 });
        } catch (e) {
          notes.push(`N=${n}${tag}: the map did not draw within 15 minutes (${errors.join('; ') || (e as Error).message.split('\n')[0]}); Chromium RSS ${chromiumRssMiB(profile).toFixed(0)} MiB.`);
          continue;
        }
        const firstFrameMs = Date.now() - t0;
        log(`N=${n}: first map frame after ${firstFrameMs} ms (${mode})`);
        const points = Number((await map.getAttribute('data-points')) ?? 0);
        const viewBytes = [...server.sent.values()].reduce((a, b) => a + b, 0);
        const byKind = summarize(server.sent);
        const dataBytes = viewBytes - (byKind.get('site (HTML, JS, WASM)') ?? 0);
        const rss = chromiumRssMiB(profile);
        const totalData = [...Object.values(m.tables).flat(), ...Object.values(m.models).flat()].reduce((s, f) => s + f.bytes, 0);
        if (mode === 'full') {
          fullFrame.set(n, firstFrameMs);
          fullRss.set(n, rss);
        }
        const vsFull = mode === 'scale' ? (fullFrame.get(n) ?? null) : null;
        rows.push({ metric: `initial view: time to first map frame, N=${n}${tag}`, ours: firstFrameMs, peer: vsFull, unit: vsFull === null ? 'ms' : 'ms (peer: full mode, same run)', higherIsBetter: false });
        rows.push({ metric: `initial view: data bytes fetched, N=${n}${tag}`, ours: dataBytes / MiB, peer: totalData / MiB, unit: 'MiB (peer: the whole data set)', higherIsBetter: false });
        const rssPeer = mode === 'scale' ? (fullRss.get(n) ?? null) : null;
        rows.push({ metric: `initial view: Chromium RSS, N=${n}${tag}`, ours: rss, peer: rssPeer, unit: rssPeer === null ? 'MiB (all processes)' : 'MiB (all processes; peer: full mode)', higherIsBetter: false });
        notes.push(
          `N=${n}${tag} initial view: ${mode === 'scale' ? `density level ${await map.getAttribute('data-density')} drawn (${points} points)` : `${points} points drawn`} ${firstFrameMs} ms after navigation; fetched ${[...byKind].map(([k, b]) => `${k} ${(b / MiB).toFixed(1)} MiB`).join(', ')} (${server.requests.length} requests); load average ${load.map((x) => x.toFixed(1)).join(' ')}.`,
        );

        if (mode === 'scale') {
          // The zoomed view: the wheel over the densest cell until the view holds under half the budget.
          const cell = await densestCell(dir, m);
          const at = await page.evaluate(([x, y]) => (window as unknown as { __atlas: { projectXY(x: number, y: number): { x: number; y: number } | null } }).__atlas.projectXY(x!, y!), [cell.x, cell.y]);
          const st = () => page.evaluate(() => (window as unknown as { __atlas: { scale(): { inView: number; budget: number; status: string } } }).__atlas.scale());
          server.reset();
          let steps = 0;
          let tz = Date.now();
          if (at) {
            await page.mouse.move(at.x, at.y);
            for (; steps < 60; steps++) {
              const s0 = await st();
              if (s0.inView <= s0.budget / 2) break;
              await page.mouse.wheel(0, -240);
              tz = Date.now();
              await page.waitForTimeout(120);
            }
          }
          try {
            await page.locator('[data-testid="scale-legend"][data-status="points"]').waitFor({ timeout: 600_000 });
            await page.locator('[data-testid="map"][data-points]').waitFor({ timeout: 600_000 });
            const zoomMs = Date.now() - tz;
            const zb = summarize(server.sent);
            const pb = zb.get('points (range reads)') ?? 0;
            const allPoints = (m.tables[m.layouts[0]!.tiles!.points] ?? []).reduce((a, f) => a + f.bytes, 0);
            const loaded = Number(await page.locator('[data-testid="map"]').getAttribute('data-loaded'));
            const inView = Number(await page.locator('[data-testid="map"]').getAttribute('data-in-view'));
            const zrss = chromiumRssMiB(profile);
            rows.push({ metric: `zoomed view: last wheel step to points drawn, N=${n}, scale mode`, ours: zoomMs, peer: null, unit: 'ms', higherIsBetter: false });
            rows.push({ metric: `zoomed view: points bytes range-read, N=${n}, scale mode`, ours: pb / MiB, peer: allPoints / MiB, unit: 'MiB (peer: the whole points table)', higherIsBetter: false });
            rows.push({ metric: `zoomed view: Chromium RSS, N=${n}, scale mode`, ours: zrss, peer: null, unit: 'MiB (all processes)', higherIsBetter: false });
            notes.push(`N=${n} scale mode zoomed view (${steps} wheel steps over the densest cell, ${cell.count} functions in it): ${loaded} points loaded for ${inView} in view, drawn ${zoomMs} ms after the last step; fetched ${[...zb].map(([k, b]) => `${k} ${(b / MiB).toFixed(2)} MiB`).join(', ')} (${server.requests.length} requests).`);
          } catch (e) {
            notes.push(`N=${n} scale mode zoomed view: the points did not draw (${(e as Error).message.split('\n')[0]}).`);
          }
        }

        await page.locator('[data-testid="search-scan"]').waitFor({ timeout: 300_000 });
        for (const nprobe of PROBES.filter((p) => p < info.ivf!.nlist)) {
          const ms: number[] = [];
          const wms: number[] = [];
          const bytes: number[] = [];
          const ivfBytes: number[] = [];
          const worker: number[] = [];
          const nameBytes: number[] = [];
          const nameMs: number[] = [];
          const reqs: number[] = [];
          let dups = 0;
          let scanned = 0;
          let first: (SearchRun & { bytes: number; ivf: number; index: number; requests: number }) | null = null;
          for (const [qi, q] of QUERIES.entries()) {
            // The counters are reset after the scan is set (its rerun of the previous query settled), just before the click.
            const r = await search(page, q, String(nprobe), () => server.reset());
            const b = [...server.sent.values()].reduce((a, c) => a + c, 0);
            const kinds = summarize(server.sent);
            const bi = (kinds.get('IVF partitions') ?? 0) + (kinds.get('IVF index') ?? 0);
            const bn = (kinds.get('functions (light columns, range reads)') ?? 0) + (kinds.get('repos.parquet') ?? 0);
            dups += repeatedRanges(server.requests);
            if (qi === 0 && nprobe === PROBES[0]) {
              first = { ...r, bytes: b, ivf: bi, index: kinds.get('IVF index') ?? 0, requests: server.requests.length };
              continue;
            }
            ms.push(r.ms);
            wms.push(r.workerMs);
            bytes.push(b);
            ivfBytes.push(bi);
            worker.push(r.workerBytes);
            nameBytes.push(bn);
            nameMs.push(r.namesMs);
            reqs.push(server.requests.length);
            scanned += r.scanned;
          }
          if (first) {
            rows.push({ metric: `IVF first query bytes fetched (index head + footers + partitions), nprobe ${nprobe}, N=${n}`, ours: first.ivf / MiB, peer: m.models[info.ivf!.index]![0]!.bytes / MiB, unit: 'MiB (peer: the whole index file)', higherIsBetter: false });
            rows.push({ metric: `IVF first query latency in the search worker, nprobe ${nprobe}, N=${n}`, ours: first.workerMs, peer: null, unit: 'ms embed + index head + range reads + rank', higherIsBetter: false });
            rows.push({ metric: `IVF first query click to listed results, nprobe ${nprobe}, N=${n}`, ours: first.ms, peer: null, unit: 'ms incl. names, map redraw', higherIsBetter: false });
            notes.push(
              `N=${n}${tag} first IVF query: index ${info.ivf!.head ? `format 2 head ${(info.ivf!.head.bytes / MiB).toFixed(2)} MiB (one checked Range request)` : 'format 1 (head read by range, ids never read)'} of a ${(m.models[info.ivf!.index]![0]!.bytes / MiB).toFixed(1)} MiB file: the server sent ${(first.index / MiB).toFixed(2)} MiB of it; IVF bytes in all ${(first.ivf / MiB).toFixed(2)} MiB (the worker counted ${(first.workerBytes / MiB).toFixed(2)}); result names ${(first.namesBytes / MiB).toFixed(2)} MiB in ${first.namesMs} ms (functions footers read the first time); all bytes ${(first.bytes / MiB).toFixed(2)} MiB in ${first.requests} requests; worker ${first.workerMs} ms, click to results ${first.ms} ms.`,
            );
          }
          log(`N=${n}: nprobe ${nprobe} done, median ${med(ms)} ms`);
          rows.push({ metric: `IVF query bytes fetched, nprobe ${nprobe}/${info.ivf!.nlist}, N=${n}${tag} (median)`, ours: med(ivfBytes) / MiB, peer: (m.tables[info.ivf!.table] ?? []).reduce((s, f) => s + f.bytes, 0) / MiB, unit: 'MiB (peer: all vectors)', higherIsBetter: false });
          rows.push({ metric: `IVF query latency in the search worker, nprobe ${nprobe}, N=${n}${tag} (median)`, ours: med(wms), peer: null, unit: 'ms embed + range reads + rank', higherIsBetter: false });
          rows.push({ metric: `IVF query result names read by the search worker, nprobe ${nprobe}, N=${n} (median)`, ours: med(nameMs), peer: null, unit: 'ms (one batch of range reads)', higherIsBetter: false });
          rows.push({ metric: `IVF query click to listed results, nprobe ${nprobe}, N=${n}${tag} (median)`, ours: med(ms), peer: null, unit: 'ms incl. names, map redraw', higherIsBetter: false });
          notes.push(
            `N=${n}${tag} nprobe ${nprobe}: ${Math.round(scanned / Math.max(1, ms.length))} vectors scanned per query; IVF bytes per query (server) ${ivfBytes.map((b) => (b / MiB).toFixed(2)).join(', ')} MiB, the search worker's own count ${worker.map((b) => (b / MiB).toFixed(2)).join(', ')} MiB; result names (server: functions + repos) ${nameBytes.map((b) => (b / MiB).toFixed(2)).join(', ')} MiB in ${nameMs.join(', ')} ms; all bytes ${bytes.map((b) => (b / MiB).toFixed(2)).join(', ')} MiB in ${reqs.join(', ')} requests; ranges requested twice in one query: ${dups}; worker ms ${wms.join(', ')}; click-to-results ms ${ms.join(', ')}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}.`,
          );
        }
        if (errors.length) notes.push(`N=${n}${tag} page errors: ${errors.slice(0, 3).join('; ')}`);
      } catch (e) {
        // One size failing (out of memory, a timeout) is a finding: record it and go on with the next.
        log(`N=${n}: failed: ${(e as Error).message.split('\n')[0]}`);
        notes.push(`N=${n}${tag}: the site run failed: ${(e as Error).message.split('\n')[0]}; Chromium RSS then ${chromiumRssMiB(profile).toFixed(0)} MiB.`);
      } finally {
        await context.close().catch(() => {});
        rmSync(profile, { recursive: true, force: true });
        await server.close();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const siteRows = rows.splice(0);
  const siteNotes = notes.splice(0);
  prebuildRows();
  rows.push(...siteRows);
  notes.push(...siteNotes);
  notes.push(
    `Data: prebuild/synthetic.ts (seed 1): generated functions (names, arguments, docstrings, bodies ~530 characters on average), ${gens.map((g) => g.n).join(' / ')} rows, 256-d int8 vectors in sqrt(N) seeded clusters, IVF partitions = those clusters; served from disk by a Node static server with HTTP Range (206) and COOP/COEP; bytes are what the server sent. Queries typed into the site's search box (TF-IDF/SVD fitted on a sample of the bodies).`,
  );
  return { name: 'Scale: synthetic data set, range reads', peer: 'prebuild memory: the same generator at the smallest N; bytes: the whole data set / all vectors', rows, notes };
}
