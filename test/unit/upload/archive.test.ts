// readArchive on well-formed and hostile archives: every limit, zip bombs (declared and lying),
// path traversal and absolute names, symlinks, nested archives, binaries, non-UTF-8 names, corrupt
// central directories, truncation, tar/tar.gz with pax long names and links (written by the `tar`
// package, the real writer, and by hand), random bytes and empty files.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, crc32 as zlibCrc32 } from 'node:zlib';
import { gzipSync, strToU8, zipSync } from 'fflate';
import { create as tarCreate } from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveError, type ArchiveReadResult, crc32, DEFAULT_ARCHIVE_LIMITS, normaliseEntryPath, readArchive } from '../../../src/core/upload/archive.ts';
import { buildTar, buildZip, centralDirectoryOffset, tarHeader } from './archive-helpers.ts';

const text = (r: ArchiveReadResult, path: string): string => {
  const f = r.files.find((x) => x.path === path);
  if (!f) throw new Error(`no file ${path} in ${r.files.map((x) => x.path).join(', ')}`);
  return new TextDecoder().decode(f.bytes);
};
const reasons = (r: ArchiveReadResult): Record<string, string> => Object.fromEntries(r.skipped.map((s) => [s.path, s.reason]));

function expectArchiveError(fn: () => unknown, code: ArchiveError['code']): ArchiveError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as ArchiveError).code).toBe(code);
    return err as ArchiveError;
  }
  throw new Error(`expected ArchiveError '${code}'`);
}

