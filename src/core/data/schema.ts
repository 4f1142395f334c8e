// The data set's schema: one place that names every table, column and type, shared by the Node
// prebuild (which writes Parquet with DuckDB) and the browser (which reads it with hyparquet and
// queries it with DuckDB-WASM). Bump SCHEMA_VERSION whenever a column changes meaning or type:
// the site refuses a data set of another version with a clear message instead of misreading it.

export const SCHEMA_VERSION = 1;

export type FunctionKind = 'function' | 'method' | 'nested';
export const FUNCTION_KINDS: readonly FunctionKind[] = ['function', 'method', 'nested'];

export type DocStyle = 'epytext' | 'rest' | 'google' | 'numpy' | 'plain' | 'none';
export const DOC_STYLES: readonly DocStyle[] = ['epytext', 'rest', 'google', 'numpy', 'plain', 'none'];

/** One function as the extractor sees it in one file, before ids are assigned. */
export interface ExtractedFunction {
  /** Dotted path of enclosing classes and functions plus the name, e.g. `Outer.method.inner`. */
  qualname: string;
  name: string;
  kind: FunctionKind;
  is_async: boolean;
  lang: string;
  /** 1-based, inclusive; start is the first decorator line when decorated. */
  start_line: number;
  end_line: number;
  /** Parameter names in order as written, with `*`/`**` prefixes for star parameters. */
  args: string[];
  /** Annotation source text per parameter, null where none. */
  args_types: (string | null)[];
  /** Default value source text per parameter, null where none. */
  args_defaults: (string | null)[];
  /** Full source as written, from the first decorator or `def` to the last line. */
  body: string;
  /** Docstring text, dedented by `inspect.cleandoc` rules; null when the function has none. */
  docstring: string | null;
  docstyle: DocStyle;
  n_chars: number;
  n_lines: number;
  /** Hash of the body text (hex), for exact-duplicate detection and embedding caches. */
  content_hash: string;
}

/** A row of the `functions` table. */
export interface FunctionRecord extends ExtractedFunction {
  id: number;
  repo_id: number;
  file_id: number;
  /** Relative to the repository root, forward slashes. */
  path: string;
}

/** A row of the `repos` table. */
export interface RepoRecord {
  repo_id: number;
  name: string;
  url: string | null;
  version: string | null;
  license: string | null;
  /** Topics (GitHub) or classifier tags (PyPI/Debian list), as given. */
  topics: string[];
  stars: number | null;
  /** Source spec this repository came from, e.g. `debian:packages.tsv`. */
  source: string;
  files: number;
  functions: number;
  /** Bytes of the source files that were read. */
  bytes: number;
}

/** Why a file contributed no functions although it looked like source. */
export type SkipReason = 'binary' | 'not-utf8' | 'too-large' | 'syntax-error' | 'unreadable';

/** A row of the `skipped` table. */
export interface SkippedFile {
  repo_id: number;
  path: string;
  reason: SkipReason;
  detail: string;
}

export type ColumnType =
  | 'UINTEGER'
  | 'INTEGER'
  | 'BIGINT'
  | 'BOOLEAN'
  | 'VARCHAR'
  | 'VARCHAR[]'
  | 'FLOAT'
  | 'BLOB';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

const col = (name: string, type: ColumnType, nullable = false): ColumnSpec => ({ name, type, nullable });

export const FUNCTIONS_COLUMNS: readonly ColumnSpec[] = [
  col('id', 'UINTEGER'),
  col('repo_id', 'UINTEGER'),
  col('file_id', 'UINTEGER'),
  col('path', 'VARCHAR'),
  col('qualname', 'VARCHAR'),
  col('name', 'VARCHAR'),
  col('kind', 'VARCHAR'),
  col('is_async', 'BOOLEAN'),
  col('lang', 'VARCHAR'),
  col('start_line', 'UINTEGER'),
  col('end_line', 'UINTEGER'),
  col('args', 'VARCHAR[]'),
  col('args_types', 'VARCHAR[]'),
  col('args_defaults', 'VARCHAR[]'),
  col('body', 'VARCHAR'),
  col('docstring', 'VARCHAR', true),
  col('docstyle', 'VARCHAR'),
  col('n_chars', 'UINTEGER'),
  col('n_lines', 'UINTEGER'),
  col('content_hash', 'VARCHAR'),
];

export const REPOS_COLUMNS: readonly ColumnSpec[] = [
  col('repo_id', 'UINTEGER'),
  col('name', 'VARCHAR'),
  col('url', 'VARCHAR', true),
  col('version', 'VARCHAR', true),
  col('license', 'VARCHAR', true),
  col('topics', 'VARCHAR[]'),
  col('stars', 'INTEGER', true),
  col('source', 'VARCHAR'),
  col('files', 'UINTEGER'),
  col('functions', 'UINTEGER'),
  col('bytes', 'BIGINT'),
];

export const SKIPPED_COLUMNS: readonly ColumnSpec[] = [
  col('repo_id', 'UINTEGER'),
  col('path', 'VARCHAR'),
  col('reason', 'VARCHAR'),
  col('detail', 'VARCHAR'),
];

/** `vectors-<model>`: int8 components with one float scale per vector (value = int8 * scale). */
export const VECTORS_COLUMNS: readonly ColumnSpec[] = [
  col('id', 'UINTEGER'),
  col('embedding', 'BLOB'),
  col('scale', 'FLOAT'),
];

/** `layout-<name>`: z is null for 2-D layouts, cluster null until clustering has run. */
export const LAYOUT_COLUMNS: readonly ColumnSpec[] = [
  col('id', 'UINTEGER'),
  col('x', 'FLOAT'),
  col('y', 'FLOAT'),
  col('z', 'FLOAT', true),
  col('cluster', 'INTEGER', true),
];

/**
 * `dedup`: one row per function and threshold, sorted by (id, threshold); group_id is the clone group
 * (connected component, giant ones split) and community_id the Louvain community, both dense per
 * threshold and null for a function in no group (or whose body did not parse).
 */
export const DEDUP_COLUMNS: readonly ColumnSpec[] = [
  col('id', 'UINTEGER'),
  col('threshold', 'FLOAT'),
  col('group_id', 'INTEGER', true),
  col('community_id', 'INTEGER', true),
];

/** `dedup-bands`: LSH band hashes of each function (gemini preset), sorted by (id, band); none for a body without features. */
export const DEDUP_BANDS_COLUMNS: readonly ColumnSpec[] = [
  col('id', 'UINTEGER'),
  col('band', 'INTEGER'),
  col('hash', 'UINTEGER'),
];

/** Table names as they appear in the manifest and in shard file names (`<table>-00000.parquet`). */
export const TABLE = {
  repos: 'repos',
  functions: 'functions',
  skipped: 'skipped',
  vectors: (model: string) => `vectors-${model}`,
  layout: (name: string) => `layout-${name}`,
  dedup: 'dedup',
  dedupBands: 'dedup-bands',
} as const;

/** Rows per Parquet row group: small enough that fetching one function's body by id reads ~1 MB. */
export const FUNCTIONS_ROW_GROUP_ROWS = 2048;
/** Rows per functions shard file. */
export const FUNCTIONS_SHARD_ROWS = 65536;
