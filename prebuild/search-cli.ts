// `npm run search -- --data <dir> --query <text> [--k 100] [--p 2 | --metric cosine] [--embedder tfidf|jina] [--json]`
// Exact nearest-neighbour search over a built data set from Node: embeds the query with the model the
// manifest names, streams the vectors shards a row group at a time (src/core/search/dataset-search.ts,
// the same code the browser's search worker runs) and joins qualname and repository names.
// Exit code 0 on success; on failure, non-zero with a one-line reason on stderr.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ManifestError, validateManifest, type EmbeddingInfo, type Manifest, type ManifestFile } from '../src/core/data/manifest.ts';
import { memoryAsyncBuffer, readParquetColumns, readParquetMetadata, rowGroupOf, shardForId, toUint32Array } from '../src/core/data/parquet-read.ts';
import { TABLE } from '../src/core/data/schema.ts';
import { deserializeTfidfSvd, embedTfidfSvd, type TfidfSvdJson } from '../src/core/embed/tfidf-svd.ts';
import { isZeroVector, metricFromOptions, readVectorShard, searchVectorSource, SearchInputError, type StoredDtype } from '../src/core/search/dataset-search.ts';
import type { KnnMetric, VectorBlock } from '../src/core/search/knn.ts';

const HELP = `Code Atlas search: exact nearest neighbours of a text query in a built data set.

Usage: npm run search -- --data <dir> --query <text> [options]

Options:
  --data DIR          a data set written by prebuild (holds manifest.json)
  --query TEXT        what to look for (a docstring-like sentence, identifiers, code)
  --k N               how many results (default 100)
  --p P               Minkowski distance with this p (> 0; 'inf' for Chebyshev; default 2).
                      p < 1 is allowed but is not a metric (reported as is_metric: false)
  --metric NAME       minkowski (default) or cosine (1 - dot of L2-normalised vectors)
  --embedder NAME     tfidf (default) or jina: which of the data set's embeddings to search
  --json              print one JSON object instead of a table
  -h, --help          show this help`;

class CliError extends Error {}

interface Args {
  data: string;
  query: string;
  k: number;
  metric: KnnMetric;
  embedder: 'tfidf' | 'jina';
  json: boolean;
}

function parse(argv: string[]): Args | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      query: { type: 'string' },
      k: { type: 'string' },
      p: { type: 'string' },
      metric: { type: 'string' },
      embedder: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return null;
  if (!values.data) throw new CliError('--data <dir> is required');
  if (values.query === undefined || values.query.trim() === '') throw new CliError('--query <text> is required');
  const k = values.k === undefined ? 100 : Number(values.k);
  if (!Number.isInteger(k) || k < 1) throw new CliError(`--k must be a positive integer, got '${values.k}'`);
  const embedder = (values.embedder ?? 'tfidf').toLowerCase();
  if (embedder !== 'tfidf' && embedder !== 'jina') throw new CliError(`--embedder must be tfidf or jina, got '${values.embedder}'`);
  let metric: KnnMetric;
  try {
    metric = metricFromOptions({ metric: values.metric, p: values.p });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  return { data: values.data, query: values.query, k, metric, embedder, json: values.json ?? false };
}

