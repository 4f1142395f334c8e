// Messages between the dedup stage and its worker threads, three kinds:
//   features: a batch of bodies goes out; their feature bags come back packed into a few transferable
//             arrays (one message per batch, not per function);
//   sign-init: sent once to every thread before signing: the document-frequency table (shared
//             memory, not copied), the number of distinct documents, the signature settings and the
//             most frequent features (whose draws the thread computes once and keeps);
//   sign:     a features batch's packed bags go back out (transferred, not copied) with a mask of the
//             bags to sign; each thread weighs them (log-TF-log-IDF with the shared table) and returns
//             their weighted-MinHash signatures as one transferable array.
import type { DfTableData } from './dedup-df.ts';

export interface FeaturesRequest {
  taskId: number;
  kind?: 'features';
  bodies: string[];
}

export interface SignInitRequest {
  taskId: number;
  kind: 'sign-init';
  df: DfTableData;
  /** Documents the frequencies were counted over (distinct bodies). */
  nDocs: number;
  /** Kind weights in FEATURE_KINDS order, minimum document frequency, samples and seed. */
  kindWeights: number[];
  minDf: number;
  samples: number;
  seed: number;
  /** The corpus's most frequent features: each thread caches their draws once for all its batches. */
  frequent: Uint32Array;
}

export interface SignRequest {
  taskId: number;
  kind: 'sign';
  /** Packed bags as a features response holds them (only bags with ok[i] have features). */
  ok: Uint8Array;
  start: Uint32Array;
  hashes: Uint32Array;
  counts: Float32Array;
  kindOffsets: Uint32Array;
  /** Per body: 1 to sign it (it has a bag and is the first of its exact-duplicate set). */
  sign: Uint8Array;
}

export type DedupRequest = FeaturesRequest | SignInitRequest | SignRequest;

export interface DedupResponse {
  taskId: number;
  /** Per body: 1 when it parsed and has features, 0 when it did not parse (no bag). */
  ok?: Uint8Array;
  /** Bag i's features are hashes/counts [start[i], start[i+1]); start has bodies.length + 1 entries. */
  start?: Uint32Array;
  hashes?: Uint32Array;
  counts?: Float32Array;
  /** (N_KINDS + 1) offsets per body, relative to the bag's own start. */
  kindOffsets?: Uint32Array;
  /** Two words per body. */
  normHash?: Uint32Array;
  /** sign: `samples` words per signed body, in body order. */
  signatures?: Uint32Array;
  error?: string;
}