/** Every path that comes out is relative and free of '..' (the property the upload relies on). */
function expectSafePaths(r: ArchiveReadResult): void {
  for (const f of r.files) {
    expect(f.path.startsWith('/')).toBe(false);
    expect(/^[A-Za-z]:/.test(f.path)).toBe(false);
    expect(f.path.split('/')).not.toContain('..');
    expect(f.path.includes('\\')).toBe(false);
  }
}

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('zip: what is kept and why the rest is not', () => {
  it('keeps source files of known languages with normalised paths and lists every other entry', () => {
    const zip = zipSync({
      'repo/': new Uint8Array(0),
      'repo/src/app.py': strToU8('def main():\n    return 1\n'),
      'repo/./src/util.ts': strToU8('export function f(a: number) { return a; }\n'),
      'repo/lib/x.go': strToU8('package x\nfunc F() {}\n'),
      'repo/README.md': strToU8('# readme'),
      'repo/vendor/dep.zip': strToU8('PK not really'),
      'repo/dist/pkg.whl': strToU8('wheel'),
      'repo/logo.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]),
    });
    const progress: [number, number][] = [];
    const r = readArchive(zip, 'repo.zip', undefined, (d, t) => progress.push([d, t]));
    expect(r.format).toBe('zip');
    expect(r.files.map((f) => f.path).sort()).toEqual(['repo/lib/x.go', 'repo/src/app.py', 'repo/src/util.ts']);
    expect(text(r, 'repo/src/app.py')).toBe('def main():\n    return 1\n');
    expect(reasons(r)).toEqual({
      'repo/README.md': 'not-source',
      'repo/vendor/dep.zip': 'nested-archive',
      'repo/dist/pkg.whl': 'nested-archive',
      'repo/logo.png': 'not-source',
    });
    // Directories are not entries.
    expect(r.totalEntries).toBe(7);
    expect(r.warnings).toEqual([]);
    expect(progress.at(-1)).toEqual([8, 8]);
  });

  it('skips binary and non-UTF-8 source files after reading them, and duplicate paths', () => {
    const zip = buildZip([
      { name: 'a.py', data: 'x = 1\n' },
      { name: 'bin.py', data: new Uint8Array([0x70, 0x72, 0, 1, 2, 3]) },
      { name: 'latin.rb', data: new Uint8Array([0x23, 0x20, 0xe9, 0xe8, 0x0a]) },
      { name: './a.py', data: 'x = 2\n' },
    ]);
    const r = readArchive(zip, 'x.zip');
    expect(r.files.map((f) => f.path)).toEqual(['a.py']);
    expect(text(r, 'a.py')).toBe('x = 1\n');
    expect(r.skipped.map((s) => [s.path, s.reason])).toEqual([
      ['bin.py', 'binary'],
      ['latin.rb', 'not-utf8'],
      ['a.py', 'duplicate-path'],
    ]);
  });

  it("neutralises '../', absolute and drive-letter names: skipped, never rewritten into the tree", () => {
    const zip = buildZip([
      { name: '../evil.py', data: 'x' },
      { name: 'a/../../evil2.py', data: 'x' },
      { name: 'ok/../inside.py', data: 'x' },
      { name: '/etc/cron.py', data: 'x' },
      { name: '//server/share/x.py', data: 'x' },
      { name: 'C:/Windows/x.py', data: 'x' },
      { name: 'C:x.py', data: 'x' },
      { name: '..\\..\\win.py', data: 'x' },
      { name: '\\abs.py', data: 'x' },
      { name: 'fine/./x.py', data: 'print(1)\n' },
    ]);
    const r = readArchive(zip, 'evil.zip');
    expect(r.files.map((f) => f.path)).toEqual(['fine/x.py']);
    expect(r.skipped.map((s) => s.reason)).toEqual([
      'path-traversal', 'path-traversal', 'path-traversal', 'absolute-path', 'absolute-path', 'absolute-path', 'absolute-path',
      'path-traversal', 'absolute-path',
    ]);
    expectSafePaths(r);
  });

  it('normaliseEntryPath: separators, dot components and control characters', () => {
    expect(normaliseEntryPath('a\\b\\c.py')).toEqual({ ok: true, path: 'a/b/c.py' });
    expect(normaliseEntryPath('./a//b/./c.py')).toEqual({ ok: true, path: 'a/b/c.py' });
    expect(normaliseEntryPath('a/\u0001b.py')).toEqual({ ok: true, path: 'a/\uFFFDb.py' });
    expect(normaliseEntryPath('a/..b/c..py')).toEqual({ ok: true, path: 'a/..b/c..py' });
    expect(normaliseEntryPath('a/../b').ok).toBe(false);
    expect(normaliseEntryPath('D:\\x').ok).toBe(false);
  });

  it('skips symbolic links (Unix mode in the external attributes)', () => {
    const zip = buildZip([
      { name: 'link.py', data: '../../etc/passwd', method: 0, madeBy: 0x031e, externalAttrs: (0o120777 << 16) >>> 0 },
      { name: 'real.py', data: 'x = 1\n', madeBy: 0x031e, externalAttrs: (0o100644 << 16) >>> 0 },
    ]);
    const r = readArchive(zip, 'links.zip');
    expect(r.files.map((f) => f.path)).toEqual(['real.py']);
    expect(reasons(r)).toEqual({ 'link.py': 'symlink' });
  });

  it('reads 10,000 tiny files quickly', () => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 10_000; i++) files[`pkg/sub${i % 50}/m${i}.py`] = strToU8(`def f${i}(x):\n    return x + ${i}\n`);
    const zip = zipSync(files);
    const t0 = performance.now();
    const r = readArchive(zip, 'many.zip');
    const ms = performance.now() - t0;
    expect(r.files.length).toBe(10_000);
    expect(r.skipped).toEqual([]);
    expect(text(r, 'pkg/sub7/m9957.py')).toBe('def f9957(x):\n    return x + 9957\n');
    // ~0.1-0.3 s here; the bound only catches a pathological slowdown (shared 2-core machine).
    expect(ms).toBeLessThan(10_000);
    console.log(`10,000 tiny files: ${ms.toFixed(0)} ms`);
  });
});

