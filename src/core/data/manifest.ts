// manifest.json: the one file the site reads first. It names every file of the data set with its
// size and sha256 so the site can tell a complete, current data set from a missing, corrupt or
// outdated one, and so a rerun of prebuild can be checked byte for byte.
import { SCHEMA_VERSION } from './schema.ts';

export interface ManifestFile {
  /** Relative to the manifest's folder, forward slashes. */
  path: string;
  bytes: number;
  sha256: string;
  /** Row count for Parquet files. */
  rows?: number;
  /** Inclusive id range covered by a shard of an id-sorted table. */
  id_min?: number;
  id_max?: number;
}

export interface EmbeddingInfo {
  /** Model id, e.g. `tfidf-svd` or `jinaai/jina-embeddings-v2-base-code`. */
  model: string;
  /** Table holding the vectors, e.g. `vectors-tfidf-svd`. */
  table: string;
  dim: number;
  dtype: 'int8' | 'float16' | 'float32';
  /** Key into `models` for the files the browser needs to embed a query the same way. */
  model_files?: string;
  /**
   * The same vectors partitioned for IVF search: `table` holds them sorted by (partition, id) in
   * small row groups, so a query range-reads only the partitions it probes; `index` is the key into
   * `models` of the partition index (centroids + partition offsets, core/search/ivf.ts format).
   * `head` (optional; format-2 indexes): the byte length and sha256 of the index file's head
   * (header, centroids, offsets), which is all a query reads of it, by one Range request.
   */
  ivf?: { table: string; index: string; nlist: number; head?: { bytes: number; sha256: string } };
}

export interface LayoutInfo {
  name: string;
  /** How it was made, e.g. `pca-2 of tfidf-svd`. */
  method: string;
  table: string;
  dims: 2 | 3;
  /** Data-space bounds, so the map can fit the view before all points have loaded. */
  bounds: { min: number[]; max: number[] };
  /**
   * For large data sets (prebuild/stages/tiles.ts): a density pyramid and the points re-sorted by
   * tile code, so the map draws aggregated cells first and range-reads only the visible points.
   */
  tiles?: LayoutTiles;
}

export interface LayoutTiles {
  /** Table of the pyramid: level, tx, ty, count, cluster (the most common), x, y (means). */
  table: string;
  /** Table of the points sorted by tile code: id, x, y(, z), cluster, tile, repo_id, kind, docstyle, n_lines, name. */
  points: string;
  /** Finest level (2^levels cells per axis); the tile code is the Morton code of its cell. */
  levels: number;
  /** The square the cells tile, in layout units. */
  extent: { x0: number; y0: number; size: number };
  /** Inclusive tile-code range of each shard of `points`, in the table's order. */
  code_ranges: [number, number][];
}

export interface Manifest {
  schema_version: number;
  generator: string;
  sources: string[];
  counts: { repos: number; files: number; functions: number; skipped_files: number };
  /** Every Parquet table, by name, as its shards in id order. */
  tables: Record<string, ManifestFile[]>;
  embeddings: EmbeddingInfo[];
  layouts: LayoutInfo[];
  /** Name of the layout the map opens with. */
  default_layout: string | null;
  /** Model files by model id (e.g. the TF-IDF/SVD vocabulary and components). */
  models: Record<string, ManifestFile[]>;
  /** Dataset statistics written by the stats stage. */
  stats: ManifestFile | null;
}

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly kind: 'missing' | 'malformed' | 'schema-version' | 'corrupt',
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSafeRelativePath(p: string): boolean {
  return (
    p.length > 0 &&
    p.length < 512 &&
    !p.startsWith('/') &&
    !p.includes('\\') &&
    !p.includes('://') &&
    p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..')
  );
}

