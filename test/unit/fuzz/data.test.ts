// Fuzz: the data set loaders on a real data set (the prebuild CLI run on two standard-library
// packages in beforeAll): manifest.json through the site's load path (JSON.parse, then
// validateManifest) and every Parquet shard through parquet-read.ts (footer, schema, every column,
// a row by id), with seeded bit flips, byte overwrites, truncations, insertions, splices and
// structure-aware manifest edits. Zero crashes: the only exceptions are the documented ones
// (SyntaxError from JSON.parse, which the data worker reports as "not valid JSON"; ManifestError;
// ParquetReadError), each with a message that names the file or field; a manifest that validates
// has the shape the site relies on; no case takes longer than the per-case bound.
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManifestError, manifestFiles, validateManifest, type Manifest } from '../../../src/core/data/manifest.ts';
import {
  memoryAsyncBuffer,
  ParquetReadError,
  parquetColumnNames,
  parquetRowCount,
  readParquetColumns,
  readParquetMetadata,
  readRowById,
} from '../../../src/core/data/parquet-read.ts';
import { ROOT, STDLIB } from '../prebuild/cli-helpers.ts';
import { createRng, mutateBytes, type Rng } from './mutate.ts';

const MANIFEST_CASES = 4000;
const PARQUET_CASES = 2500;
/** A case slower than this is a hang (cases take ~3 ms; the bound leaves room for a loaded machine). */
const CASE_MS = 10_000;

let work: string;
let out: string;
let manifestBytes: Uint8Array;
let manifest: Manifest;
let shards: { path: string; bytes: Uint8Array; idMin?: number }[];


beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-fuzz-data-'));
  for (const name of ['json', 'wsgiref']) await cp(join(STDLIB, name), join(work, 'corpus', name), { recursive: true });
  out = join(work, 'out');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'prebuild/cli.ts'), '--source', `dir:${join(work, 'corpus')}`, '--out', out, '--cache', join(work, 'cache'),
      '--shard-rows', '100', '--embed-dim', '16', '--vocab', '3000', '--svd-sample', '800', '--workers', '2', '--layouts', 'pca-2', '--quiet'],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`prebuild failed (${r.status}): ${r.stderr}`);
  manifestBytes = new Uint8Array(await readFile(join(out, 'manifest.json')));
  manifest = validateManifest(JSON.parse(new TextDecoder().decode(manifestBytes)));
  shards = [];
  for (const [table, files] of Object.entries(manifest.tables)) {
    for (const f of files) {
      if (!f.path.endsWith('.parquet') || table === 'skipped') continue;
      // readRowById is for id-dense shards (one row per id): functions, vectors, layouts.
      const dense = f.id_min !== undefined && f.id_max !== undefined && f.rows === f.id_max - f.id_min + 1 && !table.endsWith('-ivf');
      shards.push({ path: f.path, bytes: new Uint8Array(await readFile(join(out, f.path))), idMin: dense ? f.id_min : undefined });
    }
  }
}, 180_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Manifest

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** What the site reads from a manifest that validated: every property it touches has its declared type. */
function shapeProblems(m: Manifest): string[] {
  const bad: string[] = [];
  if (typeof m.generator !== 'string') bad.push('generator');
  if (!m.sources.every((s) => typeof s === 'string')) bad.push('sources');
  for (const k of ['repos', 'files', 'functions', 'skipped_files'] as const) if (!count(m.counts[k])) bad.push(`counts.${k}`);
  for (const f of manifestFiles(m)) {
    if (typeof f.path !== 'string' || f.path.startsWith('/') || f.path.split('/').includes('..') || f.path.includes('://')) bad.push(`unsafe path ${f.path}`);
    if (!count(f.bytes) || !/^[0-9a-f]{64}$/.test(f.sha256)) bad.push(`file ${f.path}`);
  }
  m.embeddings.forEach((e, i) => {
    if (!isRecord(e) || typeof e.model !== 'string' || typeof e.table !== 'string' || !Array.isArray(m.tables[e.table]) || !(count(e.dim) && e.dim > 0) || !['int8', 'float16', 'float32'].includes(e.dtype)) {
      bad.push(`embeddings[${i}]`);
      return;
    }
    if (e.model_files !== undefined && (typeof e.model_files !== 'string' || !Array.isArray(m.models[e.model_files]))) bad.push(`embeddings[${i}].model_files`);
    if (e.ivf !== undefined && (!isRecord(e.ivf) || !Array.isArray(m.tables[e.ivf.table]) || !Array.isArray(m.models[e.ivf.index]) || !(count(e.ivf.nlist) && e.ivf.nlist > 0))) bad.push(`embeddings[${i}].ivf`);
  });
  m.layouts.forEach((l, i) => {
    const b = l.bounds;
    const finite = (a: unknown) => Array.isArray(a) && a.length >= l.dims && a.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (typeof l.method !== 'string' || !finite(b.min) || !finite(b.max)) bad.push(`layouts[${i}]`);
  });
  return bad;
}

