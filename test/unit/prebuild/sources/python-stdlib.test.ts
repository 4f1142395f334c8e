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
    // One repository per top-level package plus one for the top-level modules.
    const names = repos.map((r) => r.name);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const n of ['stdlib/modules', 'stdlib/json', 'stdlib/collections', 'stdlib/venv', 'stdlib/asyncio']) expect(names).toContain(n);
    for (const repo of repos) {
      expect(repo.source).toBe('python-stdlib');
      expect(repo.meta.version).toMatch(/^3\.\d+\.\d+/);
      expect(repo.meta).toMatchObject({ license: 'PSF-2.0', stars: null });
      expect(repo.meta.url).toMatch(/^https:\/\/github\.com\/python\/cpython\/tree\/v3\./);
      expect(repo.meta.topics[0]).toBe('Python standard library');
      const files = repo.files ?? [];
      expect(files.length).toBeGreaterThan(0);
      expect([...files].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(files);
      for (const f of files) expect(existsSync(join(repo.root, f)), f).toBe(true);
    }
    const modules = repos.find((r) => r.name === 'stdlib/modules');
    expect(modules?.files).toContain('os.py');
    expect(modules?.files?.some((f) => f.includes('/'))).toBe(false);
    expect(repos.find((r) => r.name === 'stdlib/json')?.files).toContain('__init__.py');
    expect(repos.find((r) => r.name === 'stdlib/asyncio')?.meta.topics).toEqual(['Python standard library', 'Concurrency']);
    const all = repos.flatMap((r) => r.files ?? []);
    expect(all.length).toBeGreaterThan(300);
    expect(names.some((n) => n.includes('site-packages') || n.includes('dist-packages') || n.includes('__pycache__'))).toBe(false);
  });

  it('fails with one clear line when no python3 is on PATH', async () => {
    const err = await pythonStdlibSource(t.ctx, { env: { PATH: join(t.dir, 'empty-bin') } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toBe('python-stdlib: python3 not found on PATH (install Python 3 or use another --source)');
  });
});
