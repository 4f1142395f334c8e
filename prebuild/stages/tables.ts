// Stage 2: tables. Reads every repository part and writes the relational core of the data set:
// repos.parquet, skipped.parquet and functions-NNNNN.parquet with dense ids sorted by
// (repository, path, line), so a shard and its row groups cover contiguous id ranges.
import { join } from 'node:path';
import { FUNCTIONS_COLUMNS, FUNCTIONS_ROW_GROUP_ROWS, REPOS_COLUMNS, SKIPPED_COLUMNS, TABLE } from '../../src/core/data/schema.ts';
import { sqlList, type Db } from '../duckdb.ts';
import { writeParquet, writeShardedById } from '../parquet.ts';
import { createProgress } from '../progress.ts';
import { emptyOutputs, type StageOutputs } from '../state.ts';
import type { RepoPart } from './extract.ts';

export interface TablesOptions {
  outDir: string;
  shardRows: number;
  rowGroupRows?: number;
  quiet?: boolean;
}

const FUNCTION_JSON_COLUMNS = `{
  repo: 'VARCHAR', path: 'VARCHAR', qualname: 'VARCHAR', name: 'VARCHAR', kind: 'VARCHAR', is_async: 'BOOLEAN',
  lang: 'VARCHAR', start_line: 'UINTEGER', end_line: 'UINTEGER', args: 'VARCHAR[]', args_types: 'VARCHAR[]',
  args_defaults: 'VARCHAR[]', body: 'VARCHAR', docstring: 'VARCHAR', docstyle: 'VARCHAR', n_chars: 'UINTEGER',
  n_lines: 'UINTEGER', content_hash: 'VARCHAR'
}`;

const REPO_JSON_COLUMNS = `{
  name: 'VARCHAR', source: 'VARCHAR', files: 'UINTEGER', functions: 'UINTEGER', skipped: 'UINTEGER', bytes: 'BIGINT',
  url: 'VARCHAR', version: 'VARCHAR', license: 'VARCHAR', topics: 'VARCHAR[]', stars: 'INTEGER'
}`;

const SKIPPED_JSON_COLUMNS = `{ repo: 'VARCHAR', path: 'VARCHAR', reason: 'VARCHAR', detail: 'VARCHAR' }`;

const names = (cols: readonly { name: string }[]): string => cols.map((c) => c.name).join(', ');

/** Loads the parts into DuckDB tables `repos`, `functions`, `skipped` (left open for later stages). */
export async function loadParts(db: Db, parts: RepoPart[]): Promise<void> {
  const files = (f: string) => sqlList(parts.map((p) => join(p.dir, f)));
  const json = (f: string, columns: string, extra = '') =>
    parts.length === 0
      ? `(SELECT * FROM read_json('/dev/null', columns=${columns}, format='newline_delimited') LIMIT 0)`
      : `read_json(${files(f)}, columns=${columns}, format='newline_delimited'${extra})`;
  // Functions can be 800k characters long: raise the per-object limit well above that.
  await db.exec(`CREATE OR REPLACE TEMP TABLE fn_raw AS SELECT * FROM ${json('functions.jsonl', FUNCTION_JSON_COLUMNS, ', maximum_object_size=268435456')}`);
  await db.exec(`CREATE OR REPLACE TEMP TABLE repo_raw AS SELECT * FROM ${json('repo.json', REPO_JSON_COLUMNS)}`);
  await db.exec(`CREATE OR REPLACE TEMP TABLE skipped_raw AS SELECT * FROM ${json('skipped.jsonl', SKIPPED_JSON_COLUMNS)}`);
  await db.exec(`CREATE OR REPLACE TABLE repos AS
    SELECT (row_number() OVER (ORDER BY name) - 1)::UINTEGER AS repo_id, name, url, version, license,
           coalesce(topics, []::VARCHAR[]) AS topics, stars, source, files, functions, bytes
    FROM repo_raw`);
  await db.exec(`CREATE OR REPLACE TEMP TABLE file_ids AS
    SELECT repo, path, (row_number() OVER (ORDER BY repo, path) - 1)::UINTEGER AS file_id
    FROM (SELECT DISTINCT repo, path FROM fn_raw)`);
  await db.exec(`CREATE OR REPLACE TABLE functions AS
    SELECT (row_number() OVER (ORDER BY f.repo, f.path, f.start_line, f.end_line, f.qualname) - 1)::UINTEGER AS id,
           r.repo_id, fi.file_id, f.path, f.qualname, f.name, f.kind, f.is_async, f.lang, f.start_line, f.end_line,
           f.args, f.args_types, f.args_defaults, f.body, f.docstring, f.docstyle, f.n_chars, f.n_lines, f.content_hash
    FROM fn_raw f JOIN repos r ON r.name = f.repo JOIN file_ids fi ON fi.repo = f.repo AND fi.path = f.path`);
  await db.exec(`CREATE OR REPLACE TABLE skipped AS
    SELECT r.repo_id, s.path, s.reason, coalesce(s.detail, '') AS detail
    FROM skipped_raw s JOIN repos r ON r.name = s.repo ORDER BY r.repo_id, s.path`);
  await db.exec('DROP TABLE fn_raw; DROP TABLE repo_raw; DROP TABLE skipped_raw; DROP TABLE file_ids');
}

