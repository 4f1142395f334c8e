// Runs core modules (WebGPU kernels and their JS twins) inside Debian's Chromium, without building
// the site: esbuild bundles one entry file into a script, a throwaway 127.0.0.1 server serves it
// (WebGPU needs a secure context; localhost is one), and the test evaluates calls against the
// globals the entry sets. SwiftShader gives headless Chromium a (fallback) WebGPU adapter here.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { launchBrowser, openPage, type Browser } from './browser.ts';

export interface KernelPage {
  page: Page;
  /** Console errors and uncaught exceptions seen so far. */
  errors: string[];
  /** Evaluates `fn(arg)` in the page (playwright serialisation rules: JSON-like values only). */
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  close(): Promise<void>;
}

/**
 * Bundles `entry` (a TS file that assigns what the test needs to `globalThis`) and opens it in a
 * fresh Chromium page. Resolves once the script has run.
 */
export async function openKernelPage(entry: string): Promise<KernelPage> {
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
  const html = '<!doctype html><meta charset="utf-8"><title>kernels</title><script type="module" src="/entry.js"></script>';
  const server: Server = createServer((req, res) => {
    if (req.url === '/entry.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(script);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(html);
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  let browser: Browser | null = null;
  try {
    browser = await launchBrowser();
    const { page, errors } = await openPage(browser.context);
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (globalThis as { __kernelsReady?: boolean }).__kernelsReady === true, undefined, { timeout: 60_000 });
    const b = browser;
    return {
      page,
      errors,
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