type JsonValue = unknown;

/** Structure-aware edits of the real manifest: each a thing a broken or hostile manifest could hold. */
function editManifest(rng: Rng, json: Record<string, JsonValue>): string[] {
  const weird: JsonValue[] = [null, 0, -1, 1.5, 1e308, '', 'x', '../../etc/passwd', '/abs', 'https://evil.example/x', 'a//b', '..', [], {}, [null], [1, 2], { path: 1 }, true, '__proto__', 'constructor'];
  const steps: string[] = [];
  const n = 1 + rng.int(3);
  for (let s = 0; s < n; s++) {
    // Walk to a random node of the object.
    let node: Record<string, JsonValue> | JsonValue[] = json;
    const path: string[] = [];
    for (let depth = rng.int(5); depth > 0; depth--) {
      const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
      if (!keys.length) break;
      const k = keys[rng.int(keys.length)]!;
      const next = (node as Record<string | number, JsonValue>)[k];
      if (typeof next !== 'object' || next === null) break;
      node = next as Record<string, JsonValue> | JsonValue[];
      path.push(String(k));
    }
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    const key = keys.length ? keys[rng.int(keys.length)]! : 'new';
    const op = rng.int(4);
    const target = node as Record<string | number, JsonValue>;
    const pick = () => structuredClone(weird[rng.int(weird.length)]);
    if (op === 0) {
      if (Array.isArray(node)) node.splice(Number(key), 1);
      else delete target[key];
      steps.push(`delete ${[...path, key].join('.')}`);
    } else if (op === 1) {
      if (Array.isArray(node) && typeof key !== 'number') node.push(pick());
      else target[key] = pick();
      steps.push(`set ${[...path, key].join('.')} = ${JSON.stringify(target[key])}`);
    } else if (op === 2 && Array.isArray(node) && node.length) {
      node.push(structuredClone(node[rng.int(node.length)]));
      steps.push(`duplicate an element of ${path.join('.')}`);
    } else if (Array.isArray(node)) {
      node.push(pick());
      steps.push(`append to ${path.join('.')}`);
    } else {
      target[String(weird[rng.int(weird.length)])] = pick();
      steps.push(`add a key to ${path.join('.')}`);
    }
  }
  return steps;
}

