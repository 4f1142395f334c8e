// The Jina embedding stage on a tiny real data set: stdlib packages extracted and sharded by the real
// extract and tables stages, embedded with the generated Jina-shaped model (no download).
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TABLE } from '../../../src/core/data/schema.ts';
import { JinaEmbedder } from '../../../src/core/embed/jina.ts';
import { dequantizeInt8Row } from '../../../src/core/embed/quantize.ts';
import { openDb } from '../../../prebuild/duckdb.ts';
import { sha256File } from '../../../prebuild/fsutil.ts';
import { createSourceContext, resolveSource } from '../../../prebuild/sources/index.ts';
import { embedJinaInputHash, runEmbedJina } from '../../../prebuild/stages/embed-jina.ts';
import { runExtract } from '../../../prebuild/stages/extract.ts';
import { runTables } from '../../../prebuild/stages/tables.ts';
import type { StageOutputs } from '../../../prebuild/state.ts';
import { ensureTinyJinaModel } from '../../fixtures/models/jina-fixture.ts';
import { query, STDLIB } from './cli-helpers.ts';

const MAX_TOKENS = 64;
let work: string;
let outDir: string;
let modelDir: string;
let tables: StageOutputs;
let result: StageOutputs;
let dim: number;

interface VecRow {
  id: number;
  embedding: Uint8Array;
  scale: number;
  truncated: boolean;
  tokens: number;
  body: string;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-embed-jina-'));
  const corpus = join(work, 'corpus');
  for (const name of ['json', 'wsgiref']) await cp(join(STDLIB, name), join(corpus, name), { recursive: true });
  // An exact copy in another repository: identical bodies must get identical vectors.
  await cp(join(STDLIB, 'json', 'scanner.py'), join(corpus, 'wsgiref', 'scanner_copy.py'));
  const ctx = createSourceContext({ cacheDir: join(work, 'cache'), quiet: true, log: () => {} });
  const repos = await resolveSource(`dir:${corpus}`, ctx);
  const parts = await runExtract(repos, { partsDir: join(work, 'parts'), workers: 2, maxFileBytes: 8 << 20, quiet: true });
  outDir = join(work, 'out');
  const db = await openDb({ tempDir: join(work, 'tmp') });
  try {
    tables = await runTables(db, parts, { outDir, shardRows: 60, quiet: true });
  } finally {
    db.close();
  }
  modelDir = await ensureTinyJinaModel();
  dim = (JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as { hidden_size: number }).hidden_size;
  result = await runEmbedJina(outDir, tables.tables, { modelDir, maxTokens: MAX_TOKENS, threads: 2, quiet: true, tempDir: join(work, 'tmp') });
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function vectorRows(): Promise<VecRow[]> {
  const vec = result.tables[TABLE.vectors('jina-v2-base-code')].map((f) => `'${join(outDir, f.path)}'`).join(', ');
  const fun = tables.tables[TABLE.functions].map((f) => `'${join(outDir, f.path)}'`).join(', ');
  return query<VecRow>(
    `SELECT v.id::INT AS id, v.embedding, v.scale, v.truncated, v.tokens, f.body
     FROM read_parquet([${vec}]) v JOIN read_parquet([${fun}]) f USING (id) ORDER BY id`,
  );
}

describe('prebuild embed-jina stage', () => {
  test('writes one vectors shard per functions shard with id, int8 embedding, scale, truncated, tokens', async () => {
    const fShards = tables.tables[TABLE.functions];
    expect(fShards.length).toBeGreaterThan(1);
    const table = TABLE.vectors('jina-v2-base-code');
    const vShards = result.tables[table];
    expect(vShards.map((f) => f.path)).toEqual(fShards.map((_, i) => `${table}-${String(i).padStart(5, '0')}.parquet`));
    for (const [i, f] of vShards.entries()) {
      expect([f.id_min, f.id_max, f.rows]).toEqual([fShards[i].id_min, fShards[i].id_max, fShards[i].rows]);
      expect(await sha256File(join(outDir, f.path))).toBe(f.sha256);
    }
    const cols = await query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM '${join(outDir, vShards[0].path)}'`);
    expect(cols.map((c) => [c.column_name, c.column_type])).toEqual([
      ['id', 'UINTEGER'],
      ['embedding', 'BLOB'],
      ['scale', 'FLOAT'],
      ['truncated', 'BOOLEAN'],
      ['tokens', 'INTEGER'],
    ]);
    const rows = await vectorRows();
    const total = fShards.reduce((n, f) => n + (f.rows ?? 0), 0);
    expect(rows.length).toBe(total);
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: total }, (_, i) => i));
    for (const r of rows) expect(r.embedding.length).toBe(dim);
    expect(result.facts.embedding).toEqual({ model: 'jina-v2-base-code', table, dim, dtype: 'int8', model_files: 'jina-v2-base-code' });
  });

  test('records truncation: long functions are cut to maxTokens, short ones are not', async () => {
    const rows = await vectorRows();
    const cut = rows.filter((r) => r.truncated);
    const whole = rows.filter((r) => !r.truncated);
    expect(cut.length).toBeGreaterThan(0);
    expect(whole.length).toBeGreaterThan(0);
    for (const r of cut) expect(r.tokens).toBe(MAX_TOKENS);
    for (const r of whole) expect(r.tokens).toBeLessThanOrEqual(MAX_TOKENS);
    // Longer bodies are the truncated ones.
    const shortestCut = Math.min(...cut.map((r) => r.body.length));
    const longestWhole = Math.max(...whole.map((r) => r.body.length));
    expect(shortestCut).toBeGreaterThan(MAX_TOKENS);
    expect(longestWhole).toBeLessThan(MAX_TOKENS * 40);
    expect((result.facts.jina as { truncated: number }).truncated).toBe(cut.length);
  });

  test('vectors are the model embeddings of the bodies; identical bodies get identical vectors', async () => {
    const rows = await vectorRows();
    // Recompute a sample through the copied model, as the site would load it.
    const e = new JinaEmbedder({ modelId: 'jina-v2-base-code', modelBase: join(outDir, 'models'), maxTokens: MAX_TOKENS, sessionOptions: { intraOpNumThreads: 2 } });
    const sample = rows.filter((_, i) => i % 17 === 0);
    const fresh = await e.embed(sample.map((r) => r.body));
    sample.forEach((r, k) => {
      const stored = dequantizeInt8Row(new Int8Array(r.embedding.buffer, r.embedding.byteOffset, dim), r.scale);
      let d = 0;
      let n = 0;
      for (let c = 0; c < dim; c++) {
        d += stored[c] * fresh[k * dim + c];
        n += stored[c] * stored[c];
      }
      // int8 storage and q8 activations quantised per batch: close, not bit-equal.
      expect(d / Math.sqrt(n), `id ${r.id}`).toBeGreaterThan(0.98);
    });
    await e.dispose();

    const byBody = new Map<string, VecRow[]>();
    for (const r of rows) byBody.set(r.body, [...(byBody.get(r.body) ?? []), r]);
    const dups = [...byBody.values()].filter((g) => g.length > 1);
    expect(dups.length).toBeGreaterThanOrEqual(3); // scanner.py's functions, twice
    for (const g of dups) for (const r of g.slice(1)) expect([r.embedding, r.scale]).toEqual([g[0].embedding, g[0].scale]);
    // Distinct bodies mostly get distinct vectors.
    const distinct = new Set(rows.map((r) => Buffer.from(r.embedding).toString('hex')));
    expect(distinct.size).toBeGreaterThan(byBody.size * 0.95);
    const facts = result.facts.jina as { rows_embedded: number };
    expect(facts.rows_embedded).toBe(byBody.size);
  });

  test('copies the model files the site loads into models/<id>/, listed with their sha256', async () => {
    const files = result.models['jina-v2-base-code'];
    const names = files.map((f) => f.path).sort();
    expect(names).toEqual(
      ['config.json', 'onnx/model_fp16.onnx', 'onnx/model_quantized.onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']
        .map((n) => `models/jina-v2-base-code/${n}`)
        .sort(),
    );
    for (const f of files) {
      expect(await sha256File(join(outDir, f.path))).toBe(f.sha256);
      expect(f.sha256).toBe(await sha256File(join(modelDir, f.path.slice('models/jina-v2-base-code/'.length))));
    }
  });

  test('the stage input hash follows the options and the model files', async () => {
    const base = await embedJinaInputHash({ modelDir, maxTokens: MAX_TOKENS, quiet: true });
    expect(await embedJinaInputHash({ modelDir, maxTokens: MAX_TOKENS, quiet: false, threads: 1 })).toBe(base);
    expect(await embedJinaInputHash({ modelDir, maxTokens: MAX_TOKENS * 2, quiet: true })).not.toBe(base);
    const changed = join(work, 'changed-model');
    await cp(modelDir, changed, { recursive: true });
    expect(await embedJinaInputHash({ modelDir: changed, maxTokens: MAX_TOKENS, quiet: true })).toBe(base);
    const tok = JSON.parse(await readFile(join(changed, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(changed, 'tokenizer_config.json'), JSON.stringify({ ...tok, model_max_length: 128 }));
    expect(await embedJinaInputHash({ modelDir: changed, maxTokens: MAX_TOKENS, quiet: true })).not.toBe(base);
  });

  test('a model folder without the ONNX file fails with a clear error', async () => {
    const bad = join(work, 'bad-model');
    await cp(modelDir, bad, { recursive: true });
    await rm(join(bad, 'onnx', 'model_quantized.onnx'));
    await writeFile(join(bad, 'README'), 'no q8 file here');
    await expect(runEmbedJina(join(work, 'out-bad'), tables.tables, { modelDir: bad, quiet: true })).rejects.toThrow(/model_quantized\.onnx/);
  });
});
