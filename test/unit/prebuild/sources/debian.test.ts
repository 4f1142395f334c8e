// The download tests run the real apt-get (Debian's apt reaches its mirror here and in CI).
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  debianSource,
  parseAptPolicy,
  parseCopyrightLicense,
  parseDebFileName,
  parsePackageList,
} from '../../../../prebuild/sources/debian.ts';
import { resolveSource } from '../../../../prebuild/sources/index.ts';
import { SourceError } from '../../../../prebuild/sources/types.ts';
import { testContext, type TestContext } from './helpers.ts';

const HEADER = [
  '# Debian bookworm binary packages matching PyPI projects.',
  '# py_files and functions were counted with CPython ast.',
  'debian_package\tversion\tpypi_name\tpypi_rank\tupstream_url\ttopics\tpy_files\tfunctions',
];
const SIX = 'python3-six\t1.16.0-4\tsix\t14\thttps://github.com/benjaminp/six\tSoftware Development :: Libraries; Utilities\t1\t69';
const IDNA =
  'python3-idna\t3.3-1+deb12u1\tidna\t5\thttps://github.com/kjd/idna\tInternet :: Name Service (DNS); Software Development :: Libraries :: Python Modules; Utilities\t8\t111';

describe('debian list format', () => {
  it('parses comments, the header row and the columns', () => {
    const rows = parsePackageList([...HEADER, SIX, 'python3-certifi\t2022.9.24-1\tcertifi\t4\thttps://github.com/x/certifi\t\t3\t2', ''].join('\n'));
    expect(rows).toEqual([
      {
        debianPackage: 'python3-six',
        version: '1.16.0-4',
        pypiName: 'six',
        pypiRank: 14,
        upstreamUrl: 'https://github.com/benjaminp/six',
        topics: ['Software Development :: Libraries', 'Utilities'],
        pyFiles: 1,
        functions: 69,
      },
      {
        debianPackage: 'python3-certifi',
        version: '2022.9.24-1',
        pypiName: 'certifi',
        pypiRank: 4,
        upstreamUrl: 'https://github.com/x/certifi',
        topics: [],
        pyFiles: 3,
        functions: 2,
      },
    ]);
  });

  // The shared corpus list lives beside the repository (as in CI), not in it.
  const sharedList = join(__dirname, '../../../../../shared/corpus/packages.tsv');
  it.skipIf(!existsSync(sharedList))('parses the shared corpus list (268 packages)', async () => {
    expect(parsePackageList(await readFile(sharedList, 'utf8'), 'x')).toHaveLength(268);
  });

  it('rejects a list without the required columns or with bad names', () => {
    expect(() => parsePackageList('name\tversion\nfoo\t1\n', 'debian:l.tsv')).toThrow(/header row lacks column\(s\) debian_package, pypi_name/);
    expect(() => parsePackageList(`${HEADER[2]}\nBad Name\t1\tx\t\t\t\t\t\n`, 'debian:l.tsv')).toThrow(/bad Debian package name/);
    expect(() => parsePackageList('# only comments\n', 'debian:l.tsv')).toThrow(/no header row/);
  });

  it('parses apt-cache policy, .deb names and DEP-5 copyright files', () => {
    const policy = parseAptPolicy(
      [
        'python3-six:',
        '  Installed: 1.16.0-4',
        '  Candidate: 1.16.0-4',
        '  Version table:',
        ' *** 1.16.0-4 500',
        '        500 http://deb.debian.org/debian bookworm/main amd64 Packages',
        '        100 /var/lib/dpkg/status',
        'python3-numpy:',
        '  Installed: 1:1.24.2-1+deb12u1',
        '  Candidate: 1:1.24.2-1+deb12u1',
        '  Version table:',
        ' *** 1:1.24.2-1+deb12u1 100',
        '        100 /var/lib/dpkg/status',
        '     1:1.24.2-1 500',
        '        500 http://deb.debian.org/debian bookworm/main amd64 Packages',
      ].join('\n'),
    );
    expect(policy.get('python3-six')).toEqual({ candidate: '1.16.0-4', downloadable: ['1.16.0-4'] });
    expect(policy.get('python3-numpy')).toEqual({ candidate: '1:1.24.2-1+deb12u1', downloadable: ['1:1.24.2-1'] });
    expect(parseDebFileName('python3-numpy_1%3a1.24.2-1+deb12u1_amd64.deb')).toEqual({
      pkg: 'python3-numpy',
      version: '1:1.24.2-1+deb12u1',
      arch: 'amd64',
    });
    const dep5 = [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      'Upstream-Name: six',
      '',
      'Files: debian/*',
      'License: GPL-2+',
      '',
      'Files: *',
      'Copyright: 2010-2020 Benjamin Peterson',
      'License: Expat',
      '',
      'License: Expat',
      ' Permission is hereby granted…',
    ].join('\n');
    expect(parseCopyrightLicense(dep5)).toBe('Expat');
    expect(parseCopyrightLicense('This package was debianized by someone.\n\nLicense:\n\n  BSD\n')).toBeNull();
  });
});

