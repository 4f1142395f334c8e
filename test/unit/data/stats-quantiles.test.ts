// The length quantiles are computed from the lengths' histogram (memory bounded by the distinct
// lengths, not the rows); they must equal DuckDB's quantile_disc over every row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, type Db } from '../../../prebuild/duckdb.ts';
import { STATS_SQL } from '../../../src/core/data/stats.ts';
import { createRng } from '../../../src/core/util/random.ts';

describe('length quantiles from the histogram', () => {
  let db: Db;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stats-q-'));
    db = await openDb({ tempDir: dir });
  });
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const direct = `SELECT quantile_disc(n_chars, 0.5)::DOUBLE AS p50, quantile_disc(n_chars, 0.9)::DOUBLE AS p90,
      quantile_disc(n_chars, 0.99)::DOUBLE AS p99, max(n_chars)::DOUBLE AS max FROM functions`;

  it('equals quantile_disc over every row on random tables (ties, tiny and skewed ones, NULLs)', async () => {
    const rng = createRng(4);
    for (let trial = 0; trial < 120; trial++) {
      const n = 1 + rng.int(trial < 40 ? 12 : 2000);
      const span = trial % 3 === 0 ? 5 : trial % 3 === 1 ? 100 : 100_000;
      const vals = Array.from({ length: n }, () => (rng.int(20) === 0 ? 'NULL' : String(rng.int(span))));
      await db.exec(`CREATE OR REPLACE TABLE functions AS SELECT unnest([${vals.join(',')}]::INTEGER[]) AS n_chars`);
      const [ours] = await db.run(STATS_SQL.lengthQuantiles);
      const [ref] = await db.run(direct);
      for (const k of ['p50', 'p90', 'p99', 'max']) expect(Number(ours![k]), `trial ${trial} ${k}`).toBe(Number(ref![k] ?? 0));
    }
  });

  it('gives zeros on an empty table', async () => {
    await db.exec('CREATE OR REPLACE TABLE functions (n_chars INTEGER)');
    const [ours] = await db.run(STATS_SQL.lengthQuantiles);
    expect([ours!.p50, ours!.p90, ours!.p99, ours!.max].map(Number)).toEqual([0, 0, 0, 0]);
  });
});