function checkFile(v: unknown, where: string): ManifestFile {
  if (!isRecord(v)) throw new ManifestError(`${where} is not an object`, 'malformed');
  const { path, bytes, sha256 } = v;
  if (typeof path !== 'string' || !isSafeRelativePath(path)) {
    throw new ManifestError(`${where}.path is not a safe relative path`, 'malformed');
  }
  if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0) {
    throw new ManifestError(`${where}.bytes is not a byte count`, 'malformed');
  }
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new ManifestError(`${where}.sha256 is not a sha256 hex digest`, 'malformed');
  }
  for (const key of ['rows', 'id_min', 'id_max'] as const) {
    const n = v[key];
    if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 0)) {
      throw new ManifestError(`${where}.${key} is not a non-negative integer`, 'malformed');
    }
  }
  return v as unknown as ManifestFile;
}

/** A layout's optional tiles entry: listed tables, a sane extent and one code range per points shard. */
function checkTiles(t: unknown, tables: Record<string, unknown>, where: string): void {
  const bad = (why: string) => new ManifestError(`${where} is malformed: ${why}`, 'malformed');
  if (!isRecord(t)) throw bad('not an object');
  for (const key of ['table', 'points'] as const) {
    const name = t[key];
    if (typeof name !== 'string' || !Object.hasOwn(tables, name) || !Array.isArray(tables[name])) throw bad(`${key} names no table the manifest lists`);
  }
  const levels = t.levels;
  if (typeof levels !== 'number' || !Number.isInteger(levels) || levels < 0 || levels > 15) throw bad('levels is not a whole number from 0 to 15');
  const e = t.extent;
  if (!isRecord(e) || ![e.x0, e.y0, e.size].every((v) => typeof v === 'number' && Number.isFinite(v)) || !((e.size as number) > 0)) {
    throw bad('extent needs finite x0, y0 and a positive size');
  }
  const ranges = t.code_ranges;
  const shards = tables[t.points as string] as unknown[];
  const maxCode = 4 ** levels - 1;
  if (!Array.isArray(ranges) || ranges.length !== shards.length) throw bad('code_ranges needs one range per points shard');
  for (const r of ranges) {
    if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= maxCode) || r[0] > r[1]) {
      throw bad(`code range ${JSON.stringify(r)} is not [lo, hi] within 0..${maxCode}`);
    }
  }
}

/**
 * Checks that parsed JSON is a manifest this code can read. Throws ManifestError with a sentence a
 * person can act on; never returns a half-valid object.
 */
