// A throwaway 127.0.0.1 server for browser benchmarks that need more than kernel-page.ts serves:
// one esbuild-bundled entry script at /entry.js, an HTML page that loads it, and folders mounted
// under URL prefixes (model files, onnxruntime-web's WASM). Every answer carries COOP/COEP (and
// CORP) headers, so the page is cross-origin isolated and WASM threads (SharedArrayBuffer) work.
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { launchBrowser, openPage, type Browser } from '../../e2e/helpers/browser.ts';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.html': 'text/html',
};

export interface BenchPage {
  page: Page;
  url: string;
  errors: string[];
  /** Paths the server answered 404 for. */
  notFound: string[];
  /** Whether the page reports crossOriginIsolated. */
  isolated: boolean;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  close(): Promise<void>;
}

export interface BenchPageOptions {
  /** URL prefix (e.g. `/models/`) -> folder on disk. */
  mounts?: Record<string, string>;
  /** Send COOP/COEP (default true). */
  isolate?: boolean;
  /** How long to wait for `globalThis.__kernelsReady` (ms). */
  readyTimeoutMs?: number;
}

/** Bundles `entry` (which sets `globalThis.__kernelsReady = true` when ready), serves it with `mounts`, opens it in Chromium. */
export async function openBenchPage(entry: string, opts: BenchPageOptions = {}): Promise<BenchPage> {
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    platform: 'browser',
    logLevel: 'silent',
    loader: { '.wgsl': 'text' },
  });
  const script = bundle.outputFiles[0]!.text;
  const html = '<!doctype html><meta charset="utf-8"><title>bench</title><script type="module" src="/entry.js"></script>';
  const mounts = Object.entries(opts.mounts ?? {});
  const isolate = opts.isolate ?? true;
  const notFound: string[] = [];
  const server: Server = createServer((req, res) => {
    const headers: Record<string, string> = isolate
      ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' }
      : {};
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    if (path === '/entry.js') {
      res.writeHead(200, { ...headers, 'content-type': 'text/javascript' });
      res.end(script);
      return;
    }
    for (const [prefix, dir] of mounts) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(normalize(dir) + sep)) break;
      let size: number;
      try {
        const st = statSync(file);
        if (!st.isFile()) break;
        size = st.size;
      } catch {
        break;
      }
      res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': String(size) });
      createReadStream(file).pipe(res);
      return;
    }
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { ...headers, 'content-type': 'text/html' });
      res.end(html);
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204, headers);
      res.end();
      return;
    }
    notFound.push(path);
    res.writeHead(404, headers);
    res.end('not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  let browser: Browser | null = null;
  try {
    browser = await launchBrowser();
    const { page, errors } = await openPage(browser.context);
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as { __kernelsReady?: boolean }).__kernelsReady === true, undefined, { timeout: opts.readyTimeoutMs ?? 60_000 });
    const isolated = await page.evaluate(() => globalThis.crossOriginIsolated === true);
    const b = browser;
    return {
      page,
      url,
      errors,
      notFound,
      isolated,
      evaluate: <R, A>(fn: (arg: A) => R | Promise<R>, arg: A) => (page.evaluate as (f: unknown, a: unknown) => Promise<R>)(fn, arg),
      async close() {
        await b.close();
        await new Promise<void>((ok) => server.close(() => ok()));
      },
    };
  } catch (e) {
    await browser?.close();
    server.close();
    throw e;
  }
}