describe('zip: limits and bombs', () => {
  it('refuses a 1 GiB-of-zeros zip bomb from its declared size, without inflating it', () => {
    // 1 GiB of zeros deflated by zlib (level 1: ~4.5 MB, a ratio of ~230), CRC by zlib.
    const comp = new Uint8Array(deflateRawSync(Buffer.alloc(2 ** 30), { level: 1 }));
    let crc = 0;
    const mib = new Uint8Array(1 << 20);
    for (let i = 0; i < 1024; i++) crc = zlibCrc32(mib, crc);
    const zip = buildZip([{ name: 'bomb.py', rawCompressed: comp, declaredSize: 2 ** 30, crc }]);
    expect(zip.length).toBeLessThan((2 ** 30) / 200);
    const t0 = performance.now();
    const err = expectArchiveError(() => readArchive(zip, 'bomb.zip'), 'bomb');
    expect(performance.now() - t0).toBeLessThan(500);
    expect(err.message).toMatch(/bomb\.zip: the archive declares 1073741824 bytes/);
  });

  it('stops inflating an entry that produces more than it declared (lying headers)', () => {
    const zeros = new Uint8Array(64 * 1024 * 1024);
    const liar = { name: 'liar.py', data: zeros, declaredSize: 1000, crc: 0 };
    const zip = buildZip([liar, { name: 'ok.py', data: 'y = 2\n' }]);
    const t0 = performance.now();
    const r = readArchive(zip, 'liar.zip');
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.files.map((f) => f.path)).toEqual(['ok.py']);
    expect(r.skipped).toEqual([{ path: 'liar.py', reason: 'corrupt', detail: 'inflates to more than its declared 1000 bytes' }]);
  });

  it("skips an entry whose declared ratio is over maxRatio, and one that inflates past it", () => {
    const random = new Uint8Array(40_000).map((_, i) => (i * 2654435761) >>> 24);
    const blanks = new Uint8Array(2 * 1024 * 1024).fill(0x20);
    const zip = buildZip([
      { name: 'padding.bin', data: random, method: 0 },
      { name: 'blanks.py', data: blanks },
      { name: 'small-blanks.py', data: new Uint8Array(60_000).fill(0x20) },
    ]);
    const r = readArchive(zip, 'ratio.zip');
    expect(reasons(r)['blanks.py']).toBe('ratio');
    // Under 64 KiB the per-entry ratio is not enforced: such a file cannot blow anything up.
    expect(r.files.map((f) => f.path)).toEqual(['small-blanks.py']);
  });

  it('applies maxFileBytes, maxTotalBytes, maxEntries and maxArchiveBytes with clear messages', () => {
    const body = (n: number): string => `x = ${'1'.repeat(n)}\n`;
    const zip = buildZip([
      { name: 'a.py', data: body(100) },
      { name: 'big.py', data: body(5000) },
      { name: 'b.py', data: body(100) },
      { name: 'c.py', data: body(100) },
    ]);
    const r1 = readArchive(zip, 'l.zip', { maxFileBytes: 1000 });
    expect(r1.skipped).toEqual([{ path: 'big.py', reason: 'too-large', detail: '5005 bytes > per-file limit 1000' }]);
    const r2 = readArchive(zip, 'l.zip', { maxTotalBytes: 250 });
    expect(r2.files.map((f) => f.path)).toEqual(['a.py', 'b.py']);
    expect(reasons(r2)).toEqual({ 'big.py': 'limit', 'c.py': 'limit' });
    const r3 = readArchive(zip, 'l.zip', { maxEntries: 2 });
    expect(r3.files.map((f) => f.path)).toEqual(['a.py', 'big.py']);
    expect(r3.skipped.map((s) => [s.path, s.reason])).toEqual([['b.py', 'limit'], ['c.py', 'limit']]);
    const r4 = readArchive(zip, 'l.zip', { maxEntries: 1 });
    expect(r4.skipped.length).toBe(1);
    expect(r4.warnings).toEqual(['entry limit 1 reached: 2 further entries were not listed']);
    const err = expectArchiveError(() => readArchive(zip, 'l.zip', { maxArchiveBytes: 100 }), 'too-large');
    expect(err.message).toMatch(/l\.zip is \d+ bytes; the limit for an upload is 100 bytes/);
    expect(() => readArchive(zip, 'l.zip', { maxRatio: -1 })).toThrow(RangeError);
    expect(DEFAULT_ARCHIVE_LIMITS).toEqual({
      maxArchiveBytes: 512 * 2 ** 20, maxTotalBytes: 2 ** 30, maxEntries: 50_000, maxFileBytes: 8 * 2 ** 20, maxRatio: 200,
    });
  });

  it("refuses entries whose data overlaps another's (the overlapping-file bomb construction)", () => {
    const zip = buildZip([{ name: 'a.py', data: 'x = 1\n' }, { name: 'b.py', data: 'y = 2\n' }]);
    // Point b.py's central directory record at a.py's local header.
    const cd = centralDirectoryOffset(zip);
    const second = cd + 46 + 'a.py'.length;
    zip.set([0, 0, 0, 0], second + 42);
    const r = readArchive(zip, 'overlap.zip');
    expect(r.files.map((f) => f.path)).toEqual(['a.py']);
    expect(r.skipped[0]).toMatchObject({ path: 'b.py', reason: 'corrupt' });
  });
});

