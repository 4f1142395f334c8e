// The one data-access module of the UI: it owns the data worker and wraps its comlink proxy.
// Views ask here for the data set, the layout, a function's details and the statistics; nothing in
// the UI talks to the worker, hyparquet or DuckDB any other way.
import * as Comlink from 'comlink';
import type { Manifest } from '../../core/data/manifest.ts';
import type {
  DataApi,
  DataError,
  DataSummary,
  FunctionDetail,
  HoverInfo,
  LayoutPayload,
  LoadProgress,
  OpenResult,
  StatsResult,
  Categories,
  CategoryKind,
  ClusterCardRow,
  LayoutReportJson,
  MapFilters,
} from '../../../workers/data.ts';
import type { SearchApi, SearchInfo, SearchProgress, SearchRequest, SearchResponse } from '../../../workers/search.ts';

export type { SearchInfo, SearchProgress, SearchRequest, SearchResponse };
export type { Categories, CategoryKind, ClusterCardRow, LayoutReportJson };

/** Which layout points pass the filters (1 = shown). */
export function getFilterMask(filters: MapFilters, layoutName?: string): Promise<{ mask: Uint8Array; shown: number }> {
  // $state proxies do not survive structured cloning: send a plain copy.
  return api().filterMask(JSON.parse(JSON.stringify(filters)) as MapFilters, layoutName) as Promise<{ mask: Uint8Array; shown: number }>;
}

export function describeFunctions(ids: Uint32Array): Promise<{ id: number; qualname: string; name: string; repo: string; path: string; kind: string; n_lines: number }[]> {
  return api().describe(ids) as Promise<{ id: number; qualname: string; name: string; repo: string; path: string; kind: string; n_lines: number }[]>;
}

/** The other members of a function's clone groups (80% and 95%), with names. */
export function getDuplicates(id: number): Promise<{ threshold: number; size: number; members: HoverInfo[] }[]> {
  return api().duplicatesOf(id) as Promise<{ threshold: number; size: number; members: HoverInfo[] }[]>;
}

export function getKinds(): Promise<string[]> {
  return api().kinds() as Promise<string[]>;
}

export function getLayoutReport(): Promise<LayoutReportJson | null> {
  return api().layoutReport() as Promise<LayoutReportJson | null>;
}

export function getClusterCards(): Promise<ClusterCardRow[]> {
  return api().clusterCards() as Promise<ClusterCardRow[]>;
}
export type { DataError, DataSummary, FunctionDetail, HoverInfo, LayoutPayload, LoadProgress, OpenResult, StatsResult };

let remote: Comlink.Remote<DataApi> | null = null;

/**
 * A callback a worker calls through comlink. Whatever the function returns is dropped: comlink sends
 * return values back, and an arrow that assigns to Svelte state would return an uncloneable proxy.
 */
function callback<A extends unknown[]>(fn: (...args: A) => unknown): (...args: A) => void {
  return Comlink.proxy((...args: A) => {
    fn(...args);
  });
}
let opened: Promise<OpenResult> | null = null;
const layoutCache = new Map<string, Promise<LayoutPayload>>();

function api(): Comlink.Remote<DataApi> {
  if (!remote) {
    const worker = new Worker(new URL('../../../workers/data.ts', import.meta.url), { type: 'module', name: 'data' });
    remote = Comlink.wrap<DataApi>(worker);
  }
  return remote;
}

/** The checked manifest and its URL, for workers that open the same data set (dedup). */
export function getManifestInfo(): Promise<{ manifestUrl: string; manifest: Manifest } | null> {
  return api().manifestInfo() as Promise<{ manifestUrl: string; manifest: Manifest } | null>;
}

/** Opens the data set the page URL names (`./data/` or `?data=`); resolves once, later calls share it. */
export function openDataSet(onProgress?: (p: LoadProgress) => void): Promise<OpenResult> {
  opened ??= api().open(location.href, onProgress ? callback(onProgress) : undefined);
  return opened;
}

/** Layouts made in the browser (the train view), by name; the map shows them like the data set's. */
const browserLayouts = new Map<string, LayoutPayload>();

export const TRAINED_LAYOUT = 'trained';

export async function setBrowserLayout(l: LayoutPayload): Promise<void> {
  browserLayouts.set(l.name, l);
  await api().registerLayout(l.name, l.ids.slice(), l.clusters.slice());
}

