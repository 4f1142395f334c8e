// The data worker: the one place the site reads the data set. It loads manifest.json, checks it,
// downloads the small files whole (checking each one's sha256 against the manifest), reads the large
// `functions` shards with HTTP range reads (only the light columns, never `body` in bulk), hands the
// map its layout as transferred typed arrays, answers per-function lookups from one row group, and
// runs the dataset statistics in DuckDB-WASM (started lazily, in DuckDB's own worker).
import { indexOfSorted } from '../src/core/util/sorted.ts';
import * as Comlink from 'comlink';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import type { AsyncDuckDB, AsyncDuckDBConnection } from '@duckdb/duckdb-wasm';
import { FileFailure, fetchChecked as fetchChecked_ } from './shared/fetch-checked.ts';
import { ManifestError, sha256Hex, validateManifest, type LayoutInfo, type LayoutTiles, type Manifest, type ManifestFile } from '../src/core/data/manifest.ts';
import { overlapsRanges, rowGroupsFor, type Pyramid } from '../src/core/map/tiles.ts';
import type { ChunkColumns } from '../src/core/map/points.ts';
import { SCHEMA_VERSION } from '../src/core/data/schema.ts';
import { computeDatasetStats, type DatasetStats } from '../src/core/data/stats.ts';
import {
  ParquetReadError,
  httpAsyncBuffer,
  memoryAsyncBuffer,
  readParquetColumns,
  readParquetMetadata,
  rowGroupOf,
  rowGroupStarts,
  shardForId,
  toFloat32Array,
  toUint32Array,
  type ColumnTable,
  type DecodedColumn,
} from '../src/core/data/parquet-read.ts';
import duckdbMvpWasm from '@duckdb/duckdb-wasm/dist/duckdb-mvp.wasm?url';
import duckdbMvpWorker from '@duckdb/duckdb-wasm/dist/duckdb-browser-mvp.worker.js?url';
import duckdbEhWasm from '@duckdb/duckdb-wasm/dist/duckdb-eh.wasm?url';
import duckdbEhWorker from '@duckdb/duckdb-wasm/dist/duckdb-browser-eh.worker.js?url';

export type DataErrorKind = 'missing' | 'corrupt' | 'schema-version' | 'malformed' | 'network' | 'bad-data-url';

export interface DataError {
  kind: DataErrorKind;
  message: string;
  /** The file at fault, as the manifest names it (or the manifest's URL). */
  file?: string;
  /** Where the site looked for the data set. */
  manifestUrl?: string;
}

export interface LoadProgress {
  phase: string;
  filesDone: number;
  filesTotal: number;
  /** Bytes received so far (whole files and range reads). */
  bytesDone: number;
  /** Bytes of the files downloaded whole, plus the light columns' share of the shards (estimate). */
  bytesTotal: number;
}

export interface DataSummary {
  manifestUrl: string;
  schemaVersion: number;
  generator: string;
  sources: string[];
  counts: Manifest['counts'];
  layouts: { name: string; method: string; dims: 2 | 3; bounds: { min: number[]; max: number[] } }[];
  defaultLayout: string | null;
  repos: string[];
  loadMs: number;
  /** Milliseconds per loading step, for the status display and benchmarks. */
  timings: Record<string, number>;
  /**
   * Set when the map opens in scale mode (a layout with tiles, above SCALE_MIN_FUNCTIONS functions
   * or forced with ?scale=1): no per-function columns were loaded; the map draws the density pyramid
   * and range-reads the points of the tiles in view.
   */
  scale?: ScaleInfo;
}

export interface ScaleInfo {
  layout: string;
  dims: 2 | 3;
  functions: number;
  levels: number;
  extent: { x0: number; y0: number; size: number };
  /** Non-empty cells of the pyramid, all levels. */
  cells: number;
}

/** Loaded points of one row group of `points-<layout>`. */
export type PointChunk = ChunkColumns;

export interface PointsResponse {
  token: number;
  /** A newer request superseded this one: nothing was read past that point. */
  stale: boolean;
  /** Keys of every row group the ranges need (loaded before or now). */
  needed: string[];
  /** Rows of those row groups; when over maxRows nothing is read and tooMany is set. */
  rows: number;
  tooMany: boolean;
  chunks: PointChunk[];
  /** Bytes received for this request (footers and row groups). */
  bytes: number;
  kinds: string[];
  docstyles: string[];
}

export type OpenResult = { ok: true; summary: DataSummary } | { ok: false; error: DataError };

export interface LayoutPayload {
  name: string;
  dims: 2 | 3;
  bounds: { min: number[]; max: number[] };
  /** Point count. */
  length: number;
  /** x,y(,z) interleaved, `dims` floats per point. */
  positions: Float32Array;
  ids: Uint32Array;
  repoIds: Uint32Array;
  /** k-means cluster per point (-1 where the layout has none). */
  clusters: Int32Array;
}

/** layout-report.json as the layout stage writes it (prebuild/stages/layout.ts LayoutReport). */
export interface LayoutReportJson {
  embedding: string;
  n: number;
  default_layout: string;
  k: number;
  k_chosen_by: string;
  sweep: { k: number; silhouette: number; inertia: number }[];
  vae: { epochs: { epoch: number; recon: number; kl: number; kl_per_dim: number[]; lr: number }[]; backend: string; train_rows: number } | null;
  pca_explained_variance_ratio: number[];
  quality: { layout: string; dims: number; k: number; silhouette_layout: number; silhouette_original: number; nmi_package: number }[];
}

export interface ClusterCardRow {
  cluster: number;
  size: number;
  label: string;
  terms: string[];
  nearest: number[];
}

/** The map's filters (the permalink's `Filters`). */
export interface MapFilters {
  repos: string[];
  clusters: number[];
  kinds: string[];
  hasDocstring: boolean | null;
  minLines: number | null;
  maxLines: number | null;
}

export type CategoryKind = 'cluster' | 'package' | 'docstyle' | 'dedup';

/** A categorical colouring of a layout's points, with the legend's names and sizes. */
export interface Categories {
  by: CategoryKind;
  /** Category index per layout point; NONE_CATEGORY where it has none (e.g. a unique function). */
  codes: Uint32Array;
  labels: string[];
  counts: number[];
  /** What points without a category mean, e.g. "unique at 80%". */
  noneLabel: string;
  noneCount: number;
}

export interface HoverInfo {
  id: number;
  name: string;
  qualname: string;
  repo: string;
  path: string;
  kind: string;
  n_lines: number;
}

export interface FunctionDetail extends HoverInfo {
  start_line: number;
  end_line: number;
  docstring: string | null;
  /** The first lines of the body, as text. */
  head: string;
  /** Whether the body goes on past `head`. */
  truncated: boolean;
  n_chars: number;
  /** The whole body, only when asked for (the detail panel); absent for hover. */
  body?: string;
}

export interface StatsResult {
  stats: DatasetStats;
  engine: string;
  /** Building the Arrow tables and inserting them into DuckDB. */
  insertMs: number;
  /** Running the statistics' SQL. */
  ms: number;
  /** Whether the parts of stats.json that do not depend on list lengths agree; null without stats.json. */
  matchesPrebuild: boolean | null;
}

/** Columns of `functions` held in memory: what the statistics and the hover need, never `body`. */
const LIGHT_COLUMNS = ['id', 'repo_id', 'name', 'qualname', 'path', 'kind', 'is_async', 'docstyle', 'n_chars', 'n_lines'];
const DETAIL_COLUMNS = ['id', 'start_line', 'end_line', 'docstring', 'body'];
const HEAD_LINES = 12;
const HEAD_CHARS = 1500;

class DataFailure extends Error {
  constructor(readonly info: DataError) {
    super(info.message);
  }
}

