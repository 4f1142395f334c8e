// Messages between the dedup stage and its worker threads. A batch of bodies goes out; their feature
// bags come back packed into a few transferable arrays (one message per batch, not per function).
export interface DedupRequest {
  taskId: number;
  bodies: string[];
}

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
  error?: string;
}
