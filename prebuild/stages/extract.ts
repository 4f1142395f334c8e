// Stage 1: extract. Every repository becomes one "part" folder of JSON lines (functions, skipped
// files) plus its metadata. A part is keyed by the hash of everything that determines its content
// and is renamed into place only when complete, so a killed run resumes with whole repositories
// done and none half-done: no duplicate or missing rows.
import { availableParallelism } from 'node:os';
import { appendFile, lstat, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listPyFiles } from '../sources/dir.ts';
import type { RepoCheckout } from '../sources/types.ts';
import { sha256Text, tempPathFor } from '../fsutil.ts';
import { createProgress } from '../progress.ts';
import { WorkerPool } from '../worker-pool.ts';
import type { ExtractRequest, ExtractResponse } from './extract-protocol.ts';

/** Bump when the part format changes: it invalidates every cached part. */
export const EXTRACT_VERSION = 1;

/**
 * The extractor's own source files: their content is part of every part's key, so changing the
 * extraction code re-extracts instead of reusing parts made by the old code.
 */
const EXTRACTOR_SOURCES = [
  '../../src/core/extract/python.ts',
  '../../src/core/extract/python-strings.ts',
  '../../src/core/extract/source-file.ts',
  '../../src/core/text/docstyle.ts',
  '../../src/core/util/hash.ts',
  './extract-worker.ts',
];

async function extractorFingerprint(): Promise<string> {
  const texts = await Promise.all(EXTRACTOR_SOURCES.map((rel) => readFile(new URL(rel, import.meta.url), 'utf8')));
  return sha256Text(...texts);
}

export interface ExtractOptions {
  partsDir: string;
  workers: number;
  maxFileBytes: number;
  quiet: boolean;
}

export interface RepoPart {
  name: string;
  dir: string;
  key: string;
  files: number;
  functions: number;
  skipped: number;
  bytes: number;
}

/** Contents of a part's repo.json. */
export interface PartSummary extends Omit<RepoPart, 'dir'> {
  source: string;
  url: string | null;
  version: string | null;
  license: string | null;
  topics: string[];
  stars: number | null;
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}

interface FileStat {
  path: string;
  size: number;
}

async function statFiles(root: string, paths: string[]): Promise<{ files: FileStat[]; fingerprint: string }> {
  const files: FileStat[] = [];
  const fp: string[] = [];
  for (const path of paths) {
    try {
      const s = await lstat(join(root, path));
      if (!s.isFile()) continue;
      files.push({ path, size: s.size });
      fp.push(`${path}\t${s.size}\t${Math.floor(s.mtimeMs)}`);
    } catch {
      files.push({ path, size: 0 });
      fp.push(`${path}\tmissing`);
    }
  }
  return { files, fingerprint: fp.join('\n') };
}

