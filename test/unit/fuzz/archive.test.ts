// Fuzz: the upload archive reader (src/core/upload/archive.ts readArchive) on 3,000 seeded mutations
// of real archives — standard-library files packed as zip (deflated and stored, by fflate), tar and
// tar.gz — plus random bytes: bit flips, overwrites, truncations, insertions, splices. Zero crashes:
// every case returns a result whose files have safe normalised paths within the limits, or throws
// ArchiveError with a documented code and a message naming the upload; nothing else is thrown and
// no case takes longer than the per-case bound.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zipSync, type Zippable } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError, readArchive, type ArchiveLimits, type ArchiveReadResult } from '../../../src/core/upload/archive.ts';
import { STDLIB } from '../prebuild/cli-helpers.ts';
import { buildTar } from '../upload/archive-helpers.ts';
import { createRng, mutateBytes } from './mutate.ts';

const CASES = 3000;
const CASE_MS = 10_000;
const CODES = new Set(['empty', 'not-an-archive', 'too-large', 'bomb', 'corrupt']);
const REASONS = new Set(['path-traversal', 'absolute-path', 'symlink', 'nested-archive', 'too-large', 'ratio', 'binary', 'not-utf8', 'not-source', 'limit', 'corrupt', 'duplicate-path']);
/** Tight limits for a third of the cases, so the limit paths run on broken input too. */
const TIGHT: Partial<ArchiveLimits> = { maxTotalBytes: 96 * 1024, maxFileBytes: 24 * 1024, maxEntries: 8, maxRatio: 20 };

let archives: { name: string; bytes: Uint8Array }[];

beforeAll(() => {
  // Twelve real files from two packages, in folders, plus a README and a nested path.
  const files: Record<string, Uint8Array> = {};
  for (const pkg of ['json', 'wsgiref']) {
    for (const f of readdirSync(join(STDLIB, pkg)).filter((f) => f.endsWith('.py')).sort().slice(0, 6)) {
      const p = join(STDLIB, pkg, f);
      if (statSync(p).size < 200_000) files[`proj/${pkg}/${f}`] = new Uint8Array(readFileSync(p));
    }
  }
  files['proj/README.md'] = new TextEncoder().encode('# a project\n');
  const zippable: Zippable = Object.fromEntries(Object.entries(files));
  const tar = buildTar(Object.entries(files).map(([name, data]) => ({ name, data })));
  archives = [
    { name: 'deflated.zip', bytes: zipSync(zippable, { level: 6 }) },
    { name: 'stored.zip', bytes: zipSync(zippable, { level: 0 }) },
    { name: 'project.tar', bytes: tar },
    { name: 'project.tar.gz', bytes: gzipSync(tar, { level: 6 }) },
  ];
});

function check(r: ArchiveReadResult, limits: Partial<ArchiveLimits>, where: string): void {
  expect(['zip', 'tar', 'tar.gz'], where).toContain(r.format);
  let total = 0;
  for (const f of r.files) {
    expect(f.path, where).not.toMatch(/^\/|^[A-Za-z]:|\\|(^|\/)\.\.?(\/|$)|\/\/|\0/);
    expect(f.path.length, where).toBeGreaterThan(0);
    expect(f.bytes, where).toBeInstanceOf(Uint8Array);
    expect(f.bytes.length, where).toBeLessThanOrEqual(limits.maxFileBytes ?? 8 * 1024 * 1024);
    total += f.bytes.length;
  }
  expect(total, where).toBeLessThanOrEqual(limits.maxTotalBytes ?? 1024 * 1024 * 1024);
  expect(new Set(r.files.map((f) => f.path)).size, `${where}: duplicate paths`).toBe(r.files.length);
  for (const s of r.skipped) {
    expect(REASONS.has(s.reason), `${where}: skip reason ${s.reason}`).toBe(true);
    expect(typeof s.detail, where).toBe('string');
  }
  expect(r.warnings.every((w) => typeof w === 'string' && w.length > 0), where).toBe(true);
  expect(Number.isInteger(r.totalEntries) && r.totalEntries >= 0, where).toBe(true);
}

describe('fuzz: archive reader', () => {
  it('reads every unmutated archive whole', () => {
    for (const a of archives) {
      const r = readArchive(a.bytes, a.name);
      check(r, {}, a.name);
      expect(r.files.map((f) => f.path).filter((p) => p.endsWith('.py')).length, a.name).toBeGreaterThanOrEqual(10);
    }
  });

  it(`${CASES} mutated archives: a safe result or an ArchiveError naming the upload, nothing else`, () => {
    const rng = createRng(5150);
    const outcomes = { read: 0, errors: new Map<string, number>(), slowest: 0 };
    for (let i = 0; i < CASES; i++) {
      const a = archives[rng.int(archives.length)]!;
      const donor = archives[rng.int(archives.length)]!;
      const { bytes, steps } = mutateBytes(rng, a.bytes, donor.bytes, 4);
      const limits = rng.int(3) === 0 ? TIGHT : {};
      const where = `case ${i}: ${a.name} ${steps.join(', ')}${limits === TIGHT ? ' (tight limits)' : ''}`;
      const t0 = performance.now();
      try {
        check(readArchive(bytes, a.name, limits), limits, where);
        outcomes.read++;
      } catch (e) {
        if (!(e instanceof ArchiveError)) throw new Error(`${where}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)} (not an ArchiveError)`);
        expect(CODES.has(e.code), where).toBe(true);
        expect(e.message, where).toContain(a.name);
        outcomes.errors.set(e.code, (outcomes.errors.get(e.code) ?? 0) + 1);
      }
      const ms = performance.now() - t0;
      outcomes.slowest = Math.max(outcomes.slowest, ms);
      expect(ms, where).toBeLessThan(CASE_MS);
    }
    expect(outcomes.read).toBeGreaterThan(CASES / 10);
    expect(outcomes.errors.size).toBeGreaterThanOrEqual(2);
    console.log(`archive fuzz: ${JSON.stringify({ ...outcomes, errors: Object.fromEntries(outcomes.errors), slowest: Math.round(outcomes.slowest) })}`);
  }, 180_000);
});
