// The dedup stage through the prebuild CLI: real stdlib folders, real worker threads and tree-sitter,
// real DuckDB Parquet. Checks the dedup and dedup-bands tables against the functions table, and that
// a rerun with unchanged inputs skips the stage.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEDUP_BANDS_COLUMNS, DEDUP_COLUMNS, TABLE } from '../../../src/core/data/schema.ts';
import { PRESET_GEMINI_FUNC } from '../../../src/core/dedup/settings.ts';
import { parquetList, query, readManifest, runCli, STDLIB } from './cli-helpers.ts';

const FAST = ['--embed-dim', '16', '--vocab', '3000', '--svd-sample', '800', '--workers', '2', '--shard-rows', '300'];
const REPOS = ['json', 'logging', 'concurrent', 'wsgiref'];

let work: string;
let corpus: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-dedup-'));
  corpus = join(work, 'corpus');
  for (const name of REPOS) await cp(join(STDLIB, name), join(corpus, name), { recursive: true });
  // Exact copies across repositories (one at method indentation), so groups at both thresholds are certain.
  await cp(join(STDLIB, 'json', 'scanner.py'), join(corpus, 'wsgiref', 'scanner_copy.py'));
  const encoder = await readFile(join(STDLIB, 'json', 'encoder.py'), 'utf8');
  await writeFile(join(corpus, 'logging', 'encoder_copy.py'), encoder);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('prebuild dedup stage', () => {
  test('writes dedup and dedup-bands shards matching the functions shards; a rerun skips the stage', async () => {
    const out = join(work, 'out');
    const args = ['--source', `dir:${corpus}`, '--out', out, '--cache', join(work, 'cache'), ...FAST];
    const r = await runCli(args);
    expect(r.stderr).not.toContain('prebuild: error');
    expect(r.code).toBe(0);
    const m = await readManifest(out);
    const n = m.counts.functions;
    const fShards = m.tables[TABLE.functions];
    expect(fShards.length).toBeGreaterThan(1);

    // Shards for shard with the functions table: names, id ranges.
    const dShards = m.tables[TABLE.dedup];
    const bShards = m.tables[TABLE.dedupBands];
    expect(dShards.map((f) => f.path)).toEqual(fShards.map((_, i) => `dedup-${String(i).padStart(5, '0')}.parquet`));
    expect(bShards.map((f) => f.path)).toEqual(fShards.map((_, i) => `dedup-bands-${String(i).padStart(5, '0')}.parquet`));
    for (const [i, f] of dShards.entries()) {
      expect([f.id_min, f.id_max, f.rows]).toEqual([fShards[i].id_min, fShards[i].id_max, (fShards[i].rows ?? 0) * 2]);
      const [range] = await query<{ lo: number; hi: number; n: number; sorted: boolean }>(
        `SELECT min(id)::INT lo, max(id)::INT hi, count(*)::INT n, bool_and(pid IS NULL OR id > pid OR (id = pid AND threshold > pt)) AS sorted
         FROM (SELECT id, threshold, lag(id) OVER () AS pid, lag(threshold) OVER () AS pt FROM '${join(out, f.path)}')`,
      );
      expect(range).toEqual({ lo: f.id_min, hi: f.id_max, n: f.rows, sorted: true });
    }

    const cols = await query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${parquetList(out, m, TABLE.dedup)})`);
    expect(cols.map((c) => [c.column_name, c.column_type])).toEqual(DEDUP_COLUMNS.map((c) => [c.name, c.type]));
    const bcols = await query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${parquetList(out, m, TABLE.dedupBands)})`);
    expect(bcols.map((c) => [c.column_name, c.column_type])).toEqual(DEDUP_BANDS_COLUMNS.map((c) => [c.name, c.type]));

    // Two rows per function, one per threshold.
    const [rows] = await query<{ n: number; ids: number; t80: number; t95: number; grouped80: number; grouped95: number }>(
      `SELECT count(*)::INT n, count(DISTINCT id)::INT ids,
              count(*) FILTER (WHERE threshold < 0.9)::INT t80, count(*) FILTER (WHERE threshold > 0.9)::INT t95,
              count(group_id) FILTER (WHERE threshold < 0.9)::INT grouped80, count(group_id) FILTER (WHERE threshold > 0.9)::INT grouped95
       FROM read_parquet(${parquetList(out, m, TABLE.dedup)})`,
    );
    expect(rows).toMatchObject({ n: 2 * n, ids: n, t80: n, t95: n });
    // The looser threshold groups at least as many functions; the copies guarantee some groups.
    expect(rows.grouped95).toBeGreaterThan(10);
    expect(rows.grouped80).toBeGreaterThanOrEqual(rows.grouped95);

    // Functions with identical content share a group at both thresholds (and are in one).
    const [same] = await query<{ pairs: number; split: number }>(
      `WITH f AS (SELECT id, content_hash FROM read_parquet(${parquetList(out, m, TABLE.functions)})),
            d AS (SELECT * FROM read_parquet(${parquetList(out, m, TABLE.dedup)})),
            j AS (SELECT f.content_hash, d.threshold, d.group_id FROM f JOIN d USING (id)
                  WHERE f.content_hash IN (SELECT content_hash FROM f GROUP BY 1 HAVING count(*) > 1))
       SELECT count(*)::INT pairs,
              (SELECT count(*) FROM (SELECT content_hash, threshold FROM j GROUP BY 1, 2
                                     HAVING count(DISTINCT group_id) <> 1 OR count(group_id) <> count(*)))::INT split
       FROM j`,
    );
    expect(same.pairs).toBeGreaterThan(20);
    expect(same.split).toBe(0);

    // Band hashes: `bands` rows for every function with features, sorted by (id, band).
    const [bands] = await query<{ ids: number; per: number; bad: number }>(
      `SELECT count(*)::INT ids, max(c)::INT per, count(*) FILTER (WHERE c <> ${PRESET_GEMINI_FUNC.bands} OR bands <> c)::INT bad
       FROM (SELECT id, count(*) c, count(DISTINCT band) bands FROM read_parquet(${parquetList(out, m, TABLE.dedupBands)}) GROUP BY id)`,
    );
    expect(bands.ids).toBeGreaterThan(n * 0.95);
    expect(bands.per).toBe(PRESET_GEMINI_FUNC.bands);
    expect(bands.bad).toBe(0);

    // The rerun skips the stage and the manifest stays byte-identical.
    const before = await readFile(join(out, 'manifest.json'));
    const again = await runCli(args);
    expect(again.code).toBe(0);
    for (const stage of ['tables', 'dedup', 'embed', 'layout']) expect(again.stderr).toContain(`${stage}: unchanged`);
    expect((await readFile(join(out, 'manifest.json'))).equals(before)).toBe(true);
  }, 300_000);
});
