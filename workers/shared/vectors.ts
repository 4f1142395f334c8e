// Reads an embedding's `vectors-<model>` shards (each checked against the manifest's sha256) into
// int8 blocks: ids, codes (n x dim) and one scale per row. Shared by the search and train workers.
import type { EmbeddingInfo, Manifest } from '../../src/core/data/manifest.ts';
import { memoryAsyncBuffer, readParquetColumns, toFloat32Array, toUint32Array } from '../../src/core/data/parquet-read.ts';
import { vectorBlockFromColumns } from '../../src/core/search/dataset-search.ts';
import type { VectorBlock } from '../../src/core/search/knn.ts';
import { fetchChecked } from './fetch-checked.ts';

export type Int8Block = Extract<VectorBlock, { kind: 'int8' }>;

export interface LoadedVectors {
  info: EmbeddingInfo;
  blocks: Int8Block[];
  rows: number;
}

export type EmbedderName = 'tfidf' | 'jina';

export function embedderNameOf(info: EmbeddingInfo): EmbedderName {
  return info.model.startsWith('tfidf') ? 'tfidf' : 'jina';
}

/** The manifest's embedding for a name, or a clear error naming what the data set has. */
export function embeddingFor(manifest: Manifest, name: EmbedderName): EmbeddingInfo {
  const info = manifest.embeddings.find((e) => embedderNameOf(e) === name);
  if (!info) {
    const have = manifest.embeddings.map((e) => e.model).join(', ') || 'none';
    throw new Error(`this data set has no ${name === 'jina' ? 'Jina' : 'TF-IDF/SVD'} vectors (it has: ${have})`);
  }
  return info;
}

/** The embedding maps are laid out from: Jina when the data set has it, else TF-IDF/SVD. */
export function mapEmbedding(manifest: Manifest): EmbeddingInfo {
  const info = manifest.embeddings.find((e) => embedderNameOf(e) === 'jina') ?? manifest.embeddings[0];
  if (!info) throw new Error('this data set has no embeddings');
  return info;
}

export async function loadVectors(
  manifest: Manifest,
  base: URL,
  info: EmbeddingInfo,
  onProgress: (done: number, total: number) => void,
  onBytes: (n: number) => void,
): Promise<LoadedVectors> {
  const shards = manifest.tables[info.table] ?? [];
  if (shards.length === 0) throw new Error(`the data set lists no shards for ${info.table}`);
  if (info.dtype !== 'int8') throw new Error(`${info.table}: vectors of type ${info.dtype} are not supported by this site`);
  const blocks: Int8Block[] = new Array(shards.length);
  let done = 0;
  let next = 0;
  // Two downloads in flight: enough to hide latency without doubling peak memory.
  const fetcher = async () => {
    while (next < shards.length) {
      const s = next++;
      const f = shards[s]!;
      const bytes = await fetchChecked(new URL(f.path, base).href, f, onBytes);
      const { columns } = await readParquetColumns(memoryAsyncBuffer(bytes), f.path, ['id', 'embedding', 'scale'], { utf8: false });
      blocks[s] = vectorBlockFromColumns(toUint32Array(columns.id!), columns.embedding!, toFloat32Array(columns.scale!), info.dim, 'int8', f.path) as Int8Block;
      done++;
      onProgress(done, shards.length);
    }
  };
  await Promise.all([fetcher(), fetcher()]);
  return { info, blocks, rows: blocks.reduce((n, b) => n + b.ids.length, 0) };
}

/** Dequantised rows of all blocks (or of the given row indices), row-major float32. */
export function dequantize(v: LoadedVectors, rows?: ArrayLike<number>): { ids: Uint32Array; data: Float32Array } {
  const d = v.info.dim;
  const all = v.rows;
  const pick = rows ?? null;
  const n = pick ? pick.length : all;
  const ids = new Uint32Array(n);
  const data = new Float32Array(n * d);
  // Row r of the concatenation lives in block b at offset r - starts[b].
  const starts: number[] = [];
  let acc = 0;
  for (const b of v.blocks) {
    starts.push(acc);
    acc += b.ids.length;
  }
  let b = 0;
  for (let i = 0; i < n; i++) {
    const r = pick ? pick[i]! : i;
    while (b + 1 < starts.length && r >= starts[b + 1]!) b++;
    while (b > 0 && r < starts[b]!) b--;
    const blk = v.blocks[b]!;
    const o = r - starts[b]!;
    ids[i] = blk.ids[o]!;
    const s = blk.scales[o]!;
    for (let j = 0; j < d; j++) data[i * d + j] = blk.codes[o * d + j]! * s;
  }
  return { ids, data };
}
