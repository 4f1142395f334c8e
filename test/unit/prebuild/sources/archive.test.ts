import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { safeEntryPath, unpackArchive } from '../../../../prebuild/sources/archive.ts';
import { resolveSource } from '../../../../prebuild/sources/index.ts';
import { SourceError } from '../../../../prebuild/sources/types.ts';
import { buildTar, testContext, type TestContext } from './helpers.ts';

/** Every file under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('archive: source', () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await testContext();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it('neutralises entry names', () => {
    expect(safeEntryPath('a/b.py')).toBe('a/b.py');
    expect(safeEntryPath('/etc/passwd')).toBe('etc/passwd');
    expect(safeEntryPath('C:\\win\\x.py')).toBe('win/x.py');
    expect(safeEntryPath('./a//b/./c.py')).toBe('a/b/c.py');
    expect(safeEntryPath('../evil.py')).toBeNull();
    expect(safeEntryPath('a/../../evil.py')).toBeNull();
    expect(safeEntryPath('a\\..\\..\\evil.py')).toBeNull();
    expect(safeEntryPath('a\0b')).toBeNull();
    expect(safeEntryPath('/')).toBeNull();
  });

  it('unpacks a zip with one top folder: strips it, names the repository after it, reuses the cache', async () => {
    const zip = zipSync({
      'myproj/': {},
      'myproj/setup.py': strToU8('from setuptools import setup\n'),
      'myproj/pkg/__init__.py': strToU8(''),
      'myproj/pkg/mod.py': strToU8('def f():\n    return 1\n'),
      'myproj/README.md': strToU8('# hi\n'),
    } as Zippable);
    const file = join(t.dir, 'upload.zip');
    await writeFile(file, zip);
    const repos = await resolveSource(`archive:${file}`, t.ctx);
    expect(repos).toHaveLength(1);
    expect(repos[0].name).toBe('myproj');
    expect(repos[0].files).toEqual(['pkg/__init__.py', 'pkg/mod.py', 'setup.py']);
    expect(await readFile(join(repos[0].root, 'pkg/mod.py'), 'utf8')).toContain('return 1');
    expect(repos[0].root.startsWith(join(t.ctx.cacheDir, 'archives'))).toBe(true);

    const again = await unpackArchive(file, t.ctx);
    expect(again.reused).toBe(true);
    expect(again.dir).toBe(repos[0].root);
    // No temporary folders left behind.
    expect((await readdir(join(t.ctx.cacheDir, 'archives'))).filter((n) => n.startsWith('.tmp'))).toEqual([]);
  });

  it('applies the dir rule to a zip holding several repositories at the top', async () => {
    const zip = zipSync({
      'a/a.py': strToU8('x = 1\n'),
      'b/pkg/b.py': strToU8('y = 2\n'),
      'notes.txt': strToU8('n'),
    } as Zippable);
    const file = join(t.dir, 'corpus.zip');
    await writeFile(file, zip);
    const repos = await resolveSource(`archive:${file}`, t.ctx);
    expect(repos.map((r) => [r.name, r.files])).toEqual([
      ['a', ['a.py']],
      ['b', ['pkg/b.py']],
    ]);
  });

  it('neutralises ../ and absolute entries and skips symlinks in a zip', async () => {
    const zip = zipSync({
      '../evil.py': strToU8('evil = 1\n'),
      '/abs/evil2.py': strToU8('evil = 2\n'),
      'proj/ok.py': strToU8('ok = 1\n'),
      'proj/link.py': [strToU8('/etc/passwd'), { os: 3, attrs: (0o120777 << 16) >>> 0 }],
    } as Zippable);
    const file = join(t.dir, 'hostile.zip');
    await writeFile(file, zip);
    const result = await unpackArchive(file, t.ctx);
    const root = dirname(result.dir); // <cache>/archives/<sha>
    expect(await tree(root)).toEqual(['.code-atlas-archive.json', 'hostile/abs/evil2.py', 'hostile/proj/ok.py']);
    expect(existsSync(join(t.ctx.cacheDir, 'archives', 'evil.py'))).toBe(false);
    expect(existsSync(join(t.ctx.cacheDir, 'evil.py'))).toBe(false);
    expect(t.logs.join('\n')).toMatch(/skipped 1 unsafe path\(s\), 1 link\(s\)/);
  });

  it('rejects a zip bomb by its compression ratio', async () => {
    const zip = zipSync({ 'bomb/zeros.py': [new Uint8Array(8 * 1024 * 1024), { level: 9 }] } as Zippable);
    expect(zip.length).toBeLessThan(64 * 1024);
    const file = join(t.dir, 'bomb.zip');
    await writeFile(file, zip);
    const err = await unpackArchive(file, t.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/compression ratio \d+:1.*limit of 200:1/);
    expect(existsSync(join(t.ctx.cacheDir, 'archives'))).toBe(true);
    expect(await readdir(join(t.ctx.cacheDir, 'archives'))).toEqual([]); // temp folder removed
  });

  it('enforces entry count and size limits', async () => {
    const files: Zippable = {};
    for (let i = 0; i < 20; i++) files[`p/m${i}.py`] = strToU8(`x = ${i}\n`);
    const file = join(t.dir, 'many.zip');
    await writeFile(file, zipSync(files));
    await expect(unpackArchive(file, t.ctx, { limits: { maxEntries: 10 } })).rejects.toThrow(/too many entries/);
    await expect(unpackArchive(file, t.ctx, { limits: { maxTotalBytes: 50 } })).rejects.toThrow(/unpacked size exceeds/);
    await expect(unpackArchive(file, t.ctx, { limits: { maxEntryBytes: 4 } })).rejects.toThrow(/over the limit/);
  });

  it('fails clearly on a corrupt or truncated zip and on a non-archive', async () => {
    const good = zipSync({ 'p/a.py': strToU8('def f():\n    return "a much longer body to compress"\n'.repeat(20)) } as Zippable);
    const truncated = join(t.dir, 'truncated.zip');
    await writeFile(truncated, good.subarray(0, good.length - 30));
    const e1 = await unpackArchive(truncated, t.ctx).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(SourceError);
    expect((e1 as Error).message).toMatch(/^archive:.*truncated\.zip: corrupt or unsupported zip/);

    const flipped = Buffer.from(good);
    flipped[40] ^= 0xff; // inside the compressed data
    const bad = join(t.dir, 'flipped.zip');
    await writeFile(bad, flipped);
    await expect(unpackArchive(bad, t.ctx)).rejects.toThrow(/corrupt zip/);

    const text = join(t.dir, 'notes.zip.txt');
    await writeFile(text, 'hello');
    await expect(unpackArchive(text, t.ctx)).rejects.toThrow(/not a \.zip, \.tar\.gz/);
    await expect(resolveSource(`archive:${join(t.dir, 'missing.zip')}`, t.ctx)).rejects.toThrow(/file does not exist/);
  });

  it('unpacks a GitHub-style tar.gz, stripping the single owner-repo-sha/ folder', async () => {
    const tgz = buildTar([
      { path: 'psf-requests-abc1234/' },
      { path: 'psf-requests-abc1234/setup.py', data: 'setup()\n' },
      { path: 'psf-requests-abc1234/src/requests/__init__.py', data: '__version__ = "1"\n' },
      { path: 'psf-requests-abc1234/tests/test_api.py', data: 'def test():\n    pass\n' },
    ]);
    const file = join(t.dir, 'requests.tar.gz');
    await writeFile(file, tgz);
    const repos = await resolveSource(`archive:${file}`, t.ctx);
    expect(repos).toHaveLength(1);
    expect(repos[0].name).toBe('psf-requests-abc1234');
    expect(repos[0].files).toEqual(['setup.py', 'src/requests/__init__.py', 'tests/test_api.py']);
  });

  it('neutralises ../ and absolute entries and skips links in a tar.gz', async () => {
    const tgz = buildTar([
      { path: '../evil.py', data: 'evil = 1\n' },
      { path: '/etc/evil2.py', data: 'evil = 2\n' },
      { path: 'proj/ok.py', data: 'ok = 1\n' },
      { path: 'proj/sym.py', type: 'SymbolicLink', linkpath: '/etc/passwd' },
      { path: 'proj/hard.py', type: 'Link', linkpath: '../../evil.py' },
    ]);
    const file = join(t.dir, 'hostile.tgz');
    await writeFile(file, tgz);
    const result = await unpackArchive(file, t.ctx);
    expect(result.stripped).toBe(false);
    expect(await tree(dirname(result.dir))).toEqual(['.code-atlas-archive.json', 'hostile/etc/evil2.py', 'hostile/proj/ok.py']);
    expect(existsSync(join(t.ctx.cacheDir, 'evil.py'))).toBe(false);
    expect(t.logs.join('\n')).toMatch(/skipped 1 unsafe path\(s\), 2 link\(s\)/);
  });

  it('rejects a tar.gz bomb and fails clearly on a corrupt tar.gz', async () => {
    const bomb = buildTar([{ path: 'b/zeros.py', data: new Uint8Array(8 * 1024 * 1024) }]);
    const bombFile = join(t.dir, 'bomb.tar.gz');
    await writeFile(bombFile, bomb);
    await expect(unpackArchive(bombFile, t.ctx)).rejects.toThrow(/compression ratio \d+:1 exceeds the limit/);

    const good = buildTar([{ path: 'p/a.py', data: 'x = 1\n'.repeat(500) }]);
    const corrupt = Buffer.from(good);
    for (let i = 20; i < corrupt.length - 8; i++) corrupt[i] ^= 0x5a;
    const corruptFile = join(t.dir, 'corrupt.tar.gz');
    await writeFile(corruptFile, corrupt);
    const err = await unpackArchive(corruptFile, t.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/corrupt or unsupported tar archive/);
    expect((err as Error).message).not.toContain('\n');

    const truncatedFile = join(t.dir, 'truncated.tar.gz');
    await writeFile(truncatedFile, good.subarray(0, Math.floor(good.length / 2)));
    await expect(unpackArchive(truncatedFile, t.ctx)).rejects.toThrow(/corrupt or unsupported tar archive/);
  });
});