async function loadManifest(dir: string): Promise<Manifest> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new CliError(`--data ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new CliError(`--data ${dir} is not a directory`);
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new CliError(`--data ${dir} holds no manifest.json: run prebuild first (npm run prebuild -- --out ${dir})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${join(dir, 'manifest.json')} is not valid JSON`);
  }
  try {
    return validateManifest(json);
  } catch (e) {
    if (e instanceof ManifestError) throw new CliError(`${join(dir, 'manifest.json')}: ${e.message}`);
    throw e;
  }
}

function pickEmbedding(m: Manifest, embedder: 'tfidf' | 'jina'): EmbeddingInfo {
  const want = (e: EmbeddingInfo): boolean => (embedder === 'jina' ? /jina/i.test(e.model) : /^tfidf/i.test(e.model));
  const info = m.embeddings.find(want);
  const have = m.embeddings.map((e) => e.model).join(', ') || 'none';
  if (!info) throw new CliError(`--embedder ${embedder} is not available in this data set (it has embeddings: ${have})`);
  if (!m.tables[info.table]?.length) throw new CliError(`the manifest names ${info.table} for ${info.model} but lists no shards of it`);
  return info;
}

async function embedQuery(dir: string, m: Manifest, info: EmbeddingInfo, text: string): Promise<Float32Array> {
  if (!/^tfidf/i.test(info.model)) return embedQueryJina(dir, info, text);
  const files = m.models[info.model_files ?? info.model] ?? [];
  const jsonFile = files.find((f) => f.path.endsWith('model.json'));
  const binFile = files.find((f) => f.path.endsWith('model.bin'));
  if (!jsonFile || !binFile) throw new CliError(`the manifest lists no model.json/model.bin for ${info.model}`);
  const json = JSON.parse(await readFile(join(dir, jsonFile.path), 'utf8')) as TfidfSvdJson;
  const bin = new Uint8Array(await readFile(join(dir, binFile.path)));
  const model = deserializeTfidfSvd(json, bin);
  if (model.dim !== info.dim) throw new CliError(`model ${info.model} has dimension ${model.dim}, the manifest says ${info.dim}`);
  return embedTfidfSvd(model, [text]);
}

/**
 * The query through the Jina model the data set ships (models/<model_files>/, the folder the site
 * loads too), on onnxruntime-node with every core.
 */
async function embedQueryJina(dir: string, info: EmbeddingInfo, text: string): Promise<Float32Array> {
  const { JinaEmbedder, ModelLoadError } = await import('../src/core/embed/jina.ts');
  const e = new JinaEmbedder({
    modelId: info.model_files ?? info.model,
    id: info.model,
    modelBase: join(resolve(dir), 'models'),
    device: 'cpu',
    sessionOptions: { intraOpNumThreads: availableParallelism() },
  });
  try {
    const v = await e.embed([text], { kind: 'query' });
    if (v.length !== info.dim) throw new CliError(`model ${info.model} gives ${v.length} dimensions, the manifest says ${info.dim}`);
    return v;
  } catch (err) {
    if (err instanceof ModelLoadError) throw new CliError(err.message);
    throw err;
  } finally {
    await e.dispose();
  }
}

async function* shardBlocks(dir: string, shards: ManifestFile[], dim: number, dtype: StoredDtype): AsyncGenerator<VectorBlock> {
  for (const s of shards) {
    // One shard in memory at a time; each is decoded a row group at a time.
    const file = memoryAsyncBuffer(await readFile(join(dir, s.path)));
    yield* readVectorShard(file, s.path, dim, dtype);
  }
}

interface Named {
  qualname: string;
  repo: string;
}

/** qualname and repository name of each id, reading only the row groups that hold them. */
async function names(dir: string, m: Manifest, ids: Uint32Array): Promise<Map<number, Named>> {
  const repoFile = m.tables[TABLE.repos]?.[0];
  const repoNames = new Map<number, string>();
  if (repoFile) {
    const buf = memoryAsyncBuffer(await readFile(join(dir, repoFile.path)));
    const { columns } = await readParquetColumns(buf, repoFile.path, ['repo_id', 'name']);
    const rid = toUint32Array(columns.repo_id!);
    rid.forEach((r, i) => repoNames.set(r, String((columns.name as unknown[])[i])));
  }
  const shards = m.tables[TABLE.functions] ?? [];
  const byShard = new Map<ManifestFile, number[]>();
  for (const id of ids) {
    const s = shardForId(shards, id);
    if (!s) continue;
    (byShard.get(s) ?? byShard.set(s, []).get(s)!).push(id);
  }
  const out = new Map<number, Named>();
  for (const [s, list] of byShard) {
    const buf = memoryAsyncBuffer(await readFile(join(dir, s.path)));
    const metadata = await readParquetMetadata(buf, s.path);
    const groups = new Map<number, { rowStart: number; rowEnd: number }>();
    for (const id of list) {
      const g = rowGroupOf(metadata, id - (s.id_min ?? 0));
      groups.set(g.index, g);
    }
    for (const g of groups.values()) {
      const { columns } = await readParquetColumns(buf, s.path, ['id', 'qualname', 'repo_id'], { metadata, rowStart: g.rowStart, rowEnd: g.rowEnd });
      const gid = toUint32Array(columns.id!);
      const repo = toUint32Array(columns.repo_id!);
      for (let i = 0; i < gid.length; i++) {
        out.set(gid[i], { qualname: String((columns.qualname as unknown[])[i]), repo: repoNames.get(repo[i]) ?? String(repo[i]) });
      }
    }
  }
  return out;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (!args) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const m = await loadManifest(args.data);
  const info = pickEmbedding(m, args.embedder);
  if (info.dtype !== 'int8' && info.dtype !== 'float16' && info.dtype !== 'float32') throw new CliError(`unsupported vector dtype ${String(info.dtype)}`);
  const q = await embedQuery(args.data, m, info, args.query);
  if (isZeroVector(q)) throw new CliError(`the query shares no term with the ${info.model} vocabulary: nothing to rank by`);
  const { result, stats } = await searchVectorSource(q, shardBlocks(args.data, m.tables[info.table]!, info.dim, info.dtype), args.k, args.metric);
  const named = await names(args.data, m, result.ids);
  const results = Array.from(result.ids, (id, i) => ({ id, distance: result.distances[i], qualname: named.get(id)?.qualname ?? null, repo: named.get(id)?.repo ?? null }));
  const metric = args.metric.kind === 'cosine' ? 'cosine' : 'minkowski';
  const p = args.metric.kind === 'minkowski' ? (args.metric.p === Infinity ? 'inf' : args.metric.p) : null;
  if (args.json) {
    const out = { query: args.query, embedder: args.embedder, model: info.model, metric, p, label: result.label, is_metric: result.isMetric, k: args.k, rows_scanned: stats.rows, ms: Math.round(stats.ms), results };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  process.stdout.write(`${result.label} distance${result.isMetric ? '' : ' (not a metric)'} over ${stats.rows} vectors of ${info.model} in ${stats.ms.toFixed(0)} ms\n`);
  for (const [i, r] of results.entries()) {
    process.stdout.write(`${String(i + 1).padStart(4)}  ${r.distance.toFixed(5)}  ${String(r.id).padStart(8)}  ${r.repo ?? '?'}  ${r.qualname ?? '?'}\n`);
  }
}

main().catch((err: unknown) => {
  const msg = err instanceof CliError || err instanceof SearchInputError ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`search: error: ${msg.split('\n')[0]}\n`);
  process.exit(1);
});
