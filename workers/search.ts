// The search worker: embeds a text query with the data set's TF-IDF/SVD model (or takes a vector
// the embed worker made with Jina), reads the `vectors-<model>` shards once (each checked against
// the manifest's sha256, then kept as int8 codes + scales), and ranks every function by Minkowski
// distance with the chosen p or by cosine, exactly, with the core's kNN kernels — on WebGPU when
// the backend policy (core/gpu/device.ts) says a real GPU exists, else in JS.
import * as Comlink from 'comlink';
import type { EmbeddingInfo, Manifest, ManifestFile } from '../src/core/data/manifest.ts';
import { validateManifest } from '../src/core/data/manifest.ts';
import { deserializeTfidfSvd, TfidfSvdEmbedder, type TfidfSvdJson } from '../src/core/embed/tfidf-svd.ts';
import { chooseBackend, type BackendChoice } from '../src/core/gpu/device.ts';
import { KnnQuery, type KnnMetric, type VectorBlock } from '../src/core/search/knn.ts';
import { deserializeIvf, partitionRows, probePartitions, type IvfIndex } from '../src/core/search/ivf.ts';
import { httpAsyncBuffer, readParquetColumns, readParquetMetadata, rowGroupStarts, toFloat32Array, toUint32Array } from '../src/core/data/parquet-read.ts';
import { vectorBlockFromColumns } from '../src/core/search/dataset-search.ts';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { WebGpuKnn } from '../src/core/search/knn-webgpu.ts';
import { fetchChecked } from './shared/fetch-checked.ts';
import { embedderNameOf, embeddingFor, loadVectors, type EmbedderName, type Int8Block, type LoadedVectors } from './shared/vectors.ts';

export type { EmbedderName };

export interface SearchEmbedding {
  name: EmbedderName;
  model: string;
  dim: number;
  dtype: string;
  rows: number;
  /** IVF partitions available for this embedding (null: exact search only). */
  nlist: number | null;
}

export interface SearchInfo {
  embeddings: SearchEmbedding[];
  backend: BackendChoice;
}

export interface SearchRequest {
  /** Text to embed, or null when searching by `neighboursOf` or by `vector`. */
  query: string | null;
  neighboursOf: number | null;
  /** A query vector made elsewhere (the Jina embed worker), L2-normalised. */
  vector?: Float32Array | null;
  embedder: EmbedderName;
  metric: 'minkowski' | 'cosine';
  p: number;
  k: number;
  /** IVF: visit only the nearest `nprobe` partitions (read by range requests); null = exact search. */
  nprobe?: number | null;
}

export interface SearchProgress {
  phase: 'embedding' | 'loading vectors' | 'ranking';
  done: number;
  total: number;
}

export interface SearchResponse {
  ids: Uint32Array;
  /** Distances in the metric asked for (Minkowski: (sum |d|^p)^(1/p); cosine: 1 - cos). */
  distances: Float64Array;
  embedder: EmbedderName;
  model: string;
  metric: 'minkowski' | 'cosine';
  p: number;
  /** False for Minkowski with p < 1: a ranking, but not a metric (no triangle inequality). */
  isMetric: boolean;
  backend: string;
  embedMs: number;
  loadMs: number;
  searchMs: number;
  /** Vectors compared. */
  scanned: number;
  /** Bytes fetched for this query (0 once the vectors are in memory). */
  bytesFetched: number;
  /** IVF: partitions visited of all (null for exact search). */
  ivf: { nprobe: number; nlist: number } | null;
}

let base: URL | null = null;
let manifest: Manifest | null = null;
let backend: Promise<BackendChoice> | null = null;
const vectors = new Map<string, Promise<LoadedVectors>>();
let tfidf: Promise<TfidfSvdEmbedder> | null = null;

function embeddingForName(name: EmbedderName): EmbeddingInfo {
  if (!manifest) throw new Error('the search worker has no data set');
  return embeddingFor(manifest, name);
}

function url(f: ManifestFile): string {
  if (!base) throw new Error('the search worker has no data set');
  return new URL(f.path, base).href;
}

