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
import { ensureT5Model } from '../../fixtures/models/t5-fixture.ts';

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
  // And a generated random-weight CodeT5-layout summariser: the summaries stage generates with it
  // and the site's summarize worker loads it as it would Salesforce/codet5-base-multi-sum.
  const summarizerDir = await ensureT5Model({ mode: 'tiny' });
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
      '--summarizer-model-dir',
      summarizerDir,
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

/** Script-running payloads; `tag` names the field, so a payload that ever ran says where it came from. */
export const PAYLOAD = {
  script: (tag: string) => `<script>window.__pwned='${tag}'</script>`,
  img: (tag: string) => `<img src=x onerror="window.__pwned='${tag}'">`,
  svg: (tag: string) => `"><svg onload="window.__pwned='${tag}'">`,
  js: (tag: string) => `javascript:window.__pwned='${tag}'`,
};

/** All four payloads one after another, for one field. */
export const allPayloads = (tag: string): string => `${PAYLOAD.script(tag)}${PAYLOAD.img(tag)}${PAYLOAD.svg(tag)} ${PAYLOAD.js(tag)}`;

/**
 * A copy in which *every* string the site shows carries script payloads: each function's name,
 * qualname, path, docstring and first code line; each repository's name, url (a javascript: URL),
 * licence and topics; each cluster's label and terms; each summary's text; the layout and summaries
 * reports' strings. stats.json is recomputed from the hostile tables with the site's own SQL, and
 * every file's bytes and sha256 in the manifest are refreshed, so the site opens the copy as a
 * valid data set. Originals stay in front, so names remain distinct.
 */
export async function makeHostileEverywhere(from: string, to: string): Promise<void> {
  copy(from, to);
  const m = readManifest(to);
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const rewrite = async (f: ManifestFile, select: string, rowGroup = FUNCTIONS_ROW_GROUP_ROWS) => {
    const p = join(to, f.path);
    const tmp = `${p}.tmp`;
    await con.run(`COPY (${select.replaceAll('$FILE', q(p))}) TO ${q(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroup})`);
    cpSync(tmp, p);
    rmSync(tmp);
  };
  for (const f of m.tables.functions ?? []) {
    await rewrite(
      f,
      `SELECT * REPLACE (
          name || ${q(PAYLOAD.img('name'))} AS name,
          qualname || ${q(PAYLOAD.img('qualname'))} || ${q(PAYLOAD.svg('qualname'))} AS qualname,
          path || ${q(PAYLOAD.script('path'))} AS path,
          CASE WHEN docstring IS NULL THEN NULL ELSE ${q(allPayloads('docstring'))} || docstring END AS docstring,
          regexp_replace(body, '\\n', ${q(`  # ${PAYLOAD.script('body')}${PAYLOAD.img('body')}\n`)}) AS body)
       FROM read_parquet($FILE) ORDER BY id`,
    );
  }
  for (const f of m.tables.repos ?? []) {
    await rewrite(
      f,
      `SELECT * REPLACE (
          name || ${q(PAYLOAD.img('repo'))} AS name,
          ${q(PAYLOAD.js('url'))} AS url,
          coalesce(license, '') || ${q(PAYLOAD.script('license'))} AS license,
          list_append(list_transform(topics, t -> t || ${q(PAYLOAD.svg('topic'))}), ${q(PAYLOAD.img('topic'))}) AS topics)
       FROM read_parquet($FILE) ORDER BY repo_id`,
    );
  }
  for (const [name, files] of Object.entries(m.tables)) {
    if (!name.startsWith('clusters-')) continue;
    for (const f of files) {
      await rewrite(
        f,
        `SELECT * REPLACE (
            label || ${q(PAYLOAD.svg('label'))} AS label,
            list_transform(terms, t -> t || ${q(PAYLOAD.img('term'))}) AS terms)
         FROM read_parquet($FILE) ORDER BY cluster`,
      );
    }
  }
  for (const f of m.tables.summaries ?? []) {
    await rewrite(f, `SELECT * REPLACE (text || ${q(allPayloads('summary'))} AS text) FROM read_parquet($FILE) ORDER BY id, model`);
  }
  // The reports' free-text fields.
  for (const [key, fields] of [['layout-report', ['embedding', 'k_chosen_by']], ['summaries-report', ['embedding']]] as const) {
    const f = m.models[key]?.[0];
    if (!f) continue;
    const p = join(to, f.path);
    const json = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
    for (const field of fields) if (typeof json[field] === 'string') json[field] = `${json[field]}${PAYLOAD.img(`${key}.${field}`)}`;
    writeFileSync(p, JSON.stringify(json, null, 1));
  }
  // stats.json from the hostile tables, with the SQL the site runs in DuckDB-WASM.
  if (m.stats) {
    for (const t of ['functions', 'repos']) {
      await con.run(`CREATE VIEW ${t} AS SELECT * FROM read_parquet([${m.tables[t]!.map((f) => q(join(to, f.path))).join(', ')}])`);
    }
    const { computeDatasetStats } = await import('../../../src/core/data/stats.ts');
    const stats = await computeDatasetStats(async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]);
    writeFileSync(join(to, m.stats.path), `${JSON.stringify(stats, null, 1)}\n`);
  }
  con.closeSync();
  inst.closeSync();
  for (const f of [...Object.values(m.tables).flat(), ...Object.values(m.models).flat(), ...(m.stats ? [m.stats] : [])]) refresh(to, f);
  writeManifest(to, m);
}
