// `prebuild --shard i/n`: one slice of a build that independent machines run side by side (a
// Kubernetes indexed job, a CI matrix, any batch scheduler), followed by one `prebuild --merge`.
//
// Every machine resolves the same sources and keeps the repositories whose stable hash of name falls
// in slice i (sha256 of the name, mod n: deterministic, independent of the other repositories, and
// balanced in expectation). It runs the embarrassingly parallel, per-repository work - extraction,
// the costliest per-function stage that needs no global state - into the slice folder:
//
//   <out>/slice.json              what the slice holds and how it was made (checked by the merge)
//   <out>/parts/<repo>-<key>/     the extract stage's parts, exactly as a single-machine build makes them
//
// The merge (merge.ts) reads every slice and runs the global stages (ids, tables, stats, dedup
// LSH, TF-IDF vocabulary and SVD, layout, IVF, summaries, manifest) on the union of the parts. The
// parts are the same bytes a single-machine build extracts, and the global stages sort what they
// read, so the merged data set is byte-identical to a single-machine build of the same sources.
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { sha256Text, writeFileAtomic } from './fsutil.ts';
import { GENERATOR } from './stages/manifest.ts';
import { EXTRACT_VERSION, runExtract, type RepoPart } from './stages/extract.ts';
import { createSourceContext, resolveSource } from './sources/index.ts';
import type { RepoCheckout } from './sources/types.ts';

export const SLICE_FORMAT = 'code-atlas-slice';
export const SLICE_VERSION = 1;
/** Slices a build may be cut into at most. */
export const MAX_SHARDS = 65_536;

export interface ShardSpec {
  /** 0-based slice index (as Kubernetes' JOB_COMPLETION_INDEX). */
  index: number;
  count: number;
}

/** Parses `i/n` (0 <= i < n). Throws a one-line error a person can act on. */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`--shard takes i/n (slice i of n, counted from 0, e.g. 0/4), got '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) throw new Error(`--shard ${text}: n must be from 1 to ${MAX_SHARDS}`);
  if (!Number.isSafeInteger(index) || index >= count) throw new Error(`--shard ${text}: i must be from 0 to ${count - 1} (slices are counted from 0)`);
  return { index, count };
}

/** The slice a repository belongs to: the first 48 bits of sha256(name), mod count. */
export function shardOfRepo(name: string, count: number): number {
  const h = createHash('sha256').update(name, 'utf8').digest();
  return h.readUIntBE(0, 6) % count;
}

/** One part of a slice, as slice.json lists it (`dir` relative to the slice folder). */
export interface SlicePart {
  name: string;
  dir: string;
  key: string;
  files: number;
  functions: number;
  skipped: number;
  bytes: number;
}

/** slice.json. */
export interface SliceManifest {
  format: typeof SLICE_FORMAT;
  version: number;
  generator: string;
  extract_version: number;
  shard: ShardSpec;
  /** The --source specs, as given: every slice of one build must name the same ones. */
  sources: string[];
  max_file_bytes: number;
  /** Repositories the sources resolved to over all slices, and a digest of their sorted names. */
  repos_total: number;
  repos_digest: string;
  /** This slice's parts, in name order. */
  parts: SlicePart[];
}

export interface ShardOptions {
  sources: string[];
  /** The slice folder. */
  outDir: string;
  cacheDir: string;
  workers: number;
  maxFileBytes: number;
  shard: ShardSpec;
  quiet: boolean;
  log: (line: string) => void;
}

export interface ShardResult {
  slice: SliceManifest;
  timings: { stage: string; seconds: number; peakRssMiB: number }[];
}

/** Digest of the sorted repository names: slices of one build must agree on it. */
export function reposDigest(names: string[]): string {
  return sha256Text('repos-v1', ...[...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function timed<T>(stage: string, timings: ShardResult['timings'], fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    timings.push({ stage, seconds: (performance.now() - start) / 1000, peakRssMiB: Math.round(peak / 2 ** 20) });
    return value;
  } finally {
    clearInterval(timer);
  }
}

/** Builds slice `opts.shard` of the sources into `opts.outDir` (resumable: complete parts are reused). */
export async function runShard(opts: ShardOptions): Promise<ShardResult> {
  const outDir = resolve(opts.outDir);
  const timings: ShardResult['timings'] = [];
  const ctx = createSourceContext({ cacheDir: resolve(opts.cacheDir), quiet: opts.quiet, log: opts.log });
  const all = await timed('sources', timings, async () => {
    const repos: RepoCheckout[] = [];
    for (const spec of opts.sources) repos.push(...(await resolveSource(spec, ctx)));
    if (repos.length === 0) throw new Error('the sources named no repositories');
    const seen = new Set<string>();
    for (const r of repos) {
      if (seen.has(r.name)) throw new Error(`two repositories are named '${r.name}': give each source distinct repositories`);
      seen.add(r.name);
    }
    return repos;
  });
  const mine = all.filter((r) => shardOfRepo(r.name, opts.shard.count) === opts.shard.index);
  if (!opts.quiet) opts.log(`shard ${opts.shard.index}/${opts.shard.count}: ${mine.length} of ${all.length} repositories`);
  await mkdir(outDir, { recursive: true });
  // A slice.json of an earlier run would describe parts this run may replace: it is rewritten at the end.
  await rm(join(outDir, 'slice.json'), { force: true });
  const parts: RepoPart[] = await timed('extract', timings, () =>
    runExtract(mine, { partsDir: join(outDir, 'parts'), workers: opts.workers, maxFileBytes: opts.maxFileBytes, quiet: opts.quiet }),
  );
  const slice: SliceManifest = {
    format: SLICE_FORMAT,
    version: SLICE_VERSION,
    generator: GENERATOR,
    extract_version: EXTRACT_VERSION,
    shard: opts.shard,
    sources: opts.sources,
    max_file_bytes: opts.maxFileBytes,
    repos_total: all.length,
    repos_digest: reposDigest(all.map((r) => r.name)),
    parts: parts.map((p) => ({
      name: p.name,
      dir: relative(outDir, p.dir).split('\\').join('/'),
      key: p.key,
      files: p.files,
      functions: p.functions,
      skipped: p.skipped,
      bytes: p.bytes,
    })),
  };
  // Written last: a slice folder without slice.json is incomplete, and the merge says so.
  await writeFileAtomic(join(outDir, 'slice.json'), `${JSON.stringify(slice, null, 1)}\n`);
  return { slice, timings };
}
