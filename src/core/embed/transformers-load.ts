// What every transformers.js model of ours shares when it loads: the embedder (jina.ts) and the
// summariser (summarize/seq2seq.ts) alike. transformers.js keeps its settings in one global `env`,
// so loads are serialised through one queue (two models with different bases loading at once would
// otherwise read each other's settings); download progress is summed over files; config, tokenizer
// and ONNX sessions load in an order whose failures say what is missing; long inputs are tokenised
// only as far as the budget needs.
import type { PreTrainedModel, PreTrainedTokenizer, ProgressInfo } from '@huggingface/transformers';

export type Transformers = typeof import('@huggingface/transformers');

export interface TransformersEnvSettings {
  modelBase?: string;
  allowRemote: boolean;
  remoteHost?: string;
  wasmThreads?: number;
}

/**
 * The one place that writes transformers.js' global `env`. Called right before each load, so two
 * models with different bases in one thread each load from their own.
 */
export function configureTransformersEnv(env: Transformers['env'], s: TransformersEnvSettings): void {
  env.allowRemoteModels = s.allowRemote;
  if (s.remoteHost) env.remoteHost = s.remoteHost.endsWith('/') ? s.remoteHost : `${s.remoteHost}/`;
  env.allowLocalModels = s.modelBase !== undefined;
  if (s.modelBase !== undefined) env.localModelPath = s.modelBase.endsWith('/') ? s.modelBase : `${s.modelBase}/`;
  const wasm = env.backends.onnx.wasm;
  if (s.wasmThreads !== undefined && wasm) wasm.numThreads = s.wasmThreads;
  // Otherwise transformers.js re-serves ONNX Runtime's .mjs factory from a blob: URL (its Cache API
  // copy), which the site's Content-Security-Policy (script-src 'self', no blob:) refuses to import;
  // the factory is then imported from its own URL, and the browser's HTTP cache keeps it anyway.
  env.useWasmCache = false;
}

/**
 * Imports transformers.js (a large module, loaded only when a model is) and configures its env for
 * this load; the error says what failed.
 */
export async function importTransformers(s: TransformersEnvSettings): Promise<Transformers> {
  let tjs: Transformers;
  try {
    tjs = await import('@huggingface/transformers');
  } catch (err) {
    throw new Error(`transformers.js did not load: ${(err as Error).message}`, { cause: err });
  }
  configureTransformersEnv(tjs.env, s);
  return tjs;
}

let loadQueue: Promise<unknown> = Promise.resolve();

/** Runs `load` after every load queued before it has settled (see the file comment). */
export function serializedLoad<T>(load: () => Promise<T>): Promise<T> {
  const run = loadQueue.then(load);
  loadQueue = run.catch(() => undefined);
  return run;
}

/** Where a model is read from, for messages. */
export function describeModelSource(o: { modelBase?: string; allowRemote?: boolean; remoteHost?: string }): string {
  const parts: string[] = [];
  if (o.modelBase !== undefined) parts.push(`'${o.modelBase}'`);
  if (o.allowRemote) parts.push(`the hub (${o.remoteHost ?? 'https://huggingface.co/'})`);
  return parts.length ? parts.join(' or ') : 'nowhere (no modelBase and remote models not allowed)';
}

/**
 * A transformers.js progress callback reporting bytes of all model files together, with an ETA;
 * undefined when nobody listens.
 */
export function downloadProgressCallback(
  onBytes: ((done: number, total: number, etaSec: number) => void) | undefined,
): ((p: ProgressInfo) => void) | undefined {
  if (!onBytes) return undefined;
  const files = new Map<string, { loaded: number; total: number }>();
  let sawTotal = false;
  const start = performance.now();
  return (p: ProgressInfo): void => {
    if (p.status !== 'progress' && p.status !== 'progress_total') return;
    // Aggregate events (when transformers.js can list the files up front) win over per-file ones.
    if (p.status === 'progress_total') sawTotal = true;
    else if (sawTotal) return;
    let done = p.loaded;
    let total = p.total;
    if (p.status === 'progress') {
      files.set(p.file, { loaded: p.loaded, total: p.total });
      done = 0;
      total = 0;
      for (const f of files.values()) {
        done += f.loaded;
        total += f.total;
      }
    }
    const s = (performance.now() - start) / 1000;
    const rate = s > 0 ? done / s : 0;
    onBytes(done, total, rate > 0 ? (total - done) / rate : Number.NaN);
  };
}