export function browserLayout(name: string): LayoutPayload | null {
  return browserLayouts.get(name) ?? null;
}

/** The layout's typed arrays; fetched from the worker once and kept here. */
export function getLayout(name?: string): Promise<LayoutPayload> {
  const own = name ? browserLayouts.get(name) : undefined;
  if (own) return Promise.resolve(own);
  if (name === TRAINED_LAYOUT) {
    return Promise.reject(new Error('this map was trained in another browser session: open Train and train it again, or use the saved encoder'));
  }
  const key = name ?? '';
  let p = layoutCache.get(key);
  if (!p) {
    p = api().layout(name) as Promise<LayoutPayload>;
    layoutCache.set(key, p);
    p.catch(() => layoutCache.delete(key));
  }
  return p;
}

/** A colouring of the layout's points (by cluster, package, docstring convention or clone group). */
export function getCategories(by: CategoryKind, layoutName?: string): Promise<Categories> {
  return api().categories(by, layoutName) as Promise<Categories>;
}

export function hoverInfo(id: number): Promise<HoverInfo | null> {
  return api().hover(id) as Promise<HoverInfo | null>;
}

/** A function with the first lines of its code; `full` adds the whole body (the detail panel). */
export function getFunction(id: number, full = false): Promise<FunctionDetail | null> {
  return api().getFunction(id, full) as Promise<FunctionDetail | null>;
}

export interface StatsView extends StatsResult {
  /** Set when DuckDB-WASM could not run and the prebuild's stats.json is shown instead. */
  fallbackReason?: string;
}

/**
 * The statistics as DuckDB-WASM computes them in the browser; should that fail (an old browser, no
 * WebAssembly memory), the prebuild's checked stats.json with the reason.
 */
export async function getStats(): Promise<StatsView> {
  try {
    return (await api().stats()) as StatsResult;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const prebuilt = await api().prebuiltStats();
    if (!prebuilt) throw e;
    return { stats: prebuilt, engine: 'the prebuild (stats.json)', insertMs: 0, ms: 0, matchesPrebuild: null, fallbackReason: reason };
  }
}

let searchRemote: Promise<{ remote: Comlink.Remote<SearchApi>; info: SearchInfo }> | null = null;

/** The search worker, opened on the same checked manifest as the data worker (started on first use). */
function searchWorker(): Promise<{ remote: Comlink.Remote<SearchApi>; info: SearchInfo }> {
  searchRemote ??= (async () => {
    const shared = await api().manifestInfo();
    if (!shared) throw new Error('the data set is not open');
    const worker = new Worker(new URL('../../../workers/search.ts', import.meta.url), { type: 'module', name: 'search' });
    const remote = Comlink.wrap<SearchApi>(worker);
    const info = (await remote.open(shared.manifestUrl, shared.manifest)) as SearchInfo;
    return { remote, info };
  })();
  searchRemote.catch(() => (searchRemote = null));
  return searchRemote;
}

/** Which embeddings the data set has and which backend ranks them. */
export async function searchInfo(): Promise<SearchInfo> {
  return (await searchWorker()).info;
}

/** Ranks the data set's functions for a request (text, a function's neighbours, or a vector). */
export async function runSearch(req: SearchRequest, onProgress?: (p: SearchProgress) => void): Promise<SearchResponse> {
  const { remote } = await searchWorker();
  return (await remote.search(req, onProgress ? callback(onProgress) : undefined)) as SearchResponse;
}

import type { EmbedApi, EmbedLoadResult, EmbedProgress } from '../../../workers/embed.ts';
export type { EmbedLoadResult, EmbedProgress };

let embedRemote: Comlink.Remote<EmbedApi> | null = null;
let jinaLoad: Promise<EmbedLoadResult> | null = null;

/**
 * Loads the data set's Jina model in the embed worker (from the site's own models/ folder; the hub
 * only when `allowRemote`). Resolves with what loaded, or why not, so the UI can fall back.
 */
