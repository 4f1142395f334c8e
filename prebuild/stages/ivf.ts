// Stage: IVF partitions for search. For each embedding, a seeded k-means (sqrt(n) partitions) over a
// sample, every vector assigned to its nearest centroid, and the vectors written again sorted by
// (partition, id) in small row groups, with the partition index beside them. The browser then
// answers an IVF query by range-reading only the row groups of the partitions it probes.
// The index is written in format 2 (core/search/ivf.ts): header, centroids and partition offsets
// first, the id list after them; the manifest records the head's length and sha256 so the browser
// reads just the head with one checked Range request.
//
// `npx tsx prebuild/stages/ivf.ts --rewrite-index DIR [--centroids float16|int8|float32]` rewrites
// the index of an existing data set (format 1 or 2) in format 2 and updates its manifest, without
// touching the shards: for data sets built before format 2 (the synthetic ones at millions of rows).
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sha256Hex, validateManifest, type EmbeddingInfo, type ManifestFile } from '../../src/core/data/manifest.ts';
import { assignToCentroids, buildIvfIndex, deserializeIvf, kmeansIvf, serializeIvf, serializeIvfHead, type CentroidDtype, type IvfPartitions } from '../../src/core/search/ivf.ts';
import { openDb } from '../duckdb.ts';
import { writeFileAtomic } from '../fsutil.ts';
import { describeFile, writeParquet } from '../parquet.ts';
import { emptyOutputs, type StageOutputs } from '../state.ts';
import { readCodes } from './layout.ts';

/**
 * Rows per row group of the partitioned vectors: the unit a probe reads (~1.6 MB at 768-d int8).
 * DuckDB writes row groups in multiples of its 2,048-row vectors, so smaller would not hold.
 */
export const IVF_ROW_GROUP_ROWS = 2048;
/** Rows per partitioned shard. */
export const IVF_SHARD_ROWS = 65_536;

/**
 * How the index stores its centroids. float16 halves float32's bytes and ranks partitions the same
 * way in the measured cases (test/unit/search/ivf-format.test.ts); int8 (+ a scale per centroid)
 * quarters them at a small cost in probe agreement.
 */
export const IVF_CENTROID_DTYPE: CentroidDtype = 'float16';

/** The manifest's `ivf.head` for an index: the head's byte length and sha256. */
export async function ivfHeadRef(parts: IvfPartitions, dtype: CentroidDtype = IVF_CENTROID_DTYPE): Promise<{ bytes: number; sha256: string }> {
  const head = serializeIvfHead(parts, dtype);
  return { bytes: head.byteLength, sha256: await sha256Hex(head) };
}

export function ivfListCount(n: number): number {
  return Math.max(1, Math.min(4096, Math.round(Math.sqrt(n))));
}

export async function runIvf(outDir: string, embeddings: { info: EmbeddingInfo; shards: ManifestFile[] }[], seed: number, tempDir: string): Promise<StageOutputs> {
  const out = emptyOutputs();
  const infos: EmbeddingInfo[] = [];
  const db = await openDb({ tempDir });
  try {
    for (const { info, shards } of embeddings) {
      const total = shards.reduce((n, s) => n + (s.rows ?? 0), 0);
      const c = await readCodes(db, shards.map((s) => join(outDir, s.path)), total, info.dim);
      const n = c.n;
      const d = c.dim;
      const nlist = ivfListCount(n);
      // k-means on a seeded sample of at most 20k dequantised rows (kmeansIvf samples again inside).
      const step = Math.max(1, Math.floor(n / 20_000));
      const m = Math.ceil(n / step);
      const sample = new Float32Array(m * d);
      for (let i = 0, r = 0; r < n; r += step, i++) {
        const s = c.scales[r]!;
        for (let j = 0; j < d; j++) sample[i * d + j] = c.codes[r * d + j]! * s;
      }
      const { centroids } = kmeansIvf(sample, d, nlist, { seed, sample: 20_000 });
      const assignments = assignToCentroids({ kind: 'int8', ids: c.ids, codes: c.codes, scales: c.scales, dim: d }, centroids);
      const index = buildIvfIndex(c.ids, assignments, centroids, d);
      const key = `ivf-${info.model}`;
      const dir = `models/${key}`;
      await mkdir(join(outDir, dir), { recursive: true });
      await writeFileAtomic(join(outDir, dir, 'index.bin'), serializeIvf(index, { format: 2, centroids: IVF_CENTROID_DTYPE }));
      out.models[key] = [await describeFile(outDir, `${dir}/index.bin`)];

      // Row positions of ids (ids are sorted in c), to write vectors in partition order.
      const rowOf = new Map<number, number>();
      for (let i = 0; i < n; i++) rowOf.set(c.ids[i]!, i);
      const table = `${info.table}-ivf`;
      const files: ManifestFile[] = [];
      for (let s = 0, start = 0; start < n || (n === 0 && s === 0); s++, start += IVF_SHARD_ROWS) {
        const end = Math.min(n, start + IVF_SHARD_ROWS);
        await db.exec('CREATE OR REPLACE TABLE ivfv (pos UINTEGER, id UINTEGER, embedding BLOB, scale FLOAT)');
        const ap = await db.conn.createAppender('ivfv');
        for (let p = start; p < end; p++) {
          const r = rowOf.get(index.ids[p]!)!;
          ap.appendUInteger(p);
          ap.appendUInteger(index.ids[p]!);
          ap.appendBlob(new Uint8Array(c.codes.buffer, c.codes.byteOffset + r * d, d));
          ap.appendFloat(c.scales[r]!);
          ap.endRow();
        }
        ap.closeSync();
        const rel = `${table}-${String(s).padStart(5, '0')}.parquet`;
        files.push(await writeParquet(db, 'SELECT id, embedding, scale FROM ivfv ORDER BY pos', outDir, rel, { rowGroupRows: IVF_ROW_GROUP_ROWS, rows: end - start }));
        if (n === 0) break;
      }
      out.tables[table] = files;
      infos.push({ ...info, ivf: { table, index: key, nlist, head: await ivfHeadRef(index) } });
    }
    out.facts = { ivf_embeddings: infos };
    return out;
  } finally {
    db.close();
  }
}

