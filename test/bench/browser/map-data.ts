// A synthetic data set of the real prebuild's schema for the map benchmark, written with DuckDB:
// functions shards (FUNCTIONS_COLUMNS, FUNCTIONS_SHARD_ROWS rows per shard, FUNCTIONS_ROW_GROUP_ROWS
// per row group, ZSTD, as prebuild/stages/tables.ts writes them), repos.parquet, a 3-D
// `layout-default` table (id, x, y, z, cluster; shards aligned with the functions shards, 16384-row
// groups, as prebuild/stages/layout.ts writes them) of Gaussian blobs, and manifest.json with bytes
// and sha256 of every file. Values are deterministic (hash-based), so the folder is cached by size.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { validateManifest, type Manifest, type ManifestFile } from '../../../src/core/data/manifest.ts';
import { FUNCTIONS_COLUMNS, FUNCTIONS_ROW_GROUP_ROWS, FUNCTIONS_SHARD_ROWS, LAYOUT_COLUMNS, REPOS_COLUMNS, SCHEMA_VERSION, TABLE } from '../../../src/core/data/schema.ts';

export interface MapDataOptions {
  functions: number;
  repos: number;
  clusters: number;
}

/** A uniform in [0, 1) from DuckDB's hash of (row, salt). */
const U = (expr: string, salt: number): string => `((hash(${expr}, ${salt}) >> 11)::DOUBLE / 9007199254740992.0)`;
/** A standard normal by Box-Muller from two hash uniforms. */
const G = (expr: string, salt: number): string => `(sqrt(-2 * ln(1 - ${U(expr, salt)})) * cos(2 * pi() * ${U(expr, salt + 1)}))`;

function describe(dir: string, rel: string, extra: Partial<ManifestFile> = {}): ManifestFile {
  const bytes = readFileSync(join(dir, rel));
  return { path: rel, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), ...extra };
}

