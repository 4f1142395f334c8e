// The HTTP layer of the network sources (GitHub, PyPI): GET with an on-disk ETag/Last-Modified cache
// (conditional requests; a 304 serves the cached body) and retries with exponential backoff + jitter
// on rate limits (429; 403 only when it is a rate limit), 5xx and network errors, honouring
// Retry-After and X-RateLimit-Reset up to a configurable cap. Bodies are streamed to disk, so large
// tarballs never sit in memory. All requests go through ctx.fetch.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { SourceError, type HttpSettings, type SourceContext } from './types.ts';

export const HTTP_DEFAULTS: Required<HttpSettings> = {
  maxAttempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  idleTimeoutMs: 60_000,
};

export const USER_AGENT = 'code-atlas-prebuild (+https://github.com/)';

export interface GetOptions {
  headers?: Record<string, string>;
  /** Use and fill the on-disk conditional-request cache (default true). */
  cache?: boolean;
  /** Show a progress bar for the body with this label (bytes). */
  progressLabel?: string;
  /** Statuses returned to the caller instead of thrown (e.g. [404]). */
  allowStatus?: number[];
  /** Overrides of ctx.http for this request. */
  http?: HttpSettings;
  /** Injected by tests; defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface HttpResult {
  status: number;
  url: string;
  /** Response headers, lower-cased names (from the cache when served from it). */
  headers: Record<string, string>;
  /** True when the body came from the disk cache (after a 304). */
  fromCache: boolean;
  /** Number of attempts the request took (1 when it succeeded at once). */
  attempts: number;
  /** File holding the body (for allowed error statuses it may be absent: empty string). */
  bodyPath: string;
  text(): Promise<string>;
  json<T = unknown>(): Promise<T>;
}

/** A request that failed for good; `status` is 0 for network errors. */
export class HttpError extends SourceError {
  readonly status: number;
  readonly url: string;
  constructor(message: string, status: number, url: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.url = url;
  }
}

interface CacheMeta {
  url: string;
  etag: string | null;
  lastModified: string | null;
  headers: Record<string, string>;
  savedAt: string;
}

function cachePaths(ctx: SourceContext, url: string): { meta: string; body: string; dir: string } {
  const key = createHash('sha256').update(url).digest('hex');
  const dir = join(ctx.cacheDir, 'http', key.slice(0, 2));
  return { dir, meta: join(dir, `${key}.json`), body: join(dir, `${key}.body`) };
}

async function readCacheMeta(ctx: SourceContext, url: string): Promise<CacheMeta | null> {
  const p = cachePaths(ctx, url);
  try {
    const meta = JSON.parse(await readFile(p.meta, 'utf8')) as CacheMeta;
    await stat(p.body);
    if (meta.url !== url) return null;
    return meta;
  } catch {
    return null;
  }
}

function headersToObject(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    out[k.toLowerCase()] = v;
  });
  return out;
}

/** Milliseconds to wait before the next attempt as the server asks, or null when it does not say. */
export function serverWaitMs(headers: Headers, now = Date.now()): number | null {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const secs = Number(retryAfter.trim());
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  if (headers.get('x-ratelimit-remaining') === '0') {
    const reset = Number(headers.get('x-ratelimit-reset'));
    if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now);
  }
  return null;
}

/** 403 is retried only when it is a rate limit (remaining 0, or Retry-After present). */
export function isRetryableStatus(status: number, headers: Headers): boolean {
  if (status === 429 || status >= 500) return true;
  if (status === 403) return headers.get('x-ratelimit-remaining') === '0' || headers.has('retry-after');
  return false;
}

