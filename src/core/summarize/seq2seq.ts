// Neural summariser: code -> one-sentence docstring with a seq2seq (encoder-decoder) model through
// transformers.js: onnxruntime-node in the prebuild, onnxruntime-web (WASM, or WebGPU on a real GPU)
// in the site's summarize worker. Default model: Salesforce/codet5-base-multi-sum (CodeT5-base
// fine-tuned on CodeSearchNet's six languages for summarisation) in transformers.js' ONNX layout
// (onnx/encoder_model*.onnx + onnx/decoder_model_merged*.onnx); any T5/BART-family model id in that
// layout can be given instead.
//
// Loading as for the embedder (core/embed/jina.ts): the site's own models/ folder or the hub, with
// download progress, the browser's cache, and a SummarizerLoadError with a clear message so the UI
// can fall back to the retrieval summariser. What is ours:
//   - tokenisation with truncation to `maxInputTokens` keeping the closing </s>, recorded per text;
//     a very long function (sympy has 800k-character ones) is tokenised only as far as needed;
//   - greedy decoding (transformers.js' generate, do_sample false, one beam), at most
//     `maxNewTokens` new tokens, special tokens dropped, whitespace collapsed;
//   - results cached by content hash (FNV-1a-64 of the code) across calls;
//   - progress per function, cancellation between functions.
import type { PreTrainedModel, PreTrainedTokenizer, Tensor } from '@huggingface/transformers';
import {
  describeModelSource,
  downloadProgressCallback,
  effectiveMaxTokens,
  importTransformers,
  loadPretrained,
  serializedLoad,
  tokenizeWithin,
  type Transformers,
} from '../embed/transformers-load.ts';
import { contentHash } from '../util/hash.ts';


export const CODET5_SUMMARY_MODEL_ID = 'Salesforce/codet5-base-multi-sum';

export type Seq2SeqDevice = 'cpu' | 'wasm' | 'webgpu';
/** Which ONNX files: *_quantized.onnx (q8), *.onnx (fp32), *_fp16.onnx (fp16). */
export type Seq2SeqDtype = 'q8' | 'fp32' | 'fp16';

export interface SummarizeProgress {
  phase: 'download' | 'summarize';
  done: number;
  total: number;
  /** Functions per second so far (0 while downloading). */
  perSec: number;
  etaSec: number;
}

export interface Seq2SeqOptions {
  /** Model id, resolved against modelBase (default Salesforce/codet5-base-multi-sum). */
  modelId?: string;
  /** Folder (Node) or site path holding `<modelId>/`. Omit to use only the hub. */
  modelBase?: string;
  /** Fetch from the hub when the model is not under modelBase (default false). */
  allowRemote?: boolean;
  remoteHost?: string;
  /** Default 'cpu' (Node); the browser passes 'wasm' or 'webgpu'. */
  device?: Seq2SeqDevice;
  /** Default q8 on cpu/wasm, fp32 on webgpu. */
  dtype?: Seq2SeqDtype;
  /** Encoder token budget, special tokens included (default 256, CodeT5's source length for summarisation). */
  maxInputTokens?: number;
  /** New tokens at most per summary (default 32). */
  maxNewTokens?: number;
  sessionOptions?: { intraOpNumThreads?: number; interOpNumThreads?: number };
  wasmThreads?: number;
  /** Distinct inputs whose summaries are remembered (default 10000). */
  cacheEntries?: number;
  /** Download progress while loading. */
  onProgress?: (p: SummarizeProgress) => void;
}

export interface SummaryResult {
  text: string;
  /** True when the code was longer than maxInputTokens and only its start was read. */
  truncated: boolean;
  inputTokens: number;
  /** Tokens generated (the decoder start token and special tokens not counted). */
  outputTokens: number;
  /** Generated token ids (special tokens included, decoder start excluded), for tests and benchmarks. */
  tokenIds: number[];
  /** Answered from the cache (same code summarised before). */
  cached: boolean;
  ms: number;
}

export interface SummarizeOptions {
  signal?: AbortSignal;
  onProgress?: (p: SummarizeProgress) => void;
}

export class SummarizerLoadError extends Error {
  constructor(
    readonly modelId: string,
    readonly base: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`could not load summarisation model '${modelId}' from ${base}: ${reason}`, options);
    this.name = 'SummarizerLoadError';
  }
}

interface Loaded {
  tjs: Transformers;
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  specialIds: Set<number>;
  maxInputTokens: number;
}

export class Seq2SeqSummarizer {
  readonly modelId: string;
  readonly device: Seq2SeqDevice;
  readonly dtype: Seq2SeqDtype;
  readonly maxInputTokens: number;
  readonly maxNewTokens: number;
  readonly stats = { generated: 0, cacheHits: 0, truncated: 0, tokensOut: 0 };
  private readonly opts: Seq2SeqOptions;
  private loaded: Loaded | null = null;
  private loading: Promise<Loaded> | null = null;
  private readonly cache = new Map<string, Omit<SummaryResult, 'cached' | 'ms'>>();

  constructor(opts: Seq2SeqOptions = {}) {
    this.opts = opts;
    this.modelId = opts.modelId ?? CODET5_SUMMARY_MODEL_ID;
    this.device = opts.device ?? 'cpu';
    this.dtype = opts.dtype ?? (this.device === 'webgpu' ? 'fp32' : 'q8');
    this.maxInputTokens = opts.maxInputTokens ?? 256;
    this.maxNewTokens = opts.maxNewTokens ?? 32;
    if (!(Number.isInteger(this.maxInputTokens) && this.maxInputTokens >= 3)) throw new RangeError('maxInputTokens must be an integer >= 3');
    if (!(Number.isInteger(this.maxNewTokens) && this.maxNewTokens >= 1)) throw new RangeError('maxNewTokens must be an integer >= 1');
  }

