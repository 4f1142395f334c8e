import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSource } from '../../../../prebuild/sources/index.ts';
import { pythonStdlibSource } from '../../../../prebuild/sources/python-stdlib.ts';
import { SourceError } from '../../../../prebuild/sources/types.ts';
import { testContext, type TestContext } from './helpers.ts';

describe('python-stdlib source', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await testContext();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("finds the local python3's standard library", async () => {
    const repos = await resolveSource('python-stdlib', t.ctx);
    expect(repos).toHaveLength(1);
    const [repo] = repos;
    expect(repo.name).toBe('python-stdlib');
    expect(repo.source).toBe('python-stdlib');
    expect(repo.meta.version).toMatch(/^3\.\d+\.\d+/);
    expect(repo.meta).toMatchObject({ url: 'https://github.com/python/cpython', license: 'PSF-2.0', topics: ['Python standard library'], stars: null });
    const files = repo.files ?? [];
    expect(files.length).toBeGreaterThan(300);
    for (const f of ['os.py', 'json/__init__.py', 'collections/__init__.py', 'venv/__init__.py']) expect(files).toContain(f);
    expect(files.some((f) => f.includes('site-packages/') || f.includes('dist-packages/') || f.includes('__pycache__/'))).toBe(false);
    expect([...files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(files);
    expect(existsSync(join(repo.root, 'os.py'))).toBe(true);
  });

  it('fails with one clear line when no python3 is on PATH', async () => {
    const err = await pythonStdlibSource(t.ctx, { env: { PATH: join(t.dir, 'empty-bin') } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toBe('python-stdlib: python3 not found on PATH (install Python 3 or use another --source)');
  });
});
