// The search worker: embeds a text query with the data set's TF-IDF/SVD model (or takes a vector
// the embed worker made with Jina), reads the `vectors-<model>` shards once (each checked against
// the manifest's sha256, then kept as int8 codes + scales), and ranks every function by Minkowski
// distance with the chosen p or by cosine, exactly, with the core's kNN kernels — on WebGPU when
// the backend policy (core/gpu/device.ts) says a real GPU exists, else in JS.
// IVF search reads only what a query needs, by HTTP range requests: the partition index's head
// (centroids + offsets; once per session), each probed shard's footer (once), and the row groups
// of the probed partitions, all requested together. For large data sets (RESULT_ROWS_MIN_FUNCTIONS)
// it also reads the listed results' names from the functions shards, in one batch of range reads.
import * as Comlink from 'comlink';
import type { EmbeddingInfo, Manifest, ManifestFile } from '../src/core/data/manifest.ts';
import { validateManifest } from '../src/core/data/manifest.ts';
import { deserializeTfidfSvd, TfidfSvdEmbedder, type TfidfSvdJson } from '../src/core/embed/tfidf-svd.ts';
import { chooseBackend, type BackendChoice } from '../src/core/gpu/device.ts';
import { KnnQuery, type KnnMetric, type VectorBlock } from '../src/core/search/knn.ts';
import { readIvfHead, searchIvfShards, type IvfHead } from '../src/core/search/ivf-remote.ts';
import { readResultRows, RESULT_ROWS_MIN_FUNCTIONS, type ResultRow } from '../src/core/search/result-rows.ts';
import { httpAsyncBuffer, readParquetColumns, readParquetMetadata, toUint32Array } from '../src/core/data/parquet-read.ts';
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
  /**
   * Read the results' names (qualname, repo, path) here, by range requests of the functions shards.
   * Default: for data sets of RESULT_ROWS_MIN_FUNCTIONS functions or more, whose names the page
   * does not hold.
   */
  names?: boolean;
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
  /** The results' names in rank order when this worker read them (null entries: no such id); else null. */
  rows: (ResultRow | null)[] | null;
  /** Reading those names: ms, bytes received (footers the first time included), row groups read. */
  namesMs: number;
  namesBytes: number;
  namesGroups: number;
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

// IVF: the partition index's head per embedding, and the partitioned shards opened for range
// reads (footers read once). The bytes a query reads are counted through `ivfBytes`, reset per query.
const ivfHeads = new Map<string, Promise<IvfHead>>();
const ivfFiles = new Map<string, Promise<{ file: AsyncBuffer; metadata: FileMetaData }>>();
const ivfBytes = { n: 0 };

function ivfIndex(info: EmbeddingInfo): Promise<IvfHead> {
  const key = info.ivf!.index;
  let p = ivfHeads.get(key);
  if (!p) {
    const f = manifest!.models[key]?.[0];
    if (!f) return Promise.reject(new Error(`the manifest lists no IVF index ${key}`));
    p = readIvfHead(url(f), f, info.ivf!.head, { onBytes: (n) => (ivfBytes.n += n) }).then((r) => {
      if (r.head.nlist !== info.ivf!.nlist || r.head.dim !== info.dim) {
        throw new Error(`${f.path} holds ${r.head.nlist} partitions of ${r.head.dim} dimensions, the manifest says ${info.ivf!.nlist} of ${info.dim}`);
      }
      return r.head;
    });
    p.catch(() => ivfHeads.delete(key));
    ivfHeads.set(key, p);
  }
  return p;
}

function openShard(cache: Map<string, Promise<{ file: AsyncBuffer; metadata: FileMetaData }>>, f: ManifestFile, onBytes: (n: number) => void): Promise<{ file: AsyncBuffer; metadata: FileMetaData }> {
  let p = cache.get(f.path);
  if (!p) {
    p = (async () => {
      const file = httpAsyncBuffer(url(f), f.bytes, { onBytes });
      return { file, metadata: await readParquetMetadata(file, f.path) };
    })();
    p.catch(() => cache.delete(f.path));
    cache.set(f.path, p);
  }
  return p;
}

