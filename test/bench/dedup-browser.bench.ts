// The dedup core's hashing steps in headless Chromium against the same code in Node, on the same
// weighted sets (real functions: tree-sitter features, log-TF-log-IDF weights), in one run:
// weighted MinHash signatures/s (256 samples), LSH band hashing + candidate pairs, and pair
// verification (estimated weighted Jaccard >= the threshold) per second.
// Sets: by default DEDUP_BROWSER_N (5,000) functions cut from the local python3's stdlib; with
// DEDUP_BENCH_DATA=<data set folder> (e.g. the full Debian corpus's), a seeded uniform sample of
// DEDUP_BROWSER_N (default 100,000) of its functions, parsed by the prebuild's dedup threads, and
// the share of functions in duplicate groups per package from that data set's dedup tables.
// The sets go to the page as one binary file served on 127.0.0.1 (fetched, not JSON-serialised).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Manifest } from '../../src/core/data/manifest.ts';
import { TABLE } from '../../src/core/data/schema.ts';
import { extractFeatures, type FeatureBag } from '../../src/core/dedup/features.ts';
import { N_KINDS, PRESET_GEMINI_FUNC, kindWeights } from '../../src/core/dedup/settings.ts';
import { weighBags, type WeightedSet } from '../../src/core/dedup/tfidf.ts';
import { createRng } from '../../src/core/util/random.ts';
import type { DedupRequest, DedupResponse } from '../../prebuild/stages/dedup-protocol.ts';
import { WorkerPool } from '../../prebuild/worker-pool.ts';
import { openKernelPage } from '../e2e/helpers/kernel-page.ts';
import { findPython, listStdlibFiles } from '../unit/extract/cpython.ts';
import { pythonParser } from '../unit/dedup/corpus.ts';
import type { BenchResult } from './types.ts';
import { hashSteps, packSets, type StepTimes } from './browser/dedup-steps.ts';

const DATA = process.env.DEDUP_BENCH_DATA ?? '';
const N = Number(process.env.DEDUP_BROWSER_N ?? (DATA ? 100_000 : 5000));
const RUNS = Number(process.env.DEDUP_BROWSER_RUNS ?? (N > 20_000 ? 1 : 3));
const SEED = 5;

const log = (m: string): void => void process.stderr.write(`dedup-browser: ${m}\n`);