/**
 * Rewrites every IVF index of the data set in `dataDir` in format 2 (head first, centroids as
 * `dtype`, ids kept after the head) and records the head in its manifest.json. Shards are not
 * touched. Returns the sizes before and after, per index.
 */
export async function rewriteIvfIndexes(dataDir: string, dtype: CentroidDtype = IVF_CENTROID_DTYPE): Promise<{ index: string; before: number; after: number; head: number }[]> {
  const manifestPath = join(dataDir, 'manifest.json');
  const manifest = validateManifest(JSON.parse(await readFile(manifestPath, 'utf8')));
  const done: { index: string; before: number; after: number; head: number }[] = [];
  for (const e of manifest.embeddings) {
    if (!e.ivf) continue;
    const f = manifest.models[e.ivf.index]?.[0];
    if (!f) throw new Error(`the manifest lists no file for IVF index ${e.ivf.index}`);
    const bytes = new Uint8Array(await readFile(join(dataDir, f.path)));
    const got = await sha256Hex(bytes);
    if (got !== f.sha256) throw new Error(`${f.path} does not match the manifest (sha256 ${got}, listed ${f.sha256}): refusing to rewrite it`);
    const index = deserializeIvf(bytes);
    if (index.nlist !== e.ivf.nlist) throw new Error(`${f.path} holds ${index.nlist} partitions, the manifest says ${e.ivf.nlist}`);
    await writeFileAtomic(join(dataDir, f.path), serializeIvf(index, { format: 2, centroids: dtype }));
    const head = await ivfHeadRef(index, dtype);
    const described = await describeFile(dataDir, f.path);
    manifest.models[e.ivf.index]![0] = { ...f, bytes: described.bytes, sha256: described.sha256 };
    e.ivf.head = head;
    done.push({ index: e.ivf.index, before: bytes.byteLength, after: described.bytes, head: head.bytes });
  }
  // Same form as stages/manifest.ts writes.
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 1)}\n`);
  return done;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { 'rewrite-index': { type: 'string' }, centroids: { type: 'string', default: IVF_CENTROID_DTYPE }, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help || !values['rewrite-index']) {
    process.stdout.write('Usage: npx tsx prebuild/stages/ivf.ts --rewrite-index DATA_DIR [--centroids float16|int8|float32]\nRewrites the data set\'s IVF partition indexes in format 2 (head first) and updates manifest.json; shards are untouched.\n');
    if (!values.help) process.exitCode = 2;
    return;
  }
  const dtype = values.centroids as CentroidDtype;
  if (!['float16', 'int8', 'float32'].includes(dtype)) throw new Error(`--centroids must be float16, int8 or float32, got '${values.centroids}'`);
  const t0 = performance.now();
  const out = await rewriteIvfIndexes(resolve(values['rewrite-index']), dtype);
  if (!out.length) throw new Error('the data set has no IVF index to rewrite');
  for (const r of out) process.stdout.write(`ivf: ${r.index}: ${r.before} -> ${r.after} bytes; a query reads the first ${r.head} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`ivf: error: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
