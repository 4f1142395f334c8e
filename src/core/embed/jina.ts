// Neural code embedder: jinaai/jina-embeddings-v2-base-code (a JinaBERT encoder, 768-d) through
// transformers.js, which runs ONNX Runtime: onnxruntime-node in the prebuild, onnxruntime-web (WASM
// or WebGPU) in the browser. The same class serves both; only the device and model base differ.
//
// transformers.js is used for what it does well (finding and loading the tokenizer and the ONNX
// session for a dtype/device, progress of downloads); the rest is ours so it is explicit and tested:
//   - tokenisation of the text exactly as written (newlines and indentation are signal in code),
//     truncation to `maxTokens` keeping the closing special token, recorded per row;
//   - identical texts (FNV-1a-64 content hash) embedded once per call;
//   - batches of similar length (sort by token count, batch, scatter back), so padding is small:
//     attention costs grow with the padded length of the longest row of a batch;
//   - masked mean pooling over last_hidden_state and L2 normalisation (Jina's `emb_pooler: mean`);
//   - cancellation between batches and progress with rate and ETA.
//
// What every transformers.js model of ours shares (env settings, serialised loads, download
// progress, token budgets) lives in transformers-load.ts, used by the summariser too.
import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import { contentHash } from '../util/hash.ts';
import { decodeFloat16 } from '../util/float16.ts';
import { TfidfSvdEmbedder, type TfidfSvdModel } from './tfidf-svd.ts';
import {
  describeModelSource,
  downloadProgressCallback,
  effectiveMaxTokens,
  importTransformers,
  loadPretrained,
  serializedLoad,
  tokenizeWithin,
  type Transformers,
} from './transformers-load.ts';
import type { EmbedOptions, Embedder } from './types.ts';

export { configureTransformersEnv, type TransformersEnvSettings } from './transformers-load.ts';

export const JINA_CODE_MODEL_ID = 'jinaai/jina-embeddings-v2-base-code';

/** 'cpu' is onnxruntime-node; 'wasm' and 'webgpu' are onnxruntime-web in the browser. */
export type JinaDevice = 'cpu' | 'wasm' | 'webgpu';
/** Weight precision, i.e. which ONNX file is loaded: model_quantized.onnx, model_fp16.onnx, model.onnx. */
export type JinaDtype = 'q8' | 'fp16' | 'fp32';

export interface EmbedProgress {
  /** 'download': model files are being fetched (done/total in bytes); 'embed': snippets. */
  phase: 'download' | 'embed';
  done: number;
  total: number;
  /** Snippets per second so far (0 while downloading). */
  snippetsPerSec: number;
  /** Seconds left at the current rate (NaN when unknown). */
  etaSec: number;
}

/** The ONNX Runtime session options we pass through (a subset of InferenceSession.SessionOptions). */
export interface JinaSessionOptions {
  /** Threads inside one operator. Node: the core count (about 2x faster than ORT's default here). */
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface JinaOptions {
  /** Model id, resolved against `modelBase` (default jinaai/jina-embeddings-v2-base-code). */
  modelId?: string;
  /** Embedder id for file names and the manifest (default: derived from modelId, e.g. `jina-v2-base-code`). */
  id?: string;
  /**
   * Where model folders live: a Node folder (the prebuild, tests) or a site path/URL such as
   * '/data/models/'. The model is read from `<modelBase>/<modelId>/`. Omit to use only the hub.
   */
  modelBase?: string;
  /** Fetch from the hub (`remoteHost`) when the model is not under modelBase (default false: never download unasked). */
  allowRemote?: boolean;
  /** Hub URL (default transformers.js' https://huggingface.co/). */
  remoteHost?: string;
  /** Default 'cpu' (Node). The browser passes 'wasm' or 'webgpu'. */
  device?: JinaDevice;
  /** Default q8 on cpu/wasm, fp16 on webgpu. */
  dtype?: JinaDtype;
  /** Token budget per text, special tokens included (default 512). Longer texts are truncated. */
  maxTokens?: number;
  /** Texts per model call (default 8). */
  batchSize?: number;
  sessionOptions?: JinaSessionOptions;
  /** onnxruntime-web WASM threads (browser only; global, like everything in transformers.js' env). */
  wasmThreads?: number;
  /** Download progress while loading, then embedding progress per batch. */
  onProgress?: (p: EmbedProgress) => void;
}

export interface JinaEmbedResult {
  /** texts.length x dim, row-major, each row L2-normalised. */
  vectors: Float32Array;
  /** 1 where the text was longer than maxTokens and only its start was embedded. */
  truncated: Uint8Array;
  /** Tokens fed to the model per text, special tokens included (<= maxTokens). */
  tokens: Uint32Array;
}

/** Counters a caller (or a test) can read to see what the embedder actually did. */
export interface JinaStats {
  /** Model invocations (batches run). */
  modelCalls: number;
  /** Rows run through the model (after de-duplication). */
  rowsEmbedded: number;
  /** Texts answered from another identical text in the same call. */
  duplicates: number;
}

/** The model could not be loaded; the UI falls back to the TF-IDF/SVD embedder. */
export class ModelLoadError extends Error {
  constructor(
    readonly modelId: string,
    readonly base: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`could not load embedding model '${modelId}' from ${base}: ${reason}`, options);
    this.name = 'ModelLoadError';
  }
}