interface Light {
  ids: Uint32Array;
  repoIds: Uint32Array;
  name: DecodedColumn;
  qualname: DecodedColumn;
  path: DecodedColumn;
  kind: DecodedColumn;
  is_async: DecodedColumn;
  docstyle: DecodedColumn;
  n_chars: Uint32Array;
  n_lines: Uint32Array;
  dense: boolean;
}

interface ReposTable {
  columns: ColumnTable;
  names: string[];
}

let base: URL | null = null;
let manifestUrl = '';
let manifest: Manifest | null = null;
let repos: ReposTable | null = null;
let light: Light | null = null;
let prebuiltStats: DatasetStats | null = null;
const layouts = new Map<string, LayoutPayload>();
/** Ids and clusters of each layout handed to the map (the payload itself is transferred away). */
const layoutIds = new Map<string, Uint32Array>();
const layoutClusters = new Map<string, Int32Array>();
let dedupTable: Promise<{ ids: Uint32Array; thresholds: Float32Array; groups: Int32Array }> | null = null;
const shardMeta = new Map<string, Promise<{ file: AsyncBuffer; metadata: FileMetaData }>>();
const groupCache = new Map<string, Promise<ColumnTable>>();
let opening: Promise<OpenResult> | null = null;
let statsPromise: Promise<StatsResult> | null = null;

/** Above this many functions a layout with tiles opens in scale mode (?scale=1 forces it, ?scale=0 turns it off). */
export const SCALE_MIN_FUNCTIONS = 1_000_000;
/** Scale mode: the layout whose tiles the map draws, and its pyramid. */
let scale: { layout: LayoutInfo; tiles: LayoutTiles; pyramid: Pyramid } | null = null;
let lightLoading: Promise<Light> | null = null;
/** Light columns of single row groups of `functions` (scale mode: hover, names, details by id). */
const lightGroups = new Map<string, Promise<{ table: ColumnTable; rowStart: number }>>();
/** Min/max tile code of each row group of each points shard, from its footer. */
const tileStats = new Map<string, { min: number; max: number }[]>();
const kindCodes = new Map<string, number>();
const styleCodes = new Map<string, number>();
let pointsToken = 0;
/** x, y of layout rows by id (scale mode: result positions), a row group at a time. */
const layoutGroups = new Map<string, Promise<{ ids: Uint32Array; x: Float32Array; y: Float32Array; rowStart: number }>>();

/**
 * Resolves where manifest.json is: `./data/manifest.json` relative to the page, or the page's
 * `?data=` parameter, which must be a relative path on the same origin (a folder or a .json file).
 */
export function resolveManifestUrl(pageUrl: string, ownOrigin: string): URL {
  const page = new URL(pageUrl);
  if (page.origin !== ownOrigin) {
    throw new DataFailure({ kind: 'bad-data-url', message: `the page ${page.origin} is not this site's origin ${ownOrigin}` });
  }
  const param = page.searchParams.get('data');
  if (param === null || param === '') return new URL('data/manifest.json', page);
  const bad = (why: string) =>
    new DataFailure({
      kind: 'bad-data-url',
      message: `?data=${param} was refused: ${why}. Give a relative path on this site, e.g. ?data=other-data/`,
    });
  if (/^[a-z][a-z0-9+.-]*:/i.test(param)) throw bad('it names a scheme or another site');
  if (param.startsWith('/') || param.includes('\\')) throw bad('it is not a relative path');
  if (/[\u0000-\u001f]/.test(param)) throw bad('it contains control characters');
  const url = new URL(param.endsWith('.json') ? param : param.replace(/\/?$/, '/manifest.json'), page);
  if (url.origin !== ownOrigin) throw bad('it leaves this site');
  url.search = '';
  url.hash = '';
  return url;
}

let progress: LoadProgress = { phase: 'starting', filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 };
let progressCb: ((p: LoadProgress) => void) | null = null;
let lastReport = 0;

function report(force = false): void {
  const now = performance.now();
  if (!force && now - lastReport < 50) return;
  lastReport = now;
  progressCb?.({ ...progress });
}

function addBytes(n: number): void {
  progress.bytesDone += n;
  report();
}

function fileUrl(f: ManifestFile): string {
  if (!base) throw new Error('data set not opened');
  return new URL(f.path, base).href;
}

async function fetchChecked(f: ManifestFile): Promise<Uint8Array> {
  try {
    const bytes = await fetchChecked_(fileUrl(f), f, addBytes);
    progress.filesDone++;
    report(true);
    return bytes;
  } catch (e) {
    if (e instanceof FileFailure) throw new DataFailure({ kind: e.kind, file: e.file, message: e.message });
    throw e;
  }
}

function toDataError(e: unknown): DataError {
  if (e instanceof DataFailure) return { ...e.info, manifestUrl };
  if (e instanceof ManifestError) return { kind: e.kind, message: e.message, file: 'manifest.json', manifestUrl };
  if (e instanceof ParquetReadError) {
    return { kind: 'corrupt', file: e.file, message: `${e.file} is corrupt or not of this schema: ${e.message}`, manifestUrl };
  }
  return { kind: 'network', message: e instanceof Error ? e.message : String(e), manifestUrl };
}

async function loadManifest(): Promise<Manifest> {
  let res: Response;
  try {
    res = await fetch(manifestUrl, { cache: 'no-cache' });
  } catch (e) {
    throw new DataFailure({ kind: 'network', file: 'manifest.json', message: `could not fetch ${manifestUrl}: ${String(e)}` });
  }
  const type = res.headers.get('content-type') ?? '';
  // A 404, or a static host's "single page app" fallback answering with the HTML page.
  if (res.status === 404 || (res.ok && type.includes('text/html'))) {
    throw new DataFailure({
      kind: 'missing',
      file: 'manifest.json',
      message: `there is no data set at ${manifestUrl}`,
    });
  }
  if (!res.ok) throw new DataFailure({ kind: 'network', file: 'manifest.json', message: `HTTP ${res.status} fetching ${manifestUrl}` });
  const text = await res.text();
  addBytes(text.length);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DataFailure({ kind: 'malformed', file: 'manifest.json', message: 'manifest.json is not valid JSON' });
  }
  return validateManifest(json);
}

function str(col: DecodedColumn, i: number): string {
  const v = col[i];
  return v === null || v === undefined ? '' : String(v);
}

async function loadRepos(m: Manifest): Promise<ReposTable> {
  const cols: ColumnTable = {};
  const names: string[] = [];
  for (const f of m.tables.repos ?? []) {
    const bytes = await fetchChecked(f);
    const { columns } = await readParquetColumns(memoryAsyncBuffer(bytes), f.path, [
      'repo_id',
      'name',
      'topics',
      'files',
      'functions',
      'bytes',
    ]);
    const ids = toUint32Array(columns.repo_id!);
    for (let i = 0; i < ids.length; i++) names[ids[i]!] = str(columns.name!, i);
    for (const [k, v] of Object.entries(columns)) cols[k] = cols[k] ? concatColumns(cols[k]!, v) : v;
  }
  return { columns: cols, names: Array.from(names, (n) => n ?? '') };
}

function concatColumns(a: DecodedColumn, b: DecodedColumn): DecodedColumn {
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b) && a.constructor === b.constructor) {
    const ctor = a.constructor as new (n: number) => typeof a;
    const out = new ctor(a.length + b.length) as Exclude<DecodedColumn, unknown[]>;
    out.set(a as never);
    out.set(b as never, a.length);
    return out;
  }
  return [...Array.from(a as ArrayLike<unknown>), ...Array.from(b as ArrayLike<unknown>)];
}

async function shard(f: ManifestFile): Promise<{ file: AsyncBuffer; metadata: FileMetaData }> {
  let p = shardMeta.get(f.path);
  if (!p) {
    p = (async () => {
      const file = httpAsyncBuffer(fileUrl(f), f.bytes, { onBytes: addBytes });
      const metadata = await readParquetMetadata(file, f.path);
      if (f.rows !== undefined && Number(metadata.num_rows) !== f.rows) {
        throw new DataFailure({
          kind: 'corrupt',
          file: f.path,
          message: `${f.path} holds ${metadata.num_rows} rows, the manifest says ${f.rows}`,
        });
      }
      return { file, metadata };
    })();
    p.catch(() => shardMeta.delete(f.path));
    shardMeta.set(f.path, p);
  }
  return p;
}

