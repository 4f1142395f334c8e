// A static server for benchmarks of the built site on a real data set: `dist` at the root, a data
// set folder at /data/, HTTP Range (206) as a CDN answers it, COOP/COEP (the site is cross-origin
// isolated), and a log of every response: path, byte range, bytes sent, when, and which page or
// worker asked (the Referer of a worker's fetch is the worker's script). Benchmarks read the log to
// say what loaded for which view.
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

export interface ServedRequest {
  /** URL path, e.g. `/data/functions-00003.parquet` or `/assets/index-abc.js`. */
  path: string;
  /** First and last byte sent (inclusive); a whole file is 0..size-1. */
  start: number;
  end: number;
  bytes: number;
  /** The file's full size. */
  size: number;
  /** Date.now() when the request arrived and when its body was written out. */
  at: number;
  doneAt: number | null;
  /** Path of the Referer (the page, or a worker's script), '' when none. */
  referer: string;
  status: number;
}

export interface RangeServer {
  url: string;
  /** Every answered request, in arrival order (cleared by reset()). */
  log: ServedRequest[];
  /** Requests whose body is still being written. */
  inFlight(): number;
  reset(): void;
  /**
   * Resolves once no request has arrived or been in flight for `quietMs` (or `maxMs` passed): the
   * page has stopped loading. Returns whether it went quiet.
   */
  settle(quietMs: number, maxMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Serves `dist` with `/data/` mapped to `dataDir`. */
export function startRangeServer(dist: string, dataDir: string): Promise<RangeServer> {
  const log: ServedRequest[] = [];
  let inFlight = 0;
  let lastActivity = Date.now();
  const server: Server = createServer((req, res) => {
    lastActivity = Date.now();
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!.split('#')[0]!);
    const [root, rel] = path.startsWith('/data/') ? [dataDir, path.slice('/data/'.length)] : [dist, path === '/' ? 'index.html' : path.slice(1)];
    const file = normalize(join(root, rel));
    const headers: Record<string, string> = {
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
      'accept-ranges': 'bytes',
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    };
    let referer = '';
    try {
      referer = req.headers.referer ? new URL(req.headers.referer).pathname : '';
    } catch {
      referer = '';
    }
    let size: number;
    try {
      if (!file.startsWith(normalize(root) + sep) && file !== normalize(root)) throw new Error('outside');
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      log.push({ path, start: 0, end: -1, bytes: 0, size: 0, at: Date.now(), doneAt: Date.now(), referer, status: 404 });
      res.writeHead(404, headers).end();
      return;
    }
    const range = req.headers.range ?? null;
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (m && !(m[1] === '' && m[2] === '')) {
        if (m[1] === '') start = Math.max(0, size - Number(m[2]));
        else {
          start = Number(m[1]);
          if (m[2] !== '') end = Math.min(size - 1, Number(m[2]));
        }
      }
      if (!m || (m[1] === '' && m[2] === '') || start > end || start >= size) {
        log.push({ path, start: 0, end: -1, bytes: 0, size, at: Date.now(), doneAt: Date.now(), referer, status: 416 });
        res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) });
    } else res.writeHead(200, { ...headers, 'content-length': String(size) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const entry: ServedRequest = { path, start, end, bytes: end - start + 1, size, at: Date.now(), doneAt: null, referer, status };
    log.push(entry);
    inFlight++;
    const finish = () => {
      if (entry.doneAt !== null) return;
      entry.doneAt = Date.now();
      lastActivity = entry.doneAt;
      inFlight--;
    };
    res.on('finish', finish);
    res.on('close', finish);
    createReadStream(file, { start, end }).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${port}/`,
        log,
        inFlight: () => inFlight,
        reset: () => {
          log.length = 0;
        },
        async settle(quietMs, maxMs) {
          const deadline = Date.now() + maxMs;
          while (Date.now() < deadline) {
            if (inFlight === 0 && Date.now() - lastActivity >= quietMs) return true;
            await new Promise((r) => setTimeout(r, 100));
          }
          return false;
        },
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