/**
 * Test hook for the resume-after-kill test: with PREBUILD_TEST_STALL=tables-after-first-shard the
 * stage stops after its first shard, so the test can kill the process at a known point mid-stage.
 */
async function stallForTest(shard: number): Promise<void> {
  if (shard === 0 && process.env.PREBUILD_TEST_STALL === 'tables-after-first-shard') {
    process.stderr.write('tables: stalling for test\n');
    await new Promise(() => {});
  }
}

export async function runTables(db: Db, parts: RepoPart[], opts: TablesOptions): Promise<StageOutputs> {
  const expected = parts.reduce((n, p) => n + p.functions, 0);
  const loading = createProgress({ label: 'tables: load and sort', total: expected, unit: 'functions', quiet: opts.quiet });
  await loadParts(db, parts);
  loading.tick(expected);
  loading.done();
  const out = emptyOutputs();
  const [{ repos, functions, skipped, files }] = (await db.run(`SELECT
      (SELECT count(*) FROM repos)::DOUBLE AS repos,
      (SELECT count(*) FROM functions)::DOUBLE AS functions,
      (SELECT count(*) FROM skipped)::DOUBLE AS skipped,
      (SELECT coalesce(sum(files), 0) FROM repos)::DOUBLE AS files`)) as Record<string, number>[];
  out.tables[TABLE.repos] = [
    await writeParquet(db, `SELECT ${names(REPOS_COLUMNS)} FROM repos ORDER BY repo_id`, opts.outDir, 'repos.parquet', {
      rowGroupRows: 4096,
      rows: repos,
    }),
  ];
  out.tables[TABLE.skipped] = [
    await writeParquet(db, `SELECT ${names(SKIPPED_COLUMNS)} FROM skipped`, opts.outDir, 'skipped.parquet', {
      rowGroupRows: 4096,
      rows: skipped,
    }),
  ];
  const writing = createProgress({ label: 'tables: write functions shards', total: Math.ceil(functions / opts.shardRows), unit: 'shards', quiet: opts.quiet });
  out.tables[TABLE.functions] = await writeShardedById(db, 'functions', names(FUNCTIONS_COLUMNS), opts.outDir, TABLE.functions, {
    shardRows: opts.shardRows,
    rowGroupRows: opts.rowGroupRows ?? FUNCTIONS_ROW_GROUP_ROWS,
    afterShard: async (index) => {
      writing.tick(1);
      await stallForTest(index);
    },
  });
  writing.done();
  out.facts = { repos, functions, skipped_files: skipped, files };
  return out;
}