async function loadLight(m: Manifest): Promise<Light> {
  const shards = m.tables.functions ?? [];
  const parts: ColumnTable[] = [];
  // Two shards at a time: enough to keep the connection busy without flooding it.
  let next = 0;
  const worker = async () => {
    while (next < shards.length) {
      const i = next++;
      const f = shards[i]!;
      const { file, metadata } = await shard(f);
      parts[i] = (await readParquetColumns(file, f.path, LIGHT_COLUMNS, { metadata })).columns;
      progress.filesDone++;
      report(true);
    }
  };
  await Promise.all([worker(), worker()]);
  const col = (name: string): DecodedColumn =>
    parts.length === 1 ? parts[0]![name]! : parts.map((p) => p[name]!).reduce((a, b) => concatColumns(a, b));
  const ids = toUint32Array(parts.length ? col('id') : new Uint32Array(0));
  let dense = true;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== ids[0]! + i) {
      dense = false;
      break;
    }
  }
  const empty: unknown[] = [];
  return {
    ids,
    repoIds: toUint32Array(parts.length ? col('repo_id') : new Uint32Array(0)),
    name: parts.length ? col('name') : empty,
    qualname: parts.length ? col('qualname') : empty,
    path: parts.length ? col('path') : empty,
    kind: parts.length ? col('kind') : empty,
    is_async: parts.length ? col('is_async') : empty,
    docstyle: parts.length ? col('docstyle') : empty,
    n_chars: toUint32Array(parts.length ? col('n_chars') : new Uint32Array(0)),
    n_lines: toUint32Array(parts.length ? col('n_lines') : new Uint32Array(0)),
    dense,
  };
}

/**
 * The light columns of every function: loaded at open, except in scale mode, where only the views
 * that need every function (statistics, colour by clone group, the summaries list) load them.
 */
function ensureLight(): Promise<Light> {
  if (light) return Promise.resolve(light);
  if (!manifest) return Promise.reject(new Error('data set not opened'));
  lightLoading ??= loadLight(manifest).then((l) => (light = l));
  lightLoading.catch(() => (lightLoading = null));
  return lightLoading;
}

/** Row of an id in the light columns, or -1. */
function rowOf(id: number): number {
  if (!light) return -1;
  const { ids } = light;
  if (light.dense) {
    const r = id - (ids[0] ?? 0);
    return r >= 0 && r < ids.length ? r : -1;
  }
  return indexOfSorted(ids, id);
}

async function loadLayout(m: Manifest, name: string, whole: Map<string, Uint8Array>): Promise<LayoutPayload> {
  const info = m.layouts.find((l) => l.name === name);
  if (!info) throw new DataFailure({ kind: 'malformed', message: `the manifest lists no layout named ${name}` });
  const files = m.tables[info.table] ?? [];
  const n = files.reduce((s, f) => s + (f.rows ?? 0), 0);
  const dims = info.dims;
  let positions = new Float32Array(n * dims);
  let ids = new Uint32Array(n);
  let clusters = new Int32Array(n);
  let at = 0;
  for (const f of files) {
    const bytes = whole.get(f.path) ?? (await fetchChecked(f));
    const cols = dims === 3 ? ['id', 'x', 'y', 'z', 'cluster'] : ['id', 'x', 'y', 'cluster'];
    const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(bytes), f.path, cols);
    if (at + rows > ids.length) {
      // The manifest lacked row counts: grow.
      const p2 = new Float32Array((at + rows) * dims);
      p2.set(positions);
      positions = p2;
      const i2 = new Uint32Array(at + rows);
      i2.set(ids);
      ids = i2;
    }
    ids.set(toUint32Array(columns.id!), at);
    const cl = columns.cluster!;
    if (at + rows > clusters.length) {
      const c2 = new Int32Array(at + rows);
      c2.set(clusters);
      clusters = c2;
    }
    for (let i = 0; i < rows; i++) {
      const c = cl[i];
      clusters[at + i] = c === null || c === undefined ? -1 : Number(c);
    }
    const x = toFloat32Array(columns.x!);
    const y = toFloat32Array(columns.y!);
    const z = dims === 3 ? toFloat32Array(columns.z!) : null;
    for (let i = 0; i < rows; i++) {
      const o = (at + i) * dims;
      positions[o] = x[i]!;
      positions[o + 1] = y[i]!;
      if (z) positions[o + 2] = Number.isNaN(z[i]!) ? 0 : z[i]!;
    }
    at += rows;
  }
  const repoIds = new Uint32Array(at);
  for (let i = 0; i < at; i++) {
    const r = rowOf(ids[i]!);
    repoIds[i] = r >= 0 ? light!.repoIds[r]! : 0;
  }
  return {
    name,
    dims,
    bounds: info.bounds,
    length: at,
    positions: at * dims === positions.length ? positions : positions.slice(0, at * dims),
    ids: at === ids.length ? ids : ids.slice(0, at),
    repoIds,
    clusters: at === clusters.length ? clusters : clusters.slice(0, at),
  };
}

async function doOpen(pageUrl: string): Promise<OpenResult> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  let lap = t0;
  const mark = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - lap);
    lap = now;
  };
  try {
    const url = resolveManifestUrl(pageUrl, self.location.origin);
    manifestUrl = url.href;
    base = new URL('.', url);
    progress = { phase: 'reading manifest.json', filesDone: 0, filesTotal: 1, bytesDone: 0, bytesTotal: 0 };
    report(true);
    const m = await loadManifest();
    manifest = m;
    mark('manifest');
    const layoutName = m.default_layout ?? m.layouts[0]?.name ?? null;
    const layoutInfo = m.layouts.find((l) => l.name === layoutName);
    const scaleParam = new URL(pageUrl).searchParams.get('scale');
    if (layoutInfo?.tiles && scaleParam !== '0' && (scaleParam === '1' || m.counts.functions > SCALE_MIN_FUNCTIONS)) {
      return await openScale(m, layoutInfo, layoutInfo.tiles, t0, timings, mark);
    }
    const wholeFiles = [
      ...(m.tables.repos ?? []),
      ...(m.stats ? [m.stats] : []),
      ...(layoutInfo ? (m.tables[layoutInfo.table] ?? []) : []),
    ];
    const fnShards = m.tables.functions ?? [];
    // The light columns are about a fifth of a shard's bytes (the body dominates): a rough guess.
    const lightGuess = fnShards.reduce((s, f) => s + f.bytes, 0) * 0.2;
    progress = {
      phase: 'downloading the data set',
      filesDone: 1,
      filesTotal: 1 + wholeFiles.length + fnShards.length,
      bytesDone: progress.bytesDone,
      bytesTotal: progress.bytesDone + wholeFiles.reduce((s, f) => s + f.bytes, 0) + Math.round(lightGuess),
    };
    report(true);
    // Whole files first (small, sha256-checked), then the range reads of the function shards.
    const whole = new Map<string, Uint8Array>();
    const layoutFiles = layoutInfo ? (m.tables[layoutInfo.table] ?? []) : [];
    const reposP = loadRepos(m);
    const statsP = m.stats ? fetchChecked(m.stats) : Promise.resolve(null);
    const layoutP = Promise.all(layoutFiles.map(async (f) => whole.set(f.path, await fetchChecked(f))));
    const [r, s] = await Promise.all([reposP, statsP, layoutP]);
    repos = r;
    mark('whole files');
    if (s) prebuiltStats = parseStatsJson(m, s);
    progress.phase = 'reading function names and sizes';
    report(true);
    light = await loadLight(m);
    mark('function columns');
    if (light.ids.length !== m.counts.functions) {
      throw new DataFailure({
        kind: 'corrupt',
        file: 'functions',
        message: `the functions shards hold ${light.ids.length} rows, the manifest counts ${m.counts.functions}`,
      });
    }
    if (layoutName && layoutInfo) {
      progress.phase = 'preparing the map';
      report(true);
      layouts.set(layoutName, await loadLayout(m, layoutName, whole));
      mark('layout');
    }
    progress.phase = 'ready';
    report(true);
    return {
      ok: true,
      summary: openSummary(m, layoutName, repos.names, t0, timings),
    };
  } catch (e) {
    manifest = null;
    return { ok: false, error: toDataError(e) };
  }
}