/** Writes (once) and returns the data set folder for these options under `cacheDir`. */
export async function ensureMapDataSet(cacheDir: string, o: MapDataOptions): Promise<string> {
  const dir = join(cacheDir, `map-v1-${o.functions}-${o.repos}-${o.clusters}`);
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '3GB', autoload_known_extensions: 'false', autoinstall_known_extensions: 'false' });
  const conn = await instance.connect();
  const exec = async (sql: string): Promise<void> => {
    await conn.run(sql);
  };
  const q = async (sql: string): Promise<Record<string, unknown>[]> => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  try {
    const n = o.functions;
    // Functions: repositories own contiguous id ranges (ids sort by repository, path, line), 14 per file.
    await exec(`CREATE TABLE functions AS
      WITH r AS (SELECT range AS i FROM range(${n})),
      b AS (SELECT i, (i * ${o.repos} // ${n})::UINTEGER AS repo_id, (i // 14)::UINTEGER AS file_id,
                   'def f_' || i || '(self, x: int, y=0):\n    """Return x plus y scaled."""\n    total = x + y * ' || (i % 97) || '\n' || repeat('    total = total * 3 + 1\n', (i % 9)::INTEGER) || '    return total\n' AS body
            FROM r)
      SELECT i::UINTEGER AS id, repo_id, file_id,
             'pkg' || repo_id || '/sub' || (file_id % 7) || '/mod' || file_id || '.py' AS path,
             'Cls' || (i // 7) || '.f_' || i AS qualname, 'f_' || i AS name,
             CASE i % 3 WHEN 0 THEN 'function' WHEN 1 THEN 'method' ELSE 'nested' END AS kind,
             (i % 17 = 0) AS is_async, 'python' AS lang,
             ((i % 14) * 20 + 1)::UINTEGER AS start_line, ((i % 14) * 20 + 4 + (i % 9))::UINTEGER AS end_line,
             ['self', 'x', 'y'] AS args, [NULL, 'int', NULL]::VARCHAR[] AS args_types, [NULL, NULL, '0']::VARCHAR[] AS args_defaults,
             body,
             CASE WHEN i % 5 < 2 THEN 'Return x plus y scaled.' ELSE NULL END AS docstring,
             CASE WHEN i % 5 < 2 THEN 'plain' ELSE 'none' END AS docstyle,
             length(body)::UINTEGER AS n_chars, (4 + (i % 9))::UINTEGER AS n_lines, md5(body) AS content_hash
      FROM b`);
    await exec(`CREATE TABLE repos AS
      SELECT repo_id, 'pkg' || repo_id AS name, NULL::VARCHAR AS url, '1.0' AS version, 'MIT' AS license, []::VARCHAR[] AS topics,
             NULL::INTEGER AS stars, 'synthetic:map.bench' AS source, count(DISTINCT file_id)::UINTEGER AS files,
             count(*)::UINTEGER AS functions, sum(n_chars)::BIGINT AS bytes
      FROM functions GROUP BY repo_id ORDER BY repo_id`);
    // Layout: 3-D Gaussian blobs around cluster centres in [-10, 10]^3, spreads 0.3-1.2, cluster
    // sizes skewed (u^2), as k-means clusters of a real layout are.
    await exec(`CREATE TABLE centres AS SELECT range AS c, 20 * ${U('range', 11)} - 10 AS cx, 20 * ${U('range', 12)} - 10 AS cy,
                  20 * ${U('range', 13)} - 10 AS cz, 0.3 + 0.9 * ${U('range', 14)} AS s FROM range(${o.clusters})`);
    await exec(`CREATE TABLE lay AS
      WITH a AS (SELECT id, floor(${o.clusters} * pow(${U('id', 21)}, 2))::INTEGER AS cluster FROM functions)
      SELECT a.id, (c.cx + c.s * ${G('a.id', 31)})::FLOAT AS x, (c.cy + c.s * ${G('a.id', 33)})::FLOAT AS y,
             (c.cz + c.s * ${G('a.id', 35)})::FLOAT AS z, a.cluster
      FROM a JOIN centres c ON c.c = a.cluster`);
    const fnCols = FUNCTIONS_COLUMNS.map((c) => c.name).join(', ');
    const layCols = LAYOUT_COLUMNS.map((c) => c.name).join(', ');
    const repoCols = REPOS_COLUMNS.map((c) => c.name).join(', ');
    const copy = async (select: string, rel: string, rowGroup: number): Promise<void> => {
      await exec(`COPY (${select}) TO '${join(tmp, rel)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroup})`);
    };
    const tables: Manifest['tables'] = {};
    await copy(`SELECT ${repoCols} FROM repos ORDER BY repo_id`, 'repos.parquet', 4096);
    tables[TABLE.repos] = [describe(tmp, 'repos.parquet', { rows: o.repos })];
    const layoutTable = TABLE.layout('default');
    tables[TABLE.functions] = [];
    tables[layoutTable] = [];
    for (let s = 0; s * FUNCTIONS_SHARD_ROWS < n; s++) {
      const lo = s * FUNCTIONS_SHARD_ROWS;
      const hi = Math.min(n, lo + FUNCTIONS_SHARD_ROWS) - 1;
      const extent = { rows: hi - lo + 1, id_min: lo, id_max: hi };
      const fRel = `${TABLE.functions}-${String(s).padStart(5, '0')}.parquet`;
      await copy(`SELECT ${fnCols} FROM functions WHERE id BETWEEN ${lo} AND ${hi} ORDER BY id`, fRel, FUNCTIONS_ROW_GROUP_ROWS);
      tables[TABLE.functions].push(describe(tmp, fRel, extent));
      const lRel = `${layoutTable}-${String(s).padStart(5, '0')}.parquet`;
      await copy(`SELECT ${layCols} FROM lay WHERE id BETWEEN ${lo} AND ${hi} ORDER BY id`, lRel, 16384);
      tables[layoutTable].push(describe(tmp, lRel, extent));
    }
    const [b] = await q(`SELECT min(x)::DOUBLE AS x0, min(y)::DOUBLE AS y0, min(z)::DOUBLE AS z0, max(x)::DOUBLE AS x1, max(y)::DOUBLE AS y1, max(z)::DOUBLE AS z1 FROM lay`);
    const [{ files }] = (await q('SELECT count(DISTINCT file_id)::DOUBLE AS files FROM functions')) as { files: number }[];
    const widen = (v: unknown, sign: number): number => Number(v) + sign * 1e-4 * Math.max(1, Math.abs(Number(v)));
    const manifest: Manifest = {
      schema_version: SCHEMA_VERSION,
      generator: 'code-atlas map.bench synthetic data set',
      sources: ['synthetic:map.bench'],
      counts: { repos: o.repos, files, functions: n, skipped_files: 0 },
      tables: Object.fromEntries(Object.entries(tables).sort(([x], [y]) => (x < y ? -1 : 1))),
      embeddings: [],
      layouts: [
        {
          name: 'default',
          method: `synthetic: ${o.clusters} 3-D Gaussian blobs`,
          table: layoutTable,
          dims: 3,
          bounds: { min: [widen(b!.x0, -1), widen(b!.y0, -1), widen(b!.z0, -1)], max: [widen(b!.x1, 1), widen(b!.y1, 1), widen(b!.z1, 1)] },
        },
      ],
      default_layout: 'default',
      models: {},
      stats: null,
    };
    validateManifest(manifest);
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