/** Chunks of files of roughly equal bytes, so both threads stay busy on repos of any shape. */
function chunkFiles(files: FileStat[], maxBytes = 1 << 21, maxFiles = 64): string[][] {
  const chunks: string[][] = [];
  let cur: string[] = [];
  let curBytes = 0;
  for (const f of files) {
    if (cur.length > 0 && (curBytes + f.size > maxBytes || cur.length >= maxFiles)) {
      chunks.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(f.path);
    curBytes += f.size;
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}

/** Extracts every repository not already extracted with the same inputs; returns parts in name order. */
export async function runExtract(repos: RepoCheckout[], opts: ExtractOptions): Promise<RepoPart[]> {
  const names = new Set<string>();
  for (const r of repos) {
    if (names.has(r.name)) throw new Error(`two repositories are named '${r.name}': give each source distinct repositories`);
    names.add(r.name);
  }
  await mkdir(opts.partsDir, { recursive: true });
  // Half-written parts of a killed run are thrown away; complete ones are reused below.
  for (const entry of await readdir(opts.partsDir)) {
    if (entry.includes('.tmp-')) await rm(join(opts.partsDir, entry), { recursive: true, force: true });
  }

  interface Job {
    repo: RepoCheckout;
    key: string;
    dir: string;
    files: FileStat[];
  }
  const parts: RepoPart[] = [];
  const jobs: Job[] = [];
  const extractor = await extractorFingerprint();
  const sorted = [...repos].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const repo of sorted) {
    const paths = repo.files ?? (await listPyFiles(repo.root));
    const { files, fingerprint } = await statFiles(repo.root, paths);
    const key = sha256Text(
      `extract-v${EXTRACT_VERSION}`,
      extractor,
      String(opts.maxFileBytes),
      repo.name,
      repo.source,
      JSON.stringify(repo.meta),
      fingerprint,
    ).slice(0, 20);
    const dir = join(opts.partsDir, `${safeName(repo.name)}-${key}`);
    try {
      const summary = JSON.parse(await readFile(join(dir, 'repo.json'), 'utf8')) as PartSummary;
      parts.push({ name: repo.name, dir, key, files: summary.files, functions: summary.functions, skipped: summary.skipped, bytes: summary.bytes });
    } catch {
      jobs.push({ repo, key, dir, files });
    }
  }

  if (jobs.length > 0) {
    const totalFiles = jobs.reduce((n, j) => n + j.files.length, 0);
    const progress = createProgress({ label: 'extract', total: totalFiles, unit: 'files', quiet: opts.quiet });
    const pool = new WorkerPool<ExtractRequest, ExtractResponse>(
      new URL('./extract-worker.ts', import.meta.url),
      Math.min(opts.workers, Math.max(1, Math.ceil(totalFiles / 16))),
      'extract',
    );
    let fnTotal = 0;
    try {
      await Promise.all(
        jobs.map(async (job) => {
          const tmp = tempPathFor(job.dir);
          await mkdir(tmp, { recursive: true });
          const fnPath = join(tmp, 'functions.jsonl');
          const skPath = join(tmp, 'skipped.jsonl');
          await writeFile(fnPath, '');
          await writeFile(skPath, '');
          let functions = 0;
          let skipped = 0;
          let bytes = 0;
          let writes = Promise.resolve();
          await Promise.all(
            chunkFiles(job.files).map(async (paths) => {
              const res = await pool.run({ repo: job.repo.name, root: job.repo.root, paths, maxFileBytes: opts.maxFileBytes });
              functions += res.functions ?? 0;
              skipped += res.skipped ?? 0;
              bytes += res.bytes ?? 0;
              fnTotal += res.functions ?? 0;
              // Appends to one file are chained so lines of two chunks never interleave.
              writes = writes.then(async () => {
                if (res.functionLines) await appendFile(fnPath, res.functionLines);
                if (res.skippedLines) await appendFile(skPath, res.skippedLines);
              });
              await writes;
              progress.tick(paths.length, `${fnTotal} functions`);
            }),
          );
          await writes;
          const summary: PartSummary = {
            name: job.repo.name,
            key: job.key,
            source: job.repo.source,
            files: job.files.length,
            functions,
            skipped,
            bytes,
            ...job.repo.meta,
          };
          await writeFile(join(tmp, 'repo.json'), JSON.stringify(summary));
          await rename(tmp, job.dir);
          parts.push({ name: job.repo.name, dir: job.dir, key: job.key, files: job.files.length, functions, skipped, bytes });
        }),
      );
    } finally {
      await pool.close();
    }
    progress.done(`${totalFiles} files, ${fnTotal} functions from ${jobs.length} repositories (${parts.length - jobs.length} reused)`);
  }

  // Parts of repositories no longer in the sources are dropped so the cache does not grow forever.
  const live = new Set(parts.map((p) => p.dir));
  for (const entry of await readdir(opts.partsDir)) {
    const full = join(opts.partsDir, entry);
    if (!live.has(full)) await rm(full, { recursive: true, force: true });
  }
  return parts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