/** stats.json's bytes as the prebuilt statistics (a clear error when it is not JSON). */
function parseStatsJson(m: Manifest, bytes: Uint8Array | ArrayBuffer): DatasetStats {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as DatasetStats;
  } catch {
    throw new DataFailure({ kind: 'corrupt', file: m.stats!.path, message: `${m.stats!.path} is not valid JSON` });
  }
}

/** What open() tells the page about the data set, in both modes. */
function openSummary(m: Manifest, defaultLayout: string | null, repoNames: string[], t0: number, timings: Record<string, number>): DataSummary {
  return {
    manifestUrl,
    schemaVersion: m.schema_version,
    generator: m.generator,
    sources: m.sources,
    counts: m.counts,
    layouts: m.layouts.map((l) => ({ name: l.name, method: l.method, dims: l.dims, bounds: l.bounds })),
    defaultLayout,
    repos: repoNames,
    loadMs: Math.round(performance.now() - t0),
    timings,
  };
}

/**
 * Scale mode's open: repos, stats.json and the layout's density pyramid (small, sha256-checked);
 * no per-function column and no layout point is read until a view asks for them.
 */
async function openScale(
  m: Manifest,
  info: LayoutInfo,
  tiles: LayoutTiles,
  t0: number,
  timings: Record<string, number>,
  mark: (name: string) => void,
): Promise<OpenResult> {
  const pyramidFile = m.tables[tiles.table]?.[0];
  if (!pyramidFile) throw new DataFailure({ kind: 'malformed', file: 'manifest.json', message: `the manifest lists no file for ${tiles.table}` });
  const whole = [...(m.tables.repos ?? []), ...(m.stats ? [m.stats] : []), pyramidFile];
  progress = {
    phase: 'downloading the map’s density tiles',
    filesDone: 1,
    filesTotal: 1 + whole.length,
    bytesDone: progress.bytesDone,
    bytesTotal: progress.bytesDone + whole.reduce((a, f) => a + f.bytes, 0),
  };
  report(true);
  const [r, st, pyr] = await Promise.all([loadRepos(m), m.stats ? fetchChecked(m.stats) : Promise.resolve(null), fetchChecked(pyramidFile)]);
  repos = r;
  if (st) prebuiltStats = parseStatsJson(m, st);
  mark('whole files');
  const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(pyr), pyramidFile.path, ['level', 'tx', 'ty', 'count', 'cluster', 'x', 'y']);
  const pyramid: Pyramid = {
    extent: { ...tiles.extent, levels: tiles.levels },
    level: Uint8Array.from(columns.level! as ArrayLike<number>, Number),
    tx: Uint16Array.from(columns.tx! as ArrayLike<number>, Number),
    ty: Uint16Array.from(columns.ty! as ArrayLike<number>, Number),
    count: toUint32Array(columns.count!),
    cluster: Int32Array.from(columns.cluster! as ArrayLike<number | null>, (v) => (v === null || v === undefined ? -1 : Number(v))),
    x: toFloat32Array(columns.x!),
    y: toFloat32Array(columns.y!),
  };
  let top = 0;
  for (let i = 0; i < rows; i++) {
    if (pyramid.level[i]! > tiles.levels) throw new DataFailure({ kind: 'corrupt', file: pyramidFile.path, message: `${pyramidFile.path} holds level ${pyramid.level[i]}, the manifest says ${tiles.levels} at most` });
    if (pyramid.level[i] === 0) top += pyramid.count[i]!;
  }
  if (top !== m.counts.functions) {
    throw new DataFailure({ kind: 'corrupt', file: pyramidFile.path, message: `${pyramidFile.path} counts ${top} functions, the manifest ${m.counts.functions}` });
  }
  scale = { layout: info, tiles, pyramid };
  mark('density tiles');
  progress.phase = 'ready';
  report(true);
  return {
    ok: true,
    summary: {
      ...openSummary(m, info.name, r.names, t0, timings),
      scale: { layout: info.name, dims: info.dims, functions: m.counts.functions, levels: tiles.levels, extent: tiles.extent, cells: rows },
    },
  };
}

/** The light columns of the row group of `functions` that holds an id (scale mode), or null. */
async function lightRow(id: number): Promise<{ table: ColumnTable; i: number } | null> {
  const f = shardForId(manifest?.tables.functions ?? [], id);
  if (!f || f.id_min === undefined) return null;
  const row = id - f.id_min;
  const { file, metadata } = await shard(f);
  if (row < 0 || row >= Number(metadata.num_rows)) return null;
  const g = rowGroupOf(metadata, row);
  const key = `${f.path}#${g.index}`;
  let p = lightGroups.get(key);
  if (!p) {
    p = readParquetColumns(file, f.path, LIGHT_COLUMNS, { metadata, rowStart: g.rowStart, rowEnd: g.rowEnd }).then((r) => ({ table: r.columns, rowStart: g.rowStart }));
    p.catch(() => lightGroups.delete(key));
    lightGroups.set(key, p);
    // Hovers stay in a neighbourhood; a result list touches up to a few hundred groups.
    while (lightGroups.size > 256) lightGroups.delete(lightGroups.keys().next().value!);
  }
  const { table, rowStart } = await p;
  const i = row - rowStart;
  const found = Number(table.id![i]);
  if (found !== id) throw new Error(`${f.path}: row ${row} holds id ${found}, expected ${id}`);
  return { table, i };
}

/** Name, repository, path... of any function: from memory, or (scale mode) its row group. */
async function hoverAny(id: number): Promise<(HoverInfo & { n_chars: number; docstyle: string }) | null> {
  if (light) {
    const h = hoverInfo(id);
    const r = rowOf(id);
    return h ? { ...h, n_chars: light.n_chars[r]!, docstyle: str(light.docstyle, r) } : null;
  }
  if (!scale || !repos) return null;
  const got = await lightRow(id);
  if (!got) return null;
  const { table: t, i } = got;
  const repoId = Number(t.repo_id![i]);
  return {
    id,
    name: str(t.name!, i),
    qualname: str(t.qualname!, i),
    repo: repos.names[repoId] ?? `#${repoId}`,
    path: str(t.path!, i),
    kind: str(t.kind!, i),
    n_lines: Number(t.n_lines![i]),
    n_chars: Number(t.n_chars![i]),
    docstyle: str(t.docstyle!, i),
  };
}

async function hoverPlain(id: number): Promise<HoverInfo | null> {
  if (light) return hoverInfo(id);
  const h = await hoverAny(id);
  if (!h) return null;
  const { n_chars: _c, docstyle: _d, ...info } = h;
  return info;
}

function codeOf(dict: Map<string, number>, v: string): number {
  let c = dict.get(v);
  if (c === undefined) {
    c = Math.min(255, dict.size);
    dict.set(v, c);
  }
  return c;
}

/** Min/max tile code of each row group of a points shard (its footer's statistics). */
async function tileStatsOf(f: ManifestFile): Promise<{ min: number; max: number }[]> {
  let st = tileStats.get(f.path);
  if (st) return st;
  const { metadata } = await shard(f);
  st = metadata.row_groups.map((g, gi) => {
    const c = g.columns.find((col) => col.meta_data?.path_in_schema[0] === 'tile');
    const s = c?.meta_data?.statistics;
    const min = s?.min_value ?? s?.min;
    const max = s?.max_value ?? s?.max;
    if (min === undefined || max === undefined || min === null || max === null) {
      throw new DataFailure({ kind: 'corrupt', file: f.path, message: `${f.path}: row group ${gi} has no min/max tile code` });
    }
    return { min: Number(min), max: Number(max) };
  });
  tileStats.set(f.path, st);
  return st;
}

