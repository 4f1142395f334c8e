// The prebuild pipeline: sources -> extract -> tables -> stats -> dedup -> embed (-> embed-jina) -> layout -> ivf -> summaries -> manifest.
// Each stage reads the previous stages' files and is skipped when its inputs did not change.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EmbeddingInfo, LayoutInfo, Manifest } from '../src/core/data/manifest.ts';
import { TABLE } from '../src/core/data/schema.ts';
import type { DatasetStats } from '../src/core/data/stats.ts';
import { openDb, type Db } from './duckdb.ts';
import { sha256Text } from './fsutil.ts';
import { resolveSource, createSourceContext } from './sources/index.ts';
import type { RepoCheckout } from './sources/types.ts';
import { outputFiles, outputsDigest, StageState, type StageOutputs } from './state.ts';
import { runExtract, type RepoPart } from './stages/extract.ts';
import { runTables } from './stages/tables.ts';
import { runStats } from './stages/stats.ts';
import { dedupInputHash, runDedupStage } from './stages/dedup.ts';
import { runEmbedTfidf, type EmbedOptions } from './stages/embed-tfidf.ts';
import { DEFAULT_LAYOUT_OPTIONS, runLayout, type LayoutOptions } from './stages/layout.ts';
import { embedJinaInputHash, runEmbedJina } from './stages/embed-jina.ts';
import { runIvf } from './stages/ivf.ts';
import { writeManifest } from './stages/manifest.ts';
import { runSummaries, summariesInputHash } from './stages/summaries.ts';
import { runTiles, TILES_MIN_FUNCTIONS, withTiles } from './stages/tiles.ts';

export interface PrebuildOptions {
  sources: string[];
  outDir: string;
  cacheDir: string;
  workers: number;
  maxFileBytes: number;
  shardRows: number;
  embed: EmbedOptions;
  /** Layout stage settings; unset ones take DEFAULT_LAYOUT_OPTIONS. */
  layout?: Partial<LayoutOptions>;
  /** Also embed with the Jina code model from this local folder (transformers.js layout). */
  jina?: { modelDir: string; maxTokens: number } | null;
  /** Summaries stage: the seq2seq model folder (retrieval summaries are always made) and how many to generate. */
  summaries?: { modelDir: string | null; maxGenerated?: number; evalMax?: number };
  /**
   * `--merge` of sharded builds (merge.ts): the slices' extraction parts, used instead of resolving
   * the sources and extracting; `sources` then only names them in the manifest.
   */
  parts?: RepoPart[];
  /** The tiles stage (density pyramid + points by tile code) runs above this many functions (default TILES_MIN_FUNCTIONS). */
  tilesMinFunctions?: number;
  force: boolean;
  quiet: boolean;
  log: (line: string) => void;
}

export interface StageTiming {
  stage: string;
  seconds: number;
  peakRssMiB: number;
  skipped: boolean;
}

export interface PrebuildResult {
  manifest: Manifest;
  stats: DatasetStats | null;
  timings: StageTiming[];
}

/** Samples RSS while a stage runs (worker threads included), since the process-wide peak cannot be reset. */
async function measured<T>(stage: string, timings: StageTiming[], fn: () => Promise<{ value: T; skipped: boolean }>): Promise<T> {
  const start = performance.now();
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 200);
  try {
    const { value, skipped } = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    timings.push({ stage, seconds: (performance.now() - start) / 1000, peakRssMiB: Math.round(peak / 2 ** 20), skipped });
    return value;
  } finally {
    clearInterval(timer);
  }
}

