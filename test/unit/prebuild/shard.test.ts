// `prebuild --shard i/n` + `--merge`: slices built as independent jobs (separate caches, as on
// separate machines) and merged give a data set byte-identical to a single-machine build of the same
// sources, for n = 2 and n = 3; a merge with a missing, doubled or mismatched slice fails with one line.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseShardSpec, shardOfRepo, type SliceManifest } from '../../../prebuild/shard.ts';
import { sha256File } from '../../../prebuild/fsutil.ts';
import { readManifest, runCli, STDLIB } from './cli-helpers.ts';

// Small settings (the VAE on one thread, so its map is byte-identical run to run).
const FAST = [
  '--embed-dim', '16', '--vocab', '3000', '--svd-sample', '800', '--workers', '2', '--shard-rows', '1000',
  '--layouts', 'vae-3,pca-2', '--vae-epochs', '2', '--vae-sample', '2000', '--vae-workers', '1', '--ks', '4,8', '--quiet',
];
const REPOS = ['json', 'email', 'logging', 'wsgiref', 'xmlrpc', 'urllib', 'concurrent'];

let work: string;
let corpus: string;
let single: string;

async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, path)));
    else out.push(path);
  }
  return out.sort();
}

async function buildSlices(n: number, name: string): Promise<string> {
  const root = join(work, name);
  for (let i = 0; i < n; i++) {
    const r = await runCli(['--source', `dir:${corpus}`, '--shard', `${i}/${n}`, '--out', join(root, `slice-${i}`), '--cache', join(work, `cache-${name}-${i}`), '--workers', '2', '--quiet']);
    expect(r.stderr).not.toContain('prebuild: error');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Slice ${i}/${n} written`);
  }
  return root;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-shard-'));
  corpus = join(work, 'corpus');
  for (const name of REPOS) await cp(join(STDLIB, name), join(corpus, name), { recursive: true });
  await writeFile(join(corpus, 'json', 'broken_syntax.py'), 'def ok():\n    return 1\n\ndef broken(:\n    pass\n');
  single = join(work, 'single');
  const r = await runCli(['--source', `dir:${corpus}`, '--out', single, '--cache', join(work, 'cache-single'), ...FAST]);
  if (r.code !== 0) throw new Error(`single-machine build failed: ${r.stderr}`);
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('shard spec and assignment', () => {
  test('parses i/n counted from 0 and refuses anything else with a clear message', () => {
    expect(parseShardSpec('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShardSpec(' 3 / 4 ')).toEqual({ index: 3, count: 4 });
    expect(() => parseShardSpec('4/4')).toThrow(/from 0 to 3/);
    expect(() => parseShardSpec('1/0')).toThrow(/n must be from 1/);
    expect(() => parseShardSpec('-1/4')).toThrow(/takes i\/n/);
    expect(() => parseShardSpec('a/b')).toThrow(/takes i\/n/);
    expect(() => parseShardSpec('2')).toThrow(/takes i\/n/);
  });

  test('a repository lands in one slice, the same on every call, and slices are balanced', () => {
    const names = Array.from({ length: 4000 }, (_, i) => `python3-pkg-${i}`);
    for (const n of [1, 2, 3, 7]) {
      const counts = new Array<number>(n).fill(0);
      for (const name of names) {
        const s = shardOfRepo(name, n);
        expect(s).toBe(shardOfRepo(name, n));
        expect(s >= 0 && s < n).toBe(true);
        counts[s]!++;
      }
      // Within 15% of an even split.
      for (const c of counts) expect(Math.abs(c - names.length / n)).toBeLessThan(0.15 * (names.length / n));
    }
  });
});

describe('prebuild --shard + --merge', () => {
  for (const n of [2, 3]) {
    test(`n=${n}: slices are disjoint and complete, and the merge is byte-identical to a single-machine build`, async () => {
      const root = await buildSlices(n, `s${n}`);
      const slices: SliceManifest[] = [];
      for (let i = 0; i < n; i++) slices.push(JSON.parse(await readFile(join(root, `slice-${i}`, 'slice.json'), 'utf8')) as SliceManifest);
      const names = slices.flatMap((s) => s.parts.map((p) => p.name));
      expect(new Set(names).size).toBe(names.length);
      expect([...names].sort()).toEqual([...REPOS].sort());
      for (const s of slices) for (const p of s.parts) expect(shardOfRepo(p.name, n)).toBe(s.shard.index);

      const out = join(work, `merged-${n}`);
      // The slice folders named one by one (n=2) or by the folder holding them (n=3).
      const mergeArgs = n === 2 ? slices.flatMap((_, i) => ['--merge', join(root, `slice-${i}`)]) : ['--merge', root];
      const r = await runCli([...mergeArgs, '--out', out, '--cache', join(work, `cache-merge-${n}`), ...FAST]);
      expect(r.stderr).not.toContain('prebuild: error');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('merge-slices');
      expect(r.stdout).not.toMatch(/^\s+extract\s/m);

      expect(await readFile(join(out, 'manifest.json'), 'utf8')).toBe(await readFile(join(single, 'manifest.json'), 'utf8'));
      const files = await listFiles(out);
      expect(files).toEqual(await listFiles(single));
      for (const f of files) expect(await sha256File(join(out, f)), f).toBe(await sha256File(join(single, f)));
      const m = await readManifest(out);
      expect(m.sources).toEqual([`dir:${corpus}`]);
      expect(m.counts.repos).toBe(REPOS.length);
    }, 600_000);
  }

  test('a missing, doubled, unfinished or mismatched slice fails the merge with one line', async () => {
    const root = join(work, 's2');
    const expectFail = async (args: string[], pattern: RegExp) => {
      const r = await runCli([...args, '--out', join(work, 'bad-merge'), '--cache', join(work, 'cache-bad'), ...FAST]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    };
    await expectFail(['--merge', join(root, 'slice-0')], /missing slice\(s\) 1\/2/);
    await expectFail(['--merge', join(root, 'slice-0'), '--merge', join(root, 'slice-0')], /given twice/);
    await expectFail(['--merge', join(root, 'slice-0'), '--merge', join(work, 's3', 'slice-1')], /disagree on n/);
    await expectFail(['--merge', join(work, 'nowhere')], /no such folder/);
    await expectFail(['--merge', corpus], /neither a slice/);
    await expectFail(['--merge', root, '--source', 'python-stdlib'], /drop --source/);

    // A slice whose part was removed after it was written.
    const broken = join(work, 's2-broken');
    await cp(root, broken, { recursive: true });
    const slice = JSON.parse(await readFile(join(broken, 'slice-1', 'slice.json'), 'utf8')) as SliceManifest;
    await rm(join(broken, 'slice-1', slice.parts[0]!.dir, 'repo.json'));
    await expectFail(['--merge', broken], /missing or unfinished/);

    // Slices built from different sources.
    const other = join(work, 's2-other');
    await cp(root, other, { recursive: true });
    const s0 = JSON.parse(await readFile(join(other, 'slice-0', 'slice.json'), 'utf8')) as SliceManifest;
    await writeFile(join(other, 'slice-0', 'slice.json'), JSON.stringify({ ...s0, sources: ['python-stdlib'] }));
    await expectFail(['--merge', other], /disagree on the sources/);

    const bad = await runCli(['--source', `dir:${corpus}`, '--shard', '2/2', '--out', join(work, 'bad-shard')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/i must be from 0 to 1/);
    const noOut = await runCli(['--source', `dir:${corpus}`, '--shard', '0/2']);
    expect(noOut.code).not.toBe(0);
    expect(noOut.stderr).toMatch(/--shard needs --out/);
  }, 300_000);
});
