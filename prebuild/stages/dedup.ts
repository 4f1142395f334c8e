// Stage: near-duplicate detection (src/core/dedup) over every function. Worker threads parse the
// bodies of the functions shards with web-tree-sitter and return Apollo-style feature bags, batch by
// batch; the core then runs once per threshold preset (0.95, 0.80). Outputs, shard for shard with
// the functions shards:
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
import { exactRepresentatives, runDedup, weighDistinct, type DedupStats } from '../../src/core/dedup/index.ts';
import { bandHashes } from '../../src/core/dedup/lsh.ts';
import { weightedMinHash } from '../../src/core/dedup/minhash.ts';
import {
  DEDUP_SETTINGS_VERSION,
  N_KINDS,
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

/** Feature bags of every function that parsed (views into the batches' packed arrays), in id order. */
interface Corpus {
  bags: FeatureBag[];
  /** Function id of bag i. */
  ids: Uint32Array;
  /** Functions whose body did not parse. */
  unparsed: number;
  /** Ids 0..idCount-1 cover every function. */
  idCount: number;
}

async function collectFeatures(outDir: string, shards: ManifestFile[], workers: number, quiet: boolean, tempDir: string): Promise<Corpus> {
  const total = shards.reduce((n, s) => n + (s.rows ?? 0), 0);
  const idCount = shards.reduce((m, s) => Math.max(m, (s.id_max ?? -1) + 1), total);
  const bar = createProgress({ label: 'dedup: features', total, unit: 'functions', quiet });
  const pool = new WorkerPool<DedupRequest, DedupResponse>(
    new URL('./dedup-worker.ts', import.meta.url),
    Math.max(1, Math.min(workers, Math.ceil(total / 2048))),
    'dedup',
  );
  const db = await openDb({ tempDir, threads: 1 });
  const bags: FeatureBag[] = [];
  const bagIds: number[] = [];
  let unparsed = 0;
  // Results arrive out of order; they are kept by batch and appended in batch order.
  const done = new Map<number, { ids: number[]; res: DedupResponse }>();
  let nextToAppend = 0;
  const append = (): void => {
    for (let b = done.get(nextToAppend); b; b = done.get(nextToAppend)) {
      done.delete(nextToAppend++);
      const { ids, res } = b;
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
    await pool.close();
  }
  bar.done(`${bags.length} functions with features, ${unparsed} did not parse`);
  return { bags, ids: Uint32Array.from(bagIds), unparsed, idCount };
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

/** True when two presets give identical signatures (weighting and hashing alike; LSH and graph may differ). */
function sameSignatures(a: DedupSettings, b: DedupSettings): boolean {
  return a.version === b.version && a.samples === b.samples && a.seed === b.seed && a.minDf === b.minDf && JSON.stringify(a.weights) === JSON.stringify(b.weights);
}

/**
 * Band hashes of every bag for `settings`. `sig` holds runDedup's signatures (representatives of
 * exact-duplicate sets only, zero for the rest and for empty sets) when a threshold preset shared the
 * signature settings; otherwise they are computed here the same way (weights over distinct bodies).
 */
function corpusBands(bags: FeatureBag[], settings: DedupSettings, reuse: Uint32Array | null): { bands: Uint32Array; has: Uint8Array } {
  const n = bags.length;
  const S = settings.samples;
  const rep = exactRepresentatives(bags);
  const sig = reuse ?? weightedMinHash(weighDistinct(bags, settings, rep), S, settings.seed);
  const all = bandHashes(sig, n, S, settings.bands, settings.rows);
  const B = settings.bands;
  const bands = new Uint32Array(n * B);
  const has = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rep[i];
    // An all-zero signature is an empty set (no features left after weighting): no bands.
    let nonzero = false;
    for (let k = 0; k < S && !nonzero; k++) nonzero = sig[r * S + k] !== 0;
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
  const corpus = await collectFeatures(outDir, shards, opts.workers, opts.quiet, opts.tempDir);
  const t1 = performance.now();

  // Per function id and preset: group and community (-1: none).
  const P = DEDUP_PRESETS.length;
  const group = new Int32Array(corpus.idCount * P).fill(-1);
  const community = new Int32Array(corpus.idCount * P).fill(-1);
  const thresholds: Record<string, unknown> = {};
  const bandsPreset = DEDUP_BANDS_PRESET;
  let reuse: Uint32Array | null = null;
  for (const [p, settings] of DEDUP_PRESETS.entries()) {
    const start = performance.now();
    const r = runDedup(corpus.bags, settings);
    if (!reuse && sameSignatures(settings, bandsPreset)) reuse = r.signatures;
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
  const t2 = performance.now();
  const { bands, has } = corpusBands(corpus.bags, bandsPreset, reuse);
  reuse = null;
  const B = bandsPreset.bands;
  // Bag index of each id (-1: no bag), so shards can be written in id order.
  const bagOf = new Int32Array(corpus.idCount).fill(-1);
  for (let i = 0; i < corpus.ids.length; i++) bagOf[corpus.ids[i]] = i;
  const bagCount = corpus.bags.length;
  corpus.bags.length = 0;
  const t3 = performance.now();

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
  const t4 = performance.now();
  out.tables[TABLE.dedup] = dedupFiles;
  out.tables[TABLE.dedupBands] = bandFiles;
  out.facts = {
    dedup: {
      functions: corpus.idCount,
      with_features: bagCount,
      unparsed: corpus.unparsed,
      thresholds,
      bands: { settings: bandsPreset.name, settings_version: bandsPreset.version, samples: bandsPreset.samples, bands: bandsPreset.bands, rows: bandsPreset.rows, seed: bandsPreset.seed },
      seconds: {
        features: +((t1 - t0) / 1000).toFixed(2),
        dedup: +((t2 - t1) / 1000).toFixed(2),
        bands: +((t3 - t2) / 1000).toFixed(2),
        write: +((t4 - t3) / 1000).toFixed(2),
      },
    },
  };
  return out;
}
