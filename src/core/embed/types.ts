// The contract every embedder meets: the offline TF-IDF/SVD one (tfidf-svd.ts) and neural ones
// (jina.ts via transformers.js). Batched and typed-array based so results cross worker boundaries
// as one transferable buffer, and a 768-d model and a 256-d one look the same to callers.

export interface EmbedOptions {
  /**
   * What the texts are. Some models embed search queries differently from documents (prefixes,
   * instructions); models that do not care ignore it. Default 'document'.
   */
  kind?: 'document' | 'query';
  /** Cancels a long batch between items where the implementation can. */
  signal?: AbortSignal;
}

export interface Embedder {
  /** Stable model id, used in file names (`vectors-<id>`) and the manifest, e.g. `tfidf-svd-256`. */
  readonly id: string;
  /** Output dimension. */
  readonly dim: number;
  /**
   * Embeds `texts` into one row-major Float32Array of texts.length * dim values. Each row is
   * L2-normalised (so cosine similarity is a dot product); a text the model cannot represent
   * (e.g. no known tokens) gets an all-zero row.
   */
  embed(texts: readonly string[], opts?: EmbedOptions): Promise<Float32Array>;
  /** Releases model resources (sessions, GPU buffers), where there are any. */
  dispose?(): Promise<void> | void;
}

/** Row i of a batch returned by Embedder.embed (a view, not a copy). */
export function embeddingRow(batch: Float32Array, dim: number, i: number): Float32Array {
  return batch.subarray(i * dim, (i + 1) * dim);
}
