// Measuring the built site in headless Chromium from inside the page: the map's first frame, and
// the time from a user action (a click or a change) to what it asked for (the map redrawn with a new
// point count, search results listed, a view's first render) and to the animation frame after it.
// Timestamps are the page's own performance.now(), taken by MutationObservers, so they do not wait
// for Playwright's polling. Also Chromium's memory: every process's RSS and the JS heaps.
import { readdirSync, readFileSync } from 'node:fs';
import type { CDPSession, Page } from 'playwright-core';

/**
 * Installed before any page script (a string: tsx's keepNames helpers do not exist in the page).
 * `__probe.firstFrame`: performance.now() when the map reports every point drawn (MapView sets
 * `data-points` on its container once deck.gl has drawn the base layer). `__probe.arm(kind, arg)`
 * starts one measurement: `start` is the first click or change event after it (capture phase),
 * `reached` when the kind's condition holds after that, `frame` two animation frames later.
 *  - 'shown': the map's `data-shown` (points drawn) differs from its value at arming;
 *  - 'search': the search status went to done (or error) after running;
 *  - 'view': `[data-view=<arg>][data-ready=true]` exists.
 */
export const PROBE_SCRIPT = `(() => {
  const p = { firstFrame: null, firstFrameEpoch: null, firstPainted: null, t: null, long: [], frames: 0 };
  window.__probe = p;
  // Main-thread tasks over 50 ms (start, duration), and animation frames: where an action's time went.
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) p.long.push([e.startTime, e.duration]);
      if (p.long.length > 20000) p.long.splice(0, p.long.length - 20000);
    }).observe({ type: 'longtask' });
  } catch (e) {
    p.long = null;
  }
  const tick = () => {
    p.frames++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const first = new MutationObserver(() => {
    if (p.firstFrame === null && document.querySelector('[data-testid="map"][data-points]')) {
      p.firstFrame = performance.now();
      p.firstFrameEpoch = performance.timeOrigin + p.firstFrame;
      first.disconnect();
      // data-points is set once deck.gl has issued the draw; two animation frames later it is on screen.
      requestAnimationFrame(() => requestAnimationFrame(() => (p.firstPainted = performance.now())));
    }
  });
  first.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-points'] });
  p.arm = (kind, arg) => {
    const t = { kind, arg, start: null, reached: null, frame: null, value: null, sawRunning: false, running: null, framesAtStart: 0, framesToReached: 0 };
    p.t = t;
    const mapEl = () => document.querySelector('[data-testid="map"]');
    const before = kind === 'shown' ? (mapEl() ? mapEl().getAttribute('data-shown') : null) : null;
    const onStart = () => {
      if (t.start !== null) return;
      t.start = performance.now();
      t.framesAtStart = p.frames;
    };
    window.addEventListener('click', onStart, { capture: true, once: true });
    window.addEventListener('change', onStart, { capture: true, once: true });
    const check = (records) => {
      if (t.start === null || t.reached !== null) return;
      if (kind === 'shown') {
        const v = mapEl() ? mapEl().getAttribute('data-shown') : null;
        if (v === null || v === before) return;
        t.value = v;
      } else if (kind === 'search') {
        const el = document.querySelector('[data-testid="search-status"]');
        const s = el ? el.getAttribute('data-status') : null;
        for (const r of records || []) if (r.oldValue === 'running') t.sawRunning = true;
        if (s === 'running') t.sawRunning = true;
        if (t.sawRunning && t.running === null) t.running = performance.now();
        if (!t.sawRunning || (s !== 'done' && s !== 'error')) return;
        t.value = s === 'done' ? String(document.querySelectorAll('[data-testid="search-results"] li').length) : 'error';
      } else {
        if (!document.querySelector('[data-view="' + arg + '"][data-ready="true"]')) return;
        t.value = 'ready';
      }
      t.reached = performance.now();
      t.framesToReached = p.frames - t.framesAtStart;
      obs.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => (t.frame = performance.now())));
    };
    const obs = new MutationObserver(check);
    obs.observe(document, {
      subtree: true,
      childList: kind === 'view',
      attributes: true,
      attributeOldValue: true,
      attributeFilter: kind === 'shown' ? ['data-shown'] : kind === 'search' ? ['data-status'] : ['data-ready'],
    });
    // A condition may already hold by the time the first event fires (a view rendered from cache).
    const poll = setInterval(() => {
      if (t.reached !== null) return clearInterval(poll);
      if (t.start !== null) check(null);
    }, 50);
  };
})();`;

export interface ActionTiming {
  /** ms from the click/change to the condition (DOM updated), and to two animation frames later. */
  reachedMs: number;
  frameMs: number;
  /** Wall-clock time (ms since the epoch) of the action and of the condition. */
  startEpoch: number;
  reachedEpoch: number;
  /** The new `data-shown`, the number of results listed, or 'ready'. */
  value: string;
  /** Search: ms from the action until the page saw the status 'running' (null: not seen, or another kind). */
  runningMs: number | null;
  /** Animation frames the page produced between the action and the condition. */
  frames: number;
  /** Main-thread long tasks (over 50 ms) between the action and the condition: their total and the longest (ms); null where the browser reports none. */
  blockedMs: number | null;
  longestMs: number | null;
}

type Probed = { __probe?: { firstFrame: number | null; firstPainted: number | null; t: { frame: number | null } | null } };

/** Arms a measurement (call before the action). */
export async function arm(page: Page, kind: 'shown' | 'search' | 'view', arg = ''): Promise<void> {
  await page.evaluate(`window.__probe.arm(${JSON.stringify(kind)}, ${JSON.stringify(arg)})`);
}

