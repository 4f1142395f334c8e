// Stage: IVF partitions for search. For each embedding, a seeded k-means (sqrt(n) partitions) over a
// sample, every vector assigned to its nearest centroid, and the vectors written again sorted by
// (partition, id) in small row groups, with the partition index beside them. The browser then
// answers an IVF query by range-reading only the row groups of the partitions it probes.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmbeddingInfo, ManifestFile } from '../../src/core/data/manifest.ts';
import { assignToCentroids, buildIvfIndex, kmeansIvf, serializeIvf } from '../../src/core/search/ivf.ts';
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
      await writeFileAtomic(join(outDir, dir, 'index.bin'), serializeIvf(index));
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
      infos.push({ ...info, ivf: { table, index: key, nlist } });
    }
    out.facts = { ivf_embeddings: infos };
    return out;
  } finally {
    db.close();
  }
}