/** `jinaai/jina-embeddings-v2-base-code` -> `jina-v2-base-code`; already-short ids are kept. */
export function deriveEmbedderId(modelId: string): string {
  const last = modelId.split('/').filter(Boolean).pop() ?? modelId;
  return last.toLowerCase().replace(/^jina-embeddings-/, 'jina-').replace(/[^a-z0-9._-]+/g, '-');
}

interface Loaded {
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  tjs: Transformers;
  dim: number;
  padId: number;
  /** Ids the tokenizer adds at the end (e.g. </s>); truncation keeps them. */
  specialIds: Set<number>;
  /** maxTokens, lowered to the tokenizer's model_max_length (8192 for Jina v2) when that is smaller. */
  maxTokens: number;
}

function rate(done: number, startMs: number): number {
  const s = (performance.now() - startMs) / 1000;
  return s > 0 ? done / s : 0;
}

export class JinaEmbedder implements Embedder {
  readonly id: string;
  readonly modelId: string;
  readonly device: JinaDevice;
  readonly dtype: JinaDtype;
  readonly maxTokens: number;
  readonly batchSize: number;
  readonly stats: JinaStats = { modelCalls: 0, rowsEmbedded: 0, duplicates: 0 };
  private readonly opts: JinaOptions;
  private loaded: Loaded | null = null;
  private loading: Promise<Loaded> | null = null;

