// Data-parallel VAE training in Node: W worker threads, each holding one replica of the net on tfjs
// WASM (the core's createVaeShardHandler behind vae-shard-worker.ts), driven by the core's sharded
// engine. trainVae(…, engine) splits every batch over them and sums their gradients; the coordinator
// (this thread) keeps the weights and applies Adam. Threads are booted through worker-boot.mjs (tsx
// inside the thread), like the other prebuild pools, and live until close().
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  localVaeEngine,
  remoteVaeShard,
  shardedVaeEngine,
  type VaeGradientEngine,
  type VaeShardChannel,
  type VaeShardReply,
} from '../src/core/reduce/vae.ts';

/** Worker threads for VAE training by default: one per core. */
export function defaultVaeWorkers(): number {
  return Math.max(1, availableParallelism());
}

function threadChannel(index: number): VaeShardChannel {
  const boot = new URL('./worker-boot.mjs', import.meta.url);
  const entry = new URL('./vae-shard-worker.ts', import.meta.url);
  const w = new Worker(boot, { workerData: { entry: entry.href } });
  return {
    post: (msg, transfer) => w.postMessage(msg, transfer),
    listen(onReply, onError) {
      w.on('message', (r: VaeShardReply) => onReply(r));
      w.on('error', (err) => onError(new Error(`VAE worker ${index} failed: ${err.message}`)));
      w.on('exit', (code) => {
        if (code !== 0) onError(new Error(`VAE worker ${index} exited with code ${code}`));
      });
    },
    terminate: async () => {
      await w.terminate();
    },
  };
}

/**
 * A gradient engine over `workers` threads (1 = no thread: the replica runs in this thread). The
 * caller closes it. For a given W, training is bit-for-bit repeatable (see vae.ts).
 */
export function createVaeEngine(workers: number): VaeGradientEngine {
  if (!(Number.isInteger(workers) && workers >= 1)) throw new RangeError(`VAE workers must be a positive integer, got ${workers}`);
  if (workers === 1) return localVaeEngine();
  return shardedVaeEngine(Array.from({ length: workers }, (_, i) => remoteVaeShard(threadChannel(i))));
}