export function validateManifest(json: unknown): Manifest {
  if (!isRecord(json)) throw new ManifestError('manifest.json is not a JSON object', 'malformed');
  const version = json.schema_version;
  if (typeof version !== 'number') {
    throw new ManifestError('manifest.json has no schema_version', 'malformed');
  }
  if (version !== SCHEMA_VERSION) {
    throw new ManifestError(
      `the data set has schema version ${version}, this site reads version ${SCHEMA_VERSION}: rerun prebuild with this version of Code Atlas`,
      'schema-version',
    );
  }
  if (!isRecord(json.counts)) throw new ManifestError('manifest.json has no counts', 'malformed');
  for (const key of ['repos', 'files', 'functions', 'skipped_files']) {
    const n = json.counts[key];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new ManifestError(`manifest counts.${key} is not a count`, 'malformed');
    }
  }
  if (!isRecord(json.tables)) throw new ManifestError('manifest.json has no tables', 'malformed');
  for (const [name, files] of Object.entries(json.tables)) {
    if (!Array.isArray(files)) throw new ManifestError(`tables.${name} is not a list`, 'malformed');
    files.forEach((f, i) => checkFile(f, `tables.${name}[${i}]`));
  }
  for (const required of ['repos', 'functions']) {
    if (!Array.isArray(json.tables[required])) {
      throw new ManifestError(`manifest.json lists no ${required} table`, 'malformed');
    }
  }
  if (!isRecord(json.models)) throw new ManifestError('manifest.json has no models', 'malformed');
  for (const [name, files] of Object.entries(json.models)) {
    if (!Array.isArray(files)) throw new ManifestError(`models.${name} is not a list`, 'malformed');
    files.forEach((f, i) => checkFile(f, `models.${name}[${i}]`));
  }
  if (json.stats !== null && json.stats !== undefined) checkFile(json.stats, 'stats');
  if (!Array.isArray(json.layouts) || !Array.isArray(json.embeddings) || !Array.isArray(json.sources)) {
    throw new ManifestError('manifest.json lacks layouts, embeddings or sources', 'malformed');
  }
  for (const [i, l] of json.layouts.entries()) {
    if (!isRecord(l) || typeof l.name !== 'string' || typeof l.table !== 'string' || (l.dims !== 2 && l.dims !== 3)) {
      throw new ManifestError(`layouts[${i}] is malformed`, 'malformed');
    }
    if (!Array.isArray(json.tables[l.table])) {
      throw new ManifestError(`layout ${l.name} names table ${l.table}, which the manifest does not list`, 'malformed');
    }
    const b = l.bounds;
    const coords = (a: unknown) => Array.isArray(a) && a.length >= (l.dims as number) && a.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!isRecord(b) || !coords(b.min) || !coords(b.max)) {
      throw new ManifestError(`layouts[${i}].bounds is malformed (min and max need ${l.dims} finite numbers)`, 'malformed');
    }
    if (typeof l.method !== 'string') throw new ManifestError(`layouts[${i}].method is not text`, 'malformed');
    if (l.tiles !== undefined) checkTiles(l.tiles, json.tables, `layouts[${i}].tiles`);
  }
  // Embeddings: the search and train workers follow table, model_files and ivf to files.
  const listed = (where: Record<string, unknown>, key: unknown) => typeof key === 'string' && Object.hasOwn(where, key) && Array.isArray(where[key]);
  for (const [i, e] of json.embeddings.entries()) {
    if (!isRecord(e) || typeof e.model !== 'string' || !listed(json.tables, e.table)) {
      throw new ManifestError(`embeddings[${i}] is malformed: it needs a model and a table the manifest lists`, 'malformed');
    }
    if (typeof e.dim !== 'number' || !Number.isInteger(e.dim) || e.dim <= 0 || !['int8', 'float16', 'float32'].includes(e.dtype as string)) {
      throw new ManifestError(`embeddings[${i}] (${e.model}) has no valid dim and dtype`, 'malformed');
    }
    if (e.model_files !== undefined && !listed(json.models, e.model_files)) {
      throw new ManifestError(`embeddings[${i}].model_files names no model the manifest lists`, 'malformed');
    }
    const ivf = e.ivf;
    if (ivf !== undefined && (!isRecord(ivf) || !listed(json.tables, ivf.table) || !listed(json.models, ivf.index) || typeof ivf.nlist !== 'number' || !Number.isInteger(ivf.nlist) || ivf.nlist <= 0)) {
      throw new ManifestError(`embeddings[${i}].ivf is malformed: it needs a listed table, a listed index and nlist`, 'malformed');
    }
    const head = isRecord(ivf) ? ivf.head : undefined;
    if (head !== undefined && (!isRecord(head) || typeof head.bytes !== 'number' || !Number.isInteger(head.bytes) || head.bytes < 16 || typeof head.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(head.sha256))) {
      throw new ManifestError(`embeddings[${i}].ivf.head is malformed: it needs a byte count (at least 16) and a sha256 hex digest`, 'malformed');
    }
  }
  if (!json.sources.every((v) => typeof v === 'string')) throw new ManifestError('manifest.json sources is not a list of text', 'malformed');
  if (typeof json.generator !== 'string') throw new ManifestError('manifest.json has no generator', 'malformed');
  const def = json.default_layout;
  if (def !== null && (typeof def !== 'string' || !json.layouts.some((l) => isRecord(l) && l.name === def))) {
    throw new ManifestError('default_layout names no listed layout', 'malformed');
  }
  return json as unknown as Manifest;
}

/** Every file the manifest names, for integrity checks. */
export function manifestFiles(m: Manifest): ManifestFile[] {
  const out: ManifestFile[] = [];
  for (const files of Object.values(m.tables)) out.push(...files);
  for (const files of Object.values(m.models)) out.push(...files);
  if (m.stats) out.push(m.stats);
  return out;
}

/** Lower-case hex sha256, with WebCrypto so it runs unchanged in Node 20 and in workers. */
export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const digest = await crypto.subtle.digest('SHA-256', view as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
