// Dataset statistics (the study's section 3) as SQL over the `functions` and `repos` tables. The
// same statements run in prebuild (DuckDB for Node) and in the browser (DuckDB-WASM), so the
// numbers on the Statistics page are the numbers in stats.json.

/** Runs one SQL statement and returns its rows as plain objects (numbers, strings, nulls). */
export type SqlRunner = (sql: string) => Promise<Record<string, unknown>[]>;

export interface RepoSize {
  name: string;
  bytes: number;
  functions: number;
  files: number;
}

export interface LengthBin {
  /** Inclusive lower and exclusive upper bound in characters. */
  lo: number;
  hi: number;
  count: number;
}

export interface LengthOutlier {
  id: number;
  repo: string;
  path: string;
  qualname: string;
  n_chars: number;
  n_lines: number;
}

export interface DatasetStats {
  totals: { repos: number; functions: number; bytes: number; documented: number; async: number };
  repos_by_bytes: RepoSize[];
  repos_by_functions: RepoSize[];
  tags: { tag: string; count: number }[];
  /** Log-spaced bins of function length in characters, a tenth of a decade wide. */
  length_histogram: LengthBin[];
  length_quantiles: { p50: number; p90: number; p99: number; max: number };
  /** The longest functions, named, for the outlier list beside the histogram. */
  length_outliers: LengthOutlier[];
  docstyles: { docstyle: string; count: number }[];
  kinds: { kind: string; count: number }[];
}

/** Bins per decade of the length histogram. */
export const LENGTH_BINS_PER_DECADE = 10;

export const STATS_SQL = {
  totals: `SELECT
      (SELECT count(*) FROM repos)::DOUBLE AS repos,
      count(*)::DOUBLE AS functions,
      (SELECT coalesce(sum(bytes), 0) FROM repos)::DOUBLE AS bytes,
      count(*) FILTER (WHERE docstyle <> 'none')::DOUBLE AS documented,
      count(*) FILTER (WHERE is_async)::DOUBLE AS async
    FROM functions`,
  reposBy: (order: 'bytes' | 'functions', limit: number) =>
    `SELECT name::VARCHAR AS name, bytes::DOUBLE AS bytes, functions::DOUBLE AS functions, files::DOUBLE AS files
     FROM repos ORDER BY ${order} DESC, name LIMIT ${Math.max(1, Math.floor(limit))}`,
  tags: `SELECT tag, count(*)::DOUBLE AS count
     FROM (SELECT unnest(topics) AS tag FROM repos) WHERE tag <> ''
     GROUP BY tag ORDER BY count DESC, tag`,
  lengthHistogram: `SELECT floor(log10(greatest(n_chars, 1)) * ${LENGTH_BINS_PER_DECADE})::INTEGER AS bin, count(*)::DOUBLE AS count
     FROM functions GROUP BY bin ORDER BY bin`,
  // quantile_disc over the lengths' histogram instead of over every row: DuckDB's quantile keeps
  // every value in memory (1.8 GiB for 20M functions, past the memory limit), while the distinct
  // lengths are few. Same values: quantile_disc(x, q) is the ceil(n q)-th smallest (1-based), i.e.
  // the first length whose running count reaches ceil(n q).
  lengthQuantiles: `WITH h AS (SELECT n_chars AS v, count(*) AS c FROM functions WHERE n_chars IS NOT NULL GROUP BY n_chars),
      cum AS (SELECT v, sum(c) OVER (ORDER BY v) AS cum, sum(c) OVER () AS n FROM h)
    SELECT
      coalesce(min(v) FILTER (WHERE cum >= ceil(0.5 * n)), 0)::DOUBLE AS p50,
      coalesce(min(v) FILTER (WHERE cum >= ceil(0.9 * n)), 0)::DOUBLE AS p90,
      coalesce(min(v) FILTER (WHERE cum >= ceil(0.99 * n)), 0)::DOUBLE AS p99,
      coalesce(max(v), 0)::DOUBLE AS max
     FROM cum`,
  lengthOutliers: (limit: number) =>
    `SELECT f.id::DOUBLE AS id, r.name::VARCHAR AS repo, f.path AS path, f.qualname AS qualname,
            f.n_chars::DOUBLE AS n_chars, f.n_lines::DOUBLE AS n_lines
     FROM functions f JOIN repos r ON r.repo_id = f.repo_id
     ORDER BY f.n_chars DESC, f.id LIMIT ${Math.max(1, Math.floor(limit))}`,
  docstyles: `SELECT docstyle, count(*)::DOUBLE AS count FROM functions GROUP BY docstyle ORDER BY count DESC, docstyle`,
  kinds: `SELECT kind, count(*)::DOUBLE AS count FROM functions GROUP BY kind ORDER BY count DESC, kind`,
} as const;

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : Number(v ?? 0));
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

function repoSizes(rows: Record<string, unknown>[]): RepoSize[] {
  return rows.map((r) => ({ name: str(r.name), bytes: num(r.bytes), functions: num(r.functions), files: num(r.files) }));
}

/** Computes every statistic with the given SQL runner (tables `functions` and `repos` must exist). */
export async function computeDatasetStats(
  run: SqlRunner,
  opts: { topRepos?: number; outliers?: number } = {},
): Promise<DatasetStats> {
  const topRepos = opts.topRepos ?? 30;
  const [totals] = await run(STATS_SQL.totals);
  const [quantiles] = await run(STATS_SQL.lengthQuantiles);
  return {
    totals: {
      repos: num(totals?.repos),
      functions: num(totals?.functions),
      bytes: num(totals?.bytes),
      documented: num(totals?.documented),
      async: num(totals?.async),
    },
    repos_by_bytes: repoSizes(await run(STATS_SQL.reposBy('bytes', topRepos))),
    repos_by_functions: repoSizes(await run(STATS_SQL.reposBy('functions', topRepos))),
    tags: (await run(STATS_SQL.tags)).map((r) => ({ tag: str(r.tag), count: num(r.count) })),
    length_histogram: (await run(STATS_SQL.lengthHistogram)).map((r) => {
      const bin = num(r.bin);
      return {
        lo: Math.ceil(10 ** (bin / LENGTH_BINS_PER_DECADE)),
        hi: Math.ceil(10 ** ((bin + 1) / LENGTH_BINS_PER_DECADE)),
        count: num(r.count),
      };
    }),
    length_quantiles: {
      p50: num(quantiles?.p50),
      p90: num(quantiles?.p90),
      p99: num(quantiles?.p99),
      max: num(quantiles?.max),
    },
    length_outliers: (await run(STATS_SQL.lengthOutliers(opts.outliers ?? 20))).map((r) => ({
      id: num(r.id),
      repo: str(r.repo),
      path: str(r.path),
      qualname: str(r.qualname),
      n_chars: num(r.n_chars),
      n_lines: num(r.n_lines),
    })),
    docstyles: (await run(STATS_SQL.docstyles)).map((r) => ({ docstyle: str(r.docstyle), count: num(r.count) })),
    kinds: (await run(STATS_SQL.kinds)).map((r) => ({ kind: str(r.kind), count: num(r.count) })),
  };
}
