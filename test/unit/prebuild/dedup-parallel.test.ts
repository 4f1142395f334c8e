// The dedup stage signs in worker threads (weighting + weighted MinHash per batch, with a shared
// document-frequency table) and signs once for every preset; its outputs must equal the
// single-threaded core's, runDedup(bags, preset) per threshold and the gemini preset's band hashes,
// row for row. Real parts throughout: stdlib functions (plus exact copies, method-indented copies,
// type-1/type-2 clones and bodies that do not parse) written as functions shards with DuckDB, the
// stage's real worker threads with tree-sitter, and its Parquet read back with DuckDB.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ManifestFile } from '../../../src/core/data/manifest.ts';
import { TABLE } from '../../../src/core/data/schema.ts';
import { bodyFeatures } from '../../../src/core/dedup/body-features.ts';
import type { FeatureBag } from '../../../src/core/dedup/features.ts';
import { exactRepresentatives, runDedup, runDedupOnSignatures, weighDistinct } from '../../../src/core/dedup/index.ts';
import { bandHashes } from '../../../src/core/dedup/lsh.ts';
import { weightedMinHash } from '../../../src/core/dedup/minhash.ts';
import { PRESET_80, PRESET_95, PRESET_GEMINI_FUNC } from '../../../src/core/dedup/settings.ts';
import { createRng } from '../../../src/core/util/random.ts';
import { openDb, sqlString } from '../../../prebuild/duckdb.ts';
import { writeParquet } from '../../../prebuild/parquet.ts';
import { DEDUP_BANDS_PRESET, DEDUP_PRESETS, runDedupStage } from '../../../prebuild/stages/dedup.ts';
import { DfTable } from '../../../prebuild/stages/dedup-df.ts';
import { pythonParser, stdlibFunctions, type1Clone, type2Clone } from '../dedup/corpus.ts';
import { query } from './cli-helpers.ts';

const SHARD_ROWS = 900;

