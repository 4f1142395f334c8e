// The upload pipeline, from a dropped file to a stored, placed upload: every step runs in a worker
// (parse: read + extract + features + clones inside; embed: Jina, or parse: TF-IDF/SVD; parse: place;
// dedup: clones against the corpus), each reported with its progress and time, and the whole run can
// be cancelled (the parse worker is terminated; a step in a shared worker is abandoned). The file's
// bytes are read here and transferred to the parse worker; nothing is sent over the network.
import * as Comlink from 'comlink';
import type { Manifest } from '../../core/data/manifest.ts';
import type { FeatureBag } from '../../core/dedup/features.ts';
import { buildReport, type CorpusClones } from '../../core/upload/report.ts';
import { centroidsFromLayout, dequantizeRows } from '../../core/upload/place.ts';
import type { ParseApi, ParseProgress, PlaceRequest, PlaceResult } from '../../../workers/parse.ts';
import type { DedupApi, UploadCorpusMatch } from '../../../workers/dedup.ts';
import { embedDocumentsJina, getLayout, getManifestInfo, loadJina } from '../data/data-client.ts';
import { EAGER, summariseUpload, undocumented } from './upload-summaries.ts';
import { newUploadId, saveUpload, type StepTiming, type StoredPlacement, type StoredUpload } from './upload-store.ts';

export type StepName = 'read' | 'extract' | 'features' | 'clones' | 'embed' | 'place' | 'corpus' | 'summaries' | 'save';

export const STEP_LABELS: Record<StepName, string> = {
  read: 'read the archive',
  extract: 'extract functions',
  features: 'dedup features',
  clones: 'clones inside the upload',
  embed: 'embed',
  place: 'place on the map',
  corpus: 'clones in the corpus',
  summaries: 'summaries',
  save: 'keep in this browser',
};

export interface StepState {
  name: StepName;
  status: 'pending' | 'running' | 'done' | 'skipped' | 'failed';
  done: number;
  total: number;
  ms: number;
  note: string;
}

export function freshSteps(): StepState[] {
  return (Object.keys(STEP_LABELS) as StepName[]).map((name) => ({ name, status: 'pending', done: 0, total: 0, ms: 0, note: '' }));
}

export class UploadCancelled extends Error {
  constructor() {
    super('the upload was cancelled');
    this.name = 'UploadCancelled';
  }
}

/** Texts embedded per call to the Jina worker: small enough to cancel between batches. */
const JINA_BATCH = 16;
const TFIDF_BATCH = 512;

let parseRemote: { worker: Worker; remote: Comlink.Remote<ParseApi>; opened: Promise<{ embedding: string; dim: number }> } | null = null;

async function shared(): Promise<{ manifestUrl: string; manifest: Manifest }> {
  const s = await getManifestInfo();
  if (!s) throw new Error('the data set is not open');
  return s;
}

function parseWorker(): NonNullable<typeof parseRemote> {
  if (!parseRemote) {
    const worker = new Worker(new URL('../../../workers/parse.ts', import.meta.url), { type: 'module', name: 'parse' });
    const remote = Comlink.wrap<ParseApi>(worker);
    const opened = shared().then((s) => remote.open(s.manifestUrl, JSON.parse(JSON.stringify(s.manifest)) as Manifest) as Promise<{ embedding: string; dim: number }>);
    parseRemote = { worker, remote, opened };
  }
  return parseRemote;
}

/** Stops the parse worker mid-step (a fresh one starts on the next use). */
function killParseWorker(): void {
  parseRemote?.worker.terminate();
  parseRemote = null;
}

let dedupRemote: Promise<Comlink.Remote<DedupApi>> | null = null;