export interface PretrainedLoadOptions {
  modelClass: 'AutoModel' | 'AutoModelForSeq2SeqLM';
  device: string;
  dtype: string;
  sessionOptions?: object;
  allowRemote: boolean;
  progress_callback?: (p: ProgressInfo) => void;
  /** Throws when config.json describes a model this caller cannot use. */
  checkConfig?: (config: Record<string, unknown>) => void;
}

/**
 * config.json, then the tokenizer, then the ONNX sessions. config.json first: when the folder is
 * missing this fails with transformers.js' clear "file was not found locally at <path>" (a missing
 * tokenizer file fails more obscurely). Errors are rethrown with what failed.
 */
export async function loadPretrained(
  tjs: Transformers,
  modelId: string,
  o: PretrainedLoadOptions,
): Promise<{ tokenizer: PreTrainedTokenizer; model: PreTrainedModel }> {
  const local_files_only = !o.allowRemote;
  const progress_callback = o.progress_callback;
  const config = await tjs.AutoConfig.from_pretrained(modelId, { progress_callback, local_files_only });
  o.checkConfig?.(config as unknown as Record<string, unknown>);
  let tokenizer: PreTrainedTokenizer;
  try {
    tokenizer = await tjs.AutoTokenizer.from_pretrained(modelId, { progress_callback, local_files_only });
  } catch (err) {
    throw new Error(`tokenizer.json / tokenizer_config.json did not load (${(err as Error)?.message ?? String(err)})`, { cause: err });
  }
  const model = await tjs[o.modelClass].from_pretrained(modelId, {
    config,
    progress_callback,
    local_files_only,
    device: o.device,
    dtype: o.dtype,
    session_options: { ...o.sessionOptions },
  } as Parameters<Transformers['AutoModel']['from_pretrained']>[1]);
  return { tokenizer, model };
}

/** The tokenizer's model_max_length caps our budget when it is smaller. */
export function effectiveMaxTokens(tokenizer: PreTrainedTokenizer, budget: number): number {
  const modelMax = tokenizer.model_max_length;
  return Number.isFinite(modelMax) && modelMax >= 3 ? Math.min(budget, modelMax) : budget;
}

/**
 * Token ids the model sees for `text`: the tokenizer's output (special tokens included), cut to
 * `max` keeping the closing special token. `truncated` says whether anything was cut.
 */
export function tokenizeWithin(
  tokenizer: PreTrainedTokenizer,
  specialIds: ReadonlySet<number>,
  text: string,
  max: number,
): { ids: number[]; truncated: boolean } {
  let ids: number[] | null = null;
  // A very long function (sympy has 800k-character ones) is tokenised only as far as needed: a
  // prefix cut at a line break has the same leading tokens (pre-tokenizers split at whitespace),
  // and if it yields comfortably more than max tokens the rest cannot matter.
  const cap = max * 16;
  if (text.length > cap) {
    const nl = text.lastIndexOf('\n', cap);
    const p = tokenizer.encode(text.slice(0, nl > 0 ? nl : cap));
    if (p.length >= max + 16) ids = p;
  }
  ids ??= tokenizer.encode(text);
  if (ids.length <= max) return { ids, truncated: false };
  const last = ids[ids.length - 1];
  const keepLast = specialIds.has(last);
  const cut = ids.slice(0, keepLast ? max - 1 : max);
  if (keepLast) cut.push(last);
  return { ids: cut, truncated: true };
}