  get source(): string {
    return describeModelSource(this.opts);
  }

  load(): Promise<void> {
    // One queue with the embedder's loads: transformers.js' env is global.
    this.loading ??= serializedLoad(() => this.loadNow()).then(
      (l) => (this.loaded = l),
      (err: unknown) => {
        this.loading = null;
        throw err;
      },
    );
    return this.loading.then(() => undefined);
  }

  private async loadNow(): Promise<Loaded> {
    const o = this.opts;
    const fail = (reason: string, cause?: unknown) => new SummarizerLoadError(this.modelId, this.source, reason, { cause });
    if (o.modelBase === undefined && !o.allowRemote) throw fail('no model base given and remote models are not allowed');
    let tjs: Transformers;
    try {
      tjs = await importTransformers({ modelBase: o.modelBase, allowRemote: o.allowRemote ?? false, remoteHost: o.remoteHost, wasmThreads: o.wasmThreads });
    } catch (err) {
      throw fail((err as Error).message, err);
    }
    const onProgress = o.onProgress;
    const progress_callback = downloadProgressCallback(
      onProgress && ((done, total, etaSec) => onProgress({ phase: 'download', done, total, perSec: 0, etaSec })),
    );
    let tokenizer: PreTrainedTokenizer;
    let model: PreTrainedModel;
    try {
      ({ tokenizer, model } = await loadPretrained(tjs, this.modelId, {
        modelClass: 'AutoModelForSeq2SeqLM',
        device: this.device,
        dtype: this.dtype,
        sessionOptions: o.sessionOptions,
        allowRemote: o.allowRemote ?? false,
        progress_callback,
        checkConfig: (config) => {
          if (!config.is_encoder_decoder) throw new Error(`config.json says model_type '${String(config.model_type)}' is not an encoder-decoder model`);
        },
      }));
    } catch (err) {
      throw fail((err as Error)?.message ?? String(err), err);
    }
    const sessions = (model as unknown as { sessions: Record<string, { inputNames: readonly string[] } | undefined> }).sessions;
    if (!sessions.model || !sessions.decoder_model_merged) {
      await model.dispose();
      throw fail(`expected onnx/encoder_model and onnx/decoder_model_merged sessions, got ${Object.keys(sessions).join(', ')}`);
    }
    const maxInputTokens = effectiveMaxTokens(tokenizer, this.maxInputTokens);
    return { tjs, tokenizer, model, specialIds: new Set<number>(tokenizer.all_special_ids), maxInputTokens };
  }

  /** Token ids the encoder sees for `code` (special tokens included, cut to maxInputTokens keeping </s>). */
  async tokenize(code: string): Promise<{ ids: number[]; truncated: boolean }> {
    await this.load();
    return this.tokenizeLoaded(this.loaded as Loaded, code);
  }

  private tokenizeLoaded(l: Loaded, text: string): { ids: number[]; truncated: boolean } {
    return tokenizeWithin(l.tokenizer, l.specialIds, text, l.maxInputTokens);
  }

  /** Summarises each text (one model call per distinct, uncached text), in order. */
  async summarize(texts: readonly string[], opts: SummarizeOptions = {}): Promise<SummaryResult[]> {
    opts.signal?.throwIfAborted();
    await this.load();
    const l = this.loaded as Loaded;
    const out: SummaryResult[] = [];
    const start = performance.now();
    for (const [i, text] of texts.entries()) {
      opts.signal?.throwIfAborted();
      const t0 = performance.now();
      const key = contentHash(text);
      const hit = this.cache.get(key);
      if (hit) {
        this.stats.cacheHits++;
        out.push({ ...hit, cached: true, ms: performance.now() - t0 });
      } else {
        const r = await this.generateOne(l, text);
        if (this.cache.size >= (this.opts.cacheEntries ?? 10_000)) this.cache.delete(this.cache.keys().next().value as string);
        this.cache.set(key, r);
        out.push({ ...r, cached: false, ms: performance.now() - t0 });
      }
      if (opts.onProgress) {
        const s = (performance.now() - start) / 1000;
        const rate = s > 0 ? (i + 1) / s : 0;
        opts.onProgress({ phase: 'summarize', done: i + 1, total: texts.length, perSec: rate, etaSec: rate > 0 ? (texts.length - i - 1) / rate : Number.NaN });
      }
    }
    return out;
  }

  private async generateOne(l: Loaded, text: string): Promise<Omit<SummaryResult, 'cached' | 'ms'>> {
    const { ids, truncated } = this.tokenizeLoaded(l, text);
    const n = ids.length;
    const input_ids = new l.tjs.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, n]);
    const attention_mask = new l.tjs.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);
    const out = (await l.model.generate({
      inputs: input_ids,
      attention_mask,
      max_new_tokens: this.maxNewTokens,
      do_sample: false,
      num_beams: 1,
    } as unknown as Parameters<PreTrainedModel['generate']>[0])) as Tensor;
    const seq = Array.from(out.data as BigInt64Array, (v) => Number(v)).slice(1); // drop the decoder start token
    const textOut = l.tokenizer.decode(seq, { skip_special_tokens: true }).replace(/\s+/g, ' ').trim();
    const outputTokens = seq.filter((t) => !l.specialIds.has(t)).length;
    this.stats.generated++;
    this.stats.tokensOut += outputTokens;
    if (truncated) this.stats.truncated++;
    return { text: textOut, truncated, inputTokens: n, outputTokens, tokenIds: seq };
  }

  async dispose(): Promise<void> {
    const l = this.loaded;
    this.loaded = null;
    this.loading = null;
    if (l) await l.model.dispose();
  }
}