function backoffMs(attempt: number, s: Required<HttpSettings>): number {
  const exp = s.baseDelayMs * 2 ** (attempt - 1);
  // "Equal jitter": half fixed, half random, so waits grow but never synchronise.
  return Math.min(s.maxDelayMs, exp / 2 + Math.random() * (exp / 2));
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

class RetryableError extends Error {
  constructor(
    message: string,
    readonly waitMs: number | null,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * GET `url`, following redirects. Returns the body on disk. Throws HttpError (a SourceError) with a
 * one-line reason when the request fails for good.
 */
export async function httpGet(url: string, ctx: SourceContext, opts: GetOptions = {}): Promise<HttpResult> {
  // Identical cached GETs in flight at once (two PyPI projects naming one repository) share one request.
  if (opts.cache === false) return httpGetOnce(url, ctx, opts);
  const key = `${ctx.cacheDir}\0${url}\0${JSON.stringify(opts.headers ?? {})}\0${(opts.allowStatus ?? []).join(',')}`;
  const pending = inflight.get(key);
  if (pending) return pending;
  const p = httpGetOnce(url, ctx, opts).finally(() => inflight.delete(key));
  inflight.set(key, p);
  return p;
}

const inflight = new Map<string, Promise<HttpResult>>();

async function httpGetOnce(url: string, ctx: SourceContext, opts: GetOptions): Promise<HttpResult> {
  const settings: Required<HttpSettings> = { ...HTTP_DEFAULTS, ...ctx.http, ...opts.http };
  const sleep = opts.sleep ?? defaultSleep;
  const useCache = opts.cache !== false;
  const paths = cachePaths(ctx, url);
  const shown = redactUrl(url);
  let lastReason = '';
  let lastStatus = 0;

  for (let attempt = 1; attempt <= settings.maxAttempts; attempt++) {
    const cached = useCache ? await readCacheMeta(ctx, url) : null;
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...lowerKeys(opts.headers ?? {}) };
    if (cached?.etag) headers['if-none-match'] = cached.etag;
    if (cached?.lastModified) headers['if-modified-since'] = cached.lastModified;
    try {
      const result = await attemptOnce(url, ctx, headers, cached, paths, useCache, opts, settings);
      return { ...result, attempts: attempt };
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      lastReason = err.message;
      lastStatus = err.status;
      if (attempt === settings.maxAttempts) break;
      const asked = err.waitMs;
      const wait = Math.min(settings.maxDelayMs, asked ?? backoffMs(attempt, settings));
      ctx.log(`GET ${shown}: ${err.message}; retry ${attempt}/${settings.maxAttempts - 1} in ${(wait / 1000).toFixed(1)}s`);
      await sleep(wait);
    }
  }
  throw new HttpError(`GET ${shown} failed after ${settings.maxAttempts} attempts: ${lastReason}`, lastStatus, url);
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}

async function attemptOnce(
  url: string,
  ctx: SourceContext,
  headers: Record<string, string>,
  cached: CacheMeta | null,
  paths: { meta: string; body: string; dir: string },
  useCache: boolean,
  opts: GetOptions,
  settings: Required<HttpSettings>,
): Promise<Omit<HttpResult, 'attempts'>> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${settings.idleTimeoutMs} ms`)), settings.idleTimeoutMs);
  };
  arm();
  let res: Response;
  try {
    res = await ctx.fetch(url, { headers, redirect: 'follow', signal: controller.signal });
  } catch (err) {
    clearTimeout(timer);
    throw new RetryableError(`network error: ${errorText(err)}`, null, 0);
  }
  const status = res.status;
  try {
    if (status === 304 && cached) {
      await res.body?.cancel().catch(() => undefined);
      return makeResult(200, url, cached.headers, true, paths.body);
    }
    if (status < 200 || status >= 300) {
      const detail = await errorDetail(res);
      const reason = `HTTP ${status}${res.statusText ? ` ${res.statusText}` : ''}${detail ? ` (${detail})` : ''}`;
      if (isRetryableStatus(status, res.headers)) throw new RetryableError(reason, serverWaitMs(res.headers), status);
      if (opts.allowStatus?.includes(status)) return makeResult(status, res.url || url, headersToObject(res.headers), false, '');
      throw new HttpError(`GET ${redactUrl(url)} failed: ${reason}`, status, url);
    }
    // Success: stream the body to a temporary file, then rename it into the cache (or a scratch file).
    await mkdir(paths.dir, { recursive: true });
    const tmp = `${paths.body}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const total = Number(res.headers.get('content-length') ?? 0);
    const bar = opts.progressLabel ? ctx.progress({ label: opts.progressLabel, total: total > 0 ? total : undefined, unit: 'B' }) : null;
    try {
      if (res.body) {
        const body = Readable.fromWeb(res.body as unknown as NodeReadableStream<Uint8Array>);
        body.on('data', (chunk: Buffer) => {
          arm();
          bar?.tick(chunk.length);
        });
        await pipeline(body, createWriteStream(tmp));
      } else {
        await writeFile(tmp, '');
      }
    } catch (err) {
      await rm(tmp, { force: true });
      bar?.done('failed');
      throw new RetryableError(`network error while reading the body: ${errorText(err)}`, null, 0);
    }
    bar?.done();
    const resHeaders = headersToObject(res.headers);
    const bodyPath = useCache ? paths.body : `${paths.body}.nocache-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    await rename(tmp, bodyPath);
    if (useCache) {
      const meta: CacheMeta = {
        url,
        etag: res.headers.get('etag'),
        lastModified: res.headers.get('last-modified'),
        headers: resHeaders,
        savedAt: new Date().toISOString(),
      };
      const metaTmp = `${paths.meta}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      await writeFile(metaTmp, JSON.stringify(meta));
      await rename(metaTmp, paths.meta);
    }
    return makeResult(status, res.url || url, resHeaders, false, bodyPath);
  } finally {
    clearTimeout(timer);
  }
}

async function errorDetail(res: Response): Promise<string> {
  try {
    const text = (await res.text()).trim();
    if (!text) return '';
    try {
      const j = JSON.parse(text) as { message?: unknown };
      if (typeof j.message === 'string') return j.message.slice(0, 200);
    } catch {
      /* not JSON */
    }
    return text.replace(/\s+/g, ' ').slice(0, 200);
  } catch {
    return '';
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const c = cause instanceof Error ? `: ${cause.message}` : '';
    return `${err.message}${c}`;
  }
  return String(err);
}

function makeResult(
  status: number,
  url: string,
  headers: Record<string, string>,
  fromCache: boolean,
  bodyPath: string,
): Omit<HttpResult, 'attempts'> {
  const text = async (): Promise<string> => (bodyPath ? readFile(bodyPath, 'utf8') : '');
  return {
    status,
    url,
    headers,
    fromCache,
    bodyPath,
    text,
    async json<T>(): Promise<T> {
      const t = await text();
      try {
        return JSON.parse(t) as T;
      } catch {
        throw new SourceError(`GET ${redactUrl(url)}: response is not valid JSON`);
      }
    },
  };
}