let work: string;
let bodies: string[] = [];
let shards: ManifestFile[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-dedup-par-'));
  const originals = await stdlibFunctions(2400, 6, 11);
  if (!originals) throw new Error('no python3 here: the test cuts functions from its stdlib');
  const parser = await pythonParser();
  const rng = createRng(3);
  const out: string[] = [];
  for (const [i, src] of originals.entries()) {
    out.push(src);
    // Every 9th: an exact copy; every 13th: the same function indented as a method; every 2nd and
    // 3rd: a type-1 and a type-2 clone (more than 2048 functions: the stage starts two threads);
    // every 100th: a body that does not parse.
    if (i % 9 === 0) out.push(src);
    if (i % 13 === 0) out.push(src.split('\n').map((l) => (l ? `    ${l}` : l)).join('\n'));
    if (i % 2 === 0) out.push(type1Clone(parser, src, rng));
    if (i % 3 === 0) out.push(type2Clone(parser, src, rng));
    if (i % 100 === 0) out.push(`def broken(:\n    return ${i}\n`);
  }
  bodies = out;
  if (bodies.length <= 2048) throw new Error(`only ${bodies.length} test functions: the stage would start one thread`);
  // Functions shards as the tables stage writes them (only id and body are read by the stage).
  const db = await openDb({ tempDir: join(work, 'tmp'), threads: 1 });
  try {
    await db.exec('CREATE TABLE f (id UINTEGER, body VARCHAR)');
    const app = await db.conn.createAppender('f');
    for (const [id, body] of bodies.entries()) {
      app.appendUInteger(id);
      app.appendVarchar(body);
      app.endRow();
    }
    app.closeSync();
    for (let s = 0, lo = 0; lo < bodies.length; s++, lo += SHARD_ROWS) {
      const hi = Math.min(bodies.length, lo + SHARD_ROWS) - 1;
      shards.push(
        await writeParquet(db, `SELECT id, body FROM f WHERE id BETWEEN ${lo} AND ${hi} ORDER BY id`, work, `functions-${String(s).padStart(5, '0')}.parquet`, {
          rowGroupRows: 2048,
          rows: hi - lo + 1,
          idRange: [lo, hi],
        }),
      );
    }
  } finally {
    db.close();
  }
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('dedup stage with signatures from worker threads', () => {
  test('the shared document-frequency table counts and looks up exactly like a Map, after growing', () => {
    const rng = createRng(9);
    const table = new DfTable(undefined, 16);
    const map = new Map<number, number>();
    // Hash 0 and hashes that collide in the low bits included; many repeats.
    const pool = [0, 1, 0x80000000, 0xffffffff, ...Array.from({ length: 40_000 }, () => rng.nextU32()), ...Array.from({ length: 64 }, (_, i) => i << 20)];
    for (let k = 0; k < 200_000; k++) {
      const h = pool[rng.int(pool.length)];
      table.increment(h);
      map.set(h, (map.get(h) ?? 0) + 1);
    }
    expect(table.size).toBe(map.size);
    const shared = new DfTable(table.shared());
    expect(shared.size).toBe(map.size);
    for (const [h, c] of map) {
      expect(table.get(h)).toBe(c);
      expect(shared.get(h)).toBe(c);
    }
    for (let k = 0; k < 10_000; k++) {
      const h = rng.nextU32();
      expect(shared.get(h)).toBe(map.get(h));
    }
    // The most frequent hashes: `max` of them, none less frequent than any left out, all counted twice or more.
    const top = table.mostFrequent(500);
    expect(top.length).toBe(500);
    const counts = [...map.values()].sort((a, b) => b - a);
    const topCounts = Array.from(top, (h) => map.get(h) ?? 0).sort((a, b) => b - a);
    expect(topCounts).toEqual(counts.slice(0, 500));
    expect(new Set(top).size).toBe(500);
    const few = new DfTable();
    for (const h of [5, 5, 6, 7, 7, 7]) few.increment(h);
    expect(Array.from(few.mostFrequent(10)).sort()).toEqual([5, 7]);
  });

  test('a 128-sample signature is the prefix of the 256-sample one (one signing serves both presets)', async () => {
    const parser = await pythonParser();
    const bags = bodies.slice(0, 300).map((b) => bodyFeatures(parser, b)).filter((b): b is FeatureBag => b !== null);
    const rep = exactRepresentatives(bags);
    const sets = weighDistinct(bags, PRESET_80, rep);
    const s256 = weightedMinHash(sets, 256, PRESET_80.seed);
    const s128 = weightedMinHash(sets, 128, PRESET_80.seed);
    for (let i = 0; i < bags.length; i++) expect(s256.subarray(i * 256, i * 256 + 128)).toEqual(s128.subarray(i * 128, i * 128 + 128));
    // And the core on the longer rows equals the core on the exact ones.
    const a = runDedupOnSignatures(rep, s256, 256, PRESET_95);
    const b = runDedup(bags, PRESET_95);
    expect(a.groupIdPerItem).toEqual(b.groupIdPerItem);
    expect(a.communityIdPerItem).toEqual(b.communityIdPerItem);
    expect(a.pairs.similarity).toEqual(b.pairs.similarity);
  });

  test('outputs equal the single-threaded core, row for row', async () => {
    expect(shards.length).toBe(Math.ceil(bodies.length / SHARD_ROWS));
    expect(DEDUP_PRESETS.map((p) => p.name)).toEqual([PRESET_80.name, PRESET_95.name]);
    expect(DEDUP_BANDS_PRESET).toBe(PRESET_GEMINI_FUNC);
    const outDir = work;
    const out = await runDedupStage(outDir, { [TABLE.functions]: shards }, { workers: 2, quiet: true, tempDir: join(work, 'tmp') });
    const facts = out.facts.dedup as { threads: number; batches: number; unparsed: number; with_features: number; signatures: { samples: number; presets: string[] }[] };
    // Two threads, several batches, one signing for the three presets.
    expect(facts.threads).toBe(2);
    expect(facts.batches).toBeGreaterThanOrEqual(shards.length);
    expect(facts.signatures).toEqual([expect.objectContaining({ samples: 256, presets: [PRESET_80.name, PRESET_95.name, PRESET_GEMINI_FUNC.name] })]);

    // The reference: the core on the main thread over the same bodies' features, in id order.
    const parser = await pythonParser();
    const bags: FeatureBag[] = [];
    const ids: number[] = [];
    for (const [id, body] of bodies.entries()) {
      const bag = bodyFeatures(parser, body);
      if (!bag) continue;
      bags.push(bag);
      ids.push(id);
    }
    expect(facts.unparsed).toBe(bodies.length - bags.length);
    expect(facts.unparsed).toBeGreaterThanOrEqual(Math.floor(bodies.length / 200));
    expect(facts.with_features).toBe(bags.length);

    const dedupList = `[${out.tables[TABLE.dedup].map((f) => sqlString(join(outDir, f.path))).join(', ')}]`;
    const rows = await query<{ id: number; threshold: number; group_id: number | null; community_id: number | null }>(
      `SELECT id::INT id, threshold, group_id, community_id FROM read_parquet(${dedupList}) ORDER BY id, threshold`,
    );
    expect(rows.length).toBe(bodies.length * 2);
    for (const [p, preset] of DEDUP_PRESETS.entries()) {
      const r = runDedup(bags, preset);
      expect(r.stats.groups).toBeGreaterThan(50);
      const wantGroup = new Array<number | null>(bodies.length).fill(null);
      const wantCommunity = new Array<number | null>(bodies.length).fill(null);
      for (let i = 0; i < bags.length; i++) {
        if (r.groupIdPerItem[i] >= 0) wantGroup[ids[i]] = r.groupIdPerItem[i];
        if (r.communityIdPerItem[i] >= 0) wantCommunity[ids[i]] = r.communityIdPerItem[i];
      }
      const got = rows.filter((_, k) => k % 2 === p);
      expect(got.every((row) => Math.abs(row.threshold - preset.threshold) < 1e-6)).toBe(true);
      expect(got.map((row) => row.group_id)).toEqual(wantGroup);
      expect(got.map((row) => row.community_id)).toEqual(wantCommunity);
    }

    // Band hashes: the gemini preset's, from single-threaded signatures; copies carry their first's.
    const g = PRESET_GEMINI_FUNC;
    const rep = exactRepresentatives(bags);
    const sig = weightedMinHash(weighDistinct(bags, g, rep), g.samples, g.seed);
    const all = bandHashes(sig, bags.length, g.samples, g.bands, g.rows);
    const want: string[] = [];
    for (let i = 0; i < bags.length; i++) for (let k = 0; k < g.bands; k++) want.push(`${ids[i]}:${k}:${all[rep[i] * g.bands + k]}`);
    const bandList = `[${out.tables[TABLE.dedupBands].map((f) => sqlString(join(outDir, f.path))).join(', ')}]`;
    const got = await query<{ id: number; band: number; hash: number }>(`SELECT id::INT id, band::INT band, hash::BIGINT::DOUBLE hash FROM read_parquet(${bandList}) ORDER BY id, band`);
    expect(got.map((b) => `${b.id}:${b.band}:${b.hash}`)).toEqual(want);
  }, 600_000);
});
