// The summarize worker: the data set's pre-generated summaries (the `summaries` table and
// summaries-report.json, each checked against the manifest's sha256) and the seq2seq summariser
// (core/summarize/seq2seq.ts: transformers.js on onnxruntime-web), WebGPU only when the backend
// policy says a real GPU exists, WASM otherwise. ORT's WASM files come from this site, never a CDN.
import * as Comlink from 'comlink';
import { loadOncePerRequest, useSiteOnnxRuntime, wasmThreadsHere } from './shared/onnx-web.ts';
import type { Manifest, ManifestFile } from '../src/core/data/manifest.ts';
import { validateManifest } from '../src/core/data/manifest.ts';
import { memoryAsyncBuffer, readParquetColumns } from '../src/core/data/parquet-read.ts';
import { chooseBackend } from '../src/core/gpu/device.ts';
import { SUMMARIES_REPORT_KEY, SUMMARIES_TABLE, type SummariesReport } from '../src/core/summarize/report.ts';
import { Seq2SeqSummarizer, SummarizerLoadError, type Seq2SeqDevice, type Seq2SeqDtype, type SummarizeProgress, type SummaryResult } from '../src/core/summarize/seq2seq.ts';
import { fetchChecked } from './shared/fetch-checked.ts';

export type { SummarizeProgress };

export interface StoredSummary {
  id: number;
  model: string;
  text: string;
  sourceId: number | null;
}

export interface SummarizeLoadRequest {
  /** Model folder name under modelBase (the manifest's `models` key), or a hub id. */
  modelId: string;
  /** Same-origin PATH of the folder holding `<modelId>/` (transformers.js 4.3 skips its local check for http URLs). */
  modelBase: string;
  allowRemote: boolean;
  /** Whether the data set ships fp32 files (WebGPU runs fp32; q8 otherwise). */
  hasFp32: boolean;
  maxNewTokens?: number;
}

export type SummarizeLoadResult =
  | { ok: true; modelId: string; device: Seq2SeqDevice; dtype: Seq2SeqDtype; reason: string; loadMs: number }
  | { ok: false; message: string; reason: string };

export interface SummarizeItemResult extends Omit<SummaryResult, 'tokenIds'> {
  key: string;
}

useSiteOnnxRuntime();

let manifest: Manifest | null = null;
let base: URL | null = null;
let table: Promise<Map<number, StoredSummary[]>> | null = null;
let summarizer: Seq2SeqSummarizer | null = null;
const cancelled = new Set<number>();

function url(f: ManifestFile): string {
  if (!base) throw new Error('the summarize worker has no data set');
  return new URL(f.path, base).href;
}

function loadTable(): Promise<Map<number, StoredSummary[]>> {
  table ??= (async () => {
    const byId = new Map<number, StoredSummary[]>();
    for (const f of manifest?.tables[SUMMARIES_TABLE] ?? []) {
      const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(await fetchChecked(url(f), f)), f.path, ['id', 'model', 'text', 'source_id']);
      for (let i = 0; i < rows; i++) {
        const id = Number(columns.id![i]);
        const src = columns.source_id![i];
        const s: StoredSummary = { id, model: String(columns.model![i]), text: String(columns.text![i] ?? ''), sourceId: src === null || src === undefined ? null : Number(src) };
        const list = byId.get(id);
        if (list) list.push(s);
        else byId.set(id, [s]);
      }
    }
    return byId;
  })();
  table.catch(() => (table = null));
  return table;
}

async function load(req: SummarizeLoadRequest, onProgress?: (p: SummarizeProgress) => void): Promise<SummarizeLoadResult> {
  const t0 = performance.now();
  const choice = await chooseBackend();
  const device: Seq2SeqDevice = choice.backend === 'webgpu' ? 'webgpu' : 'wasm';
  const s = new Seq2SeqSummarizer({
    modelId: req.modelId,
    modelBase: req.modelBase,
    allowRemote: req.allowRemote,
    device,
    dtype: device === 'webgpu' && req.hasFp32 ? 'fp32' : 'q8',
    maxNewTokens: req.maxNewTokens ?? 32,
    wasmThreads: wasmThreadsHere(),
    onProgress,
  });
  try {
    await s.load();
  } catch (err) {
    const message = err instanceof SummarizerLoadError ? err.message : `could not load ${req.modelId}: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, message, reason: choice.reason };
  }
  summarizer = s;
  return { ok: true, modelId: s.modelId, device: s.device, dtype: s.dtype, reason: choice.reason, loadMs: Math.round(performance.now() - t0) };
}

const loadShared = loadOncePerRequest(load);

const api = {
  /** Opens the data set (the manifest the data worker checked). */
  async open(manifestUrl: string, m: Manifest): Promise<SummariesReport | null> {
    manifest = validateManifest(m);
    base = new URL('.', manifestUrl);
    table = null;
    const f = manifest.models[SUMMARIES_REPORT_KEY]?.[0];
    if (!f) return null;
    const bytes = await fetchChecked(url(f), f);
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as SummariesReport;
    } catch {
      throw new Error(`${f.path} is not valid JSON`);
    }
  },

  /** The pre-generated summaries of one function (every summariser's), from the `summaries` table. */
  async stored(id: number): Promise<StoredSummary[]> {
    return (await loadTable()).get(id) ?? [];
  },

  /** Loads the seq2seq model once per request; later calls share the first load. */
  load(req: SummarizeLoadRequest, onProgress?: (p: SummarizeProgress) => void): Promise<SummarizeLoadResult> {
    return loadShared(req, onProgress);
  },

  /** Summarises the items in order (cached by content hash); `job` can be cancelled between items. */
  async summarize(job: number, items: { key: string; code: string }[], onProgress?: (p: SummarizeProgress) => void): Promise<SummarizeItemResult[]> {
    if (!summarizer) throw new Error('the summarisation model is not loaded');
    const ac = new AbortController();
    const out: SummarizeItemResult[] = [];
    try {
      // One at a time, so a cancel lands between functions.
      for (const [i, it] of items.entries()) {
        if (cancelled.has(job)) ac.abort(new DOMException('cancelled', 'AbortError'));
        const [r] = await summarizer.summarize([it.code], { signal: ac.signal });
        const { tokenIds: _ids, ...rest } = r!;
        out.push({ ...rest, key: it.key });
        onProgress?.({ phase: 'summarize', done: i + 1, total: items.length, perSec: 0, etaSec: Number.NaN });
      }
      return out;
    } finally {
      cancelled.delete(job);
    }
  },

  cancel(job: number): void {
    cancelled.add(job);
  },
};

export type SummarizeApi = typeof api;

Comlink.expose(api);