export function loadJina(onProgress?: (p: EmbedProgress) => void, allowRemote = false): Promise<EmbedLoadResult> {
  jinaLoad ??= (async () => {
    const shared = await api().manifestInfo();
    if (!shared) throw new Error('the data set is not open');
    const info = shared.manifest.embeddings.find((e) => !e.model.startsWith('tfidf'));
    if (!info) return { ok: false, message: 'this data set has no Jina vectors', reason: '' } satisfies EmbedLoadResult;
    embedRemote ??= Comlink.wrap<EmbedApi>(new Worker(new URL('../../../workers/embed.ts', import.meta.url), { type: 'module', name: 'embed' }));
    // Model files sit under models/<model_files>/ beside the manifest, in transformers.js' layout.
    // Given as a path, not a URL: transformers.js 4.3 only checks a local model's files exist when
    // its localModelPath is not an http(s) URL (and then fails on the tokenizer). Same origin anyway.
    const modelBase = new URL('models/', shared.manifestUrl).pathname;
    return (await embedRemote.load(
      { modelId: info.model_files ?? info.model, modelBase, allowRemote },
      onProgress ? callback(onProgress) : undefined,
    )) as EmbedLoadResult;
  })();
  void jinaLoad.then(
    (r) => {
      if (!r.ok) jinaLoad = null;
    },
    () => (jinaLoad = null),
  );
  return jinaLoad;
}

/** Embeds a query with the loaded Jina model. */
export async function embedQueryJina(text: string): Promise<Float32Array> {
  const r = await loadJina();
  if (!r.ok) throw new Error(r.message);
  return (await embedRemote!.embedQuery(text)) as Float32Array;
}

/** Embeds documents (function bodies, as the prebuild embedded the corpus) with the loaded Jina model. */
export async function embedDocumentsJina(texts: string[]): Promise<Float32Array> {
  const r = await loadJina();
  if (!r.ok) throw new Error(r.message);
  return (await embedRemote!.embedDocuments(texts)) as Float32Array;
}

import type { ClusterResult, Placement, TrainApi, TrainInfo, TrainRequest, TrainResult, VaeEpochStats } from '../../../workers/train.ts';
export type { ClusterResult, Placement, TrainInfo, TrainRequest, TrainResult, VaeEpochStats };

let trainRemote: Promise<{ remote: Comlink.Remote<TrainApi>; info: TrainInfo }> | null = null;

/** The train worker, opened on the data set (started on first use). */
export function trainWorker(): Promise<{ remote: Comlink.Remote<TrainApi>; info: TrainInfo }> {
  trainRemote ??= (async () => {
    const shared = await api().manifestInfo();
    if (!shared) throw new Error('the data set is not open');
    const remote = Comlink.wrap<TrainApi>(new Worker(new URL('../../../workers/train.ts', import.meta.url), { type: 'module', name: 'train' }));
    const info = (await remote.open(shared.manifestUrl, shared.manifest)) as TrainInfo;
    return { remote, info };
  })();
  trainRemote.catch(() => (trainRemote = null));
  return trainRemote;
}

export async function trainVaeInWorker(
  req: TrainRequest,
  onEpoch: (s: VaeEpochStats) => void,
  onStep: (done: number, total: number, epoch: number) => void,
): Promise<TrainResult> {
  const { remote } = await trainWorker();
  return (await remote.train(JSON.parse(JSON.stringify(req)) as TrainRequest, callback(onEpoch), callback(onStep))) as TrainResult;
}

// ---- the map at scale (issue 9): density pyramid, points of the tiles in view, result positions ----
import type { PointChunk, PointsResponse, ScaleInfo } from '../../../workers/data.ts';
import type { Pyramid } from '../../core/map/tiles.ts';
export type { PointChunk, PointsResponse, ScaleInfo, Pyramid };

/** Whether the data set opened in scale mode (density tiles, points on zoom); null when it did not. */
export function getScaleInfo(): Promise<ScaleInfo | null> {
  return api().scaleInfo() as Promise<ScaleInfo | null>;
}

/** The layout's density pyramid (scale mode). */
export function getPyramid(): Promise<Pyramid> {
  return api().pyramid() as Promise<Pyramid>;
}

/** The points of the tile-code ranges in view that the map does not hold yet (scale mode). */
export function loadScalePoints(ranges: [number, number][], have: string[], token: number, maxRows: number): Promise<PointsResponse> {
  return api().scalePoints(ranges, have, token, maxRows) as Promise<PointsResponse>;
}

/** x, y of functions by id, read from the layout's shards (scale mode: results not loaded, fly-to). */
export function getPositions(ids: Uint32Array): Promise<{ ids: Uint32Array; positions: Float32Array }> {
  return api().positionsOf(ids) as Promise<{ ids: Uint32Array; positions: Float32Array }>;
}
