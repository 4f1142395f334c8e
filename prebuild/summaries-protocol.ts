// Messages between the summaries stage and its k-NN threads (summaries-worker.ts), three kinds:
//   build:  an int8 pool goes out, its IVF BatchIndex comes back (the held-out evaluation's pool is
//           indexed on a thread while the main thread indexes the full pool);
//   init:   sent once to every thread: the index the searches run on, in shared memory (not copied);
//   search: a batch of float32 queries goes out (transferred), their k nearest come back packed.
// Results are exact per query (summaries-knn.ts), so how batches are spread over threads changes nothing.
import type { BatchIndex } from './summaries-knn.ts';

export interface BuildRequest {
  taskId: number;
  kind: 'build';
  ids: Uint32Array;
  codes: Int8Array;
  scales: Float32Array;
  dim: number;
  nlist: number;
  nprobe: number;
  seed: number;
}

export interface InitRequest {
  taskId: number;
  kind: 'init';
  index: BatchIndex;
}

export interface SearchRequest {
  taskId: number;
  kind: 'search';
  /** m x dim, row-major. */
  queries: Float32Array;
  m: number;
  k: number;
}

export type SummKnnRequest = BuildRequest | InitRequest | SearchRequest;

/** The k nearest of m queries: query i's hits are ids/distances[i * k .. i * k + counts[i]), nearest first. */
export interface PackedResults {
  ids: Uint32Array;
  distances: Float64Array;
  counts: Uint16Array;
}

export interface SummKnnResponse {
  taskId: number;
  error?: string;
  index?: BatchIndex;
  results?: PackedResults;
}