const POINT_COLUMNS = ['id', 'x', 'y', 'cluster', 'repo_id', 'kind', 'docstyle', 'n_lines', 'name'];

/** Reads the row groups of the points shards that hold the tile codes of `ranges` (scale mode). */
async function scalePoints(ranges: [number, number][], have: string[], token: number, maxRows: number): Promise<PointsResponse> {
  if (!scale || !manifest) throw new Error('the map is not in scale mode');
  pointsToken = Math.max(pointsToken, token);
  const bytes0 = progress.bytesDone;
  const files = manifest.tables[scale.tiles.points] ?? [];
  const res = (over: Partial<PointsResponse>): PointsResponse => ({
    token,
    stale: false,
    needed: [],
    rows: 0,
    tooMany: false,
    chunks: [],
    bytes: progress.bytesDone - bytes0,
    kinds: [...kindCodes.keys()],
    docstyles: [...styleCodes.keys()],
    ...over,
  });
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const wanted: { f: ManifestFile; groups: number[]; starts: number[] }[] = [];
  const needed: string[] = [];
  let rows = 0;
  for (const [k, f] of files.entries()) {
    const cr = scale.tiles.code_ranges[k]!;
    if (!overlapsRanges(sorted, cr[0], cr[1])) continue;
    const st = await tileStatsOf(f);
    if (token < pointsToken) return res({ stale: true });
    const groups = rowGroupsFor(st, sorted);
    if (!groups.length) continue;
    const { metadata } = await shard(f);
    const starts = rowGroupStarts(metadata);
    for (const g of groups) {
      needed.push(`${f.path}#${g}`);
      rows += starts[g + 1]! - starts[g]!;
    }
    wanted.push({ f, groups, starts });
  }
  if (rows > maxRows) return res({ needed, rows, tooMany: true });
  const haveSet = new Set(have);
  const chunks: PointChunk[] = [];
  const reads: Promise<void>[] = [];
  for (const { f, groups, starts } of wanted) {
    const missing = groups.filter((g) => !haveSet.has(`${f.path}#${g}`));
    // Runs of consecutive row groups are read together (one decode, merged range requests).
    for (let a = 0; a < missing.length; ) {
      let b = a;
      while (b + 1 < missing.length && missing[b + 1] === missing[b]! + 1) b++;
      const first = missing[a]!;
      const last = missing[b]!;
      a = b + 1;
      reads.push(
        (async () => {
          const { file, metadata } = await shard(f);
          const { columns } = await readParquetColumns(file, f.path, POINT_COLUMNS, { metadata, rowStart: starts[first]!, rowEnd: starts[last + 1]! });
          const ids = toUint32Array(columns.id!);
          const x = toFloat32Array(columns.x!);
          const y = toFloat32Array(columns.y!);
          for (let g = first; g <= last; g++) {
            const lo = starts[g]! - starts[first]!;
            const hi = starts[g + 1]! - starts[first]!;
            const n = hi - lo;
            const c: PointChunk = {
              key: `${f.path}#${g}`,
              ids: ids.slice(lo, hi),
              positions: new Float32Array(n * 2),
              clusters: new Int32Array(n),
              repoIds: new Uint32Array(n),
              kinds: new Uint8Array(n),
              docstyles: new Uint8Array(n),
              nLines: new Uint32Array(n),
              names: new Array<string>(n),
            };
            for (let i = 0; i < n; i++) {
              const r = lo + i;
              c.positions[2 * i] = x[r]!;
              c.positions[2 * i + 1] = y[r]!;
              const cl = columns.cluster![r];
              c.clusters[i] = cl === null || cl === undefined ? -1 : Number(cl);
              c.repoIds[i] = Number(columns.repo_id![r] ?? 0);
              c.kinds[i] = codeOf(kindCodes, str(columns.kind!, r));
              c.docstyles[i] = codeOf(styleCodes, str(columns.docstyle!, r) || 'none');
              c.nLines[i] = Number(columns.n_lines![r] ?? 0);
              c.names[i] = str(columns.name!, r);
            }
            chunks.push(c);
          }
        })(),
      );
    }
  }
  await Promise.all(reads);
  if (token < pointsToken) return res({ stale: true, needed, rows });
  return res({ needed, rows, chunks });
}

/** x, y of functions by id from the layout's id-sorted shards (scale mode: search results, fly-to). */
async function positionsOf(ids: Uint32Array): Promise<{ ids: Uint32Array; positions: Float32Array }> {
  if (!scale || !manifest) throw new Error('the map is not in scale mode');
  const files = manifest.tables[scale.layout.table] ?? [];
  const outIds: number[] = [];
  const pos: number[] = [];
  await Promise.all(
    Array.from(ids, async (id) => {
      const f = shardForId(files, id);
      if (!f || f.id_min === undefined) return;
      const { file, metadata } = await shard(f);
      const row = id - f.id_min;
      if (row < 0 || row >= Number(metadata.num_rows)) return;
      const g = rowGroupOf(metadata, row);
      const key = `${f.path}#${g.index}`;
      let p = layoutGroups.get(key);
      if (!p) {
        p = readParquetColumns(file, f.path, ['id', 'x', 'y'], { metadata, rowStart: g.rowStart, rowEnd: g.rowEnd }).then((r) => ({
          ids: toUint32Array(r.columns.id!),
          x: toFloat32Array(r.columns.x!),
          y: toFloat32Array(r.columns.y!),
          rowStart: g.rowStart,
        }));
        p.catch(() => layoutGroups.delete(key));
        layoutGroups.set(key, p);
        while (layoutGroups.size > 64) layoutGroups.delete(layoutGroups.keys().next().value!);
      }
      const t = await p;
      const i = row - t.rowStart;
      if (t.ids[i] !== id) throw new Error(`${f.path}: row ${row} holds id ${t.ids[i]}, expected ${id}`);
      outIds.push(id);
      pos.push(t.x[i]!, t.y[i]!);
    }),
  );
  return { ids: Uint32Array.from(outIds), positions: Float32Array.from(pos) };
}

// ---------------------------------------------------------------------------------------------
// DuckDB-WASM: started on first use, in its own worker (the async API), so that this worker keeps
// answering hovers while DuckDB computes.

let db: Promise<{ db: AsyncDuckDB; conn: AsyncDuckDBConnection; version: string }> | null = null;

async function startDuckDB(): Promise<{ db: AsyncDuckDB; conn: AsyncDuckDBConnection; version: string }> {
  const duckdb = await import('@duckdb/duckdb-wasm');
  const bundle = await duckdb.selectBundle({
    mvp: { mainModule: new URL(duckdbMvpWasm, self.location.href).href, mainWorker: new URL(duckdbMvpWorker, self.location.href).href },
    eh: { mainModule: new URL(duckdbEhWasm, self.location.href).href, mainWorker: new URL(duckdbEhWorker, self.location.href).href },
  });
  const worker = new Worker(bundle.mainWorker!);
  const instance = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  await instance.instantiate(bundle.mainModule, bundle.pthreadWorker);
  await instance.open({});
  const conn = await instance.connect();
  const version = await instance.getVersion();
  return { db: instance, conn, version: `DuckDB-WASM ${version} (${bundle.mainModule.includes('-eh') ? 'eh' : 'mvp'})` };
}

type Arrow = typeof import('apache-arrow');

/**
 * A Utf8 vector built straight from strings into one byte buffer and an offsets array: arrow's
 * generic vectorFromArray builder takes tens of seconds for a few million strings.
 */
