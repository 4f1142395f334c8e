// Stage: near-duplicate detection (src/core/dedup) over every function, in three passes:
//   1. features: worker threads parse the bodies of the functions shards with web-tree-sitter and
//      return Apollo-style feature bags, batch by batch;
//   2. signatures: the main thread finds exact duplicates (normalised-body hashes) and counts document
//      frequencies over the distinct bodies into a table in shared memory, handed once to every thread;
//      the threads then weigh the batches' distinct bags (log-TF-log-IDF) and sign them (weighted
//      MinHash) — once, with the most samples any preset needs, since a preset with fewer samples
//      uses the prefix (the samples do not depend on their number);
//   3. per threshold preset (0.80, 0.95): LSH, verification, components and communities on the main
//      thread (runDedupOnSignatures); the gemini preset's band hashes from the same signatures.
// Results equal the single-threaded core's, runDedup(bags, preset), byte for byte. Outputs, shard for
// shard with the functions shards:
//   dedup-NNNNN.parquet        id, threshold, group_id, community_id (null: in no group), one row per
//                              function and threshold, sorted by (id, threshold);
//   dedup-bands-NNNNN.parquet  id, band, hash: the gemini preset's LSH band hashes, so the browser
//                              can look an uploaded function's bands up against the corpus.
// A body that does not parse has no features: it is in no group, has no bands, and is counted.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestFile } from '../../src/core/data/manifest.ts';
import { TABLE } from '../../src/core/data/schema.ts';
import type { FeatureBag } from '../../src/core/dedup/features.ts';
import { exactRepresentatives, runDedupOnSignatures, type DedupStats } from '../../src/core/dedup/index.ts';
import { bandHashes } from '../../src/core/dedup/lsh.ts';
import { EMPTY_SAMPLE, drawCacheCapacity } from '../../src/core/dedup/minhash.ts';
import {
  DEDUP_SETTINGS_VERSION,
  N_KINDS,
  kindWeights,
  PRESET_80,
  PRESET_95,
  PRESET_GEMINI_FUNC,
  type DedupSettings,
} from '../../src/core/dedup/settings.ts';
import { functionBodies, openDb } from '../duckdb.ts';
import { sha256Text } from '../fsutil.ts';
import { sameExtentAs, writeParquet } from '../parquet.ts';
import { createProgress } from '../progress.ts';
import { WorkerPool } from '../worker-pool.ts';
import { emptyOutputs, type StageOutputs } from '../state.ts';
import { DfTable } from './dedup-df.ts';
import type { DedupRequest, DedupResponse } from './dedup-protocol.ts';

/** Bump when the stage's output format or method changes. */
export const DEDUP_STAGE_VERSION = 1;
/** Thresholds written to the dedup table, ascending (rows are sorted by (id, threshold)). */
export const DEDUP_PRESETS: readonly DedupSettings[] = [PRESET_80, PRESET_95];
/** The preset whose band hashes are written for queries against the corpus. */
export const DEDUP_BANDS_PRESET: DedupSettings = PRESET_GEMINI_FUNC;

/** Sources whose content determines the results: part of the input hash, as extract does. */
const DEDUP_SOURCES = [
  '../../src/core/dedup/features.ts',
  '../../src/core/dedup/tfidf.ts',
  '../../src/core/dedup/minhash.ts',
  '../../src/core/dedup/lsh.ts',
  '../../src/core/dedup/components.ts',
  '../../src/core/dedup/communities.ts',
  '../../src/core/dedup/index.ts',
  './dedup-worker.ts',
  './dedup-df.ts',
  './dedup.ts',
];

/** Input hash: settings versions, presets, the dedup code, and the functions shards' digest. */
export async function dedupInputHash(functionShards: ManifestFile[]): Promise<string> {
  const code = await Promise.all(DEDUP_SOURCES.map((rel) => readFile(new URL(rel, import.meta.url), 'utf8')));
  return sha256Text(
    `dedup-v${DEDUP_STAGE_VERSION}`,
    `settings-v${DEDUP_SETTINGS_VERSION}`,
    JSON.stringify([...DEDUP_PRESETS, DEDUP_BANDS_PRESET]),
    sha256Text(...code),
    functionShards.map((f) => `${f.path}:${f.sha256}`).join(','),
  );
}