describe('zip: names', () => {
  it('decodes names without the UTF-8 flag as CP437 (unless valid UTF-8) and never throws on bad ones', () => {
    const cp437 = new Uint8Array([0x63, 0x61, 0x66, 0x82, 0x2e, 0x70, 0x79]); // "caf\x82.py": é in CP437
    const utf8NoFlag = new TextEncoder().encode('naïve.py');
    const badUtf8Flagged = new Uint8Array([0x62, 0xff, 0xfe, 0x2e, 0x70, 0x79]);
    const zip = buildZip([
      { name: cp437, data: 'a = 1\n' },
      { name: utf8NoFlag, data: 'b = 1\n', flags: 0 },
      { name: badUtf8Flagged, data: 'c = 1\n', flags: 0x800 },
      { name: 'ünï/cödé.py', data: 'd = 1\n' },
    ]);
    const r = readArchive(zip, 'names.zip');
    expect(r.files.map((f) => f.path)).toEqual(['café.py', 'naïve.py', 'b\uFFFD\uFFFD.py', 'ünï/cödé.py']);
    expect(r.warnings.join(' ')).toMatch(/flagged UTF-8 but are not/);
  });

  it("prefers Info-ZIP's Unicode path extra field when its CRC matches the stored name", () => {
    const stored = new Uint8Array([0x3f, 0x2e, 0x72, 0x62]); // "?.rb"
    const unicode = new TextEncoder().encode('日本.rb');
    const extra = new Uint8Array(4 + 5 + unicode.length);
    extra.set([0x75, 0x70, (5 + unicode.length) & 0xff, 0, 1]);
    const c = zlibCrc32(stored);
    extra.set([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24], 5);
    extra.set(unicode, 9);
    const r = readArchive(buildZip([{ name: stored, data: 'puts 1\n', extra }]), 'u.zip');
    expect(r.files.map((f) => f.path)).toEqual(['日本.rb']);
  });
});

