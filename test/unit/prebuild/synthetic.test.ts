// The synthetic data set generator (prebuild/synthetic.ts): it writes what a prebuild writes (the
// manifest validates, every file has the bytes and sha256 it names, ids are dense), the same bytes for
// the same seed, and IVF partitions that search can use: the index matches the partition-sorted shards
// row for row, and nearly every vector's nearest centroid is its own partition.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validateManifest, type Manifest } from '../../../src/core/data/manifest.ts';
import { FUNCTIONS_COLUMNS } from '../../../src/core/data/schema.ts';
import type { DatasetStats } from '../../../src/core/data/stats.ts';
import { deserializeIvf } from '../../../src/core/search/ivf.ts';
import { sha256File } from '../../../prebuild/fsutil.ts';
import { buildSynthetic } from '../../../prebuild/synthetic.ts';
import { ivfListCount } from '../../../prebuild/stages/ivf.ts';
import { parquetList, query } from './cli-helpers.ts';

const N = 70_000; // two functions shards, two IVF shards
let work: string;
let a: string;
let m: Manifest;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-synth-'));
  a = join(work, 'a');
  await buildSynthetic({ n: N, seed: 7, outDir: a, quiet: true });
  m = validateManifest(JSON.parse(await readFile(join(a, 'manifest.json'), 'utf8')));
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('synthetic data set', () => {
  test('has the data set layout: every table, counts, files with their sha256, schema columns', async () => {
    expect(m.counts.functions).toBe(N);
    expect(m.sources).toEqual([`synthetic:${N}:7`]);
    expect(m.tables.functions).toHaveLength(2);
    const info = m.embeddings[0]!;
    expect(info).toMatchObject({ model: 'tfidf-svd-256', dim: 256, dtype: 'int8', ivf: { nlist: ivfListCount(N) } });
    for (const t of ['repos', 'skipped', 'functions', info.table, info.ivf!.table, 'layout-default']) expect(m.tables[t]?.length, t).toBeGreaterThan(0);
    const named = [...Object.values(m.tables).flat(), ...Object.values(m.models).flat(), m.stats!];
    for (const f of named) expect(await sha256File(join(a, f.path)), f.path).toBe(f.sha256);

    const cols = await query<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${parquetList(a, m, 'functions')})`);
    expect(cols.map((c) => c.column_name)).toEqual(FUNCTIONS_COLUMNS.map((c) => c.name));
    const [ids] = await query<{ n: number; lo: number; hi: number; dense: boolean; len: number; documented: number; parses: boolean }>(
      `SELECT count(*)::INT AS n, min(id)::INT AS lo, max(id)::INT AS hi, bool_and(id = prev + 1 OR prev IS NULL) AS dense,
              avg(n_chars)::DOUBLE AS len, avg((docstring IS NOT NULL)::INT)::DOUBLE AS documented,
              bool_and(n_chars = length(body) AND starts_with(body, CASE WHEN is_async THEN 'async def ' ELSE 'def ' END || name || '(')) AS parses
       FROM (SELECT *, lag(id) OVER () AS prev FROM read_parquet(${parquetList(a, m, 'functions')}))`,
    );
    expect(ids).toMatchObject({ n: N, lo: 0, hi: N - 1, dense: true, parses: true });
    // Realistic sizes: a few hundred characters on average, about 40% documented.
    expect(ids!.len).toBeGreaterThan(250);
    expect(ids!.len).toBeLessThan(1500);
    expect(ids!.documented).toBeGreaterThan(0.3);
    expect(ids!.documented).toBeLessThan(0.5);

    const [repos] = await query<{ n: number; fns: number }>(`SELECT count(*)::INT AS n, sum(functions)::INT AS fns FROM '${join(a, 'repos.parquet')}'`);
    expect(repos).toEqual({ n: m.counts.repos, fns: N });
    const stats = JSON.parse(await readFile(join(a, 'stats.json'), 'utf8')) as DatasetStats;
    expect(stats.totals.functions).toBe(N);
    const [lay] = await query<{ n: number; inside: boolean }>(
      `SELECT count(*)::INT AS n, bool_and(x BETWEEN ${m.layouts[0]!.bounds.min[0]} AND ${m.layouts[0]!.bounds.max[0]}) AS inside FROM read_parquet(${parquetList(a, m, 'layout-default')})`,
    );
    expect(lay).toEqual({ n: N, inside: true });
  });

  test('IVF: the index matches the partition-sorted shards, and vectors sit nearest their own partition', async () => {
    const info = m.embeddings[0]!;
    const index = deserializeIvf(new Uint8Array(await readFile(join(a, m.models[info.ivf!.index]![0]!.path))));
    expect(index.nlist).toBe(info.ivf!.nlist);
    expect(index.ids.length).toBe(N);
    expect(index.offsets[index.nlist]).toBe(N);
    for (let p = 0; p < index.nlist; p++) expect(index.offsets[p + 1]! - index.offsets[p]!).toBeGreaterThan(0);
    const rows = await query<{ id: number; embedding: Uint8Array; scale: number }>(
      `SELECT id::INT AS id, embedding, scale::DOUBLE AS scale FROM read_parquet(${parquetList(a, m, info.ivf!.table)})`,
    );
    expect(rows.map((r) => r.id)).toEqual(Array.from(index.ids));
    // Every 37th row: its nearest centroid (L2, dequantised) is its own partition.
    let own = 0;
    let checked = 0;
    const d = index.dim;
    for (let p = 0; p < index.nlist; p++) {
      for (let r = index.offsets[p]!; r < index.offsets[p + 1]!; r += 37) {
        const codes = new Int8Array(rows[r]!.embedding.buffer, rows[r]!.embedding.byteOffset, d);
        let best = -1;
        let bestD = Infinity;
        for (let c = 0; c < index.nlist; c++) {
          let s = 0;
          for (let j = 0; j < d; j++) {
            const x = codes[j]! * rows[r]!.scale - index.centroids[c * d + j]!;
            s += x * x;
          }
          if (s < bestD) [best, bestD] = [c, s];
        }
        if (best === p) own++;
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
    expect(own / checked).toBeGreaterThan(0.95);
    // The exact-search table holds the same vectors in id order.
    const [same] = await query<{ n: number }>(
      `SELECT count(*)::INT AS n FROM read_parquet(${parquetList(a, m, info.table)}) v JOIN read_parquet(${parquetList(a, m, info.ivf!.table)}) w USING (id)
       WHERE v.embedding = w.embedding AND v.scale = w.scale`,
    );
    expect(same!.n).toBe(N);
  });

  test('the same seed writes the same bytes; another seed other ones; bad sizes are refused', async () => {
    const b1 = join(work, 'b1');
    const b2 = join(work, 'b2');
    const c = join(work, 'c');
    await buildSynthetic({ n: 3000, seed: 3, outDir: b1, quiet: true });
    await buildSynthetic({ n: 3000, seed: 3, outDir: b2, quiet: true });
    await buildSynthetic({ n: 3000, seed: 4, outDir: c, quiet: true });
    const mb1 = await readFile(join(b1, 'manifest.json'), 'utf8');
    expect(await readFile(join(b2, 'manifest.json'), 'utf8')).toBe(mb1);
    const mc = validateManifest(JSON.parse(await readFile(join(c, 'manifest.json'), 'utf8')));
    const m1 = validateManifest(JSON.parse(mb1));
    expect(mc.tables.functions[0]!.sha256).not.toBe(m1.tables.functions[0]!.sha256);
    await expect(buildSynthetic({ n: 0, seed: 1, outDir: join(work, 'z'), quiet: true })).rejects.toThrow(/--n must be/);
    await expect(buildSynthetic({ n: 10, seed: 1, dim: 3, outDir: join(work, 'z'), quiet: true })).rejects.toThrow(/--dim must be/);
  }, 300_000);
});