/** One features batch as a thread returned it: its function ids, packed bags, and where its bags start. */
interface FeatureBatch {
  ids: number[];
  res: DedupResponse;
  /** Index of the batch's first bag in Corpus.bags. */
  firstBag: number;
}

/** Feature bags of every function that parsed (views into the batches' packed arrays), in id order. */
interface Corpus {
  bags: FeatureBag[];
  batches: FeatureBatch[];
  /** Function id of bag i. */
  ids: Uint32Array;
  /** Functions whose body did not parse. */
  unparsed: number;
  /** Ids 0..idCount-1 cover every function. */
  idCount: number;
}

type Pool = WorkerPool<DedupRequest, DedupResponse>;

async function collectFeatures(pool: Pool, outDir: string, shards: ManifestFile[], quiet: boolean, tempDir: string): Promise<Corpus> {
  const total = shards.reduce((n, s) => n + (s.rows ?? 0), 0);
  const idCount = shards.reduce((m, s) => Math.max(m, (s.id_max ?? -1) + 1), total);
  const bar = createProgress({ label: 'dedup: features', total, unit: 'functions', quiet });
  const db = await openDb({ tempDir, threads: 1 });
  const bags: FeatureBag[] = [];
  const batches: FeatureBatch[] = [];
  const bagIds: number[] = [];
  let unparsed = 0;
  // Results arrive out of order; they are kept by batch and appended in batch order.
  const done = new Map<number, { ids: number[]; res: DedupResponse }>();
  let nextToAppend = 0;
  const append = (): void => {
    for (let b = done.get(nextToAppend); b; b = done.get(nextToAppend)) {
      done.delete(nextToAppend++);
      const { ids, res } = b;
      batches.push({ ids, res, firstBag: bags.length });
      const ok = res.ok as Uint8Array;
      const start = res.start as Uint32Array;
      const K = N_KINDS + 1;
      for (let i = 0; i < ids.length; i++) {
        if (!ok[i]) {
          unparsed++;
          continue;
        }
        bags.push({
          hashes: (res.hashes as Uint32Array).subarray(start[i], start[i + 1]),
          counts: (res.counts as Float32Array).subarray(start[i], start[i + 1]),
          kindOffsets: (res.kindOffsets as Uint32Array).subarray(i * K, i * K + K),
          normHash: (res.normHash as Uint32Array).subarray(i * 2, i * 2 + 2),
        });
        bagIds.push(ids[i]);
      }
    }
  };
  const inFlight: Promise<void>[] = [];
  let batch = 0;
  try {
    for (const shard of shards) {
      for await (const { ids, texts } of functionBodies(db, [join(outDir, shard.path)])) {
        const b = batch++;
        const { result } = await pool.submit({ bodies: texts });
        const p = result.then((res) => {
          done.set(b, { ids, res });
          append();
          bar.tick(ids.length, `${unparsed} unparsed`);
        });
        p.catch(() => undefined);
        inFlight.push(p);
        if (inFlight.length > 64) await Promise.all(inFlight.splice(0, 32));
      }
    }
    await Promise.all(inFlight);
  } finally {
    db.close();
  }
  bar.done(`${bags.length} functions with features, ${unparsed} did not parse`);
  return { bags, batches, ids: Uint32Array.from(bagIds), unparsed, idCount };
}

/** Summary of one threshold's run, for the stage facts and the manifest. */
function summary(s: DedupStats): Record<string, unknown> {
  return {
    settings: s.settings,
    settings_version: s.settingsVersion,
    items: s.items,
    empty_items: s.emptyItems,
    exact_groups: s.exactGroups,
    exact_duplicates: s.exactDuplicates,
    candidates: s.candidates,
    verified_pairs: s.verifiedPairs,
    candidates_truncated: s.candidatesTruncated,
    groups: s.groups,
    largest_group: s.largestGroup,
    communities: s.communities,
    giant_components: s.giantComponents,
    ms: Object.fromEntries(Object.entries(s.ms).map(([k, v]) => [k, Math.round(v)])),
  };
}