function utf8Vector(arrow: Arrow, col: DecodedColumn) {
  const n = col.length;
  const offsets = new Int32Array(n + 1);
  const valid = new Uint8Array((n + 7) >> 3);
  const enc = new TextEncoder();
  let buf = new Uint8Array(Math.max(1024, n * 24));
  let pos = 0;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = col[i];
    if (v === null || v === undefined) {
      nulls++;
      offsets[i + 1] = pos;
      continue;
    }
    valid[i >> 3]! |= 1 << (i & 7);
    const str = typeof v === 'string' ? v : String(v);
    if (pos + str.length * 3 > buf.length) {
      const grown = new Uint8Array(Math.max(buf.length * 2, pos + str.length * 3));
      grown.set(buf.subarray(0, pos));
      buf = grown;
    }
    // Most identifiers and paths are ASCII: copy those directly, hand the rest to the encoder.
    const len = str.length;
    let j = 0;
    for (; j < len; j++) {
      const c = str.charCodeAt(j);
      if (c >= 0x80) break;
      buf[pos + j] = c;
    }
    pos += j === len ? len : j + enc.encodeInto(str.slice(j), buf.subarray(pos + j)).written;
    offsets[i + 1] = pos;
  }
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Utf8(),
      length: n,
      nullCount: nulls,
      nullBitmap: nulls ? valid : null,
      valueOffsets: offsets,
      data: buf.subarray(0, pos),
    }),
  );
}

function boolVector(arrow: Arrow, col: DecodedColumn) {
  const n = col.length;
  const bits = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (col[i]) bits[i >> 3]! |= 1 << (i & 7);
  return arrow.makeVector(arrow.makeData({ type: new arrow.Bool(), length: n, nullCount: 0, data: bits }));
}

async function loadTables(conn: AsyncDuckDBConnection): Promise<void> {
  const arrow = await import('apache-arrow');
  if (!light || !repos) throw new Error('data set not opened');
  const fn = new arrow.Table({
    id: arrow.makeVector(light.ids),
    repo_id: arrow.makeVector(light.repoIds),
    name: utf8Vector(arrow, light.name),
    qualname: utf8Vector(arrow, light.qualname),
    path: utf8Vector(arrow, light.path),
    kind: utf8Vector(arrow, light.kind),
    is_async: boolVector(arrow, light.is_async),
    docstyle: utf8Vector(arrow, light.docstyle),
    n_chars: arrow.makeVector(light.n_chars),
    n_lines: arrow.makeVector(light.n_lines),
  });
  const rc = repos.columns;
  const big = (col: DecodedColumn) =>
    col instanceof BigInt64Array ? col : BigInt64Array.from(Array.from(col as ArrayLike<unknown>, (v) => BigInt(Number(v ?? 0))));
  const topics = Array.from(rc.topics as ArrayLike<unknown>, (v) => (Array.isArray(v) ? v.map((t) => String(t ?? '')) : []));
  const rp = new arrow.Table({
    repo_id: arrow.makeVector(toUint32Array(rc.repo_id!)),
    name: utf8Vector(arrow, rc.name!),
    topics: arrow.vectorFromArray(topics, new arrow.List(new arrow.Field('item', new arrow.Utf8(), true))),
    files: arrow.makeVector(toUint32Array(rc.files!)),
    functions: arrow.makeVector(toUint32Array(rc.functions!)),
    bytes: arrow.makeVector(big(rc.bytes!)),
  });
  await conn.query('DROP TABLE IF EXISTS functions; DROP TABLE IF EXISTS repos;');
  await conn.insertArrowFromIPCStream(arrow.tableToIPC(fn, 'stream'), { name: 'functions', create: true });
  await conn.insertArrowFromIPCStream(arrow.tableToIPC(rp, 'stream'), { name: 'repos', create: true });
}

function sameIgnoringLimits(a: DatasetStats, b: DatasetStats): boolean {
  const pick = (s: DatasetStats) =>
    JSON.stringify([s.totals, s.tags, s.length_histogram, s.length_quantiles, s.docstyles, s.kinds]);
  try {
    return pick(a) === pick(b);
  } catch {
    return false;
  }
}

async function doStats(): Promise<StatsResult> {
  if (!manifest) throw new Error('data set not opened');
  if (scale && !light) {
    throw new Error(
      `at ${manifest.counts.functions.toLocaleString('en')} functions the map opened without loading every function's columns, which computing the statistics here would need`,
    );
  }
  db ??= startDuckDB();
  let handle;
  try {
    handle = await db;
  } catch (e) {
    db = null;
    throw e;
  }
  const t0 = performance.now();
  await loadTables(handle.conn);
  const tLoad = Math.round(performance.now() - t0);
  const conn = handle.conn;
  const stats = await computeDatasetStats(async (sql) => {
    const table = await conn.query(sql);
    return table.toArray().map((row) => (row as { toJSON(): Record<string, unknown> }).toJSON());
  });
  return {
    stats,
    engine: handle.version,
    insertMs: tLoad,
    ms: Math.round(performance.now() - t0) - tLoad,
    matchesPrebuild: prebuiltStats ? sameIgnoringLimits(stats, prebuiltStats) : null,
  };
}

async function groupColumns(f: ManifestFile, row: number): Promise<{ table: ColumnTable; rowStart: number }> {
  const { file, metadata } = await shard(f);
  const g = rowGroupOf(metadata, row);
  const key = `${f.path}#${g.index}`;
  let p = groupCache.get(key);
  if (!p) {
    p = readParquetColumns(file, f.path, DETAIL_COLUMNS, { metadata, rowStart: g.rowStart, rowEnd: g.rowEnd }).then((r) => r.columns);
    p.catch(() => groupCache.delete(key));
    groupCache.set(key, p);
    // Keep the last few row groups: hovering tends to stay in one neighbourhood.
    while (groupCache.size > 6) groupCache.delete(groupCache.keys().next().value!);
  }
  return { table: await p, rowStart: g.rowStart };
}

function hoverInfo(id: number): HoverInfo | null {
  const r = rowOf(id);
  if (r < 0 || !light || !repos) return null;
  return {
    id,
    name: str(light.name, r),
    qualname: str(light.qualname, r),
    repo: repos.names[light.repoIds[r]!] ?? `#${light.repoIds[r]}`,
    path: str(light.path, r),
    kind: str(light.kind, r),
    n_lines: light.n_lines[r]!,
  };
}

export const NONE_CATEGORY = 0xffffffff;

/** Dense codes for string values, most frequent first. */
function codesFromStrings(values: (string | null)[]): { codes: Uint32Array; labels: string[]; counts: number[] } {
  const count = new Map<string, number>();
  for (const v of values) if (v !== null) count.set(v, (count.get(v) ?? 0) + 1);
  const labels = [...count.keys()].sort((a, b) => count.get(b)! - count.get(a)! || (a < b ? -1 : 1));
  const index = new Map(labels.map((l, i) => [l, i]));
  const codes = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) codes[i] = values[i] === null ? NONE_CATEGORY : index.get(values[i]!)!;
  return { codes, labels, counts: labels.map((l) => count.get(l)!) };
}

function loadDedup(m: Manifest): Promise<{ ids: Uint32Array; thresholds: Float32Array; groups: Int32Array }> {
  dedupTable ??= (async () => {
    const files = m.tables.dedup ?? [];
    if (files.length === 0) throw new Error('this data set has no duplicate groups (the dedup stage did not run)');
    const parts = await Promise.all(
      files.map(async (f) => (await readParquetColumns(memoryAsyncBuffer(await fetchChecked(f)), f.path, ['id', 'threshold', 'group_id'])).columns),
    );
    const n = parts.reduce((s, p) => s + p.id!.length, 0);
    const ids = new Uint32Array(n);
    const thresholds = new Float32Array(n);
    const groups = new Int32Array(n);
    let at = 0;
    for (const p of parts) {
      const len = p.id!.length;
      ids.set(toUint32Array(p.id!), at);
      thresholds.set(toFloat32Array(p.threshold!), at);
      for (let i = 0; i < len; i++) {
        const g = p.group_id![i];
        groups[at + i] = g === null || g === undefined ? -1 : Number(g);
      }
      at += len;
    }
    return { ids, thresholds, groups };
  })();
  dedupTable.catch(() => (dedupTable = null));
  return dedupTable;
}