/** A dedup worker of the upload view's own, opened on the same checked manifest. */
function dedupWorker(): Promise<Comlink.Remote<DedupApi>> {
  dedupRemote ??= (async () => {
    const s = await shared();
    const remote = Comlink.wrap<DedupApi>(new Worker(new URL('../../../workers/dedup.ts', import.meta.url), { type: 'module', name: 'dedup-upload' }));
    await remote.open(s.manifestUrl, JSON.parse(JSON.stringify(s.manifest)) as Manifest);
    return remote;
  })();
  dedupRemote.catch(() => (dedupRemote = null));
  return dedupRemote;
}

/** The embedding the map is laid out from (Jina when the data set has it, else TF-IDF/SVD). */
export async function mapEmbeddingInfo(): Promise<{ model: string; dim: number; name: 'jina' | 'tfidf' }> {
  const { manifest } = await shared();
  const info = manifest.embeddings.find((e) => !e.model.startsWith('tfidf')) ?? manifest.embeddings[0];
  if (!info) throw new Error('this data set has no embeddings: uploads cannot be placed');
  return { model: info.model, dim: info.dim, name: info.model.startsWith('tfidf') ? 'tfidf' : 'jina' };
}

/** The layout a placement is made for: its name, how it was made, its dimensions. */
export async function layoutTarget(name: string | null): Promise<{ layout: string; method: string; dims: 2 | 3 }> {
  const { manifest } = await shared();
  const layoutName = name ?? manifest.default_layout ?? manifest.layouts[0]?.name;
  const l = manifest.layouts.find((x) => x.name === layoutName);
  if (!l) throw new Error(`the data set has no layout ${layoutName ?? ''}: uploads are placed on the data set's own layouts`);
  return { layout: l.name, method: l.method, dims: l.dims };
}

/** Places stored vectors on a layout (the default one is placed at upload time; others on demand). */
export async function placeOn(u: StoredUpload, layoutName: string | null): Promise<StoredPlacement> {
  if (!u.embedding) throw new Error('this upload has no vectors');
  const target = await layoutTarget(layoutName);
  const { manifest } = await shared();
  const req: PlaceRequest = { ...target, centroids: null };
  if (target.layout !== (manifest.default_layout ?? '') || !manifest.tables[`clusters-${target.layout}`]?.length) {
    const l = await getLayout(target.layout);
    req.centroids = centroidsFromLayout(l.positions, l.clusters, l.length, l.dims);
  }
  const rows = dequantizeRows(u.embedding.codes, u.embedding.scales, u.embedding.dim);
  const w = parseWorker();
  await w.opened;
  const r = (await w.remote.place(Comlink.transfer(rows, [rows.buffer]), u.embedding.dim, req)) as PlaceResult;
  return { layout: target.layout, method: r.method, dims: r.dims, positions: r.positions, clusters: r.clusters, centroidDistance: r.centroidDistance };
}

export interface RunHandle {
  promise: Promise<StoredUpload>;
  cancel(): void;
}

/**
 * Runs the whole pipeline on `file`; `onStep` hears every change of a step. The upload is stored
 * (IndexedDB) at the end and returned.
 */