async function loadTfidf(): Promise<TfidfSvdEmbedder> {
  const info = embeddingForName('tfidf');
  const files = manifest!.models[info.model_files ?? info.model] ?? [];
  const json = files.find((f) => f.path.endsWith('.json'));
  const bin = files.find((f) => f.path.endsWith('.bin'));
  if (!json || !bin) throw new Error(`the manifest lists no model files for ${info.model}`);
  const [j, b] = await Promise.all([fetchChecked(url(json), json), fetchChecked(url(bin), bin)]);
  const model = deserializeTfidfSvd(JSON.parse(new TextDecoder().decode(j)) as TfidfSvdJson, b);
  return new TfidfSvdEmbedder(model);
}

function vectorsFor(info: EmbeddingInfo, onProgress: (p: SearchProgress) => void, counter: { bytes: number }): Promise<LoadedVectors> {
  let p = vectors.get(info.table);
  if (!p) {
    p = loadVectors(manifest!, base!, info, (done, total) => onProgress({ phase: 'loading vectors', done, total }), (n) => (counter.bytes += n));
    p.catch(() => vectors.delete(info.table));
    vectors.set(info.table, p);
  }
  return p;
}

/** A function's own stored vector (dequantised), for "neighbours of this function". */
function storedVector(v: LoadedVectors, id: number): Float32Array {
  const dim = v.info.dim;
  for (const b of v.blocks) {
    const count = b.ids.length;
    if (count === 0 || id < b.ids[0]! || id > b.ids[count - 1]!) continue;
    let lo = 0;
    let hi = count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = b.ids[mid]!;
      if (m === id) {
        const out = new Float32Array(dim);
        const codes = b.codes;
        const scale = b.scales[mid]!;
        for (let j = 0; j < dim; j++) out[j] = codes[mid * dim + j]! * scale;
        return out;
      }
      if (m < id) lo = mid + 1;
      else hi = mid - 1;
    }
  }
  throw new Error(`function ${id} has no vector in ${v.info.table}`);
}

// IVF: the partition index per embedding, and the partitioned shards opened for range reads. The
// bytes a query reads are counted through `ivfBytes`, reset per query.
const ivfIndexes = new Map<string, Promise<IvfIndex>>();
const ivfFiles = new Map<string, Promise<{ file: AsyncBuffer; metadata: FileMetaData }>>();
const ivfBytes = { n: 0 };

function ivfIndex(info: EmbeddingInfo): Promise<IvfIndex> {
  const key = info.ivf!.index;
  let p = ivfIndexes.get(key);
  if (!p) {
    const f = manifest!.models[key]?.[0];
    if (!f) return Promise.reject(new Error(`the manifest lists no IVF index ${key}`));
    p = fetchChecked(url(f), f, (n) => (ivfBytes.n += n)).then((b) => deserializeIvf(b));
    p.catch(() => ivfIndexes.delete(key));
    ivfIndexes.set(key, p);
  }
  return p;
}

function ivfFile(f: ManifestFile): Promise<{ file: AsyncBuffer; metadata: FileMetaData }> {
  let p = ivfFiles.get(f.path);
  if (!p) {
    p = (async () => {
      const file = httpAsyncBuffer(url(f), f.bytes, { onBytes: (n) => (ivfBytes.n += n) });
      return { file, metadata: await readParquetMetadata(file, f.path) };
    })();
    p.catch(() => ivfFiles.delete(f.path));
    ivfFiles.set(f.path, p);
  }
  return p;
}

/**
 * IVF search: rank the centroids, then range-read and scan exactly the rows of the `nprobe`
 * nearest partitions (contiguous in the partition-sorted shards).
 */