const ivfFile = (f: ManifestFile) => openShard(ivfFiles, f, (n) => (ivfBytes.n += n));

/** IVF search: the index head, then only the probed partitions' row groups (core/search/ivf-remote.ts). */
async function ivfRank(query: Float32Array, info: EmbeddingInfo, nprobe: number, k: number, metric: KnnMetric) {
  const index = await ivfIndex(info);
  const r = await searchIvfShards(index, manifest!.tables[info.ivf!.table] ?? [], ivfFile, query, k, metric, nprobe);
  return { ...r, backend: r.usesSimd ? 'WASM SIMD' : 'JS' };
}

// Result names for large data sets: functions shards opened for range reads (footers once) and
// the repository names (repos.parquet, small, read once).
const fnFiles = new Map<string, Promise<{ file: AsyncBuffer; metadata: FileMetaData }>>();
let repoNames: Promise<Map<number, string>> | null = null;
const namesBytes = { n: 0 };

function loadRepoNames(): Promise<Map<number, string>> {
  repoNames ??= (async () => {
    const f = manifest!.tables.repos?.[0];
    const out = new Map<number, string>();
    if (!f) return out;
    const file = httpAsyncBuffer(url(f), f.bytes, { onBytes: (n) => (namesBytes.n += n) });
    const { columns } = await readParquetColumns(file, f.path, ['repo_id', 'name']);
    const ids = toUint32Array(columns.repo_id!);
    for (let i = 0; i < ids.length; i++) out.set(ids[i]!, String(columns.name![i] ?? ''));
    return out;
  })();
  repoNames.catch(() => (repoNames = null));
  return repoNames;
}

async function resultRows(ids: Uint32Array, req: SearchRequest): Promise<{ rows: (ResultRow | null)[] | null; ms: number; bytes: number; groups: number }> {
  const want = req.names ?? (manifest!.counts.functions >= RESULT_ROWS_MIN_FUNCTIONS);
  if (!want || ids.length === 0) return { rows: null, ms: 0, bytes: 0, groups: 0 };
  const t0 = performance.now();
  namesBytes.n = 0;
  const [repos, r] = await Promise.all([
    loadRepoNames(),
    readResultRows(ids, manifest!.tables.functions ?? [], (f) => openShard(fnFiles, f, (n) => (namesBytes.n += n)), (id) => id.toString()),
  ]);
  for (const row of r.rows) if (row) row.repo = repos.get(Number(row.repo)) ?? `#${row.repo}`;
  return { rows: r.rows, ms: Math.round(performance.now() - t0), bytes: namesBytes.n, groups: r.stats.groups };
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
  const bytes = ivfBytes.n;
  const names = await resultRows(r.ids, req);
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
      bytesFetched: bytes,
      ivf: { nprobe: r.nprobe, nlist: r.nlist },
      rows: names.rows,
      namesMs: names.ms,
      namesBytes: names.bytes,
      namesGroups: names.groups,
    },
    [r.ids.buffer, r.distances.buffer],
  );
}

const api = {
  async open(manifestUrl: string, m: Manifest): Promise<SearchInfo> {
    manifest = validateManifest(m);
    base = new URL('.', manifestUrl);
    vectors.clear();
    ivfHeads.clear();
    ivfFiles.clear();
    fnFiles.clear();
    repoNames = null;
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
    const names = await resultRows(result.ids, req);
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
        rows: names.rows,
        namesMs: names.ms,
        namesBytes: names.bytes,
        namesGroups: names.groups,
      },
      [result.ids.buffer, result.distances.buffer],
    );
  },
};

export type SearchApi = typeof api;

Comlink.expose(api);