describe('zip: broken archives report what they could read', () => {
  const good = (): Uint8Array =>
    buildZip([
      { name: 'one.py', data: 'def one():\n    return 1\n' },
      { name: 'two.js', data: 'function two() { return 2; }\n' },
      { name: 'three.rs', data: 'fn three() -> u8 { 3 }\n' },
    ]);

  it('falls back to local headers when the central directory is corrupt', () => {
    const zip = good();
    const cd = centralDirectoryOffset(zip);
    zip.fill(0x58, cd, cd + 60); // garbage over the first central records
    const r = readArchive(zip, 'cd.zip');
    expect(r.files.map((f) => f.path)).toEqual(['one.py', 'two.js', 'three.rs']);
    expect(text(r, 'three.rs')).toBe('fn three() -> u8 { 3 }\n');
    expect(r.warnings[0]).toMatch(/^central directory is corrupt \(central directory entry 1 of 3 is damaged\): read 3 entries from local headers/);
  });

  it('reads a truncated archive up to the cut, and says which entry was cut', () => {
    const zip = good();
    const cut = zip.subarray(0, centralDirectoryOffset(zip) - 5);
    const r = readArchive(cut, 'cut.zip');
    expect(r.files.map((f) => f.path)).toEqual(['one.py', 'two.js']);
    expect(r.skipped).toEqual([{ path: 'three.rs', reason: 'corrupt', detail: expect.stringMatching(/^truncated: \d+ of \d+ compressed bytes present$/) as unknown as string }]);
    expect(r.warnings.some((w) => w.includes('no end-of-central-directory record'))).toBe(true);
  });

  it('finds entries written with data descriptors when only local headers are left', () => {
    const zip = buildZip([
      { name: 'dd1.py', data: 'a = 1\n', dataDescriptor: true },
      { name: 'dd2.go', data: 'package a\n', dataDescriptor: true, method: 0 },
    ]);
    const cut = zip.subarray(0, centralDirectoryOffset(zip));
    const r = readArchive(cut, 'dd.zip');
    expect(r.files.map((f) => [f.path, new TextDecoder().decode(f.bytes)])).toEqual([
      ['dd1.py', 'a = 1\n'],
      ['dd2.go', 'package a\n'],
    ]);
  });

  it('detects a corrupted entry by its CRC-32', () => {
    const zip = buildZip([{ name: 'a.py', data: 'abcdef\n', method: 0 }, { name: 'b.py', data: 'x = 1\n' }]);
    zip[30 + 4 + 2] ^= 0x01; // a byte inside a.py's stored data
    const r = readArchive(zip, 'crc.zip');
    expect(r.files.map((f) => f.path)).toEqual(['b.py']);
    expect(r.skipped).toEqual([{ path: 'a.py', reason: 'corrupt', detail: 'CRC-32 mismatch' }]);
  });

  it('crc32 matches zlib', () => {
    for (const n of [0, 1, 3, 4, 5, 1000, 65_537]) {
      const b = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
      expect(crc32(b)).toBe(zlibCrc32(b));
    }
  });

  it('refuses empty input, empty archives, random bytes and unsupported formats with clear errors', () => {
    expect(expectArchiveError(() => readArchive(new Uint8Array(0), 'empty.zip'), 'empty').message).toBe('empty.zip is empty (0 bytes)');
    expectArchiveError(() => readArchive(buildZip([]), 'none.zip'), 'empty');
    expectArchiveError(() => readArchive(zipSync({ 'dir/': new Uint8Array(0) }), 'dirs.zip'), 'empty');
    const random = new Uint8Array(4096).map((_, i) => (i * 2654435761 + 12345) >>> 23);
    expect(expectArchiveError(() => readArchive(random, 'random.zip'), 'not-an-archive').message).toMatch(/random\.zip is not a zip, tar or tar\.gz archive/);
    expectArchiveError(() => readArchive(gzipSync(strToU8('just text, not a tar')), 'x.tar.gz'), 'not-an-archive');
    expectArchiveError(() => readArchive(new Uint8Array(10240), 'zeros.tar'), 'empty');
  });
});

