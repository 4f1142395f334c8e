// The UI's door to summaries: the summarize worker (pre-generated summaries, the seq2seq model) and
// the retrieval summariser run live through the search worker (neighbours by the active embedding)
// and the data worker (their docstrings). Views import from here only.
import * as Comlink from 'comlink';
import { getFunction, getManifestInfo, runSearch, searchInfo } from '../data/data-client.ts';
import { chooseRetrievalSummary } from '../../core/summarize/retrieval.ts';
import { retrievalModelName, summarizerLabel, type SummariesReport } from '../../core/summarize/report.ts';
import { contentHash } from '../../core/util/hash.ts';
import type { StoredSummary, SummarizeApi, SummarizeItemResult, SummarizeLoadResult, SummarizeProgress } from '../../../workers/summarize.ts';

export type { StoredSummary, SummarizeItemResult, SummarizeLoadResult, SummarizeProgress, SummariesReport };
export { summarizerLabel };

let worker: Promise<{ remote: Comlink.Remote<SummarizeApi>; report: SummariesReport | null; manifestUrl: string; hasFp32: boolean }> | null = null;

function summarizeWorker() {
  worker ??= (async () => {
    const shared = await getManifestInfo();
    if (!shared) throw new Error('the data set is not open');
    const remote = Comlink.wrap<SummarizeApi>(new Worker(new URL('../../../workers/summarize.ts', import.meta.url), { type: 'module', name: 'summarize' }));
    const report = (await remote.open(shared.manifestUrl, shared.manifest)) as SummariesReport | null;
    const key = report?.seq2seq_model_files;
    const hasFp32 = !!key && (shared.manifest.models[key] ?? []).some((f) => f.path.endsWith('/onnx/encoder_model.onnx'));
    return { remote, report, manifestUrl: shared.manifestUrl, hasFp32 };
  })();
  worker.catch(() => (worker = null));
  return worker;
}

function callback<A extends unknown[]>(fn: (...args: A) => unknown): (...args: A) => void {
  return Comlink.proxy((...args: A) => {
    fn(...args);
  });
}

/** summaries-report.json of the data set (null when the summaries stage did not run). */
export async function summariesReport(): Promise<SummariesReport | null> {
  return (await summarizeWorker()).report;
}

/** Pre-generated summaries of a function (retrieval and, when the prebuild had a model, seq2seq). */
export async function storedSummaries(id: number): Promise<StoredSummary[]> {
  return (await (await summarizeWorker()).remote.stored(id)) as StoredSummary[];
}

export interface LiveRetrieval {
  text: string;
  sourceId: number;
  sourceName: string;
  model: string;
  distance: number;
}

/**
 * The retrieval summary of a data-set function computed now: its nearest neighbours by `embedder`'s
 * stored vectors (cosine), walked nearest first until one (not itself, not an exact duplicate) has a
 * usable docstring. Null when none of the `k` nearest has one.
 */
export async function retrievalSummary(id: number, embedder: 'tfidf' | 'jina', k = 30): Promise<LiveRetrieval | null> {
  const info = await searchInfo();
  const emb = info.embeddings.find((e) => e.name === embedder) ?? info.embeddings.find((e) => e.name === 'tfidf');
  if (!emb) throw new Error('this data set has no embedding to find neighbours with');
  const self = await getFunction(id, true);
  if (!self) throw new Error(`there is no function #${id} in this data set`);
  const query = { id, contentHash: contentHash(self.body ?? '') };
  const res = await runSearch({ query: null, neighboursOf: id, embedder: emb.name, metric: 'cosine', p: 2, k, nprobe: null });
  for (let i = 0; i < res.ids.length; i++) {
    const cid = res.ids[i]!;
    if (cid === id) continue;
    const f = await getFunction(cid, true);
    if (!f) continue;
    const r = chooseRetrievalSummary(query, [{ id: cid, distance: res.distances[i]!, docstring: f.docstring, contentHash: contentHash(f.body ?? '') }]);
    if (r) return { text: r.text, sourceId: cid, sourceName: f.qualname, model: retrievalModelName(emb.model), distance: r.distance };
  }
  return null;
}

let loaded: Promise<SummarizeLoadResult> | null = null;

/** Loads the data set's seq2seq model in the worker (the site's models/ folder; the hub only when asked). */
export function loadSummarizer(onProgress?: (p: SummarizeProgress) => void, allowRemote = false): Promise<SummarizeLoadResult> {
  loaded ??= (async () => {
    const w = await summarizeWorker();
    const key = w.report?.seq2seq_model_files;
    if (!key) return { ok: false, message: 'this data set has no summarisation model: only the retrieval summariser is available', reason: '' } satisfies SummarizeLoadResult;
    const modelBase = new URL('models/', w.manifestUrl).pathname;
    return (await w.remote.load({ modelId: key, modelBase, allowRemote, hasFp32: w.hasFp32 }, onProgress ? callback(onProgress) : undefined)) as SummarizeLoadResult;
  })();
  void loaded.then(
    (r) => {
      if (!r.ok) loaded = null;
    },
    () => (loaded = null),
  );
  return loaded;
}

/** Name of the data set's seq2seq summariser (as labels show it), or null. */
export async function seq2seqModelName(): Promise<string | null> {
  const r = await summariesReport();
  return r?.summarizers.find((s) => s.kind === 'seq2seq')?.model ?? null;
}

export type SummarizeFunctionsResult =
  | { available: true; model: string; device: string; results: SummarizeItemResult[] }
  | { available: false; reason: string };

let job = 0;

/**
 * Summarises code with the data set's seq2seq model in the summarize worker (for uploads and for
 * data-set functions alike). Items with the same contentHash are summarised once. When the data set
 * has no model (or it does not load), resolves `{ available: false, reason }`: only the retrieval
 * summariser is available. Rejects with an AbortError when `signal` fires (between functions).
 */
export async function summarizeFunctions(
  items: { key: string; code: string; contentHash: string }[],
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<SummarizeFunctionsResult> {
  signal?.throwIfAborted();
  const l = await loadSummarizer();
  if (!l.ok) return { available: false, reason: l.message };
  const w = await summarizeWorker();
  const firstOf = new Map<string, number>();
  const unique: { key: string; code: string }[] = [];
  for (const it of items) {
    if (!firstOf.has(it.contentHash)) {
      firstOf.set(it.contentHash, unique.length);
      unique.push({ key: it.key, code: it.code });
    }
  }
  const my = ++job;
  const onAbort = () => void w.remote.cancel(my);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = (await w.remote.summarize(my, unique, callback((p: SummarizeProgress) => onProgress?.(p.done, p.total)))) as SummarizeItemResult[];
    signal?.throwIfAborted();
    const model = (await seq2seqModelName()) ?? `seq2seq:${l.modelId}`;
    return { available: true, model, device: `${l.device} (${l.dtype})`, results: items.map((it) => ({ ...res[firstOf.get(it.contentHash)!]!, key: it.key })) };
  } catch (e) {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('cancelled', 'AbortError');
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