  constructor(opts: JinaOptions = {}) {
    this.opts = opts;
    this.modelId = opts.modelId ?? JINA_CODE_MODEL_ID;
    this.id = opts.id ?? deriveEmbedderId(this.modelId);
    this.device = opts.device ?? 'cpu';
    this.dtype = opts.dtype ?? (this.device === 'webgpu' ? 'fp16' : 'q8');
    this.maxTokens = opts.maxTokens ?? 512;
    this.batchSize = opts.batchSize ?? 8;
    // Two tokens are the special tokens around the text; below that nothing of the text is embedded.
    if (!(Number.isInteger(this.maxTokens) && this.maxTokens >= 3)) throw new RangeError('maxTokens must be an integer >= 3');
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1)) throw new RangeError('batchSize must be an integer >= 1');
  }

  /** Output dimension (the model's hidden size); known after load(). */
  get dim(): number {
    if (!this.loaded) throw new Error(`JinaEmbedder ${this.id}: dim is known after load()`);
    return this.loaded.dim;
  }

  /** Where the model is read from, for messages. */
  get source(): string {
    return describeModelSource(this.opts);
  }

  /** Loads tokenizer and ONNX session (once). Throws ModelLoadError. */
  load(): Promise<void> {
    this.loading ??= this.doLoad().then(
      (l) => {
        this.loaded = l;
        return l;
      },
      (err: unknown) => {
        this.loading = null; // a later call may retry (e.g. after the files appear)
        throw err;
      },
    );
    return this.loading.then(() => undefined);
  }

  private doLoad(): Promise<Loaded> {
    // Loads are serialised: transformers.js reads its global env while loading, so two embedders
    // with different bases loading at once could otherwise read each other's settings.
    return serializedLoad(() => this.loadNow());
  }

  private async loadNow(): Promise<Loaded> {
    const o = this.opts;
    const fail = (reason: string, cause?: unknown): ModelLoadError => new ModelLoadError(this.modelId, this.source, reason, { cause });
    if (o.modelBase === undefined && !o.allowRemote) throw fail('no model base given and remote models are not allowed');
    let tjs: Transformers;
    try {
      tjs = await importTransformers({ modelBase: o.modelBase, allowRemote: o.allowRemote ?? false, remoteHost: o.remoteHost, wasmThreads: o.wasmThreads });
    } catch (err) {
      throw fail((err as Error).message, err);
    }

    const onProgress = o.onProgress;
    const progress_callback = downloadProgressCallback(
      onProgress && ((done, total, etaSec) => onProgress({ phase: 'download', done, total, snippetsPerSec: 0, etaSec })),
    );

    let tokenizer: PreTrainedTokenizer;
    let model: PreTrainedModel;
    try {
      ({ tokenizer, model } = await loadPretrained(tjs, this.modelId, {
        modelClass: 'AutoModel',
        device: this.device,
        dtype: this.dtype,
        sessionOptions: o.sessionOptions,
        allowRemote: o.allowRemote ?? false,
        progress_callback,
      }));
    } catch (err) {
      throw fail((err as Error)?.message ?? String(err), err);
    }
    const config = model.config as unknown as Record<string, unknown>;
    const dim = Number(config.hidden_size);
    if (!(Number.isInteger(dim) && dim > 0)) {
      await model.dispose();
      throw fail('config.json has no hidden_size');
    }
    const session = (model as unknown as { sessions: Record<string, { outputNames: readonly string[] }> }).sessions.model;
    if (!session?.outputNames.includes('last_hidden_state')) {
      await model.dispose();
      throw fail(`the ONNX model has no last_hidden_state output (outputs: ${session?.outputNames.join(', ') ?? 'none'})`);
    }
    const padId = tokenizer.pad_token_id ?? 0;
    const specialIds = new Set<number>(tokenizer.all_special_ids);
    const maxTokens = effectiveMaxTokens(tokenizer, this.maxTokens);
    return { tokenizer, model, tjs, dim, padId, specialIds, maxTokens };
  }

  async embed(texts: readonly string[], opts: EmbedOptions = {}): Promise<Float32Array> {
    return (await this.embedDetailed(texts, opts)).vectors;
  }

  /**
   * Token ids the model sees for `text`: the tokenizer's output (special tokens included), cut to
   * maxTokens keeping the closing special token. `truncated` says whether anything was cut.
   */
  async tokenize(text: string): Promise<{ ids: number[]; truncated: boolean }> {
    await this.load();
    return this.tokenizeLoaded(this.loaded as Loaded, text);
  }

  private tokenizeLoaded(l: Loaded, text: string): { ids: number[]; truncated: boolean } {
    return tokenizeWithin(l.tokenizer, l.specialIds, text, l.maxTokens);
  }

  async embedDetailed(texts: readonly string[], opts: EmbedOptions = {}): Promise<JinaEmbedResult> {
    // 'query' and 'document' are embedded alike: jina-embeddings-v2-base-code uses no prefixes.
    const signal = opts.signal;
    signal?.throwIfAborted();
    await this.load();
    const l = this.loaded as Loaded;
    const dim = l.dim;
    const n = texts.length;

    // 1. De-duplicate by content hash: row i is computed as unique row rowOf[i].
    const rowOf = new Int32Array(n);
    const firstOf = new Map<string, number>();
    const unique: number[] = [];
    for (let i = 0; i < n; i++) {
      const h = contentHash(texts[i]);
      let u = firstOf.get(h);
      if (u === undefined) {
        u = unique.length;
        firstOf.set(h, u);
        unique.push(i);
      } else this.stats.duplicates++;
      rowOf[i] = u;
    }
    const nu = unique.length;

    // 2. Tokenise each distinct text once.
    const ids: number[][] = new Array<number[]>(nu);
    const uTrunc = new Uint8Array(nu);
    for (let u = 0; u < nu; u++) {
      const t = this.tokenizeLoaded(l, texts[unique[u]]);
      ids[u] = t.ids;
      uTrunc[u] = t.truncated ? 1 : 0;
    }

    // 3. Longest first, in batches of similar length; rows are written to their own slots.
    const order = Array.from({ length: nu }, (_, u) => u).sort((a, b) => ids[b].length - ids[a].length || a - b);
    const uVec = new Float32Array(nu * dim);
    const start = performance.now();
    let done = 0;
    for (let b0 = 0; b0 < nu; b0 += this.batchSize) {
      signal?.throwIfAborted();
      const batch = order.slice(b0, b0 + this.batchSize);
      await this.runBatch(l, batch.map((u) => ids[u]), (r, vec) => uVec.set(vec, batch[r] * dim));
      done += batch.length;
      if (this.opts.onProgress) {
        const r = rate(done, start);
        this.opts.onProgress({ phase: 'embed', done, total: nu, snippetsPerSec: r, etaSec: r > 0 ? (nu - done) / r : Number.NaN });
      }
    }

    const vectors = new Float32Array(n * dim);
    const truncated = new Uint8Array(n);
    const tokens = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const u = rowOf[i];
      vectors.set(uVec.subarray(u * dim, (u + 1) * dim), i * dim);
      truncated[i] = uTrunc[u];
      tokens[i] = ids[u].length;
    }
    return { vectors, truncated, tokens };
  }

  /** Pads one batch to its longest row, runs the model, pools each row. */
  private async runBatch(l: Loaded, rows: number[][], put: (row: number, vec: Float32Array) => void): Promise<void> {
    const b = rows.length;
    let len = 0;
    for (const r of rows) len = Math.max(len, r.length);
    const inputIds = new BigInt64Array(b * len).fill(BigInt(l.padId));
    const mask = new BigInt64Array(b * len);
    for (let r = 0; r < b; r++) {
      const row = rows[r];
      for (let t = 0; t < row.length; t++) {
        inputIds[r * len + t] = BigInt(row[t]);
        mask[r * len + t] = 1n;
      }
    }
    const feeds = {
      input_ids: new l.tjs.Tensor('int64', inputIds, [b, len]),
      attention_mask: new l.tjs.Tensor('int64', mask, [b, len]),
    };
    const out = (await l.model.forward(feeds)) as { last_hidden_state?: Tensor };
    this.stats.modelCalls++;
    this.stats.rowsEmbedded += b;
    const hidden = out.last_hidden_state;
    if (!hidden) throw new Error(`model ${this.modelId} returned no last_hidden_state`);
    const [hb, hl, hd] = hidden.dims;
    if (hb !== b || hl !== len || hd !== l.dim) throw new Error(`last_hidden_state has shape [${hidden.dims.join(', ')}], expected [${b}, ${len}, ${l.dim}]`);
    const data = hiddenAsFloat32(hidden);
    const pooled = meanPoolNormalize(data, mask, b, len, l.dim);
    for (let r = 0; r < b; r++) put(r, pooled.subarray(r * l.dim, (r + 1) * l.dim));
    hidden.dispose();
  }

  async dispose(): Promise<void> {
    const l = this.loaded;
    this.loaded = null;
    this.loading = null;
    if (l) await l.model.dispose();
  }
}

