import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listPyFiles } from '../../../../prebuild/sources/dir.ts';
import { parseSourceSpec, resolveSource } from '../../../../prebuild/sources/index.ts';
import { SourceError } from '../../../../prebuild/sources/types.ts';
import { makeTempDir, testContext, type TestContext } from './helpers.ts';

async function put(root: string, rel: string, text = 'x = 1\n'): Promise<void> {
  await mkdir(dirname(join(root, rel)), { recursive: true });
  await writeFile(join(root, rel), text);
}

describe('dir: source', () => {
  let t: TestContext;
  let work: string;
  beforeEach(async () => {
    t = await testContext();
    work = await makeTempDir('atlas-dir-');
  });
  afterEach(async () => {
    await t.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('treats a folder with setup.py as one repository named after the folder', async () => {
    const root = join(work, 'myproj');
    await put(root, 'setup.py');
    await put(root, 'pkg/__init__.py');
    await put(root, 'pkg/core.py');
    await put(root, 'pkg/__pycache__/core.cpython-311.py');
    await put(root, 'node_modules/x/y.py');
    await put(root, '.git/hooks/h.py');
    await put(root, 'README.md', '# hi');
    const repos = await resolveSource(`dir:${root}`, t.ctx);
    expect(repos).toHaveLength(1);
    expect(repos[0].name).toBe('myproj');
    expect(repos[0].source).toBe(`dir:${root}`);
    expect(repos[0].files).toEqual(['pkg/__init__.py', 'pkg/core.py', 'setup.py']);
    expect(repos[0].meta).toEqual({ url: null, version: null, license: null, topics: [], stars: null });
  });

  it('reads the origin remote of a git checkout as its url, without credentials', async () => {
    const root = join(work, 'gitproj');
    await put(root, 'a.py');
    await put(root, '.git/config', '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://user:secret@github.com/o/r.git\n');
    const [repo] = await resolveSource(`dir:${root}`, t.ctx);
    expect(repo.meta.url).toBe('https://github.com/o/r.git');
  });

  it('treats each subfolder holding .py files as a repository otherwise', async () => {
    await put(work, 'alpha/pyproject.toml', '[project]\nname="alpha"\n');
    await put(work, 'alpha/src/alpha/__init__.py');
    await put(work, 'beta/b.py');
    await put(work, 'docs-only/index.md', '# docs');
    await put(work, '.hidden/h.py');
    await put(work, 'notes.txt', 'no code at the top');
    const repos = await resolveSource(`dir:${work}`, t.ctx);
    expect(repos.map((r) => r.name)).toEqual(['alpha', 'beta']);
    expect(repos[0].files).toEqual(['src/alpha/__init__.py']);
    expect(repos[1].files).toEqual(['b.py']);
    expect(t.logs.join('\n')).toMatch(/skipped 1 folder\(s\) without \.py files: docs-only/);
  });

  it('skips virtual environments and does not follow symlinks out of the root', async () => {
    const outside = join(work, 'outside');
    await put(outside, 'secret.py');
    const root = join(work, 'proj');
    await put(root, 'main.py');
    await put(root, 'env/pyvenv.cfg', 'home = /usr/bin\n');
    await put(root, 'env/lib/python3.11/site-packages/x.py');
    await put(root, 'venv/__init__.py'); // a package named venv (as in the stdlib) is kept
    await symlink(join(outside, 'secret.py'), join(root, 'leak.py'));
    await symlink(outside, join(root, 'linkdir'));
    await symlink(join(root, 'main.py'), join(root, 'alias.py'));
    const files = await listPyFiles(root);
    expect(files).toEqual(['alias.py', 'main.py', 'venv/__init__.py']);
  });

  it('fails with one-line errors for a missing path, a file, and a folder without repositories', async () => {
    await expect(resolveSource(`dir:${join(work, 'nope')}`, t.ctx)).rejects.toThrow(/path does not exist/);
    await put(work, 'file.txt', 'x');
    await expect(resolveSource(`dir:${join(work, 'file.txt')}`, t.ctx)).rejects.toThrow(/not a directory/);
    const empty = join(work, 'empty');
    await put(empty, 'sub/readme.md', '#');
    const err = await resolveSource(`dir:${empty}`, t.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/no repositories found/);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('parseSourceSpec', () => {
  it('splits kinds, arguments and options', () => {
    expect(parseSourceSpec('dir:./a?b')).toEqual({ kind: 'dir', arg: './a?b', options: {} });
    expect(parseSourceSpec('python-stdlib')).toEqual({ kind: 'python-stdlib', arg: '', options: {} });
    expect(parseSourceSpec('pypi-top:25')).toEqual({ kind: 'pypi-top', arg: '25', options: {} });
    expect(parseSourceSpec('github:psf/requests@v2.31.0').arg).toBe('psf/requests@v2.31.0');
    expect(parseSourceSpec('debian:corpus/packages.tsv?skip-missing&only=python3-six,python3-idna&limit=2')).toEqual({
      kind: 'debian',
      arg: 'corpus/packages.tsv',
      options: { 'skip-missing': true, only: 'python3-six,python3-idna', limit: '2' },
    });
  });

  it('rejects unknown prefixes and bad arguments with one clear line', () => {
    const cases: [string, RegExp][] = [
      ['svn:foo', /unknown source "svn"/],
      ['./projects', /did you mean dir:\.\/projects/],
      ['dir:', /dir: missing argument/],
      ['pypi-top:abc', /pypi-top:N needs a whole number/],
      ['pypi-top:0', /pypi-top:N needs a whole number/],
      ['python-stdlib:3.11', /takes no argument/],
      ['debian:list.tsv?fast', /unknown option "fast"/],
      ['', /empty --source/],
    ];
    for (const [spec, re] of cases) {
      let err: unknown;
      try {
        parseSourceSpec(spec);
      } catch (e) {
        err = e;
      }
      expect(err, spec).toBeInstanceOf(SourceError);
      expect((err as Error).message, spec).toMatch(re);
      expect((err as Error).message, spec).not.toContain('\n');
    }
  });
});