describe('tar and tar.gz', () => {
  it('reads a .tar.gz written by the tar package: pax long names, symlinks skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'archive-test-'));
    tmpDirs.push(dir);
    const longDir = `d${'x'.repeat(120)}`;
    mkdirSync(join(dir, 'proj', longDir), { recursive: true });
    writeFileSync(join(dir, 'proj', longDir, 'deep.py'), 'def deep():\n    pass\n');
    writeFileSync(join(dir, 'proj', 'main.rb'), 'def main; end\n');
    writeFileSync(join(dir, 'proj', 'notes.txt'), 'notes');
    symlinkSync('main.rb', join(dir, 'proj', 'alias.rb'));
    symlinkSync('/etc/passwd', join(dir, 'proj', 'passwd.py'));
    const out = join(dir, 'proj.tar.gz');
    await tarCreate({ gzip: true, cwd: dir, file: out, portable: true }, ['proj']);
    const r = readArchive(new Uint8Array(readFileSync(out)), 'proj.tar.gz');
    expect(r.format).toBe('tar.gz');
    expect(r.files.map((f) => f.path).sort()).toEqual([`proj/${longDir}/deep.py`, 'proj/main.rb']);
    expect(text(r, `proj/${longDir}/deep.py`)).toBe('def deep():\n    pass\n');
    expect(reasons(r)).toEqual({ 'proj/alias.rb': 'symlink', 'proj/passwd.py': 'symlink', 'proj/notes.txt': 'not-source' });
    expect(r.warnings).toEqual([]);
  });

  it('reads hand-written tar: GNU long names, links, devices, traversal, and a cut-off entry', () => {
    const long = `src/${'n'.repeat(150)}.go`;
    const tar = buildTar([
      { name: '././@LongLink', type: 'L', data: long + '\0' },
      { name: long.slice(0, 100), data: 'package n\n' },
      { name: 'hard.py', type: '1', linkname: 'x.py' },
      { name: 'fifo.py', type: '6' },
      { name: '../up.py', data: 'x = 1\n' },
      { name: '/abs.py', data: 'x = 1\n' },
      { name: 'dir/', type: '5' },
      { name: 'ok.java', data: 'class A {}\n' },
    ]);
    const r = readArchive(tar, 'hand.tar');
    expect(r.format).toBe('tar');
    expect(r.files.map((f) => f.path)).toEqual([long, 'ok.java']);
    expect(r.skipped.map((s) => [s.path, s.reason])).toEqual([
      ['hard.py', 'symlink'],
      ['fifo.py', 'not-source'],
      ['../up.py', 'path-traversal'],
      ['/abs.py', 'absolute-path'],
    ]);
    expectSafePaths(r);
    // Cut inside ok.java's data.
    const headerOfOk = tar.length - 1024 - 1024;
    const cut = readArchive(tar.subarray(0, headerOfOk + 512 + 4), 'cut.tar');
    expect(cut.files.map((f) => f.path)).toEqual([long]);
    expect(cut.skipped.at(-1)).toEqual({ path: 'ok.java', reason: 'corrupt', detail: 'truncated: 4 of 11 bytes present' });
    expect(cut.warnings[0]).toMatch(/truncated inside an entry/);
  });

  it('stops at a damaged header and keeps what came before', () => {
    const tar = buildTar([{ name: 'a.py', data: 'a = 1\n' }, { name: 'b.py', data: 'b = 2\n' }]);
    tar[1024 + 10] ^= 0xff; // inside b.py's header name: its checksum no longer matches
    const r = readArchive(tar, 'bad.tar');
    expect(r.files.map((f) => f.path)).toEqual(['a.py']);
    expect(r.warnings).toEqual(['tar header at byte 1024 has a bad checksum: stopped reading there']);
  });

  it('refuses a .tar.gz bomb while inflating, whatever its gzip trailer says, and honours the budget', () => {
    const zeros = new Uint8Array(64 * 1024 * 1024);
    const tar = new Uint8Array(512 + zeros.length + 1024);
    tar.set(tarHeader({ name: 'zeros.py', declaredSize: zeros.length }));
    const gz = gzipSync(tar, { level: 6 });
    expect(gz.length).toBeLessThan(200 * 1024);
    expectArchiveError(() => readArchive(gz, 'bomb.tar.gz'), 'bomb');
    const lying = gz.slice();
    lying.set([0, 0, 0, 0], lying.length - 4); // a trailer that says 0 bytes
    const t0 = performance.now();
    expectArchiveError(() => readArchive(lying, 'liar.tar.gz'), 'bomb');
    expect(performance.now() - t0).toBeLessThan(2000);
    const small = gzipSync(buildTar([{ name: 'a.py', data: 'a = 1\n'.repeat(400) }, { name: 'b.py', data: 'b = 2\n'.repeat(400) }]));
    const r = readArchive(small, 'budget.tar.gz', { maxTotalBytes: 3000 });
    expect(r.files.map((f) => f.path)).toEqual(['a.py']);
    expect(r.skipped.map((s) => [s.path, s.reason])).toEqual([['b.py', 'limit']]);
  });

  it('reports a truncated .tar.gz with what it could read', () => {
    const gz = gzipSync(buildTar([{ name: 'a.py', data: 'a = 1\n' }, { name: 'big.py', data: 'x = [' + '1, '.repeat(50_000) + ']\n' }]), { level: 0 });
    const r = readArchive(gz.subarray(0, Math.floor(gz.length / 2)), 'cut.tar.gz');
    expect(r.files.map((f) => f.path)).toEqual(['a.py']);
    expect(r.skipped.map((s) => [s.path, s.reason])).toEqual([['big.py', 'corrupt']]);
    expect(r.warnings.join(' ')).toMatch(/gzip stream is corrupt|truncated/);
  });
});