describe('fuzz: manifest loader', () => {
  it(`${MANIFEST_CASES} mutated manifests: a valid shape or a clear error, nothing else`, () => {
    const rng = createRng(4242);
    const text = new TextDecoder().decode(manifestBytes);
    const outcomes = { valid: 0, json: 0, manifest: new Map<string, number>() };
    for (let i = 0; i < MANIFEST_CASES; i++) {
      let input: string;
      let steps: string[];
      if (rng.int(2) === 0) {
        const m = mutateBytes(rng, manifestBytes, manifestBytes, 3);
        input = new TextDecoder().decode(m.bytes);
        steps = m.steps;
      } else {
        const json = JSON.parse(text) as Record<string, JsonValue>;
        steps = editManifest(rng, json);
        input = JSON.stringify(json);
      }
      const where = `case ${i}: ${steps.join('; ')}`;
      const t0 = performance.now();
      let parsed: unknown;
      try {
        parsed = JSON.parse(input);
      } catch (e) {
        expect(e, where).toBeInstanceOf(SyntaxError);
        outcomes.json++;
        continue;
      }
      try {
        const m = validateManifest(parsed);
        expect(shapeProblems(m), `${where}: validated, but`).toEqual([]);
        outcomes.valid++;
      } catch (e) {
        if (!(e instanceof ManifestError)) throw new Error(`${where}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} (not a ManifestError)`);
        expect(['missing', 'malformed', 'schema-version', 'corrupt'], where).toContain(e.kind);
        expect(e.message, where).toMatch(/manifest|tables|models|stats|layout|counts|schema|default_layout|embeddings|sources/);
        outcomes.manifest.set(e.kind, (outcomes.manifest.get(e.kind) ?? 0) + 1);
      }
      expect(performance.now() - t0, where).toBeLessThan(CASE_MS);
    }
    expect(outcomes.valid).toBeGreaterThan(0);
    expect(outcomes.json).toBeGreaterThan(0);
    expect(outcomes.manifest.get('malformed') ?? 0).toBeGreaterThan(MANIFEST_CASES / 10);
    console.log(`manifest fuzz: ${JSON.stringify({ ...outcomes, manifest: Object.fromEntries(outcomes.manifest) })}`);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// Parquet

const PARQUET_MESSAGE = /is not a readable Parquet file|could not be decoded|has no column|decoded \d+ of \d+ rows|is not in|holds id/;

/** Everything the site does with a shard: footer, schema, all columns, one row by id. */
async function readAll(bytes: Uint8Array, name: string, idMin: number | undefined): Promise<void> {
  const file = memoryAsyncBuffer(bytes);
  const metadata = await readParquetMetadata(file, name);
  const columns = parquetColumnNames(metadata);
  const rows = parquetRowCount(metadata);
  await readParquetColumns(file, name, columns, { metadata, utf8: !columns.includes('embedding') });
  if (idMin !== undefined && rows > 0 && columns.includes('id')) await readRowById(file, name, idMin + (rows >> 1), columns.slice(0, 3), { metadata, idMin });
}

describe('fuzz: Parquet readers', () => {
  it('every real shard reads cleanly before mutation', async () => {
    expect(shards.length).toBeGreaterThanOrEqual(8);
    for (const s of shards) await readAll(s.bytes, s.path, s.idMin);
  });

  it(`${PARQUET_CASES} mutated shards (bit flips, truncation, overwrites, splices): data or ParquetReadError naming the file`, async () => {
    const rng = createRng(777);
    const outcomes = { read: 0, refused: 0, slowest: 0 };
    for (let i = 0; i < PARQUET_CASES; i++) {
      const s = shards[rng.int(shards.length)]!;
      const donor = shards[rng.int(shards.length)]!;
      const { bytes, steps } = mutateBytes(rng, s.bytes, donor.bytes, 3);
      const where = `case ${i}: ${s.path} ${steps.join(', ')}`;
      const t0 = performance.now();
      try {
        await readAll(bytes, s.path, s.idMin);
        outcomes.read++;
      } catch (e) {
        if (!(e instanceof ParquetReadError)) throw new Error(`${where}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} (not a ParquetReadError)`);
        expect(e.file, where).toBe(s.path);
        expect(e.message, where).toContain(s.path);
        expect(e.message, where).toMatch(PARQUET_MESSAGE);
        outcomes.refused++;
      }
      const ms = performance.now() - t0;
      outcomes.slowest = Math.max(outcomes.slowest, ms);
      expect(ms, where).toBeLessThan(CASE_MS);
    }
    expect(outcomes.refused).toBeGreaterThan(PARQUET_CASES / 4);
    console.log(`parquet fuzz: ${JSON.stringify({ ...outcomes, slowest: Math.round(outcomes.slowest) })}`);
  }, 180_000);
});
