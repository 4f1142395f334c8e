// The summaries stage's k-NN threads (summaries-worker.ts through the shared WorkerPool): one builds
// the held-out evaluation's IVF index while the main thread builds the full pool's, then every thread
// searches query batches on the full pool's index in shared memory. Results are exact per query, so
// they are the single-thread results whatever the number of threads.
import type { VectorBlock } from '../src/core/search/knn.ts';
import { sharedBatchIndex, type BatchIndex } from './summaries-knn.ts';
import type { PackedResults, SummKnnRequest, SummKnnResponse } from './summaries-protocol.ts';
import { WorkerPool } from './worker-pool.ts';

export class KnnThreads {
  private readonly pool: WorkerPool<SummKnnRequest, SummKnnResponse>;
  readonly size: number;

  constructor(threads: number) {
    this.size = threads;
    this.pool = new WorkerPool<SummKnnRequest, SummKnnResponse>(new URL('./summaries-worker.ts', import.meta.url), threads, 'summaries k-NN');
  }

  /** buildIvfBatchIndex() on a thread; the pool's arrays are moved there (detached here). */
  async build(block: Extract<VectorBlock, { kind: 'int8' }>, nlist: number, nprobe: number, seed: number): Promise<BatchIndex> {
    const { result } = await this.pool.submit(
      { kind: 'build', ids: block.ids, codes: block.codes, scales: block.scales, dim: block.dim, nlist, nprobe, seed },
      [block.ids.buffer as ArrayBuffer, block.codes.buffer as ArrayBuffer, block.scales.buffer as ArrayBuffer],
    );
    const res = await result;
    if (!res.index) throw new Error('summaries k-NN worker returned no index');
    return res.index;
  }

  /** Hands every thread the index to search (copied once into shared memory). */
  async init(index: BatchIndex): Promise<void> {
    await this.pool.broadcast({ kind: 'init', index: sharedBatchIndex(index) });
  }

  /** Waits for an idle thread and hands it a batch (the queries' buffer is moved there); resolves to the result's promise. */
  async submit(queries: Float32Array, m: number, k: number): Promise<{ result: Promise<PackedResults> }> {
    const { result } = await this.pool.submit({ kind: 'search', queries, m, k }, [queries.buffer as ArrayBuffer]);
    return {
      result: result.then((r) => {
        if (!r.results) throw new Error('summaries k-NN worker returned no results');
        return r.results;
      }),
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