/** last_hidden_state as float32 (an fp16 model on WebGPU may return float16 bits). */
function hiddenAsFloat32(t: Tensor): Float32Array {
  const d: unknown = t.data;
  if (d instanceof Float32Array) return d;
  if (t.type === 'float16' && (d instanceof Uint16Array || ArrayBuffer.isView(d))) {
    const v = d as ArrayBufferView;
    return decodeFloat16(new Uint16Array(v.buffer, v.byteOffset, v.byteLength / 2));
  }
  throw new Error(`last_hidden_state has unsupported type ${t.type}`);
}

/**
 * Masked mean over the sequence axis, then L2 normalisation: hidden is [batch, len, dim] row-major,
 * mask [batch, len] (1 = real token). Sums in float64 so long rows lose nothing to rounding. A row
 * whose mean is all zero stays zero.
 */
export function meanPoolNormalize(
  hidden: Float32Array,
  mask: BigInt64Array | ArrayLike<number>,
  batch: number,
  len: number,
  dim: number,
): Float32Array {
  const out = new Float32Array(batch * dim);
  const acc = new Float64Array(dim);
  for (let r = 0; r < batch; r++) {
    acc.fill(0);
    let count = 0;
    for (let t = 0; t < len; t++) {
      if (!Number(mask[r * len + t])) continue;
      count++;
      const o = (r * len + t) * dim;
      for (let c = 0; c < dim; c++) acc[c] += hidden[o + c];
    }
    let ss = 0;
    for (let c = 0; c < dim; c++) ss += acc[c] * acc[c];
    // The mean's direction is the sum's: dividing by count first would not change the unit vector.
    if (count === 0 || !(ss > 0)) continue;
    const inv = 1 / Math.sqrt(ss);
    for (let c = 0; c < dim; c++) out[r * dim + c] = acc[c] * inv;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Picking an embedder by name (site and CLIs).

export type EmbedderConfig =
  | { kind: 'tfidf'; model: TfidfSvdModel }
  | ({ kind: 'jina' } & JinaOptions);

/**
 * Returns a ready embedder: TF-IDF/SVD from a loaded model, or Jina with its model loaded (so a
 * missing model shows up here as ModelLoadError and the caller can fall back to TF-IDF/SVD).
 */
export async function createEmbedder(config: EmbedderConfig): Promise<Embedder> {
  if (config.kind === 'tfidf') return new TfidfSvdEmbedder(config.model);
  const { kind: _kind, ...opts } = config;
  const e = new JinaEmbedder(opts);
  await e.load();
  return e;
}
