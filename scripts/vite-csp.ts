// The site's Content-Security-Policy, in one place: a Vite plugin writes it into the built
// index.html as a <meta http-equiv> (so any static host serves the site under it), and
// vite.config.ts sends the full policy as a response header from `vite preview` (frame-ancestors
// works only as a header). Each source below is here because a path of the site needs it; the
// e2e test test/e2e/csp.test.ts loads the map, searches (TF-IDF/SVD and the Jina model on
// onnxruntime-web), opens the duplicates, statistics and clusters views and trains the VAE under
// it, and fails on any violation.
import type { Plugin } from 'vite';

export const CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  // No 'unsafe-inline', no 'unsafe-eval': scripts are the site's own files. 'wasm-unsafe-eval'
  // lets WebAssembly compile (DuckDB-WASM, onnxruntime-web, tfjs-backend-wasm, web-tree-sitter
  // and the k-NN/k-means SIMD kernels) without allowing eval() or new Function().
  'script-src': ["'self'", "'wasm-unsafe-eval'"],
  // Every worker is a file of the built site (Vite's worker chunks, DuckDB's own worker).
  'worker-src': ["'self'"],
  // Data set, models and WASM are fetched from the site itself; ?data= is refused unless same-origin.
  'connect-src': ["'self'"],
  // deck.gl and Observable Plot read images they made in the page; exports are blob: downloads.
  'img-src': ["'self'", 'data:', 'blob:'],
  // The built CSS is 'self'. Observable Plot puts a <style> element in each chart's SVG, so inline
  // style *elements* are allowed (styles cannot run script); style="" attributes in markup are not:
  // Svelte's style: directives, deck.gl and Plot set styles through the CSSOM, which CSP leaves alone.
  'style-src': ["'self'"],
  'style-src-elem': ["'self'", "'unsafe-inline'"],
  'style-src-attr': ["'none'"],
  'font-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  // Header only (a <meta> policy ignores it): the site may not be framed (clickjacking).
  'frame-ancestors': ["'none'"],
};

/** Directives a <meta http-equiv> policy cannot carry (browsers ignore them there, with a warning). */
const HEADER_ONLY = new Set(['frame-ancestors', 'report-uri', 'report-to', 'sandbox']);

/** The policy as one header value; `forMeta` leaves out the header-only directives. */
export function contentSecurityPolicy(opts: { forMeta?: boolean } = {}): string {
  return Object.entries(CSP_DIRECTIVES)
    .filter(([name]) => !(opts.forMeta && HEADER_ONLY.has(name)))
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}

/** Response headers for `vite preview` (and any host that can set them): CSP and framing. */
export const CSP_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': contentSecurityPolicy(),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * DuckDB-WASM's own worker evaluates strings: Emscripten's EM_ASM constants are built with eval()
 * and apache-arrow compiles predicates with new Function(). That worker is started by our data
 * worker, and Chromium gives a nested dedicated worker its creator's policy, so both files (the
 * data worker and DuckDB's workers) are served with 'unsafe-eval' added and nothing else is: the
 * page and every other worker keep the strict policy. (A host that sends no headers runs workers
 * with no policy at all; the <meta> policy covers the document.)
 */
export const DUCKDB_WORKER_PATH = /\/assets\/(duckdb-browser-[a-z]+\.worker|data)-[\w-]+\.js$/;

export function cspHeaderFor(path: string): string {
  if (!DUCKDB_WORKER_PATH.test(path)) return CSP_HEADERS['Content-Security-Policy']!;
  return contentSecurityPolicy().replace("script-src 'self' 'wasm-unsafe-eval'", "script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'");
}

/**
 * Writes the policy into the built index.html as the first element of <head>, before any script.
 * Build only: the dev server injects its own inline client and style elements for hot reload.
 */
export function cspPlugin(): Plugin {
  let isBuild = false;
  return {
    name: 'code-atlas-csp',
    configResolved(config) {
      isBuild = config.command === 'build';
    },
    // The preview server sends the policy per response (see cspHeaderFor).
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '/').split('?')[0]!;
        res.setHeader('Content-Security-Policy', cspHeaderFor(path));
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Referrer-Policy', 'no-referrer');
        next();
      });
    },
    transformIndexHtml: {
      order: 'post',
      // Build only: the dev server injects its own inline client and style elements for hot reload.
      handler: () => (!isBuild ? [] : [
        { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy({ forMeta: true }) }, injectTo: 'head-prepend' },
      ]),
    },
  };
}
