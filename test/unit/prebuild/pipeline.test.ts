// The prebuild CLI as scripts use it: real sources (stdlib folders copied as repositories), real
// extraction, real DuckDB Parquet. Includes killing the process mid-stage and resuming.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FUNCTIONS_COLUMNS, REPOS_COLUMNS } from '../../../src/core/data/schema.ts';
import { sha256File } from '../../../prebuild/fsutil.ts';
import { cli, parquetList, query, readManifest, runCli, STDLIB } from './cli-helpers.ts';

// Small, fast embedding and layout settings: these tests are about the pipeline, not embedding
// or map quality.
const FAST = ['--embed-dim', '16', '--vocab', '3000', '--svd-sample', '800', '--workers', '2', '--vae-epochs', '3'];
// Whole prebuild runs (every stage, real DuckDB, worker threads): minutes on a busy 2-core machine.
const RUN_TIMEOUT = 300_000;
const REPOS = ['json', 'email', 'logging', 'concurrent', 'http', 'wsgiref', 'xmlrpc', 'urllib'];

let work: string;
let corpus: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-pipeline-'));
  corpus = join(work, 'corpus');
  for (const name of REPOS) await cp(join(STDLIB, name), join(corpus, name), { recursive: true });
  // One repository with a file that does not parse and one that is not UTF-8: they are skipped, not fatal.
  await writeFile(join(corpus, 'json', 'broken_syntax.py'), 'def ok():\n    return 1\n\ndef broken(:\n    pass\n');
  await writeFile(join(corpus, 'json', 'latin.py'), Buffer.from([0x64, 0x65, 0x66, 0x20, 0xe9, 0x28, 0x29, 0x3a, 0x0a]));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('prebuild CLI', () => {
  test('--help documents every flag and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--source', '--out', '--cache', '--workers', '--max-file-bytes', '--shard-rows', '--embed-dim', '--vocab', '--svd-sample', '--seed', '--force', '--quiet']) {
      expect(r.stdout).toContain(flag);
    }
    for (const kind of ['python-stdlib', 'dir:', 'archive:', 'debian:', 'github:', 'pypi-top:']) expect(r.stdout).toContain(kind);
  });

  test('a bad source or flag fails with a non-zero code and a one-line reason', async () => {
    const missing = await runCli(['--source', `dir:${join(work, 'nope')}`, '--out', join(work, 'bad-out'), '--cache', join(work, 'bad-cache')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^prebuild: error: .*nope/);
    const unknown = await runCli(['--source', 'ftp:x']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    const badFlag = await runCli(['--shard-rows', 'many']);
    expect(badFlag.code).not.toBe(0);
    expect(badFlag.stderr).toContain('--shard-rows');
  });

  test('writes the data set: manifest, repos, sharded functions with the schema columns', async () => {
    const out = join(work, 'out-a');
    const r = await runCli(['--source', `dir:${corpus}`, '--out', out, '--cache', join(work, 'cache-a'), '--shard-rows', '1000', ...FAST]);
    expect(r.stderr).not.toContain('prebuild: error');
    expect(r.code).toBe(0);
    const m = await readManifest(out);
    expect(m.counts.repos).toBe(REPOS.length);
    expect(m.counts.skipped_files).toBeGreaterThanOrEqual(2);
    expect(m.tables.functions.length).toBeGreaterThan(1);
    expect(m.tables.functions.map((f) => f.path)).toEqual(m.tables.functions.map((_, i) => `functions-${String(i).padStart(5, '0')}.parquet`));

    // Every file the manifest names exists with that size and sha256.
    const named = [...Object.values(m.tables).flat(), ...Object.values(m.models).flat(), ...(m.stats ? [m.stats] : [])];
    for (const f of named) expect(await sha256File(join(out, f.path)), f.path).toBe(f.sha256);

    const cols = await query<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${parquetList(out, m, 'functions')})`);
    expect(cols.map((c) => c.column_name)).toEqual(FUNCTIONS_COLUMNS.map((c) => c.name));
    const repoCols = await query<{ column_name: string }>(`DESCRIBE SELECT * FROM '${join(out, 'repos.parquet')}'`);
    expect(repoCols.map((c) => c.column_name)).toEqual(REPOS_COLUMNS.map((c) => c.name));

    // Ids are dense and sorted across shards, and each shard's id range is what the manifest says.
    const [ids] = await query<{ n: number; lo: number; hi: number; sorted: boolean }>(
      `SELECT count(*)::INT AS n, min(id)::INT AS lo, max(id)::INT AS hi,
              bool_and(id = prev + 1 OR prev IS NULL) AS sorted
       FROM (SELECT id, lag(id) OVER () AS prev FROM read_parquet(${parquetList(out, m, 'functions')}))`,
    );
    expect(ids).toEqual({ n: m.counts.functions, lo: 0, hi: m.counts.functions - 1, sorted: true });
    for (const f of m.tables.functions) {
      const [range] = await query<{ lo: number; hi: number; n: number }>(`SELECT min(id)::INT lo, max(id)::INT hi, count(*)::INT n FROM '${join(out, f.path)}'`);
      expect(range).toEqual({ lo: f.id_min, hi: f.id_max, n: f.rows });
    }

    // Paths are relative to the repository root; repos map ids to names; counts add up.
    const repos = await query<{ name: string; functions: number; files: number }>(`SELECT name, functions::INT AS functions, files::INT AS files FROM '${join(out, 'repos.parquet')}' ORDER BY repo_id`);
    expect(repos.map((x) => x.name)).toEqual([...REPOS].sort());
    expect(repos.reduce((s, x) => s + x.functions, 0)).toBe(m.counts.functions);
    const [paths] = await query<{ bad: number }>(`SELECT count(*) FILTER (WHERE path LIKE '/%' OR path LIKE '%..%')::INT AS bad FROM read_parquet(${parquetList(out, m, 'functions')})`);
    expect(paths.bad).toBe(0);
    const [enc] = await query<{ body: string; docstring: string | null; kind: string }>(
      `SELECT body, docstring, kind FROM read_parquet(${parquetList(out, m, 'functions')}) f JOIN '${join(out, 'repos.parquet')}' r USING (repo_id)
       WHERE r.name = 'json' AND f.path = 'decoder.py' AND f.qualname = 'JSONDecoder.decode'`,
    );
    expect(enc.kind).toBe('method');
    expect(enc.body).toMatch(/^ *def decode\(self, s, _w=WHITESPACE.match\):\n/);
    expect(enc.body.trimEnd().endsWith('return obj')).toBe(true);
    expect(enc.docstring).toMatch(/^Return the Python representation of ``s``/);

    // The broken files were recorded as skipped with reasons; the good function beside them was not lost.
    const skipped = await query<{ path: string; reason: string }>(`SELECT path, reason FROM '${join(out, 'skipped.parquet')}' ORDER BY path`);
    expect(skipped).toEqual(expect.arrayContaining([
      { path: 'broken_syntax.py', reason: 'syntax-error' },
      { path: 'latin.py', reason: 'not-utf8' },
    ]));

    // The rest of the data set: stats, vectors and the first layout, one row per function.
    const stats = JSON.parse(await readFile(join(out, 'stats.json'), 'utf8'));
    expect(stats.totals.functions).toBe(m.counts.functions);
    expect(m.embeddings[0].dim).toBe(16);
    const [vec] = await query<{ n: number; len: number }>(`SELECT count(*)::INT n, min(octet_length(embedding))::INT len FROM read_parquet(${parquetList(out, m, m.embeddings[0].table)})`);
    expect(vec).toEqual({ n: m.counts.functions, len: 16 });
    const layout = m.layouts[0];
    const [lay] = await query<{ n: number; out_of_bounds: number }>(
      `SELECT count(*)::INT n, count(*) FILTER (WHERE x < ${layout.bounds.min[0]} OR x > ${layout.bounds.max[0]} OR y < ${layout.bounds.min[1]} OR y > ${layout.bounds.max[1]})::INT out_of_bounds
       FROM read_parquet(${parquetList(out, m, layout.table)})`,
    );
    expect(lay).toEqual({ n: m.counts.functions, out_of_bounds: 0 });
  }, RUN_TIMEOUT);

  test('a rerun with unchanged inputs skips every stage and writes a byte-identical manifest', async () => {
    const out = join(work, 'out-a');
    const before = await readFile(join(out, 'manifest.json'));
    const r = await runCli(['--source', `dir:${corpus}`, '--out', out, '--cache', join(work, 'cache-a'), '--shard-rows', '1000', ...FAST]);
    expect(r.code).toBe(0);
    for (const stage of ['tables', 'stats', 'embed', 'layout']) expect(r.stderr).toContain(`${stage}: unchanged`);
    expect((await readFile(join(out, 'manifest.json'))).equals(before)).toBe(true);
  }, RUN_TIMEOUT);

  test('killed mid-extract and mid-tables, a rerun resumes to the same data set as a clean run', async () => {
    const args = (name: string) => ['--source', `dir:${corpus}`, '--out', join(work, `out-${name}`), '--cache', join(work, `cache-${name}`), '--shard-rows', '1000', ...FAST, '--workers', '1'];

    // Kill during extraction, once at least one repository part is complete and others are not.
    const partsRoot = join(work, 'cache-k', 'work');
    const child = cli(args('k'));
    const killedDuringExtract = await new Promise<boolean>((resolve) => {
      const timer = setInterval(async () => {
        try {
          const [wd] = await readdir(partsRoot);
          const parts = await readdir(join(partsRoot, wd, 'parts'));
          const complete = parts.filter((p) => !p.includes('.tmp-'));
          if (complete.length >= 1 && complete.length < REPOS.length) {
            clearInterval(timer);
            child.kill('SIGKILL');
            resolve(true);
          }
        } catch {
          /* not created yet */
        }
      }, 20);
      child.on('close', () => {
        clearInterval(timer);
        resolve(false);
      });
    });
    expect(killedDuringExtract).toBe(true);

    // Kill inside the tables stage: it stalls after writing its first shard (test hook), and is killed there.
    // The second run also resumes extraction: it reuses the parts the first run completed.
    const stalled = cli(args('k'), { PREBUILD_TEST_STALL: 'tables-after-first-shard' });
    let stalledLog = '';
    await new Promise<void>((resolve) => {
      stalled.stderr?.on('data', (d: Buffer) => {
        stalledLog += d.toString();
        if (stalledLog.includes('stalling for test')) resolve();
      });
    });
    stalled.kill('SIGKILL');
    expect(stalledLog).toMatch(/extract: .* \(\d+ reused\)/);
    expect(stalledLog).not.toMatch(/\(0 reused\)/);
    expect((await readdir(join(work, 'out-k'))).some((f) => f.startsWith('functions-00000.parquet'))).toBe(true);

    const resumed = await runCli(args('k'));
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).not.toContain('tables: unchanged');
    const clean = await runCli(args('clean'));
    expect(clean.code).toBe(0);

    const a = await readFile(join(work, 'out-k', 'manifest.json'), 'utf8');
    const b = await readFile(join(work, 'out-clean', 'manifest.json'), 'utf8');
    expect(a).toBe(b);
    const m = await readManifest(join(work, 'out-k'));
    const [dups] = await query<{ n: number; distinct_keys: number }>(
      `SELECT count(*)::INT n, count(DISTINCT (repo_id, path, qualname, start_line))::INT distinct_keys FROM read_parquet(${parquetList(join(work, 'out-k'), m, 'functions')})`,
    );
    expect(dups.n).toBe(dups.distinct_keys);
    expect((await readdir(join(work, 'out-k'))).filter((f) => f.includes('.tmp-'))).toEqual([]);
  }, RUN_TIMEOUT);
});