async function categoriesOf(by: CategoryKind, ids: Uint32Array, clusters: Int32Array, threshold: number): Promise<Categories> {
  const n = ids.length;
  if (by === 'package') {
    const codes = new Uint32Array(n);
    const counts = new Array<number>(repos!.names.length).fill(0);
    for (let i = 0; i < n; i++) {
      const r = rowOf(ids[i]!);
      codes[i] = r >= 0 ? light!.repoIds[r]! : NONE_CATEGORY;
      if (r >= 0) counts[codes[i]!]!++;
    }
    return { by, codes, labels: repos!.names, counts, noneLabel: 'unknown', noneCount: 0 };
  }
  if (by === 'cluster') {
    const codes = new Uint32Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) k = Math.max(k, clusters[i]! + 1);
    const counts = new Array<number>(k).fill(0);
    let none = 0;
    for (let i = 0; i < n; i++) {
      const c = clusters[i]!;
      codes[i] = c < 0 ? NONE_CATEGORY : c;
      if (c < 0) none++;
      else counts[c]!++;
    }
    const labels = (await clusterLabels()) ?? [];
    return { by, codes, labels: counts.map((_, c) => labels[c] ?? `cluster ${c}`), counts, noneLabel: 'no cluster', noneCount: none };
  }
  if (by === 'docstyle') {
    const values = Array.from(ids, (id) => {
      const r = rowOf(id);
      return r >= 0 ? str(light!.docstyle, r) || 'none' : null;
    });
    return { by, ...codesFromStrings(values), noneLabel: 'unknown', noneCount: 0 };
  }
  // Clone groups at one threshold: each non-singleton group its own colour, biggest first.
  const d = await loadDedup(manifest!);
  const groupOf = new Map<number, number>();
  for (let i = 0; i < d.ids.length; i++) {
    if (Math.abs(d.thresholds[i]! - threshold) < 1e-4 && d.groups[i]! >= 0) groupOf.set(d.ids[i]!, d.groups[i]!);
  }
  const size = new Map<number, number>();
  for (const id of ids) {
    const g = groupOf.get(id);
    if (g !== undefined) size.set(g, (size.get(g) ?? 0) + 1);
  }
  const values = Array.from(ids, (id) => {
    const g = groupOf.get(id);
    return g !== undefined && (size.get(g) ?? 0) > 1 ? `group ${g}` : null;
  });
  const coded = codesFromStrings(values);
  const none = values.filter((v) => v === null).length;
  return { by, ...coded, noneLabel: `unique at ${Math.round(threshold * 100)}%`, noneCount: none };
}

/** Cluster labels from `clusters-<layout>` when the data set has it (written by the layout stage). */
async function clusterLabels(): Promise<string[] | null> {
  const m = manifest!;
  const name = m.default_layout ?? m.layouts[0]?.name;
  const files = name ? m.tables[`clusters-${name}`] : undefined;
  if (!files?.length) return null;
  const out: string[] = [];
  for (const f of files) {
    const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(await fetchChecked(f)), f.path, ['cluster', 'label']);
    for (let i = 0; i < rows; i++) out[Number(columns.cluster![i])] = str(columns.label!, i);
  }
  return out;
}

export function headOf(body: string): { head: string; truncated: boolean } {
  const lines = body.split('\n');
  let head = lines.slice(0, HEAD_LINES).join('\n');
  let truncated = lines.length > HEAD_LINES;
  if (head.length > HEAD_CHARS) {
    head = head.slice(0, HEAD_CHARS);
    truncated = true;
  }
  return { head, truncated };
}

