// GitHub / PyPI sources and the HTTP layer against a local HTTP server on 127.0.0.1 that serves
// GitHub-shaped and PyPI-shaped responses (the real internet is not reachable here).
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { githubSource, parseGithubSpec, parseGithubUrl } from '../../../../prebuild/sources/github.ts';
import { httpGet, HttpError } from '../../../../prebuild/sources/http.ts';
import { resolveSource } from '../../../../prebuild/sources/index.ts';
import { githubFromPypiInfo, parseTopList, pypiTopSource } from '../../../../prebuild/sources/pypi.ts';
import { SourceError } from '../../../../prebuild/sources/types.ts';
import { buildTar, testContext, type TestContext } from './helpers.ts';

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  status: number;
}

type Route = (res: ServerResponse, headers: IncomingHttpHeaders, hit: number) => void;

const LAST_MODIFIED = 'Wed, 01 May 2024 10:00:00 GMT';

function json(body: unknown, etag?: string): Route {
  const text = JSON.stringify(body);
  return (res, headers) => {
    if (etag && headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', ...(etag ? { etag } : {}) });
    res.end(text);
  };
}

function pypiJson(info: Record<string, unknown>): Route {
  const text = JSON.stringify({ info, releases: {} });
  return (res, headers) => {
    if (headers['if-modified-since'] === LAST_MODIFIED) {
      res.writeHead(304, { 'last-modified': LAST_MODIFIED });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'last-modified': LAST_MODIFIED });
    res.end(text);
  };
}

