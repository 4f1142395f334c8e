// The search CLI on a small real data set built by the real prebuild (two stdlib packages): ranked
// results equal an independent brute force over the same vectors (read with DuckDB), names are
// joined, and bad input fails with a one-line reason.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../../src/core/data/manifest.ts';
import { deserializeTfidfSvd, embedTfidfSvd, type TfidfSvdJson } from '../../../src/core/embed/tfidf-svd.ts';
import type { KnnMetric } from '../../../src/core/search/knn.ts';
import { parquetList, query, readManifest, ROOT, runCli, STDLIB } from '../prebuild/cli-helpers.ts';
import { referenceTopK } from './helpers.ts';

interface SearchJson {
  query: string;
  embedder: string;
  metric: string;
  p: number | string | null;
  k: number;
  is_metric: boolean;
  results: { id: number; distance: number; qualname: string | null; repo: string | null }[];
}

function search(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'prebuild/search-cli.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

let work: string;
let data: string;
let manifest: Manifest;
const QUERY = 'Decode a JSON document from a string and return the Python object';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-search-'));
  const corpus = join(work, 'corpus');
  for (const name of ['json', 'wsgiref']) await cp(join(STDLIB, name), join(corpus, name), { recursive: true });
  data = join(work, 'data');
  const r = await runCli(['--source', `dir:${corpus}`, '--out', data, '--cache', join(work, 'cache'), '--embed-dim', '32', '--vocab', '2000', '--svd-sample', '500', '--workers', '1', '--quiet']);
  if (r.code !== 0) throw new Error(`prebuild failed: ${r.stderr}`);
  manifest = await readManifest(data);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Brute force over the data set's vectors, read with DuckDB (not with the code under test). */
async function bruteForce(metric: KnnMetric, k: number): Promise<{ ids: number[]; distances: number[] }> {
  const info = manifest.embeddings[0]!;
  const files = manifest.models[info.model_files ?? info.model]!;
  const json = JSON.parse(await readFile(join(data, files.find((f) => f.path.endsWith('.json'))!.path), 'utf8')) as TfidfSvdJson;
  const bin = new Uint8Array(await readFile(join(data, files.find((f) => f.path.endsWith('.bin'))!.path)));
  const q = embedTfidfSvd(deserializeTfidfSvd(json, bin), [QUERY]);
  const rows = await query<{ id: number; codes: unknown; scale: number }>(
    `SELECT id::INT AS id, scale, embedding AS codes FROM read_parquet(${parquetList(data, manifest, info.table)}) ORDER BY id`,
  );
  const n = rows.length;
  const vec = (i: number): number[] => {
    const raw = rows[i]!.codes as unknown;
    const bytes = raw instanceof Uint8Array ? raw : new Uint8Array(raw as ArrayBuffer);
    return Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), (c) => c * rows[i]!.scale);
  };
  const ref = referenceTopK(q, n, vec, k, metric);
  return { ids: ref.ids.map((i) => rows[i]!.id), distances: ref.distances };
}

describe('search CLI', () => {
  test.each([
    [['--p', '2'], { kind: 'minkowski', p: 2 }],
    [['--p', '1'], { kind: 'minkowski', p: 1 }],
    [['--p', '3'], { kind: 'minkowski', p: 3 }],
    [['--p', 'inf'], { kind: 'minkowski', p: Infinity }],
    [['--metric', 'cosine'], { kind: 'cosine' }],
  ] as [string[], KnnMetric][])('%j ranks exactly as a brute force over the stored vectors', async (flags, metric) => {
    const r = await search(['--data', data, '--query', QUERY, '--k', '20', ...flags, '--json']);
    expect(r.stderr).not.toContain('search: error');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as SearchJson;
    expect(out.query).toBe(QUERY);
    expect(out.embedder).toBe('tfidf');
    expect(out.k).toBe(20);
    expect(out.metric).toBe(metric.kind);
    expect(out.results).toHaveLength(20);
    const want = await bruteForce(metric, 20);
    expect(out.results.map((x) => x.id)).toEqual(want.ids);
    out.results.forEach((x, i) => expect(x.distance).toBeCloseTo(want.distances[i]!, 9));
    for (const x of out.results) {
      expect(x.qualname).toMatch(/\w/);
      expect(x.repo).toMatch(/json|wsgiref/);
    }
  });

  test('finds the function the query describes: json.loads-like decoders rank in the top 10', async () => {
    const r = await search(['--data', data, '--query', QUERY, '--k', '10', '--metric', 'cosine', '--json']);
    const out = JSON.parse(r.stdout) as SearchJson;
    expect(out.results.some((x) => /decode|loads|load/i.test(x.qualname ?? ''))).toBe(true);
  });

  test('p < 1 runs and says it is not a metric; the table output names the distance', async () => {
    const half = JSON.parse((await search(['--data', data, '--query', QUERY, '--k', '5', '--p', '0.5', '--json'])).stdout) as SearchJson;
    expect(half.is_metric).toBe(false);
    expect(half.results).toHaveLength(5);
    const table = await search(['--data', data, '--query', QUERY, '--k', '3']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^L2 distance over \d+ vectors/);
    expect(table.stdout.trim().split('\n')).toHaveLength(4);
  });

  test('bad input fails with a non-zero code and a one-line reason', async () => {
    const cases: [string[], RegExp][] = [
      [['--data', join(work, 'nope'), '--query', 'x'], /does not exist/],
      [['--data', work, '--query', 'x'], /no manifest\.json/],
      [['--data', data, '--query', 'x', '--p', '0'], /--p must be/],
      [['--data', data, '--query', 'x', '--p', 'two'], /--p must be/],
      [['--data', data, '--query', 'x', '--k', '0'], /--k must be/],
      [['--data', data, '--query', 'x', '--k', '2.5'], /--k must be/],
      [['--data', data, '--query', QUERY, '--embedder', 'jina'], /jina is not available in this data set/],
      [['--data', data, '--query', 'zzzqqqxxy'], /shares no term/],
      [['--query', 'x'], /--data/],
    ];
    for (const [args, want] of cases) {
      const r = await search(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(want);
    }
    const broken = join(work, 'broken');
    await cp(data, broken, { recursive: true });
    await writeFile(join(broken, 'manifest.json'), '{ not json');
    const b = await search(['--data', broken, '--query', 'x']);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/not valid JSON/);
  });
});
