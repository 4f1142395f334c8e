// Bounded top-k selection for streaming nearest-neighbour search: a max-heap of the k best
// (smallest) scores seen so far, so a query over any number of shards keeps O(k) state. Ordering is
// total and deterministic: by score, then by id ascending, so ties rank the same in every backend,
// block order and worker split.

/** The k nearest rows, best first. Typed arrays only, so it crosses a worker boundary as-is. */
export interface TopKResult {
  ids: Uint32Array;
  /** The ranking key (e.g. sum |d|^p for Minkowski p), ascending. */
  scores: Float64Array;
}

export class TopK {
  readonly k: number;
  private n = 0;
  private readonly s: Float64Array;
  private readonly id: Uint32Array;
  /**
   * The worst score kept once the heap is full (Infinity before): a row whose score is strictly
   * above it can never enter, which is what lets kernels abandon a row part-way through.
   */
  bound = Infinity;

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
    this.k = k;
    this.s = new Float64Array(k);
    this.id = new Uint32Array(k);
    if (k === 0) this.bound = -Infinity;
  }

  get size(): number {
    return this.n;
  }

  /** Offers one row. NaN scores are never kept (a corrupt vector must not rank first or last). */
  push(id: number, score: number): void {
    if (score !== score) return;
    const s = this.s;
    const ids = this.id;
    if (this.n < this.k) {
      // Sift up from the new leaf.
      let i = this.n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (s[p] > score || (s[p] === score && ids[p] > id)) break;
        s[i] = s[p];
        ids[i] = ids[p];
        i = p;
      }
      s[i] = score;
      ids[i] = id;
      if (this.n === this.k) this.bound = s[0];
      return;
    }
    if (this.k === 0) return;
    if (score > s[0] || (score === s[0] && id >= ids[0])) return;
    // Replace the root (the worst kept) and sift down.
    const n = this.n;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      const r = l + 1;
      if (r < n && (s[r] > s[l] || (s[r] === s[l] && ids[r] > ids[l]))) c = r;
      if (s[c] < score || (s[c] === score && ids[c] < id)) break;
      s[i] = s[c];
      ids[i] = ids[c];
      i = c;
    }
    s[i] = score;
    ids[i] = id;
    this.bound = s[0];
  }

  /** Offers a block of precomputed scores (e.g. from the GPU kernel). */
  pushScores(ids: ArrayLike<number>, scores: ArrayLike<number>, count = ids.length): void {
    for (let i = 0; i < count; i++) {
      const v = scores[i];
      if (v <= this.bound) this.push(ids[i], v);
    }
  }

  /** Folds another accumulator's rows in (results of workers that each scanned part of the data). */
  merge(other: TopK | TopKResult): void {
    const r = other instanceof TopK ? other.peek() : other;
    this.pushScores(r.ids, r.scores);
  }

  /** The kept rows in heap order (no copy of the order; for merging). */
  private peek(): TopKResult {
    return { ids: this.id.subarray(0, this.n), scores: this.s.subarray(0, this.n) };
  }

  /** The kept rows sorted best first (score ascending, then id ascending). Does not reset. */
  result(): TopKResult {
    const n = this.n;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const s = this.s;
    const ids = this.id;
    order.sort((a, b) => s[a] - s[b] || ids[a] - ids[b]);
    const outIds = new Uint32Array(n);
    const outScores = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      outIds[i] = ids[order[i]];
      outScores[i] = s[order[i]];
    }
    return { ids: outIds, scores: outScores };
  }
}

/** Merges per-worker results into the global top k (same ordering rules). */
export function mergeTopK(parts: readonly TopKResult[], k: number): TopKResult {
  const top = new TopK(k);
  for (const p of parts) top.merge(p);
  return top.result();
}