function tarball(buf: Buffer, etag: string): Route {
  return (res, headers) => {
    if (headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-gzip', 'content-length': String(buf.length), etag });
    res.end(buf);
  };
}

const ALPHA_TGZ = buildTar([
  { path: 'acme-alpha-abc1234/' },
  { path: 'acme-alpha-abc1234/setup.py', data: 'from setuptools import setup\nsetup(name="alpha")\n' },
  { path: 'acme-alpha-abc1234/alpha/__init__.py', data: '' },
  { path: 'acme-alpha-abc1234/alpha/core.py', data: 'def add(a, b):\n    """Add."""\n    return a + b\n' },
  { path: 'acme-alpha-abc1234/README.md', data: '# alpha\n' },
]);
const ALPHA_V1_TGZ = buildTar([
  { path: 'acme-alpha-0ff1ce0/' },
  { path: 'acme-alpha-0ff1ce0/alpha.py', data: 'VERSION = 1\n' },
]);
const BETA_TGZ = buildTar([
  { path: 'acme-beta-def5678/' },
  { path: 'acme-beta-def5678/pyproject.toml', data: '[project]\nname = "beta"\n' },
  { path: 'acme-beta-def5678/src/beta/__init__.py', data: 'def hello():\n    return "hi"\n' },
  { path: 'acme-beta-def5678/tests/test_beta.py', data: 'def test_hello():\n    pass\n' },
]);

function baseRoutes(): Map<string, Route> {
  return new Map<string, Route>([
    [
      '/top.json',
      json(
        {
          last_update: '2024-05-01 00:00:00',
          query: { bytes_billed: 0 },
          rows: [
            { download_count: 900, project: 'alpha' },
            { download_count: 800, project: 'beta' },
            { download_count: 700, project: 'gamma' },
            { download_count: 600, project: 'delta' },
            { download_count: 500, project: 'epsilon' },
          ],
        },
        '"top-1"',
      ),
    ],
    [
      '/pypi/alpha/json',
      pypiJson({
        name: 'alpha',
        version: '1.2.3',
        home_page: 'https://alpha.readthedocs.io',
        project_urls: { Documentation: 'https://alpha.readthedocs.io', Source: 'https://github.com/acme/alpha' },
        license: 'MIT',
        classifiers: ['Topic :: Utilities'],
      }),
    ],
    [
      '/pypi/beta/json',
      pypiJson({ name: 'beta', version: '0.9', home_page: 'http://www.github.com/acme/beta.git', project_urls: null, classifiers: ['Topic :: Software Development :: Libraries'] }),
    ],
    ['/pypi/gamma/json', pypiJson({ name: 'gamma', version: '2.0', home_page: 'https://gamma.example.org', project_urls: { Homepage: 'https://gamma.example.org' } })],
    ['/pypi/delta/json', pypiJson({ name: 'delta', version: '5.0', home_page: '', project_urls: { 'Bug Tracker': 'https://github.com/acme/alpha/issues' } })],
    // epsilon: not on PyPI (404)
    [
      '/repos/acme/alpha',
      json(
        {
          full_name: 'acme/alpha',
          html_url: 'https://github.com/acme/alpha',
          default_branch: 'main',
          stargazers_count: 4321,
          license: { key: 'mit', spdx_id: 'MIT' },
          topics: ['math', 'python'],
        },
        '"repo-alpha-1"',
      ),
    ],
    [
      '/repos/acme/beta',
      json(
        { full_name: 'acme/beta', html_url: 'https://github.com/acme/beta', default_branch: 'trunk', stargazers_count: 7, license: { spdx_id: 'NOASSERTION' }, topics: [] },
        '"repo-beta-1"',
      ),
    ],
    ['/acme/alpha/tar.gz/main', tarball(ALPHA_TGZ, '"tar-alpha-main"')],
    ['/acme/alpha/tar.gz/v1', tarball(ALPHA_V1_TGZ, '"tar-alpha-v1"')],
    ['/acme/beta/tar.gz/trunk', tarball(BETA_TGZ, '"tar-beta-trunk"')],
  ]);
}

describe('GitHub/PyPI sources against a local server on 127.0.0.1', () => {
  let server: Server;
  let origin = '';
  let routes = baseRoutes();
  const seen: Seen[] = [];
  const hits = new Map<string, number>();
  let t: TestContext;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const hit = (hits.get(path) ?? 0) + 1;
      hits.set(path, hit);
      const route = routes.get(path);
      const origWriteHead = res.writeHead.bind(res);
      res.writeHead = ((status: number, ...rest: unknown[]) => {
        seen.push({ path, headers: req.headers, status });
        return (origWriteHead as (s: number, ...r: unknown[]) => ServerResponse)(status, ...rest);
      }) as typeof res.writeHead;
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Not Found' }));
        return;
      }
      route(res, req.headers, hit);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  const makeCtx = (token: string | null = 'test-token'): Promise<TestContext> =>
    testContext({
      githubToken: token,
      endpoints: { githubApi: origin, githubCodeload: origin, pypiTop: `${origin}/top.json`, pypiJson: `${origin}/pypi` },
      http: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 20 },
    });

  beforeEach(async () => {
    routes = baseRoutes();
    seen.length = 0;
    hits.clear();
    t = await makeCtx();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('pypi-top (local server 127.0.0.1): top list -> PyPI JSON -> repos API -> codeload tarball', async () => {
    const repos = await resolveSource('pypi-top:5', t.ctx);
    expect(repos.map((r) => r.name)).toEqual(['alpha', 'beta']);
    const [alpha, beta] = repos;
    expect(alpha.meta).toEqual({
      url: 'https://github.com/acme/alpha',
      version: '1.2.3',
      license: 'MIT',
      topics: ['math', 'python'],
      stars: 4321,
      ref: 'main@abc1234',
    });
    expect(alpha.files).toEqual(['alpha/__init__.py', 'alpha/core.py', 'setup.py']);
    expect(await readFile(join(alpha.root, 'alpha/core.py'), 'utf8')).toContain('return a + b');
    expect(alpha.source).toBe('pypi-top:5');
    // beta: NOASSERTION licence falls back to nothing on PyPI either; no GitHub topics -> PyPI Topic classifiers.
    expect(beta.meta).toEqual({
      url: 'https://github.com/acme/beta',
      version: '0.9',
      license: null,
      topics: ['Software Development :: Libraries'],
      stars: 7,
      ref: 'trunk@def5678',
    });
    expect(beta.files).toEqual(['src/beta/__init__.py', 'tests/test_beta.py']);
    const log = t.logs.join('\n');
    expect(log).toMatch(/skipped gamma: no GitHub repository in project_urls\/home_page/);
    expect(log).toMatch(/skipped delta: same GitHub repository as alpha \(acme\/alpha\)/);
    expect(log).toMatch(/skipped epsilon: not on PyPI/);
    // The token goes to the GitHub API and codeload as a Bearer token, never to PyPI.
    const auth = (p: string): (string | undefined)[] => seen.filter((s) => s.path.startsWith(p)).map((s) => s.headers.authorization);
    expect(auth('/repos/').length).toBeGreaterThanOrEqual(2);
    expect(auth('/repos/').every((a) => a === 'Bearer test-token')).toBe(true);
    expect(auth('/acme/')).toEqual(['Bearer test-token', 'Bearer test-token']);
    expect([...auth('/pypi/'), ...auth('/top.json')].every((a) => a === undefined)).toBe(true);
    expect(seen.find((s) => s.path === '/repos/acme/alpha')?.headers.accept).toBe('application/vnd.github+json');
    expect(seen.every((s) => typeof s.headers['user-agent'] === 'string' && s.headers['user-agent'].length > 0)).toBe(true);
  });

  it('second run (local server 127.0.0.1) sends If-None-Match / If-Modified-Since, gets 304 and uses the cache', async () => {
    const first = await pypiTopSource(5, t.ctx);
    expect(seen.every((s) => s.headers['if-none-match'] === undefined && s.headers['if-modified-since'] === undefined)).toBe(true);
    seen.length = 0;
    const second = await pypiTopSource(5, t.ctx);
    expect(second).toEqual(first);
    const byPath = (p: string): Seen | undefined => seen.find((s) => s.path === p);
    expect(byPath('/top.json')).toMatchObject({ status: 304, headers: { 'if-none-match': '"top-1"' } });
    expect(byPath('/repos/acme/alpha')).toMatchObject({ status: 304, headers: { 'if-none-match': '"repo-alpha-1"' } });
    expect(byPath('/acme/alpha/tar.gz/main')).toMatchObject({ status: 304, headers: { 'if-none-match': '"tar-alpha-main"' } });
    expect(byPath('/pypi/alpha/json')).toMatchObject({ status: 304, headers: { 'if-modified-since': LAST_MODIFIED } });
    expect(seen.filter((s) => s.status === 200)).toEqual([]);
    const direct = await httpGet(`${origin}/repos/acme/alpha`, t.ctx);
    expect(direct.fromCache).toBe(true);
    expect(await direct.json()).toMatchObject({ stargazers_count: 4321 });
  });

  it('github:OWNER/REPO[@ref] (local server 127.0.0.1): default branch and explicit ref', async () => {
    const [main] = await resolveSource('github:acme/alpha', t.ctx);
    expect(main.name).toBe('acme/alpha');
    expect(main.meta).toMatchObject({ version: 'abc1234', ref: 'main@abc1234', stars: 4321, license: 'MIT', topics: ['math', 'python'] });
    expect(main.files).toEqual(['alpha/__init__.py', 'alpha/core.py', 'setup.py']);
    const [v1] = await resolveSource('github:acme/alpha@v1', t.ctx);
    expect(v1.meta).toMatchObject({ version: 'v1', ref: 'v1@0ff1ce0' });
    expect(v1.files).toEqual(['alpha.py']);
    expect(seen.some((s) => s.path === '/acme/alpha/tar.gz/v1')).toBe(true);
    await expect(resolveSource('github:acme/missing', t.ctx)).rejects.toThrow(/github:acme\/missing: repository not found/);
    await expect(resolveSource('github:acme/alpha@nope', t.ctx)).rejects.toThrow(/no tarball for ref "nope"/);
    await expect(resolveSource('github:not a repo', t.ctx)).rejects.toThrow(/expected github:OWNER\/REPO/);
  });

  it('sends no Authorization header without a token (local server 127.0.0.1)', async () => {
    const anon = await makeCtx(null);
    try {
      await githubSource('acme/alpha', anon.ctx);
      expect(seen.filter((s) => s.headers.authorization !== undefined)).toEqual([]);
    } finally {
      await anon.cleanup();
    }
  });

  it('429 with Retry-After, then success (local server 127.0.0.1)', async () => {
    routes.set('/limited', (res, _h, hit) => {
      if (hit === 1) {
        res.writeHead(429, { 'retry-after': '2' });
        res.end('slow down');
      } else json({ ok: true })(res, _h, hit);
    });
    const waits: number[] = [];
    const r = await httpGet(`${origin}/limited`, t.ctx, { http: { maxDelayMs: 60_000 }, sleep: async (ms) => void waits.push(ms) });
    expect(r.attempts).toBe(2);
    expect(await r.json()).toEqual({ ok: true });
    expect(waits).toEqual([2000]);
    expect(seen.map((s) => s.status)).toEqual([429, 200]);
  });

  it('403 with X-RateLimit-Remaining: 0 and X-RateLimit-Reset, then success (local server 127.0.0.1)', async () => {
    routes.set('/repos/acme/ratelimited', (res, h, hit) => {
      if (hit === 1) {
        res.writeHead(403, {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3),
          'content-type': 'application/json',
        });
        res.end(JSON.stringify({ message: 'API rate limit exceeded' }));
      } else json({ full_name: 'acme/ratelimited' })(res, h, hit);
    });
    const waits: number[] = [];
    const r = await httpGet(`${origin}/repos/acme/ratelimited`, t.ctx, { http: { maxDelayMs: 60_000 }, sleep: async (ms) => void waits.push(ms) });
    expect(r.attempts).toBe(2);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(1000);
    expect(waits[0]).toBeLessThanOrEqual(3000);
    expect(t.logs.join('\n')).toMatch(/HTTP 403 .*API rate limit exceeded.*retry 1\/2/);
  });

  it('caps server-requested waits (local server 127.0.0.1)', async () => {
    routes.set('/long-wait', (res, h, hit) => {
      if (hit === 1) {
        res.writeHead(503, { 'retry-after': '3600' });
        res.end();
      } else json({ ok: 1 })(res, h, hit);
    });
    const waits: number[] = [];
    await httpGet(`${origin}/long-wait`, t.ctx, { http: { maxDelayMs: 50 }, sleep: async (ms) => void waits.push(ms) });
    expect(waits).toEqual([50]);
  });

  it('a plain 403 is final (local server 127.0.0.1)', async () => {
    routes.set('/forbidden', (res) => {
      res.writeHead(403, { 'content-type': 'application/json', 'x-ratelimit-remaining': '4999' });
      res.end(JSON.stringify({ message: 'Resource not accessible' }));
    });
    const err = await httpGet(`${origin}/forbidden`, t.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(403);
    expect((err as Error).message).toBe(`GET ${origin}/forbidden failed: HTTP 403 Forbidden (Resource not accessible)`);
    expect(seen).toHaveLength(1);
  });

  it('5xx retries exhausted -> one clear error (local server 127.0.0.1)', async () => {
    routes.set('/down', (res) => {
      res.writeHead(503);
      res.end('maintenance');
    });
    const waits: number[] = [];
    const err = await httpGet(`${origin}/down`, t.ctx, { http: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 10_000 }, sleep: async (ms) => void waits.push(ms) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toBe(`GET ${origin}/down failed after 4 attempts: HTTP 503 Service Unavailable (maintenance)`);
    expect(seen).toHaveLength(4);
    // Exponential backoff with jitter: attempt k waits within [base*2^(k-1)/2, base*2^(k-1)].
    expect(waits).toHaveLength(3);
    waits.forEach((w, i) => {
      expect(w).toBeGreaterThanOrEqual((100 * 2 ** i) / 2);
      expect(w).toBeLessThanOrEqual(100 * 2 ** i);
    });
    // Through a source the same failure is one line naming the URL.
    routes.set('/top.json', routes.get('/down') as Route);
    await expect(resolveSource('pypi-top:3', t.ctx)).rejects.toThrow(/top\.json failed after 3 attempts: HTTP 503/);
  });

  it('network errors are retried, then reported (127.0.0.1, closed port)', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await httpGet(`http://127.0.0.1:${port}/x`, t.ctx, { sleep: async () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as Error).message).toMatch(/failed after 3 attempts: network error: fetch failed: .*ECONNREFUSED/);
  });
});

describe('GitHub URL and PyPI metadata parsing', () => {
  it('normalises GitHub URLs', () => {
    const cases: [string, string | null][] = [
      ['https://github.com/psf/requests', 'psf/requests'],
      ['http://www.github.com/psf/requests.git', 'psf/requests'],
      ['git+https://github.com/pallets/click.git@main', 'pallets/click'],
      ['git@github.com:numpy/numpy.git', 'numpy/numpy'],
      ['ssh://git@github.com/yaml/pyyaml', 'yaml/pyyaml'],
      ['https://github.com/pypa/setuptools/tree/main/docs', 'pypa/setuptools'],
      ['https://github.com/urllib3/urllib3/issues?q=1', 'urllib3/urllib3'],
      ['https://GitHub.com/Owner/Repo#readme', 'Owner/Repo'],
      ['https://github.com/sponsors/someone', null],
      ['https://github.com/psf', null],
      ['https://gitlab.com/a/b', null],
      ['https://pallets.github.io/click', null],
      ['', null],
    ];
    for (const [url, want] of cases) {
      const got = parseGithubUrl(url);
      expect(got ? `${got.owner}/${got.repo}` : null, url).toBe(want);
    }
    expect(parseGithubSpec('psf/requests@v2.31.0')).toEqual({ owner: 'psf', repo: 'requests', ref: 'v2.31.0' });
    expect(parseGithubSpec('psf/requests')).toEqual({ owner: 'psf', repo: 'requests', ref: null });
    expect(parseGithubSpec('https://github.com/psf/requests@feature/x')).toEqual({ owner: 'psf', repo: 'requests', ref: 'feature/x' });
    expect(() => parseGithubSpec('psf/requests@')).toThrow(/bad ref/);
    expect(() => parseGithubSpec('psf')).toThrow(/expected github:OWNER\/REPO/);
  });

  it('picks the source repository from PyPI metadata', () => {
    expect(
      githubFromPypiInfo({
        home_page: 'https://github.com/wrong/home',
        project_urls: { Funding: 'https://github.com/sponsors/x', Changelog: 'https://github.com/a/b/blob/main/CHANGES', 'Source Code': 'https://github.com/a/b' },
      }),
    ).toEqual({ owner: 'a', repo: 'b', from: 'project_urls.Source Code' });
    expect(githubFromPypiInfo({ home_page: 'https://github.com/h/p', project_urls: { Documentation: 'https://h.readthedocs.io' } })).toEqual({
      owner: 'h',
      repo: 'p',
      from: 'home_page',
    });
    expect(githubFromPypiInfo({ home_page: null, project_urls: null })).toBeNull();
    expect(parseTopList({ rows: [{ project: 'b', download_count: 1 }, { project: 'a', download_count: 5 }, { nope: 1 }] })).toEqual([
      { project: 'a', downloadCount: 5, rank: 1 },
      { project: 'b', downloadCount: 1, rank: 2 },
    ]);
    expect(() => parseTopList({ data: [] })).toThrow(/no "rows" array/);
  });
});