const api = {
  /** Opens the data set named by the page URL; progress is reported through the callback. */
  open(pageUrl: string, onProgress?: (p: LoadProgress) => void): Promise<OpenResult> {
    progressCb = onProgress ?? null;
    opening ??= doOpen(pageUrl);
    return opening;
  },

  /** The layout as typed arrays, transferred (the worker keeps no copy). */
  async layout(name?: string): Promise<LayoutPayload> {
    if (!manifest) throw new Error('data set not opened');
    // Scale mode loaded no function columns: a view that asks for the whole layout (uploads, summaries) loads them now.
    await ensureLight();
    const key = name ?? manifest.default_layout ?? manifest.layouts[0]?.name;
    if (!key) throw new Error('the data set has no layout');
    let l = layouts.get(key);
    if (!l) l = await loadLayout(manifest, key, new Map());
    layouts.delete(key);
    layoutIds.set(key, l.ids.slice());
    layoutClusters.set(key, l.clusters.slice());
    return Comlink.transfer(l, [l.positions.buffer, l.ids.buffer, l.repoIds.buffer, l.clusters.buffer]);
  },

  /** Registers a layout made in the browser (the train view's VAE), for colourings and filters. */
  registerLayout(name: string, ids: Uint32Array, clusters: Int32Array): void {
    layoutIds.set(name, ids);
    layoutClusters.set(name, clusters);
  },

  /** A colouring of the layout's points by cluster, package, docstring convention or clone group. */
  async categories(by: CategoryKind, layoutName?: string, threshold = 0.8): Promise<Categories> {
    if (manifest && scale) await ensureLight();
    if (!manifest || !light || !repos) throw new Error('data set not opened');
    const key = layoutName ?? manifest.default_layout ?? manifest.layouts[0]?.name ?? '';
    const ids = layoutIds.get(key);
    if (!ids) throw new Error(`layout ${key} is not loaded`);
    const c = await categoriesOf(by, ids, layoutClusters.get(key)!, threshold);
    return Comlink.transfer(c, [c.codes.buffer]);
  },

  /** Name, repository and path of a function: from memory, or in scale mode from its row group. */
  hover(id: number): Promise<HoverInfo | null> {
    return hoverPlain(id);
  },

  /** Scale mode: what the map draws at scale, or null when the data set opened normally. */
  scaleInfo(): ScaleInfo | null {
    if (!scale || !manifest) return null;
    const t = scale.tiles;
    return { layout: scale.layout.name, dims: scale.layout.dims, functions: manifest.counts.functions, levels: t.levels, extent: t.extent, cells: scale.pyramid.level.length };
  },

  /** Scale mode: the density pyramid (a copy, transferred). */
  pyramid(): Pyramid {
    if (!scale) throw new Error('the map is not in scale mode');
    const p = scale.pyramid;
    const c: Pyramid = { extent: p.extent, level: p.level.slice(), tx: p.tx.slice(), ty: p.ty.slice(), count: p.count.slice(), cluster: p.cluster.slice(), x: p.x.slice(), y: p.y.slice() };
    return Comlink.transfer(c, [c.level.buffer, c.tx.buffer, c.ty.buffer, c.count.buffer, c.cluster.buffer, c.x.buffer, c.y.buffer]);
  },

  /**
   * Scale mode: the points of the tile-code ranges in view, as row-group chunks the map does not
   * have yet (`have`); a request superseded by a newer token stops and answers stale.
   */
  async scalePoints(ranges: [number, number][], have: string[], token: number, maxRows: number): Promise<PointsResponse> {
    const r = await scalePoints(ranges, have, token, maxRows);
    const buffers = r.chunks.flatMap((c) => [c.ids.buffer, c.positions.buffer, c.clusters.buffer, c.repoIds.buffer, c.kinds.buffer, c.docstyles.buffer, c.nLines.buffer]);
    return Comlink.transfer(r, buffers);
  },

  /** Scale mode: x, y of functions by id (those found), from the layout's shards. */
  async positionsOf(ids: Uint32Array): Promise<{ ids: Uint32Array; positions: Float32Array }> {
    const r = await positionsOf(ids);
    return Comlink.transfer(r, [r.ids.buffer, r.positions.buffer]);
  },

  /** One function with the start of its code: reads the one row group that holds it. */
  async getFunction(id: number, full = false): Promise<FunctionDetail | null> {
    if (!manifest) throw new Error('data set not opened');
    const any = await hoverAny(id);
    const info = any ? (({ n_chars: _c, docstyle: _d, ...h }) => h)(any) : null;
    const f = shardForId(manifest.tables.functions ?? [], id);
    if (!info || !f || f.id_min === undefined) return null;
    const row = id - f.id_min;
    const { table, rowStart } = await groupColumns(f, row);
    const i = row - rowStart;
    const found = Number(table.id![i]);
    if (found !== id) throw new Error(`${f.path}: row ${row} holds id ${found}, expected ${id}`);
    const body = str(table.body!, i);
    const doc = table.docstring![i];
    return {
      ...info,
      start_line: Number(table.start_line![i] ?? 0),
      end_line: Number(table.end_line![i] ?? 0),
      docstring: doc === null || doc === undefined ? null : String(doc),
      ...headOf(body),
      n_chars: any!.n_chars,
      ...(full ? { body } : {}),
    };
  },

  /** Dataset statistics computed here by DuckDB-WASM over `functions` and `repos`. */
  stats(): Promise<StatsResult> {
    statsPromise ??= doStats().catch((e) => {
      statsPromise = null;
      throw e;
    });
    return statsPromise;
  },

  /** stats.json as the prebuild wrote it (checked against its sha256), if the data set has one. */
  prebuiltStats(): DatasetStats | null {
    return prebuiltStats;
  },

  /**
   * Which of the layout's points pass the filters (1 = shown), and how many: package, cluster, kind,
   * docstring presence and line-count range, all from columns already in memory.
   */
  async filterMask(filters: MapFilters, layoutName?: string): Promise<{ mask: Uint8Array; shown: number }> {
    if (manifest && scale) await ensureLight();
    if (!manifest || !light || !repos) throw new Error('data set not opened');
    const key = layoutName ?? manifest.default_layout ?? manifest.layouts[0]?.name ?? '';
    const ids = layoutIds.get(key);
    const clusters = layoutClusters.get(key);
    if (!ids || !clusters) throw new Error(`layout ${key} is not loaded`);
    const repoWanted = filters.repos.length ? new Set(filters.repos) : null;
    const clusterWanted = filters.clusters.length ? new Set(filters.clusters) : null;
    const kindWanted = filters.kinds.length ? new Set(filters.kinds) : null;
    const mask = new Uint8Array(ids.length);
    let shown = 0;
    for (let i = 0; i < ids.length; i++) {
      const r = rowOf(ids[i]!);
      if (r < 0) continue;
      if (repoWanted && !repoWanted.has(repos.names[light.repoIds[r]!] ?? '')) continue;
      if (clusterWanted && !clusterWanted.has(clusters[i]!)) continue;
      if (kindWanted && !kindWanted.has(str(light.kind, r))) continue;
      if (filters.hasDocstring !== null && (str(light.docstyle, r) !== 'none') !== filters.hasDocstring) continue;
      const lines = light.n_lines[r]!;
      if (filters.minLines !== null && lines < filters.minLines) continue;
      if (filters.maxLines !== null && lines > filters.maxLines) continue;
      mask[i] = 1;
      shown++;
    }
    return Comlink.transfer({ mask, shown }, [mask.buffer]);
  },

  /** Name, repository, path, kind and length of many functions at once (selection tables, exports). */
  async describe(ids: Uint32Array): Promise<{ id: number; qualname: string; name: string; repo: string; path: string; kind: string; n_lines: number }[]> {
    const out = [];
    const all = light ? Array.from(ids, (id) => hoverInfo(id)) : await Promise.all(Array.from(ids, (id) => hoverAny(id)));
    for (const h of all) if (h) out.push({ id: h.id, qualname: h.qualname, name: h.name, repo: h.repo, path: h.path, kind: h.kind, n_lines: h.n_lines });
    return out;
  },

  /**
   * The function's near-duplicates: the other members of its clone group at each threshold (0.8,
   * 0.95), at most `limit` each, with names. Empty lists when it is unique or the data set has no dedup.
   */
  async duplicatesOf(id: number, limit = 50): Promise<{ threshold: number; size: number; members: HoverInfo[] }[]> {
    if (!manifest?.tables.dedup?.length) return [];
    const d = await loadDedup(manifest);
    const out: { threshold: number; size: number; members: HoverInfo[] }[] = [];
    const mine = new Map<number, number>();
    for (let i = 0; i < d.ids.length; i++) if (d.ids[i] === id && d.groups[i]! >= 0) mine.set(Math.round(d.thresholds[i]! * 100), d.groups[i]!);
    for (const [pct, group] of [...mine].sort((a, b) => a[0] - b[0])) {
      const members: HoverInfo[] = [];
      let size = 0;
      for (let i = 0; i < d.ids.length; i++) {
        if (d.groups[i] !== group || Math.round(d.thresholds[i]! * 100) !== pct) continue;
        size++;
        const other = d.ids[i]!;
        if (other === id || members.length >= limit) continue;
        const h = await hoverPlain(other);
        if (h) members.push(h);
      }
      if (size > 1) out.push({ threshold: pct / 100, size, members });
    }
    return out;
  },

  /** Names of the kinds present (function, method, nested…), for the filter controls. */
  async kinds(): Promise<string[]> {
    // Scale mode: the kinds stats.json counted, without loading every function's columns.
    if (!light && scale && prebuiltStats?.kinds?.length) return prebuiltStats.kinds.map((k) => k.kind).sort();
    if (!light && scale) await ensureLight();
    if (!light) return [];
    const seen = new Set<string>();
    for (let i = 0; i < light.ids.length; i++) seen.add(str(light.kind, i));
    return [...seen].sort();
  },

  /** The layout stage's report (sweep, VAE losses, PCA curve, quality per layout), if the data set has one. */
  async layoutReport(): Promise<LayoutReportJson | null> {
    if (!manifest) throw new Error('data set not opened');
    const f = manifest.models['layout-report']?.[0];
    if (!f) return null;
    try {
      return JSON.parse(new TextDecoder().decode(await fetchChecked(f))) as LayoutReportJson;
    } catch (e) {
      if (e instanceof SyntaxError) throw new Error(`${f.path} is not valid JSON`);
      throw e;
    }
  },

  /** Cluster cards of the default map: size, centroid, label terms and nearest-to-centroid functions. */
  async clusterCards(): Promise<ClusterCardRow[]> {
    if (!manifest) throw new Error('data set not opened');
    const name = manifest.default_layout ?? manifest.layouts[0]?.name;
    const files = name ? manifest.tables[`clusters-${name}`] : undefined;
    if (!files?.length) return [];
    const out: ClusterCardRow[] = [];
    for (const f of files) {
      const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(await fetchChecked(f)), f.path, ['cluster', 'size', 'label', 'terms', 'nearest']);
      for (let i = 0; i < rows; i++) {
        const nearest = (columns.nearest![i] as ArrayLike<number | bigint> | null) ?? [];
        const terms = (columns.terms![i] as ArrayLike<string> | null) ?? [];
        out.push({
          cluster: Number(columns.cluster![i]),
          size: Number(columns.size![i]),
          label: str(columns.label!, i),
          terms: Array.from(terms, String),
          nearest: Array.from(nearest, Number),
        });
      }
    }
    return out;
  },

  /** The checked manifest and where it is, for the other workers (search, embed) to share. */
  manifestInfo(): { manifestUrl: string; manifest: Manifest } | null {
    return manifest ? { manifestUrl, manifest } : null;
  },

  schemaVersion(): number {
    return SCHEMA_VERSION;
  },
};

export type DataApi = typeof api;

Comlink.expose(api);