async function ivfRank(query: Float32Array, info: EmbeddingInfo, nprobe: number, k: number, metric: KnnMetric) {
  const index = await ivfIndex(info);
  const shards = manifest!.tables[info.ivf!.table] ?? [];
  const starts: number[] = [];
  let acc = 0;
  for (const f of shards) {
    starts.push(acc);
    acc += f.rows ?? 0;
  }
  const parts = probePartitions(index, query, Math.min(nprobe, index.nlist), metric);
  // Probed partitions as row ranges of the partition-sorted table, then the row groups that hold
  // them, each read once (two partitions often share a row group).
  const ranges = Array.from(parts, (p) => partitionRows(index, p)).sort((x, y) => x.rowStart - y.rowStart);
  const wanted = (pos: number): boolean => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = ranges[mid]!;
      if (pos < r.rowStart) hi = mid - 1;
      else if (pos >= r.rowEnd) lo = mid + 1;
      else return true;
    }
    return false;
  };
  const q = new KnnQuery(query, k, metric);
  let rows = 0;
  for (let s = 0; s < shards.length; s++) {
    const f = shards[s]!;
    const first = starts[s]!;
    const last = first + (f.rows ?? 0);
    if (!ranges.some((r) => r.rowStart < last && r.rowEnd > first)) continue;
    const { file, metadata } = await ivfFile(f);
    const groupStarts = rowGroupStarts(metadata);
    for (let g = 0; g + 1 < groupStarts.length; g++) {
      const a = first + groupStarts[g]!;
      const b = first + groupStarts[g + 1]!;
      if (!ranges.some((r) => r.rowStart < b && r.rowEnd > a)) continue;
      const { columns, rows: n } = await readParquetColumns(file, f.path, ['id', 'embedding', 'scale'], {
        metadata,
        rowStart: groupStarts[g]!,
        rowEnd: groupStarts[g + 1]!,
        utf8: false,
      });
      const keep: number[] = [];
      for (let i = 0; i < n; i++) if (wanted(a + i)) keep.push(i);
      const pick = <T,>(col: ArrayLike<T>) => keep.map((i) => col[i]!);
      q.add(vectorBlockFromColumns(pick(toUint32Array(columns.id!)), pick(columns.embedding!), pick(toFloat32Array(columns.scale!)), info.dim, 'int8', f.path));
      rows += keep.length;
    }
  }
  const r = q.result();
  return { ids: r.ids, distances: r.distances, rows, nprobe: parts.length, nlist: index.nlist, backend: q.usesSimd ? 'WASM SIMD' : 'JS' };
}

let gpu: Promise<WebGpuKnn | null> | null = null;

/**
 * Exact top-k on the backend the policy chose: the WebGPU kernel on a real GPU, else the WASM SIMD
 * kernels (cosine, L1, L2) or the JS loops, which the tests hold to the same ids.
 */
async function rank(query: Float32Array, blocks: Int8Block[], k: number, metric: KnnMetric, choice: BackendChoice) {
  if (choice.backend === 'webgpu') {
    gpu ??= WebGpuKnn.create({ maxStorageBufferBindingSize: Math.max(...blocks.map((b) => b.codes.byteLength), 1 << 20) }).catch(() => null);
    const g = await gpu;
    if (g) {
      try {
        const r = await g.search(query, blocks, k, metric);
        return { ids: r.ids, distances: r.distances, backend: 'WebGPU' };
      } catch {
        // A lost device or a kernel failure: answer on the CPU rather than not at all.
        gpu = null;
      }
    }
  }
  const q = new KnnQuery(query, k, metric);
  for (const b of blocks) q.add(b);
  const r = q.result();
  return { ids: r.ids, distances: r.distances, backend: q.usesSimd ? 'WASM SIMD' : 'JS' };
}

async function queryVector(req: SearchRequest, info: EmbeddingInfo, report: (p: SearchProgress) => void): Promise<Float32Array> {
  if (req.vector) {
    if (req.vector.length !== info.dim) throw new Error(`the query vector has ${req.vector.length} dimensions, ${info.model} has ${info.dim}`);
    return req.vector;
  }
  const text = (req.query ?? '').trim();
  if (!text) throw new Error('type something to search for');
  if (req.embedder !== 'tfidf') throw new Error('a Jina query is embedded by the embed worker: pass its vector');
  report({ phase: 'embedding', done: 0, total: 1 });
  tfidf ??= loadTfidf();
  return (await tfidf).embedSync([text]);
}