/** What makes two presets' signatures equal, sample for sample (LSH and graph settings may differ). */
function signatureKey(s: DedupSettings): string {
  return JSON.stringify([s.version, s.seed, s.minDf, s.weights]);
}

/** Presets grouped by signatureKey; each group is signed once, with the most samples any member needs. */
interface SignatureFamily {
  key: string;
  settings: DedupSettings;
  samples: number;
  signatures: Uint32Array | null;
  ms: number;
}

function signatureFamilies(presets: readonly DedupSettings[]): SignatureFamily[] {
  const out = new Map<string, SignatureFamily>();
  for (const p of presets) {
    const key = signatureKey(p);
    const f = out.get(key);
    if (f) f.samples = Math.max(f.samples, p.samples);
    else out.set(key, { key, settings: p, samples: p.samples, signatures: null, ms: 0 });
  }
  return [...out.values()];
}

/**
 * Signatures (family.samples words per bag, bag order) of every distinct bag (rep[i] === i); copies'
 * rows stay zero. The threads get the frequency table once (sign-init), then the batches' packed bags.
 * With `transfer` the batches' buffers are moved to the threads (the bags' views here are detached
 * afterwards, which is how their memory is given back); otherwise copied.
 */
async function signCorpus(pool: Pool, corpus: Corpus, rep: Uint32Array, df: DfTable, nDocs: number, family: SignatureFamily, transfer: boolean, quiet: boolean): Promise<Uint32Array> {
  const S = family.samples;
  const settings = family.settings;
  const sig = new Uint32Array(corpus.bags.length * S);
  await pool.broadcast({
    kind: 'sign-init',
    df: df.shared(),
    nDocs,
    kindWeights: Array.from(kindWeights(settings)),
    minDf: settings.minDf,
    samples: S,
    seed: settings.seed,
    // The draws the single-threaded core would cache (its most frequent features), computed once per thread.
    frequent: df.mostFrequent(drawCacheCapacity(S)),
  });
  const bar = createProgress({ label: `dedup: signatures (${S} samples)`, total: nDocs, unit: 'functions', quiet });
  const inFlight: Promise<void>[] = [];
  for (const batch of corpus.batches) {
    const { res, firstBag } = batch;
    const ok = res.ok as Uint8Array;
    const signMask = new Uint8Array(ok.length);
    const rows: number[] = [];
    for (let i = 0, bag = firstBag; i < ok.length; i++) {
      if (!ok[i]) continue;
      if (rep[bag] === bag) {
        signMask[i] = 1;
        rows.push(bag);
      }
      bag++;
    }
    if (rows.length === 0) continue;
    const arrays = { ok, start: res.start as Uint32Array, hashes: res.hashes as Uint32Array, counts: res.counts as Float32Array, kindOffsets: res.kindOffsets as Uint32Array };
    const { result } = await pool.submit(
      { kind: 'sign', ...arrays, sign: signMask },
      transfer ? [arrays.start.buffer, arrays.hashes.buffer, arrays.counts.buffer, arrays.kindOffsets.buffer, signMask.buffer] as ArrayBuffer[] : undefined,
    );
    const p = result.then((r) => {
      const got = r.signatures as Uint32Array;
      if (got.length !== rows.length * S) throw new Error(`dedup: a thread returned ${got.length} signature words for ${rows.length} functions`);
      for (let k = 0; k < rows.length; k++) sig.set(got.subarray(k * S, k * S + S), rows[k] * S);
      bar.tick(rows.length);
    });
    p.catch(() => undefined);
    inFlight.push(p);
    if (inFlight.length > 64) await Promise.all(inFlight.splice(0, 32));
  }
  await Promise.all(inFlight);
  bar.done();
  return sig;
}

/**
 * Band hashes of every bag for `settings` from its family's signatures (stride words a row): a copy
 * gets its representative's bands; an empty set (all-EMPTY_SAMPLE signature) gets none.
 */