export function runUpload(file: File, onStep: (s: StepState[]) => void): RunHandle {
  const steps = freshSteps();
  let cancelled = false;
  let rejectCancel: (e: Error) => void = () => {};
  const cancelP = new Promise<never>((_, reject) => (rejectCancel = reject));
  cancelP.catch(() => {});
  /** A step's promise, abandoned when the run is cancelled (a terminated worker never answers). */
  const guard = <T,>(p: Promise<T>): Promise<T> => Promise.race([p, cancelP]);
  const emit = () => onStep(steps.map((s) => ({ ...s })));
  const step = (n: StepName) => steps.find((s) => s.name === n)!;
  const check = () => {
    if (cancelled) throw new UploadCancelled();
  };
  const t0 = new Map<StepName, number>();
  const start = (n: StepName, total = 0) => {
    const s = step(n);
    if (s.status === 'running') return;
    s.status = 'running';
    s.total = total;
    t0.set(n, performance.now());
    emit();
  };
  const finish = (n: StepName, status: StepState['status'] = 'done', note = '') => {
    const s = step(n);
    s.status = status;
    if (status === 'done') s.done = s.total;
    s.ms = Math.round(performance.now() - (t0.get(n) ?? performance.now()));
    if (note) s.note = note;
    emit();
  };

  const promise = (async (): Promise<StoredUpload> => {
    const { manifestUrl } = await shared();
    start('read', file.size);
    const bytes = new Uint8Array(await file.arrayBuffer());
    check();
    const w = parseWorker();
    await w.opened;
    const onProgress = Comlink.proxy((p: ParseProgress) => {
      for (const name of ['read', 'extract', 'features', 'clones'] as const) {
        if (name === p.step) break;
        if (step(name).status === 'running') finish(name);
      }
      start(p.step as StepName, p.total);
      const s = step(p.step as StepName);
      s.done = p.done;
      s.total = p.total;
      emit();
    });
    let parsed;
    try {
      parsed = await guard(w.remote.analyse(Comlink.transfer(bytes, [bytes.buffer]), file.name, onProgress));
    } catch (e) {
      for (const s of steps) if (s.status === 'running') finish(s.name, 'failed', e instanceof Error ? e.message : String(e));
      throw e;
    }
    check();
    for (const name of ['read', 'extract', 'features', 'clones'] as const) {
      const s = step(name);
      s.status = 'done';
      s.done = s.total;
      s.ms = parsed.ms[name];
    }
    step('extract').note = `${parsed.functions.length} functions from ${Object.values(parsed.filesByLanguage).reduce((a, b) => a + b, 0)} files`;
    step('clones').note = `${parsed.inside.a.length} pairs at ${parsed.inside.threshold}`;
    emit();
    const n = parsed.functions.length;

    // Embed with the embedding the map was laid out from.
    let embedding: StoredUpload['embedding'] = null;
    const placements: StoredPlacement[] = [];
    const emb = await mapEmbeddingInfo();
    start('embed', n);
    if (n === 0) finish('embed', 'skipped', 'no functions');
    else {
      const texts = parsed.functions.map((f) => f.body);
      const out = new Float32Array(n * emb.dim);
      if (emb.name === 'jina') {
        const r = await loadJina();
        if (!r.ok) throw new Error(`the map is laid out from ${emb.model}, which did not load: ${r.message}`);
        for (let i = 0; i < n; i += JINA_BATCH) {
          check();
          out.set(await guard(embedDocumentsJina(texts.slice(i, i + JINA_BATCH))), i * emb.dim);
          step('embed').done = Math.min(n, i + JINA_BATCH);
          emit();
        }
      } else {
        for (let i = 0; i < n; i += TFIDF_BATCH) {
          check();
          out.set((await guard(w.remote.embedTfidf(texts.slice(i, i + TFIDF_BATCH)))) as Float32Array, i * emb.dim);
          step('embed').done = Math.min(n, i + TFIDF_BATCH);
          emit();
        }
      }
      finish('embed', 'done', emb.model);
      check();

      // Place on the map's default layout (the one the upload opens on).
      start('place', n);
      const target = await layoutTarget(null);
      const req: PlaceRequest = { ...target, centroids: null };
      const { manifest } = await shared();
      if (!manifest.tables[`clusters-${target.layout}`]?.length) {
        const l = await getLayout(target.layout);
        req.centroids = centroidsFromLayout(l.positions, l.clusters, l.length, l.dims);
      }
      try {
        const copy = out.slice();
        const r = (await guard(w.remote.place(Comlink.transfer(copy, [copy.buffer]), emb.dim, req))) as PlaceResult;
        embedding = { model: emb.model, dim: emb.dim, codes: r.codes, scales: r.scales };
        placements.push({ layout: target.layout, method: r.method, dims: r.dims, positions: r.positions, clusters: r.clusters, centroidDistance: r.centroidDistance });
        finish('place', 'done', r.method);
      } catch (e) {
        if (cancelled) throw new UploadCancelled();
        finish('place', 'failed', e instanceof Error ? e.message : String(e));
      }
    }
    check();

    // Clones in the corpus (its language is Python).
    let corpus: CorpusClones | null = null;
    let corpusNote: string | null = null;
    start('corpus', parsed.pythonBags.length);
    if (parsed.pythonBags.length === 0) {
      corpusNote = 'no Python functions: the corpus is Python';
      finish('corpus', 'skipped', corpusNote);
    } else {
      try {
        const d = await dedupWorker();
        const m = (await guard(d.matchUpload(parsed.pythonBags as FeatureBag[], 0.8))) as UploadCorpusMatch;
        corpus = {
          threshold: m.threshold,
          index: Uint32Array.from(m.index, (k) => parsed.pythonIndex[k]!),
          corpusId: m.corpusId,
          similarity: m.similarity,
          compared: m.compared,
          method: m.method,
        };
        finish('corpus', 'done', `${m.index.length} pairs; ${m.candidates} candidates`);
      } catch (e) {
        if (cancelled) throw new UploadCancelled();
        corpusNote = e instanceof Error ? e.message : String(e);
        finish('corpus', 'failed', corpusNote);
      }
    }
    check();

    // Summaries of undocumented functions (the data set's seq2seq model, else retrieval).
    start('summaries', Math.min(EAGER, undocumented(parsed.functions).length));
    let summaries: StoredUpload['summaries'];
    try {
      const out = await guard(
        summariseUpload(
          parsed.functions,
          embedding,
          emb.name,
          (done, total) => {
            const s = step('summaries');
            s.done = done;
            s.total = total;
            emit();
          },
          () => cancelled,
        ),
      );
      summaries = { byIndex: out.byIndex, note: out.note };
      finish('summaries', 'done', out.note);
    } catch (e) {
      if (cancelled) throw new UploadCancelled();
      const note = `no summaries: ${e instanceof Error ? e.message : String(e)}`;
      summaries = { byIndex: {}, note };
      finish('summaries', 'failed', note);
    }
    check();

    start('save', 1);
    const report = buildReport({
      functions: parsed.functions,
      filesByLanguage: parsed.filesByLanguage,
      clusters: placements[0]?.clusters ?? null,
      inside: parsed.inside,
      corpus,
      skippedReasons: parsed.skipped.map((s) => s.reason),
    });
    const timings: StepTiming[] = steps.map((s) => ({ step: s.name, ms: s.ms, ...(s.note ? { note: s.note } : {}) }));
    const upload: StoredUpload = {
      id: newUploadId(),
      name: file.name,
      bytes: file.size,
      createdAt: new Date().toISOString(),
      dataset: manifestUrl,
      format: parsed.format,
      totalEntries: parsed.totalEntries,
      skipped: parsed.skipped,
      warnings: parsed.warnings,
      fileErrors: parsed.fileErrors,
      filesByLanguage: parsed.filesByLanguage,
      functions: parsed.functions,
      embedding,
      placements,
      inside: parsed.inside,
      corpus,
      corpusNote,
      summaries,
      report,
      timings,
    };
    try {
      await saveUpload(upload);
      finish('save');
      // Kept again with the save's own time (the record written above could not know it).
      upload.timings = steps.map((s) => ({ step: s.name, ms: s.ms, ...(s.note ? { note: s.note } : {}) }));
      await saveUpload(upload);
    } catch (e) {
      finish('save', 'failed', e instanceof Error ? e.message : String(e));
      upload.timings = steps.map((s) => ({ step: s.name, ms: s.ms, ...(s.note ? { note: s.note } : {}) }));
    }
    return upload;
  })();

  return {
    promise,
    cancel() {
      cancelled = true;
      killParseWorker();
      rejectCancel(new UploadCancelled());
      for (const s of steps) if (s.status === 'running') s.status = 'failed';
      emit();
    },
  };
}
