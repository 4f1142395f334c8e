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
   */
  ivf?: { table: string; index: string; nlist: number };
}

export interface LayoutInfo {
  name: string;
  /** How it was made, e.g. `pca-2 of tfidf-svd`. */
  method: string;
  table: string;
  dims: 2 | 3;
  /** Data-space bounds, so the map can fit the view before all points have loaded. */
  bounds: { min: number[]; max: number[] };
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