function corpusBands(rep: Uint32Array, sig: Uint32Array, stride: number, settings: DedupSettings): { bands: Uint32Array; has: Uint8Array } {
  const n = rep.length;
  const S = settings.samples;
  const all = bandHashes(sig, n, stride, settings.bands, settings.rows);
  const B = settings.bands;
  const bands = new Uint32Array(n * B);
  const has = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rep[i];
    let nonzero = false;
    for (let k = 0; k < S && !nonzero; k++) nonzero = sig[r * stride + k] !== EMPTY_SAMPLE;
    if (!nonzero) continue;
    has[i] = 1;
    bands.set(all.subarray(r * B, r * B + B), i * B);
  }
  return { bands, has };
}

export interface DedupStageOptions {
  workers: number;
  quiet: boolean;
  tempDir: string;
}

export async function runDedupStage(outDir: string, tables: Record<string, ManifestFile[]>, opts: DedupStageOptions): Promise<StageOutputs> {
  const shards = tables[TABLE.functions] ?? [];
  const t0 = performance.now();
  const total = shards.reduce((n, s) => n + (s.rows ?? 0), 0);
  const threads = Math.max(1, Math.min(opts.workers, Math.ceil(total / 2048)));
  const pool: Pool = new WorkerPool<DedupRequest, DedupResponse>(new URL('./dedup-worker.ts', import.meta.url), threads, 'dedup');
  const bandsPreset = DEDUP_BANDS_PRESET;
  const families = signatureFamilies([...DEDUP_PRESETS, bandsPreset]);
  let corpus: Corpus;
  let rep: Uint32Array;
  let dfMs = 0;
  let dfSize = 0;
  let t1: number;
  try {
    corpus = await collectFeatures(pool, outDir, shards, opts.quiet, opts.tempDir);
    t1 = performance.now();
    // Exact duplicates, and document frequencies over the distinct bodies (copies do not lower the IDF).
    rep = exactRepresentatives(corpus.bags);
    const df = new DfTable();
    let nDocs = 0;
    for (let i = 0; i < corpus.bags.length; i++) {
      if (rep[i] !== i) continue;
      df.addBag(corpus.bags[i]);
      nDocs++;
    }
    dfMs = performance.now() - t1;
    dfSize = df.size;
    for (const [f, family] of families.entries()) {
      const start = performance.now();
      family.signatures = await signCorpus(pool, corpus, rep, df, nDocs, family, f === families.length - 1, opts.quiet);
      family.ms = performance.now() - start;
    }
  } finally {
    await pool.close();
  }
  // The bags' buffers went to the threads; only the ids and exact-duplicate representatives stay.
  const bagCount = corpus.bags.length;
  const batchCount = corpus.batches.length;
  corpus.bags.length = 0;
  corpus.batches.length = 0;
  const familyOf = (s: DedupSettings): SignatureFamily => families.find((f) => f.key === signatureKey(s)) as SignatureFamily;
  const t2 = performance.now();

  // Per function id and preset: group and community (-1: none).
  const P = DEDUP_PRESETS.length;
  const group = new Int32Array(corpus.idCount * P).fill(-1);
  const community = new Int32Array(corpus.idCount * P).fill(-1);
  const thresholds: Record<string, unknown> = {};
  for (const [p, settings] of DEDUP_PRESETS.entries()) {
    const start = performance.now();
    const fam = familyOf(settings);
    // weigh: frequencies counted here; minhash: the threads' weighing and signing, shared by the family.
    const r = runDedupOnSignatures(rep, fam.signatures as Uint32Array, fam.samples, settings, { weigh: dfMs, minhash: fam.ms });
    for (let i = 0; i < corpus.ids.length; i++) {
      group[corpus.ids[i] * P + p] = r.groupIdPerItem[i];
      community[corpus.ids[i] * P + p] = r.communityIdPerItem[i];
    }
    thresholds[String(settings.threshold)] = { ...summary(r.stats), seconds: +((performance.now() - start) / 1000).toFixed(2) };
    if (!opts.quiet) {
      process.stderr.write(
        `dedup: ${settings.name}: ${r.stats.groups} groups (largest ${r.stats.largestGroup}, ${r.stats.giantComponents.length} giant components split), ` +
          `${r.stats.verifiedPairs} verified of ${r.stats.candidates} candidates in ${((performance.now() - start) / 1000).toFixed(1)}s\n`,
      );
    }
  }
  const t3 = performance.now();
  const bandsFamily = familyOf(bandsPreset);
  const { bands, has } = corpusBands(rep, bandsFamily.signatures as Uint32Array, bandsFamily.samples, bandsPreset);
  for (const f of families) f.signatures = null;
  const B = bandsPreset.bands;
  // Bag index of each id (-1: no bag), so shards can be written in id order.
  const bagOf = new Int32Array(corpus.idCount).fill(-1);
  for (let i = 0; i < corpus.ids.length; i++) bagOf[corpus.ids[i]] = i;
  const t4 = performance.now();

  const out = emptyOutputs();
  const dedupFiles: ManifestFile[] = [];
  const bandFiles: ManifestFile[] = [];
  const db = await openDb({ tempDir: opts.tempDir, threads: opts.workers });
  try {
    for (const [s, shard] of shards.entries()) {
      const lo = shard.id_min ?? 0;
      const hi = shard.id_max ?? lo - 1;
      await db.exec('CREATE OR REPLACE TABLE dd (id UINTEGER, threshold FLOAT, group_id INTEGER, community_id INTEGER)');
      await db.exec('CREATE OR REPLACE TABLE ddb (id UINTEGER, band INTEGER, hash UINTEGER)');
      const app = await db.conn.createAppender('dd');
      const bandApp = await db.conn.createAppender('ddb');
      let bandRows = 0;
      for (let id = lo; id <= hi; id++) {
        for (const [p, settings] of DEDUP_PRESETS.entries()) {
          app.appendUInteger(id);
          app.appendFloat(settings.threshold);
          const g = group[id * P + p];
          const c = community[id * P + p];
          if (g >= 0) app.appendInteger(g);
          else app.appendNull();
          if (c >= 0) app.appendInteger(c);
          else app.appendNull();
          app.endRow();
        }
        const b = bagOf[id];
        if (b >= 0 && has[b]) {
          for (let k = 0; k < B; k++) {
            bandApp.appendUInteger(id);
            bandApp.appendInteger(k);
            bandApp.appendUInteger(bands[b * B + k]);
            bandApp.endRow();
          }
          bandRows += B;
        }
      }
      app.closeSync();
      bandApp.closeSync();
      const num = String(s).padStart(5, '0');
      const extent = sameExtentAs(shard);
      dedupFiles.push(
        await writeParquet(db, 'SELECT id, threshold, group_id, community_id FROM dd ORDER BY id, threshold', outDir, `${TABLE.dedup}-${num}.parquet`, {
          rowGroupRows: 16384,
          ...extent,
          rows: Math.max(0, hi - lo + 1) * P,
        }),
      );
      bandFiles.push(
        await writeParquet(db, 'SELECT id, band, hash FROM ddb ORDER BY id, band', outDir, `${TABLE.dedupBands}-${num}.parquet`, {
          rowGroupRows: 65536,
          ...extent,
          rows: bandRows,
        }),
      );
    }
  } finally {
    db.close();
  }
  const t5 = performance.now();
  out.tables[TABLE.dedup] = dedupFiles;
  out.tables[TABLE.dedupBands] = bandFiles;
  out.facts = {
    dedup: {
      functions: corpus.idCount,
      with_features: bagCount,
      unparsed: corpus.unparsed,
      threads,
      batches: batchCount,
      distinct_features: dfSize,
      thresholds,
      bands: { settings: bandsPreset.name, settings_version: bandsPreset.version, samples: bandsPreset.samples, bands: bandsPreset.bands, rows: bandsPreset.rows, seed: bandsPreset.seed },
      signatures: families.map((f) => ({ samples: f.samples, presets: [...DEDUP_PRESETS, bandsPreset].filter((p) => signatureKey(p) === f.key).map((p) => p.name), seconds: +(f.ms / 1000).toFixed(2) })),
      seconds: {
        features: +((t1 - t0) / 1000).toFixed(2),
        document_frequencies: +(dfMs / 1000).toFixed(2),
        signatures: +((t2 - t1 - dfMs) / 1000).toFixed(2),
        dedup: +((t3 - t2) / 1000).toFixed(2),
        bands: +((t4 - t3) / 1000).toFixed(2),
        write: +((t5 - t4) / 1000).toFixed(2),
      },
    },
  };
  return out;
}