async function stdlibBags(): Promise<{ bags: FeatureBag[]; what: string }> {
  const py = findPython();
  if (!py) throw new Error('no python3 here: the benchmark cuts functions from its stdlib');
  const parser = await pythonParser();
  const files = listStdlibFiles(py.stdlib).filter((f) => !/(^|\/)(test|tests|idle_test|lib2to3|__phello__|encodings)\//.test(f));
  const rng = createRng(SEED);
  const bags: FeatureBag[] = [];
  for (let i = files.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [files[i], files[j]] = [files[j]!, files[i]!];
  }
  for (const f of files) {
    if (bags.length >= N) break;
    const tree = parser.parse(readFileSync(join(py.stdlib, f), 'utf8'));
    if (!tree) continue;
    for (const d of tree.rootNode.descendantsOfType('function_definition')) if (d && bags.length < N) bags.push(extractFeatures(d));
    tree.delete();
  }
  return { bags, what: `${bags.length} real stdlib functions (seeded file order)` };
}

async function withDuckDb<T>(fn: (run: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await db.connect();
  try {
    return await fn(async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

const fileList = (m: Manifest, table: string): string => `[${(m.tables[table] ?? []).map((f) => `'${join(DATA, f.path).replaceAll("'", "''")}'`).join(', ')}]`;

/** A seeded uniform sample of the data set's functions, parsed into feature bags by the prebuild's dedup threads. */
async function dataSetBags(m: Manifest): Promise<{ bags: FeatureBag[]; what: string }> {
  const total = m.counts.functions;
  const rows = await withDuckDb((run) =>
    run(`SELECT id::INT AS id, body FROM read_parquet(${fileList(m, TABLE.functions)}) USING SAMPLE reservoir(${Math.min(N, total)} ROWS) REPEATABLE (${SEED}) ORDER BY id`),
  );
  log(`${rows.length} of ${total} functions sampled; parsing`);
  const pool = new WorkerPool<DedupRequest, DedupResponse>(new URL('../../prebuild/stages/dedup-worker.ts', import.meta.url), 2, 'dedup');
  const bags: FeatureBag[] = [];
  let unparsed = 0;
  try {
    const K = N_KINDS + 1;
    const parts: Promise<DedupResponse>[] = [];
    for (let at = 0; at < rows.length; at += 2048) {
      const { result } = await pool.submit({ bodies: rows.slice(at, at + 2048).map((r) => String(r.body)) });
      parts.push(result);
    }
    for (const res of await Promise.all(parts)) {
      const ok = res.ok as Uint8Array;
      const start = res.start as Uint32Array;
      for (let i = 0; i < ok.length; i++) {
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
      }
    }
  } finally {
    await pool.close();
  }
  return { bags, what: `${bags.length} functions, a seeded uniform sample (DuckDB reservoir, seed ${SEED}) of the ${total} in ${DATA} (${unparsed} did not parse)` };
}

/** Share of each package's functions in a duplicate group (group_id not null) at 0.80 and 0.95, packages with >= 1,000 functions. */
async function groupShares(m: Manifest): Promise<string[]> {
  if (!(m.tables[TABLE.dedup] ?? []).length) return ['the data set has no dedup table'];
  const rows = await withDuckDb((run) =>
    run(`WITH f AS (SELECT id, repo_id FROM read_parquet(${fileList(m, TABLE.functions)})),
              r AS (SELECT repo_id, name FROM read_parquet(${fileList(m, TABLE.repos)})),
              d AS (SELECT id, threshold, group_id FROM read_parquet(${fileList(m, TABLE.dedup)}))
         SELECT r.name, count(*) FILTER (WHERE d.threshold < 0.9)::INT AS functions,
                avg((d.group_id IS NOT NULL)::INT) FILTER (WHERE d.threshold < 0.9) AS g80,
                avg((d.group_id IS NOT NULL)::INT) FILTER (WHERE d.threshold > 0.9) AS g95
         FROM d JOIN f USING (id) JOIN r USING (repo_id) GROUP BY 1`),
  );
  const all = rows.map((r) => ({ name: String(r.name), n: Number(r.functions), g80: Number(r.g80), g95: Number(r.g95) }));
  const total = all.reduce((s, r) => s + r.n, 0);
  const grouped80 = all.reduce((s, r) => s + r.g80 * r.n, 0);
  const grouped95 = all.reduce((s, r) => s + r.g95 * r.n, 0);
  const big = all.filter((r) => r.n >= 1000).sort((a, b) => b.g80 - a.g80 || b.n - a.n);
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  return [
    `Share of functions in duplicate groups (non-singleton, the dedup table's group_id) in ${DATA}: all ${total} functions ${pct(grouped80 / total)} at 0.80, ${pct(grouped95 / total)} at 0.95. ` +
      `Top 10 of the ${big.length} packages with >= 1,000 functions, by the share at 0.80: ` +
      big
        .slice(0, 10)
        .map((r) => `${r.name} (${r.n}) ${pct(r.g80)} / ${pct(r.g95)}`)
        .join('; ') +
      '.',
  ];
}

/** Serves `body` at http://127.0.0.1:PORT/sets.bin to any origin (the kernel page is on another port). */
async function serve(body: Buffer): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/sets.bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'access-control-allow-origin': '*' });
      res.end(body);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/sets.bin`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

export default async function bench(): Promise<BenchResult> {
  const settings = PRESET_GEMINI_FUNC;
  const load0 = loadavg();
  let manifest: Manifest | null = null;
  if (DATA) {
    if (!existsSync(join(DATA, 'manifest.json'))) throw new Error(`DEDUP_BENCH_DATA: no data set at ${DATA}`);
    manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8')) as Manifest;
  }
  const { bags, what } = manifest ? await dataSetBags(manifest) : await stdlibBags();
  const sets: WeightedSet[] = weighBags(bags, kindWeights(settings), settings.minDf);
  bags.length = 0;
  const n = sets.length;
  log(`${n} weighted sets; Node`);

  const node = hashSteps(sets, RUNS);

  // Chromium, same sets.
  log('Chromium');
  const served = await serve(Buffer.from(packSets(sets)));
  const page = await openKernelPage(fileURLToPath(new URL('./browser/dedup-entry.ts', import.meta.url)));
  let browser: StepTimes & { fetchS: number };
  try {
    browser = await page.evaluate(
      (input) => (globalThis as unknown as { dedupBench: (i: unknown) => Promise<typeof browser> }).dedupBench(input),
      { url: served.url, runs: RUNS },
    );
  } finally {
    await page.close();
    await served.close();
  }
  if (browser.check !== node.check) throw new Error('Chromium computed different signatures from Node');
  if (browser.pairs !== node.pairs || browser.verified !== node.verified) throw new Error('Chromium found different candidate or verified pairs from Node');
  const nnz = sets.reduce((s, x) => s + x.hashes.length, 0);
  const notes = [
    `${what}; ${nnz} weighted features (weights: log-TF-log-IDF over these sets, gemini-func kind weights); ${node.pairs} candidate pairs, ${node.verified} verified; signatures identical in Chromium and Node (checksum ${node.check}).`,
    `${RUNS === 1 ? 'One run' : `Best of ${RUNS} runs`} on each side; single-threaded both; headless Chromium via the kernel-page harness (esbuild bundle on a 127.0.0.1 page; the sets fetched as one ${(nnz * 8 / 2 ** 20).toFixed(0)} MiB binary in ${browser.fetchS.toFixed(1)} s, not timed). Load average (1 min) ${load0[0].toFixed(2)} before, ${loadavg()[0].toFixed(2)} after.`,
  ];
  if (manifest) notes.push(...(await groupShares(manifest)));
  return {
    name: DATA ? 'dedup hashing in Chromium, corpus-scale sample' : 'dedup hashing in Chromium',
    peer: 'the same dedup core in Node, same weighted sets, same run',
    rows: [
      { metric: `weighted MinHash, ${settings.samples} samples (signatures/s)`, ours: n / browser.minhashS, peer: n / node.minhashS, unit: 'functions/s', higherIsBetter: true },
      { metric: `LSH ${settings.bands} x ${settings.rows}: band hashes + candidate pairs`, ours: n / browser.lshS, peer: n / node.lshS, unit: 'functions/s', higherIsBetter: true },
      { metric: `verify candidate pairs (estimated Jaccard >= ${settings.threshold})`, ours: node.pairs / browser.verifyS, peer: node.pairs / node.verifyS, unit: 'pairs/s', higherIsBetter: true },
    ],
    notes,
  };
}