export async function runPrebuild(opts: PrebuildOptions): Promise<PrebuildResult> {
  const outDir = resolve(opts.outDir);
  const cacheDir = resolve(opts.cacheDir);
  // Work files live in the cache, not beside the outputs: the output folder is served as-is.
  const workDir = join(cacheDir, 'work', createHash('sha256').update(outDir).digest('hex').slice(0, 16));
  const state = new StageState(join(workDir, 'state'), outDir);
  const timings: StageTiming[] = [];
  const ctx = createSourceContext({ cacheDir, quiet: opts.quiet, log: opts.log });
  const withDb = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
    const db = await openDb({ tempDir: join(workDir, 'duckdb-tmp'), threads: opts.workers });
    try {
      return await fn(db);
    } finally {
      db.close();
    }
  };

  /** Runs a stage unless a saved record with the same input hash is still valid. */
  const stage = async (
    name: string,
    inputHash: string,
    fn: () => Promise<StageOutputs>,
  ): Promise<StageOutputs> =>
    measured(name, timings, async () => {
      const fresh = opts.force ? null : await state.fresh(name, inputHash);
      if (fresh) {
        if (!opts.quiet) opts.log(`${name}: unchanged, reusing ${outputFiles(fresh.outputs).length} files`);
        return { value: fresh.outputs, skipped: true };
      }
      const outputs = await fn();
      await state.save({ stage: name, inputHash, outputs });
      return { value: outputs, skipped: false };
    });

  const repos = opts.parts ? [] : await measured('sources', timings, async () => {
    const all: RepoCheckout[] = [];
    for (const spec of opts.sources) all.push(...(await resolveSource(spec, ctx)));
    if (all.length === 0) throw new Error('the sources named no repositories');
    return { value: all, skipped: false };
  });

  const parts = opts.parts
    ? await measured('merge-slices', timings, async () => ({ value: opts.parts!, skipped: false }))
    : await measured('extract', timings, async () => ({
    value: await runExtract(repos, {
      partsDir: join(workDir, 'parts'),
      workers: opts.workers,
      maxFileBytes: opts.maxFileBytes,
      quiet: opts.quiet,
    }),
    skipped: false,
  }));

  const tablesOut = await stage('tables', sha256Text('tables-v1', String(opts.shardRows), ...parts.map((p) => p.key)), () =>
    withDb((db) => runTables(db, parts, { outDir, shardRows: opts.shardRows, quiet: opts.quiet })),
  );

  let stats: DatasetStats | null = null;
  const statsOut = await stage('stats', sha256Text('stats-v1', outputsDigest(tablesOut)), () =>
    withDb(async (db) => {
      const r = await runStats(db, outDir, tablesOut.tables);
      stats = r.stats;
      return r.outputs;
    }),
  );

  const dedupOut = await stage('dedup', await dedupInputHash(tablesOut.tables[TABLE.functions] ?? []), () =>
    runDedupStage(outDir, tablesOut.tables, { workers: opts.workers, quiet: opts.quiet, tempDir: join(workDir, 'duckdb-tmp') }),
  );

  const embedOut = await stage('embed', sha256Text('embed-tfidf-v1', JSON.stringify(opts.embed), outputsDigest(tablesOut)), () =>
    runEmbedTfidf(outDir, tablesOut.tables, opts.embed, opts.quiet, join(workDir, 'duckdb-tmp')),
  );

  // The neural embedding, when a model folder is given: searchable beside TF-IDF/SVD (which stays,
  // as the offline fallback), and the one the map is laid out from.
  let jinaOut: StageOutputs | null = null;
  if (opts.jina) {
    const jina = { modelDir: resolve(opts.jina.modelDir), maxTokens: opts.jina.maxTokens, quiet: opts.quiet, tempDir: join(workDir, 'duckdb-tmp') };
    jinaOut = await stage('embed-jina', sha256Text(await embedJinaInputHash(jina), outputsDigest(tablesOut)), () =>
      runEmbedJina(outDir, tablesOut.tables, jina),
    );
  }
  const layoutInput = jinaOut ?? embedOut;

  const layoutOpts: LayoutOptions = { ...DEFAULT_LAYOUT_OPTIONS, ...opts.layout };
  const layoutOut = await stage(
    'layout',
    sha256Text('layout-v4', JSON.stringify(layoutOpts), outputsDigest(layoutInput), outputsDigest(tablesOut)),
    () => runLayout(outDir, layoutInput, tablesOut.tables[TABLE.functions] ?? [], layoutOpts, opts.quiet, join(workDir, 'duckdb-tmp')),
  );

  // The map at scale: a density pyramid and the points sorted by tile code, only for large data sets
  // (smaller ones keep exactly the files they had).
  let tilesOut: StageOutputs | null = null;
  if (Number(tablesOut.facts.functions ?? 0) > (opts.tilesMinFunctions ?? TILES_MIN_FUNCTIONS)) {
    const tileLayouts = (layoutOut.facts.layouts as LayoutInfo[] | undefined) ?? [layoutOut.facts.layout as LayoutInfo];
    tilesOut = await stage('tiles', sha256Text('tiles-v1', outputsDigest(layoutOut), outputsDigest(tablesOut)), () =>
      withDb((db) => runTiles(db, outDir, tileLayouts, { ...tablesOut.tables, ...layoutOut.tables }, { tempDir: join(workDir, 'duckdb-tmp'), quiet: opts.quiet, log: opts.log })),
    );
  }

  // IVF partitions of every embedding, for searches that read only the partitions they probe.
  const embedStages = [embedOut, ...(jinaOut ? [jinaOut] : [])];
  const ivfOut = await stage('ivf', sha256Text('ivf-v2', ...embedStages.map(outputsDigest)), () =>
    runIvf(
      outDir,
      embedStages.map((s) => {
        const info = s.facts.embedding as EmbeddingInfo;
        return { info, shards: s.tables[info.table] ?? [] };
      }),
      opts.embed.seed,
      join(workDir, 'duckdb-tmp'),
    ),
  );

  // Summaries of undocumented functions (retrieval always, the seq2seq model when given) and their
  // evaluation on held-out packages, by the embedding the map is laid out from.
  const summariesOpts = { ...opts.summaries, seed: opts.embed.seed, quiet: opts.quiet, tempDir: join(workDir, 'duckdb-tmp') };
  const summEmbedStage = jinaOut ?? embedOut;
  const summEmbedInfo = summEmbedStage.facts.embedding as EmbeddingInfo;
  const summariesOut = await stage(
    'summaries',
    sha256Text(await summariesInputHash(summariesOpts), outputsDigest(tablesOut), outputsDigest(summEmbedStage)),
    () =>
      runSummaries(outDir, tablesOut.tables, {
        info: summEmbedInfo,
        shards: summEmbedStage.tables[summEmbedInfo.table] ?? [],
        modelFiles: summEmbedStage.models[summEmbedInfo.model_files ?? summEmbedInfo.model] ?? [],
      }, summariesOpts),
  );

  const manifest = await measured('manifest', timings, async () => {
    const embeddings = ivfOut.facts.ivf_embeddings as EmbeddingInfo[];
    const layouts = withTiles((layoutOut.facts.layouts as LayoutInfo[] | undefined) ?? [layoutOut.facts.layout as LayoutInfo], tilesOut);
    const m = await writeManifest(outDir, {
      sources: opts.sources,
      stages: [tablesOut, statsOut, dedupOut, embedOut, ...(jinaOut ? [jinaOut] : []), ivfOut, layoutOut, ...(tilesOut ? [tilesOut] : []), summariesOut],
      embeddings,
      layouts,
      defaultLayout: layouts[0]?.name ?? null,
    });
    await removeStaleOutputs(outDir, m);
    return { value: m, skipped: false };
  });

  // When the stats stage was unchanged, its figures come from the stats.json it wrote before.
  stats ??= JSON.parse(await readFile(join(outDir, 'stats.json'), 'utf8')) as DatasetStats;
  return { manifest, stats, timings };
}

/** Deletes data files a previous run wrote that this manifest no longer names (e.g. fewer shards). */
async function removeStaleOutputs(outDir: string, m: Manifest): Promise<void> {
  const keep = new Set<string>(['manifest.json']);
  for (const files of Object.values(m.tables)) for (const f of files) keep.add(f.path);
  for (const files of Object.values(m.models)) for (const f of files) keep.add(f.path);
  if (m.stats) keep.add(m.stats.path);
  const visit = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(outDir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory() && (path === 'models' || path.startsWith('models/'))) await visit(path);
      else if (e.isFile() && !keep.has(path) && (/\.(parquet|bin)$/.test(e.name) || e.name.includes('.tmp-') || path.startsWith('models/'))) {
        await rm(join(outDir, path), { force: true });
      }
    }
  };
  await visit('');
}
