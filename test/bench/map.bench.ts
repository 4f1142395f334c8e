// The deck.gl map at corpus scale in headless Chromium: time to the first map frame with every
// point drawn, and frames per second while a scripted pan (mouse drags) and zoom (wheel) run, in
// 2-D and in 3-D (`#/map?dims=3`). No peer: absolute numbers.
//
// Data: a synthetic data set of the real prebuild's schema (browser/map-data.ts: functions shards,
// repos, a 3-D `layout-default` of Gaussian blobs, manifest.json with sha256), MAP_BENCH_N functions
// (default 578,401, the corpus' count), cached under .cache/bench/. The site is built with
// buildSite() into a temp folder, the data set copied in as data/, served by `vite preview`.
// Rendering is Chromium's software GL (SwiftShader; no GPU here).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, openPage } from '../e2e/helpers/browser.ts';
import { buildSite, copyDataSet, ROOT, startPreview, type Preview } from '../e2e/helpers/site.ts';
import { ensureMapDataSet } from './browser/map-data.ts';
import type { BenchResult, BenchRow } from './types.ts';

const N = Number(process.env.MAP_BENCH_N ?? 578_401);
const REPOS = 268;
const CLUSTERS = 150;
/** Seconds of each scripted interaction. */
const PHASE_S = Number(process.env.MAP_BENCH_PHASE_S ?? 5);

function log(msg: string): void {
  process.stderr.write(`map: ${msg}\n`);
}

interface FrameStats {
  fps: number;
  frames: number;
  seconds: number;
  /** 95th percentile and maximum of the intervals between animation frames (ms). */
  p95: number;
  max: number;
  /** MapView.render() calls (layers rebuilt) and hash changes meanwhile. */
  renders: number;
  hashes: number;
}

type Win = { __bench?: { firstFrame: number | null; frames: number[]; counting: boolean; renders: number; hashes: number } };

/**
 * Installed before any page script: notes when the map reports all points drawn, and counts
 * animation frames on demand. A string, not a function: tsx's keepNames helpers (__name) do not
 * exist in the page.
 */
const INIT_SCRIPT = `(() => {
  const b = { firstFrame: null, frames: [], counting: false, renders: 0, hashes: 0 };
  // MapView.render() (new layers) writes data-shown on every call: count those writes, and hash
  // changes, while frames are counted.
  new MutationObserver((records) => {
    if (b.counting) b.renders += records.filter((r) => r.attributeName === 'data-shown').length;
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-shown'] });
  window.addEventListener('hashchange', () => {
    if (b.counting) b.hashes++;
  });
  window.__bench = b;
  const obs = new MutationObserver(() => {
    if (b.firstFrame === null && document.querySelector('[data-testid="map"][data-points]')) {
      b.firstFrame = performance.now();
      obs.disconnect();
    }
  });
  obs.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-points'] });
  const tick = (t) => {
    if (b.counting) b.frames.push(t);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();`;

async function startCount(page: Page): Promise<void> {
  await page.evaluate(() => {
    const b = (window as unknown as Win).__bench!;
    b.frames = [];
    b.renders = 0;
    b.hashes = 0;
    b.counting = true;
  });
}

