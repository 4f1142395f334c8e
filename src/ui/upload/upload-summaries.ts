// Summaries of an upload's undocumented functions: the data set's seq2seq summariser (the summarize
// worker, through summarizeFunctions) when the data set ships one, else the retrieval summariser —
// the first docstring sentence of the nearest documented corpus function by the map's embedding
// (core/summarize/retrieval.ts; neighbours from the search worker by the function's own vector).
// At upload time at most EAGER functions are summarised; the map's panel summarises any other one
// when it is opened.
import { chooseRetrievalSummary } from '../../core/summarize/retrieval.ts';
import { retrievalModelName } from '../../core/summarize/report.ts';
import { contentHash } from '../../core/util/hash.ts';
import { dequantizeRows } from '../../core/upload/place.ts';
import type { UploadFunction } from '../../core/upload/report.ts';
import { getFunction, runSearch } from '../data/data-client.ts';
import { summarizeFunctions } from '../summarize/summarize-client.ts';

/** Undocumented functions summarised during the upload (the rest on demand). */
export const EAGER = 200;
/** Neighbours a retrieval summary looks through. */
const RETRIEVAL_K = 20;

export interface UploadEmbedding {
  model: string;
  dim: number;
  codes: Int8Array;
  scales: Float32Array;
}

export interface SummaryOutcome {
  byIndex: Record<number, string>;
  note: string;
}

export function undocumented(fns: readonly UploadFunction[]): number[] {
  const out: number[] = [];
  fns.forEach((f, i) => {
    if (f.docstring === null || f.docstring.trim() === '') out.push(i);
  });
  return out;
}

/** The retrieval summary of upload function `i` (null: no documented neighbour qualifies). */
export async function retrievalSummaryOf(f: UploadFunction, i: number, emb: UploadEmbedding, embedder: 'tfidf' | 'jina'): Promise<{ text: string; sourceId: number } | null> {
  const d = emb.dim;
  const vector = dequantizeRows(emb.codes.subarray(i * d, (i + 1) * d), emb.scales.subarray(i, i + 1), d);
  const res = await runSearch({ query: null, neighboursOf: null, vector, embedder, metric: 'cosine', p: 2, k: RETRIEVAL_K });
  const query = { id: null, contentHash: f.content_hash };
  for (let k = 0; k < res.ids.length; k++) {
    const id = res.ids[k]!;
    const c = await getFunction(id, true);
    if (!c) continue;
    const r = chooseRetrievalSummary(query, [{ id, distance: res.distances[k]!, docstring: c.docstring, contentHash: contentHash(c.body ?? '') }]);
    if (r) return { text: r.text, sourceId: id };
  }
  return null;
}

/** Summarises up to EAGER undocumented functions; `onProgress(done, total)`; `cancelled()` stops between functions. */
export async function summariseUpload(
  fns: readonly UploadFunction[],
  emb: UploadEmbedding | null,
  embedder: 'tfidf' | 'jina',
  onProgress: (done: number, total: number) => void,
  cancelled: () => boolean,
): Promise<SummaryOutcome> {
  const todo = undocumented(fns);
  if (todo.length === 0) return { byIndex: {}, note: 'every function has a docstring' };
  const now = todo.slice(0, EAGER);
  const rest = todo.length - now.length;
  const later = rest > 0 ? `; the other ${rest} when opened on the map` : '';
  const byIndex: Record<number, string> = {};
  const seq = await summarizeFunctions(
    now.map((i) => ({ key: String(i), code: fns[i]!.body, contentHash: fns[i]!.content_hash })),
    onProgress,
  ).catch((e: unknown) => ({ available: false as const, reason: e instanceof Error ? e.message : String(e) }));
  if (seq.available) {
    for (const r of seq.results) if (r.text.trim()) byIndex[Number(r.key)] = r.text;
    return { byIndex, note: `summaries by ${seq.model} on ${seq.device} for ${now.length} of ${todo.length} undocumented functions${later}` };
  }
  if (!emb) return { byIndex, note: `no summaries: ${seq.reason}; the retrieval summariser needs the upload's vectors` };
  let found = 0;
  for (let k = 0; k < now.length; k++) {
    if (cancelled()) break;
    const i = now[k]!;
    const r = await retrievalSummaryOf(fns[i]!, i, emb, embedder);
    if (r) {
      byIndex[i] = r.text;
      found++;
    }
    onProgress(k + 1, now.length);
  }
  return {
    byIndex,
    note: `retrieval summaries (${retrievalModelName(emb.model)}: the first docstring sentence of the nearest documented corpus function) for ${found} of ${now.length} undocumented functions looked at, of ${todo.length}${later}`,
  };
}
