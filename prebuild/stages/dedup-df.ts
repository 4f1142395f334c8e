// Document frequencies of feature hashes as an open-addressing table in two typed arrays (keys and
// counts, linear probing on fmix32 of the key; a count of 0 marks an empty slot, since every stored
// feature occurs at least once). The dedup stage counts into it on the main thread, then hands the
// arrays, in SharedArrayBuffers, to its worker threads once: each thread looks frequencies up in
// the same memory (no copy per thread or per batch) and weighs its batches exactly as weighBags does
// with a Map, because get() returns the same numbers.
import type { FeatureBag } from '../../src/core/dedup/features.ts';
import { fmix32 } from '../../src/core/dedup/features.ts';
import type { DocumentFrequencyLookup } from '../../src/core/dedup/tfidf.ts';

/** What crosses to a worker thread: the table's arrays (shared memory) and its size. */
export interface DfTableData {
  keys: Uint32Array;
  counts: Uint32Array;
  size: number;
}

export class DfTable implements DocumentFrequencyLookup {
  private keys: Uint32Array;
  private counts: Uint32Array;
  private mask: number;
  size = 0;

  constructor(data?: DfTableData, capacity = 1 << 16) {
    if (data) {
      if (data.keys.length !== data.counts.length || (data.keys.length & (data.keys.length - 1)) !== 0) throw new Error('dedup: a document-frequency table needs two arrays of one power-of-two length');
      this.keys = data.keys;
      this.counts = data.counts;
      this.size = data.size;
    } else {
      this.keys = new Uint32Array(capacity);
      this.counts = new Uint32Array(capacity);
    }
    this.mask = this.keys.length - 1;
  }

  get(hash: number): number | undefined {
    const { keys, counts, mask } = this;
    for (let s = fmix32(hash) & mask; ; s = (s + 1) & mask) {
      const c = counts[s];
      if (c === 0) return undefined;
      if (keys[s] === hash) return c;
    }
  }

  /** Adds one to the count of `hash`. */
  increment(hash: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const { keys, counts, mask } = this;
    for (let s = fmix32(hash) & mask; ; s = (s + 1) & mask) {
      if (counts[s] === 0) {
        keys[s] = hash;
        counts[s] = 1;
        this.size++;
        return;
      }
      if (keys[s] === hash) {
        counts[s]++;
        return;
      }
    }
  }

  /** Counts every feature hash of `bag` once per occurrence, as documentFrequencies does. */
  addBag(bag: Pick<FeatureBag, 'hashes'>): void {
    for (let i = 0; i < bag.hashes.length; i++) this.increment(bag.hashes[i]);
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldCounts = this.counts;
    this.keys = new Uint32Array(oldKeys.length * 2);
    this.counts = new Uint32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    for (let s = 0; s < oldKeys.length; s++) {
      if (oldCounts[s] === 0) continue;
      let t = fmix32(oldKeys[s]) & this.mask;
      while (this.counts[t] !== 0) t = (t + 1) & this.mask;
      this.keys[t] = oldKeys[s];
      this.counts[t] = oldCounts[s];
    }
  }

  /**
   * Up to `max` hashes counted at least `minCount` times, the most frequent (ties at the cut in slot
   * order): the features whose weighted-MinHash draws a signing thread caches.
   */
  mostFrequent(max: number, minCount = 2): Uint32Array {
    const { keys, counts } = this;
    // Histogram of counts (capped), then the smallest count that keeps at most `max` hashes.
    const cap = 1 << 20;
    const hist = new Uint32Array(cap + 1);
    for (let s = 0; s < counts.length; s++) if (counts[s] >= minCount) hist[Math.min(counts[s], cap)]++;
    let cut = cap;
    let above = 0;
    while (cut >= minCount && above + hist[cut] <= max) above += hist[cut--];
    const out: number[] = [];
    for (let s = 0; s < counts.length; s++) if (counts[s] > cut) out.push(keys[s]);
    for (let s = 0; s < counts.length && out.length < max; s++) if (counts[s] === cut && cut >= minCount) out.push(keys[s]);
    return Uint32Array.from(out);
  }

  /** The table in shared memory, for worker threads (new DfTable(data) there). */
  shared(): DfTableData {
    const keys = new Uint32Array(new SharedArrayBuffer(this.keys.byteLength));
    const counts = new Uint32Array(new SharedArrayBuffer(this.counts.byteLength));
    keys.set(this.keys);
    counts.set(this.counts);
    return { keys, counts, size: this.size };
  }
}