async function stopCount(page: Page): Promise<FrameStats> {
  return page.evaluate(() => {
    const b = (window as unknown as Win).__bench!;
    b.counting = false;
    const f = b.frames;
    const d: number[] = [];
    for (let i = 1; i < f.length; i++) d.push(f[i]! - f[i - 1]!);
    d.sort((x, y) => x - y);
    const seconds = f.length > 1 ? (f[f.length - 1]! - f[0]!) / 1000 : 0;
    return { frames: f.length, seconds, fps: seconds > 0 ? (f.length - 1) / seconds : 0, p95: d[Math.floor(d.length * 0.95)] ?? 0, max: d[d.length - 1] ?? 0, renders: b.renders, hashes: b.hashes };
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Horizontal drags back and forth over the open middle of the map (clear of the side panels). */
async function pan(page: Page, seconds: number): Promise<void> {
  const y = 520;
  const [x0, x1] = [360, 740];
  const end = Date.now() + seconds * 1000;
  let dir = 1;
  while (Date.now() < end) {
    await page.mouse.move(dir > 0 ? x0 : x1, y);
    await page.mouse.down();
    for (let s = 1; s <= 20 && Date.now() < end; s++) {
      const t = s / 20;
      await page.mouse.move(dir > 0 ? x0 + (x1 - x0) * t : x1 - (x1 - x0) * t, y + 40 * Math.sin(t * Math.PI));
      await sleep(16);
    }
    await page.mouse.up();
    dir = -dir;
  }
}

/** Wheel steps at ~20 per second: zooming in for the first half, out for the second. */
async function zoom(page: Page, seconds: number): Promise<void> {
  await page.mouse.move(550, 480);
  const end = Date.now() + seconds * 1000;
  const mid = Date.now() + (seconds * 1000) / 2;
  while (Date.now() < end) {
    await page.mouse.wheel(0, Date.now() < mid ? -60 : 60);
    await sleep(50);
  }
}

interface ModeResult {
  firstFrameMs: number;
  points: number;
  idle: FrameStats;
  pan: FrameStats;
  zoom: FrameStats;
  renderer: string;
  errors: string[];
}

async function measure(preview: Preview, dims: 2 | 3): Promise<ModeResult> {
  const browser = await launchBrowser();
  try {
    const { page, errors } = await openPage(browser.context);
    await page.addInitScript({ content: INIT_SCRIPT });
    await page.goto(`${preview.url}#/map${dims === 3 ? '?dims=3' : ''}`);
    const map = page.locator('[data-testid="map"][data-points]');
    await map.waitFor({ timeout: 300_000 });
    const points = Number(await map.getAttribute('data-points'));
    const firstFrameMs = await page.evaluate(() => (window as unknown as Win).__bench!.firstFrame ?? Number.NaN);
    const shownDims = await page.locator('[data-testid="map"]').getAttribute('data-dims');
    if (shownDims !== String(dims)) throw new Error(`the map shows ${shownDims}-D, expected ${dims}-D`);
    log(`${dims}-D: first frame with ${points} points at ${firstFrameMs.toFixed(0)} ms`);
    // Let the colouring (categories arrive after the first frame) and any follow-up draws settle.
    await sleep(3000);
    const renderer = await page.evaluate(() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      if (!gl) return 'no WebGL2';
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      return String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    });
    await startCount(page);
    await sleep(2000);
    const idle = await stopCount(page);
    await startCount(page);
    await pan(page, PHASE_S);
    const panStats = await stopCount(page);
    log(`${dims}-D: pan ${panStats.fps.toFixed(2)} fps, ${panStats.frames} frames in ${panStats.seconds.toFixed(1)} s, ${panStats.renders} layer rebuilds, ${panStats.hashes} hash changes`);
    await sleep(1000);
    await startCount(page);
    await zoom(page, PHASE_S);
    const zoomStats = await stopCount(page);
    log(`${dims}-D: zoom ${zoomStats.fps.toFixed(2)} fps, ${zoomStats.frames} frames in ${zoomStats.seconds.toFixed(1)} s, ${zoomStats.renders} layer rebuilds, ${zoomStats.hashes} hash changes`);
    return { firstFrameMs, points, idle, pan: panStats, zoom: zoomStats, renderer, errors };
  } finally {
    await browser.close();
  }
}

export default async function bench(): Promise<BenchResult> {
  const t0 = performance.now();
  const data = await ensureMapDataSet(join(ROOT, '.cache', 'bench'), { functions: N, repos: REPOS, clusters: CLUSTERS });
  log(`data set ${data} ready in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const out = mkdtempSync(join(tmpdir(), 'atlas-map-bench-'));
  let preview: Preview | null = null;
  try {
    const b0 = performance.now();
    await buildSite(out);
    log(`site built in ${((performance.now() - b0) / 1000).toFixed(0)} s`);
    copyDataSet(data, join(out, 'data'));
    preview = await startPreview(out);
    const r2 = await measure(preview, 2);
    const r3 = await measure(preview, 3);
    const rows: BenchRow[] = [];
    for (const [d, r] of [[2, r2], [3, r3]] as const) {
      rows.push({ metric: `${d}-D: time to first map frame with all ${r.points} points (from navigation)`, ours: r.firstFrameMs, peer: null, unit: 'ms', higherIsBetter: false });
      rows.push({ metric: `${d}-D: frames per second during a scripted ${d === 3 ? 'orbit (left-drag)' : 'pan'} (${PHASE_S} s)`, ours: r.pan.fps, peer: null, unit: 'fps', higherIsBetter: true });
      rows.push({ metric: `${d}-D: frames per second during a scripted wheel zoom (${PHASE_S} s)`, ours: r.zoom.fps, peer: null, unit: 'fps', higherIsBetter: true });
      rows.push({ metric: `${d}-D: 95th-percentile frame interval during the ${d === 3 ? 'orbit' : 'pan'}`, ours: r.pan.p95, peer: null, unit: 'ms', higherIsBetter: false });
      rows.push({ metric: `${d}-D: 95th-percentile frame interval during the zoom`, ours: r.zoom.p95, peer: null, unit: 'ms', higherIsBetter: false });
    }
    const notes = [
      `Data: ${N} synthetic functions of the prebuild's schema in ${Math.ceil(N / 65536)} functions shards (ZSTD, 2048-row groups), ${REPOS} repos, a 3-D layout of ${CLUSTERS} Gaussian blobs (skewed sizes, spreads 0.3-1.2 in a 20-unit cube), written with DuckDB by test/bench/browser/map-data.ts; the site downloads the repos and layout files whole (sha256-checked) and the light function columns by range reads, as for a real data set.`,
      `Headless Chromium (--headless=new, 1280 x 800) with software rendering: WebGL2 renderer "${r2.renderer}" (no GPU on this machine); the site built with vite build and served by vite preview from 127.0.0.1.`,
      `First frame: performance.now() (ms since navigation start) when [data-testid=map] gets data-points, which MapView sets once deck.gl has drawn the base layer with every point; this includes loading the data set in the data worker. Frames: requestAnimationFrame callbacks counted in the page while Playwright dispatches mouse drags (20 moves per 380-px drag, ~16 ms apart) or wheel steps (60 px every ~50 ms, in then out); idle rate with nothing moving: ${r2.idle.fps.toFixed(1)} fps (2-D), ${r3.idle.fps.toFixed(1)} fps (3-D). In 3-D a left-drag orbits the camera (OrbitView) rather than panning.`,
      `Longest frame interval: 2-D pan ${r2.pan.max.toFixed(0)} ms, zoom ${r2.zoom.max.toFixed(0)} ms; 3-D orbit ${r3.pan.max.toFixed(0)} ms, zoom ${r3.zoom.max.toFixed(0)} ms. Points are pickable (hover picking runs on pointer moves between drags, as for a user; deck.gl does not pick while a button is down).`,
      `Frames counted / seconds spanned: 2-D pan ${r2.pan.frames} / ${r2.pan.seconds.toFixed(1)}, zoom ${r2.zoom.frames} / ${r2.zoom.seconds.toFixed(1)}; 3-D orbit ${r3.pan.frames} / ${r3.pan.seconds.toFixed(1)}, zoom ${r3.zoom.frames} / ${r3.zoom.seconds.toFixed(1)} (the span runs past the scripted ${PHASE_S} s when a frame takes longer). MapView.render() calls (layers rebuilt, seen as data-shown writes) meanwhile: 2-D ${r2.pan.renders} (pan) / ${r2.zoom.renders} (zoom), 3-D ${r3.pan.renders} / ${r3.zoom.renders}; URL hash changes (the camera permalink): 2-D ${r2.pan.hashes} / ${r2.zoom.hashes}, 3-D ${r3.pan.hashes} / ${r3.zoom.hashes}.`,
      `load average at the end (1/5/15 min): ${loadavg().map((x) => x.toFixed(1)).join(' / ')} on this shared 2-core machine.`,
    ];
    const errs = [...r2.errors, ...r3.errors];
    if (errs.length) notes.push(`page console errors: ${errs.slice(0, 3).join(' | ').slice(0, 400)}`);
    return { name: 'map in Chromium', peer: 'none (absolute numbers)', rows, notes };
  } finally {
    await preview?.stop();
    rmSync(out, { recursive: true, force: true });
  }
}