describe('debian: source (real apt-get download of python3-six and python3-idna)', () => {
  let t: TestContext;
  let list: string;
  beforeAll(async () => {
    t = await testContext();
    list = join(t.dir, 'packages.tsv');
    await writeFile(list, [...HEADER, SIX, IDNA, ''].join('\n'));
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('downloads, unpacks and describes the packages', async () => {
    const repos = await resolveSource(`debian:${list}`, t.ctx);
    expect(repos.map((r) => r.name)).toEqual(['six', 'idna']);
    const [six, idna] = repos;
    expect(six.files).toEqual(['usr/lib/python3/dist-packages/six.py']);
    expect(six.meta.url).toBe('https://github.com/benjaminp/six');
    expect(six.meta.topics).toEqual(['Software Development :: Libraries', 'Utilities']);
    expect(six.meta.stars).toBeNull();
    expect(six.meta.license).toBe('Expat');
    expect(six.meta.version).toMatch(/^1\.16\.0-/);
    expect(six.source).toBe(`debian:${list}`);
    expect(six.root).toBe(join(t.ctx.cacheDir, 'debian', 'pkgs', `python3-six_${six.meta.version}`));
    expect(existsSync(join(six.root, 'usr/lib/python3/dist-packages/six.py'))).toBe(true);
    // idna: 8 .py files in the package, as the list's py_files column says.
    expect(idna.files).toHaveLength(8);
    expect(idna.files).toContain('usr/lib/python3/dist-packages/idna/core.py');
    expect(idna.meta.license).toMatch(/BSD/i);
    const debs = await readdir(join(t.ctx.cacheDir, 'debian', 'debs'));
    expect(debs.filter((f) => f.endsWith('.deb')).sort()).toHaveLength(2);
    expect(debs.filter((f) => f.startsWith('.tmp'))).toEqual([]);
  });

  it('reuses the unpacked packages on a second run', async () => {
    const before = Date.now();
    const repos = await debianSource(list, t.ctx, { only: ['six'] });
    expect(repos.map((r) => r.name)).toEqual(['six']);
    expect(Date.now() - before).toBeLessThan(5000);
  });

  it('falls back to the current version when the listed one is gone, and records it', async () => {
    const gone = join(t.dir, 'gone.tsv');
    await writeFile(gone, [...HEADER, SIX.replace('1.16.0-4', '0.0.1-1'), ''].join('\n'));
    const logs = t.logs.length;
    const [six] = await debianSource(gone, t.ctx);
    expect(six.meta.version).not.toBe('0.0.1-1');
    expect(six.meta.version).toMatch(/^1\.16/);
    expect(t.logs.slice(logs).join('\n')).toMatch(/python3-six 0\.0\.1-1 is gone from the apt sources; using 1\.16/);
  });

  it('fails naming a package apt cannot find, unless skip-missing', async () => {
    const bad = join(t.dir, 'bad.tsv');
    await writeFile(bad, [...HEADER, SIX, 'python3-no-such-package-xyz\t1.0-1\tnope\t1\t\t\t1\t1', ''].join('\n'));
    const err = await resolveSource(`debian:${bad}`, t.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/cannot download python3-no-such-package-xyz .*add \?skip-missing/);
    expect((err as Error).message).not.toContain('\n');
    const repos = await resolveSource(`debian:${bad}?skip-missing`, t.ctx);
    expect(repos.map((r) => r.name)).toEqual(['six']);
  });

  it('fails with one clear line when apt is not installed', async () => {
    const fresh = join(t.dir, 'fresh.tsv');
    await writeFile(fresh, [...HEADER, IDNA.replace('3.3-1+deb12u1', '9.9-9'), ''].join('\n'));
    const err = await debianSource(fresh, t.ctx, { env: { PATH: join(t.dir, 'empty-bin') } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/apt-cache not found on PATH \(this source needs Debian\/Ubuntu's apt\)/);
    await expect(resolveSource(`debian:${join(t.dir, 'missing.tsv')}`, t.ctx)).rejects.toThrow(/cannot read the package list/);
  });
});
