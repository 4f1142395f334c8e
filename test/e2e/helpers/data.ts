// The e2e data sets: a real one made by the prebuild from three small Debian packages, and broken or
// hostile copies of it.
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Manifest, ManifestFile } from '../../../src/core/data/manifest.ts';
import { FUNCTIONS_ROW_GROUP_ROWS } from '../../../src/core/data/schema.ts';
import { ROOT, run } from './site.ts';
import { ensureTinyJinaModel } from '../../fixtures/models/jina-fixture.ts';

export const FIXTURE_TSV = 'test/fixtures/e2e-packages.tsv';

/**
 * The real data set: `npm run prebuild -- --source debian:test/fixtures/e2e-packages.tsv --out DIR
 * --model-dir <generated tiny Jina-signature model>`.
 * The output folder lives under .cache/ so a rerun resumes from the prebuild's own state; set
 * ATLAS_E2E_DATA to a ready data set folder to skip the prebuild altogether.
 */
export async function prebuildDataSet(outDir: string): Promise<{ dir: string; ms: number; log: string }> {
  const given = process.env.ATLAS_E2E_DATA;
  if (given) return { dir: given, ms: 0, log: `using ATLAS_E2E_DATA=${given}` };
  const t0 = Date.now();
  // The generated random-weight model with Jina's signature and tokenizer: the data set then has
  // Jina vectors beside TF-IDF/SVD, and the site loads the model exactly as it would the real one.
  const modelDir = await ensureTinyJinaModel();
  const log = await run(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      'prebuild/cli.ts',
      '--source',
      `debian:${FIXTURE_TSV}`,
      '--out',
      outDir,
      '--model-dir',
      modelDir,
      '--quiet',
    ],
    { timeoutMs: 600_000 },
  );
  if (!existsSync(join(outDir, 'manifest.json'))) throw new Error(`the prebuild wrote no manifest.json to ${outDir}\n${log}`);
  return { dir: outDir, ms: Date.now() - t0, log };
}

export function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

function writeManifest(dir: string, m: Manifest): void {
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
}

function copy(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}

/** Recomputes bytes and sha256 of a file the manifest lists, after it was rewritten. */
function refresh(dir: string, f: ManifestFile): void {
  const bytes = readFileSync(join(dir, f.path));
  f.bytes = bytes.length;
  f.sha256 = createHash('sha256').update(bytes).digest('hex');
}

/** A copy in which one byte of a file the site downloads whole (and checks) is flipped. */
export function makeCorrupt(from: string, to: string): string {
  copy(from, to);
  const m = readManifest(to);
  const victim = m.tables.repos![0]!;
  const p = join(to, victim.path);
  const bytes = readFileSync(p);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(p, bytes);
  return victim.path;
}

/** A copy whose manifest claims another schema version. */
export function makeOtherSchema(from: string, to: string, version = 999): void {
  copy(from, to);
  const m = readManifest(to);
  writeManifest(to, { ...m, schema_version: version });
}

export const HOSTILE = {
  name: '<img src=x onerror="window.__pwned=1">',
  qualname: 'Evil.<img src=x onerror="window.__pwned=2">',
  path: '<b>bold</b>/<script>window.__pwned=3</script>.py',
  body: 'def evil():\n    return "<script>window.__pwned=4</script><img src=x onerror=window.__pwned=5>"\n',
};

/**
 * A copy in which one function's name, qualname, path and body are HTML that would run script if
 * it were ever inserted as markup, placed alone at the layout's lower-left corner so it can be
 * hovered. Returns its id.
 */
export async function makeHostile(from: string, to: string): Promise<number> {
  copy(from, to);
  const m = readManifest(to);
  const fnShard = m.tables.functions![0]!;
  const layout = m.layouts.find((l) => l.name === m.default_layout) ?? m.layouts[0]!;
  const layoutShard = m.tables[layout.table]![0]!;
  const id = fnShard.id_min ?? 0;
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const rewrite = async (f: ManifestFile, select: string) => {
    const p = join(to, f.path);
    const tmp = `${p}.tmp`;
    await con.run(
      `COPY (${select.replaceAll('$FILE', q(p))}) TO ${q(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${FUNCTIONS_ROW_GROUP_ROWS})`,
    );
    cpSync(tmp, p);
    rmSync(tmp);
    refresh(to, f);
  };
  await rewrite(
    fnShard,
    `SELECT * REPLACE (
        CASE WHEN id = ${id} THEN ${q(HOSTILE.name)} ELSE name END AS name,
        CASE WHEN id = ${id} THEN ${q(HOSTILE.qualname)} ELSE qualname END AS qualname,
        CASE WHEN id = ${id} THEN ${q(HOSTILE.path)} ELSE path END AS path,
        CASE WHEN id = ${id} THEN ${q(HOSTILE.body)} ELSE body END AS body)
     FROM read_parquet($FILE) ORDER BY id`,
  );
  // Lower left on screen: smallest x, largest y (the map's y axis points down), clear of the
  // panels at the top left and on the right.
  const x0 = layout.bounds.min[0]!;
  const y0 = layout.bounds.max[1]!;
  await rewrite(
    layoutShard,
    `SELECT * REPLACE (
        CASE WHEN id = ${id} THEN ${x0}::FLOAT ELSE x END AS x,
        CASE WHEN id = ${id} THEN ${y0}::FLOAT ELSE y END AS y)
     FROM read_parquet($FILE) ORDER BY id`,
  );
  con.closeSync();
  writeManifest(to, m);
  return id;
}