async function ivfSearch(req: SearchRequest, info: EmbeddingInfo, report: (p: SearchProgress) => void): Promise<SearchResponse> {
  const t1 = performance.now();
  const query = await queryVector(req, info, report);
  const t2 = performance.now();
  ivfBytes.n = 0;
  const metric: KnnMetric = req.metric === 'cosine' ? { kind: 'cosine' } : { kind: 'minkowski', p: req.p };
  report({ phase: 'ranking', done: 0, total: req.nprobe ?? 0 });
  const r = await ivfRank(query, info, req.nprobe!, req.k, metric);
  const t3 = performance.now();
  return Comlink.transfer(
    {
      ids: r.ids,
      distances: r.distances,
      embedder: req.embedder,
      model: info.model,
      metric: req.metric,
      p: req.p,
      isMetric: req.metric === 'cosine' || req.p >= 1,
      backend: r.backend,
      embedMs: Math.round(t2 - t1),
      loadMs: 0,
      searchMs: Math.round(t3 - t2),
      scanned: r.rows,
      bytesFetched: ivfBytes.n,
      ivf: { nprobe: r.nprobe, nlist: r.nlist },
    },
    [r.ids.buffer, r.distances.buffer],
  );
}

const api = {
  async open(manifestUrl: string, m: Manifest): Promise<SearchInfo> {
    manifest = validateManifest(m);
    base = new URL('.', manifestUrl);
    vectors.clear();
    tfidf = null;
    backend ??= chooseBackend();
    const embeddings = manifest.embeddings.map((e) => ({
      name: embedderNameOf(e),
      model: e.model,
      dim: e.dim,
      dtype: e.dtype,
      rows: (manifest!.tables[e.table] ?? []).reduce((n, f) => n + (f.rows ?? 0), 0),
      nlist: e.ivf?.nlist ?? null,
    }));
    return { embeddings, backend: await backend };
  },

  async search(req: SearchRequest, onProgress?: (p: SearchProgress) => void): Promise<SearchResponse> {
    const report = onProgress ?? (() => {});
    if (!Number.isInteger(req.k) || req.k < 1 || req.k > 1000) throw new Error(`k must be a whole number from 1 to 1000, got ${req.k}`);
    if (req.metric === 'minkowski' && !(req.p > 0)) throw new Error(`p must be above 0, got ${req.p}`);
    const info = embeddingForName(req.embedder);
    const counter = { bytes: 0 };
    const t0 = performance.now();
    if (req.nprobe && !info.ivf) throw new Error(`this data set has no IVF partitions for ${info.model}: use exact search`);
    if (req.nprobe && req.neighboursOf !== null) throw new Error('neighbours of a function use exact search');
    if (req.nprobe) return ivfSearch(req, info, report);
    const loaded = await vectorsFor(info, report, counter);
    const t1 = performance.now();
    let query: Float32Array;
    if (req.vector) {
      if (req.vector.length !== info.dim) throw new Error(`the query vector has ${req.vector.length} dimensions, ${info.model} has ${info.dim}`);
      query = req.vector;
    } else if (req.neighboursOf !== null) {
      query = storedVector(loaded, req.neighboursOf);
    } else {
      const text = (req.query ?? '').trim();
      if (!text) throw new Error('type something to search for');
      if (req.embedder !== 'tfidf') throw new Error('a Jina query is embedded by the embed worker: pass its vector');
      report({ phase: 'embedding', done: 0, total: 1 });
      tfidf ??= loadTfidf();
      const e = await tfidf;
      query = e.embedSync([text]);
    }
    const t2 = performance.now();
    report({ phase: 'ranking', done: 0, total: loaded.rows });
    const choice = await backend!;
    const metric: KnnMetric = req.metric === 'cosine' ? { kind: 'cosine' } : { kind: 'minkowski', p: req.p };
    const result = await rank(query, loaded.blocks, req.k, metric, choice);
    const t3 = performance.now();
    return Comlink.transfer(
      {
        ids: result.ids,
        distances: result.distances,
        embedder: req.embedder,
        model: info.model,
        metric: req.metric,
        p: req.p,
        isMetric: req.metric === 'cosine' || req.p >= 1,
        backend: result.backend,
        embedMs: Math.round(t2 - t1),
        loadMs: Math.round(t1 - t0),
        searchMs: Math.round(t3 - t2),
        scanned: loaded.rows,
        bytesFetched: counter.bytes,
        ivf: null,
      },
      [result.ids.buffer, result.distances.buffer],
    );
  },
};

export type SearchApi = typeof api;

Comlink.expose(api);