/** Waits for the armed measurement to finish; interval polling (not animation frames, which a software-rendered map slows). */
export async function measured(page: Page, timeoutMs: number): Promise<ActionTiming> {
  // A function, not a string: the site's CSP has no 'unsafe-eval', which a string predicate needs.
  await page.waitForFunction(() => (window as unknown as Probed).__probe?.t?.frame != null, null, { timeout: timeoutMs, polling: 100 });
  const t = (await page.evaluate('({ ...window.__probe.t, origin: performance.timeOrigin, long: window.__probe.long })')) as {
    start: number;
    reached: number;
    frame: number;
    value: string;
    origin: number;
    running: number | null;
    framesToReached: number;
    long: [number, number][] | null;
  };
  let blocked: number | null = null;
  let longest: number | null = null;
  if (t.long) {
    blocked = 0;
    longest = 0;
    for (const [s, d] of t.long) {
      const overlap = Math.min(s + d, t.reached) - Math.max(s, t.start);
      if (overlap <= 0) continue;
      blocked += overlap;
      longest = Math.max(longest, d);
    }
  }
  return {
    reachedMs: t.reached - t.start,
    frameMs: t.frame - t.start,
    startEpoch: t.origin + t.start,
    reachedEpoch: t.origin + t.reached,
    value: t.value,
    runningMs: t.running === null ? null : t.running - t.start,
    frames: t.framesToReached,
    blockedMs: blocked,
    longestMs: longest,
  };
}

/**
 * The first frame's time since navigation (when MapView reports every point drawn, i.e. deck.gl has
 * issued the draw), as a wall-clock time (ms since the epoch), and the time of the animation frame
 * after it (the draw rasterised and presented: software GL finishes it later than it is issued).
 */
export async function firstFrame(page: Page, timeoutMs: number): Promise<{ ms: number; epoch: number; paintedMs: number }> {
  await page.waitForFunction(() => (window as unknown as Probed).__probe?.firstPainted != null, null, { timeout: timeoutMs, polling: 200 });
  return (await page.evaluate('({ ms: window.__probe.firstFrame, epoch: window.__probe.firstFrameEpoch, paintedMs: window.__probe.firstPainted })')) as {
    ms: number;
    epoch: number;
    paintedMs: number;
  };
}

export interface ProcessRss {
  /** Sum over the profile's processes (shared pages counted in each). */
  totalMiB: number;
  /** By Chromium process type (browser, renderer, gpu-process, utility...), summed. */
  byType: Map<string, number>;
  processes: number;
}

/** Resident memory of every Chromium process started with this profile folder. */
export function chromiumRss(profile: string): ProcessRss {
  const byType = new Map<string, number>();
  let total = 0;
  let processes = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(profile)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (!m) continue;
      const mib = Number(m[1]) / 1024;
      const type = /--type=([a-z-]+)/.exec(cmd)?.[1] ?? 'browser';
      byType.set(type, (byType.get(type) ?? 0) + mib);
      total += mib;
      processes++;
    } catch {
      // the process ended
    }
  }
  return { totalMiB: total, byType, processes };
}

export interface JsMemory {
  /** The page's main-thread heap (CDP Performance.getMetrics). */
  heapUsedMiB: number;
  heapTotalMiB: number;
  /** performance.measureUserAgentSpecificMemory(): the page and its workers (null where unavailable). */
  agentMiB: number | null;
  /** That measurement by realm: 'Window' / 'DedicatedWorker <script>' -> MiB. */
  agentBreakdown: { what: string; mib: number }[];
  agentError: string | null;
}

const MEASURE = `(async () => {
  if (!self.crossOriginIsolated) return { error: 'the page is not cross-origin isolated' };
  if (!performance.measureUserAgentSpecificMemory) return { error: 'measureUserAgentSpecificMemory is missing' };
  const timeout = new Promise((r) => setTimeout(() => r({ error: 'measureUserAgentSpecificMemory took over 60 s' }), 60000));
  const m = performance.measureUserAgentSpecificMemory().then((r) => ({
    bytes: r.bytes,
    breakdown: r.breakdown
      .filter((b) => b.bytes > 0)
      .map((b) => ({ bytes: b.bytes, what: b.types.join('+') + ' ' + b.attribution.map((a) => (a.url || '').replace(/^.*\\//, '')).join(',') })),
  }), (e) => ({ error: String(e) }));
  return Promise.race([m, timeout]);
})()`;

/** The JS heaps: CDP for the page's main thread, the UA-specific measurement for page + workers. */
export async function jsMemory(page: Page, cdp: CDPSession): Promise<JsMemory> {
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (n: string) => (metrics.find((m) => m.name === n)?.value ?? Number.NaN) / 2 ** 20;
  const r = (await page.evaluate(MEASURE).catch((e: unknown) => ({ error: String(e) }))) as {
    bytes?: number;
    breakdown?: { bytes: number; what: string }[];
    error?: string;
  };
  return {
    heapUsedMiB: get('JSHeapUsedSize'),
    heapTotalMiB: get('JSHeapTotalSize'),
    agentMiB: r.bytes !== undefined ? r.bytes / 2 ** 20 : null,
    agentBreakdown: (r.breakdown ?? []).map((b) => ({ what: b.what.trim(), mib: b.bytes / 2 ** 20 })).sort((a, b) => b.mib - a.mib),
    agentError: r.error ?? null,
  };
}
