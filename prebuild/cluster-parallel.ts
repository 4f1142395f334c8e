// Worker threads for the clustering cores' heavy 768-d passes in the prebuild:
//   - a SilhouettePool (silhouette.ts) whose threads each hold the job's rows and compute the
//     chunks they are handed; the core adds the chunks' sums in a fixed order;
//   - a NearestPool (kmeans.ts) for mini-batch k-means: the rows are shared with the threads once
//     (a SharedArrayBuffer, copied into one if need be) and each labelling is split between this
//     thread and them.
// Results are the same, bit for bit, as on one thread, so the thread count is not an input of any
// stage.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { NearestPool, NearestRequest } from '../src/core/cluster/kmeans.ts';
import type { SilhouetteJob, SilhouettePool, SilhouetteWorkerReply, SilhouetteWorkerRequest } from '../src/core/cluster/silhouette.ts';

/** Messages of the nearest-centre labeller (cluster-worker.ts). */
export type NearestMessage =
  | { type: 'nearest-begin'; data: SharedArrayBuffer; n: number; d: number }
  | { type: 'nearest-label'; q: Omit<NearestRequest, 'lab' | 'best' | 'fast'> & { exact: boolean } }
  | { type: 'nearest-end' };
export type NearestReply = { type: 'ok' } | { type: 'labels'; lab: Int32Array; best: Float64Array } | { type: 'error'; message: string };

/** Threads for the clustering passes by default: one per core. */
export function defaultClusterWorkers(): number {
  return Math.max(1, availableParallelism());
}

interface Thread {
  worker: Worker;
  waiting: { resolve: (r: SilhouetteWorkerReply) => void; reject: (e: Error) => void } | null;
  failed: Error | null;
}

export interface NodeSilhouettePool extends SilhouettePool {
  close(): Promise<void>;
}

/** A pool of `size` threads (booted through worker-boot.mjs, like the other prebuild pools). */
export function createSilhouettePool(size = defaultClusterWorkers()): NodeSilhouettePool {
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`silhouette pool: size must be a positive integer, got ${size}`);
  const boot = new URL('./worker-boot.mjs', import.meta.url);
  const entry = new URL('./cluster-worker.ts', import.meta.url);
  const threads: Thread[] = Array.from({ length: size }, (_, i) => {
    const t: Thread = { worker: new Worker(boot, { workerData: { entry: entry.href } }), waiting: null, failed: null };
    const fail = (err: Error): void => {
      t.failed = err;
      const w = t.waiting;
      t.waiting = null;
      w?.reject(err);
    };
    t.worker.on('message', (r: SilhouetteWorkerReply) => {
      const w = t.waiting;
      t.waiting = null;
      w?.resolve(r);
    });
    t.worker.on('error', (err) => fail(new Error(`silhouette worker ${i} failed: ${err.message}`)));
    t.worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`silhouette worker ${i} exited with code ${code}`));
    });
    return t;
  });
  const idle: Thread[] = [...threads];
  const queue: ((t: Thread) => void)[] = [];

  const send = async (t: Thread, req: SilhouetteWorkerRequest): Promise<SilhouetteWorkerReply> => {
    if (t.failed) throw t.failed;
    const reply = await new Promise<SilhouetteWorkerReply>((resolve, reject) => {
      t.waiting = { resolve, reject };
      t.worker.postMessage(req);
    });
    if (reply.type === 'error') throw new Error(`silhouette worker failed: ${reply.message}`);
    return reply;
  };
  const acquire = (): Promise<Thread> => {
    const t = idle.pop();
    return t ? Promise.resolve(t) : new Promise((r) => queue.push(r));
  };
  const release = (t: Thread): void => {
    const next = queue.shift();
    if (next) next(t);
    else idle.push(t);
  };

  return {
    size,
    async begin(job: SilhouetteJob) {
      // Each thread gets its own copy of the rows (structured clone; 77 MB for 25k x 768).
      await Promise.all(threads.map((t) => send(t, { type: 'begin', job })));
    },
    async chunk(c: number) {
      const t = await acquire();
      try {
        const r = await send(t, { type: 'chunk', chunk: c });
        if (r.type !== 'sums' || r.chunk !== c) throw new Error(`silhouette worker: expected the sums of chunk ${c}`);
        return r.sums;
      } finally {
        release(t);
      }
    },
    async end() {
      await Promise.all(threads.map((t) => (t.failed ? Promise.resolve() : send(t, { type: 'end' }).then(() => undefined))));
    },
    async close() {
      await Promise.all(threads.map((t) => t.worker.terminate()));
    },
  };
}

/** Rows of `data` in a SharedArrayBuffer (the same array when it already is in one). */
function shared(data: Float32Array, n: number, d: number): SharedArrayBuffer {
  if (data.buffer instanceof SharedArrayBuffer && data.byteOffset === 0) return data.buffer;
  const sab = new SharedArrayBuffer(n * d * 4);
  new Float32Array(sab).set(data.subarray(0, n * d));
  return sab;
}

export interface NodeNearestPool extends NearestPool {
  close(): Promise<void>;
}

/**
 * A NearestPool of `size` threads besides the caller's (default: cores - 1). The rows are copied
 * once into shared memory unless they already are there.
 */
export function createNearestPool(size = defaultClusterWorkers() - 1): NodeNearestPool {
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`nearest pool: size must be a positive integer, got ${size}`);
  const boot = new URL('./worker-boot.mjs', import.meta.url);
  const entry = new URL('./cluster-worker.ts', import.meta.url);
  const threads = Array.from({ length: size }, (_, i) => {
    const worker = new Worker(boot, { workerData: { entry: entry.href } });
    const t = { worker, waiting: null as { resolve: (r: NearestReply) => void; reject: (e: Error) => void } | null, failed: null as Error | null };
    const fail = (err: Error): void => {
      t.failed = err;
      const w = t.waiting;
      t.waiting = null;
      w?.reject(err);
    };
    worker.on('message', (r: NearestReply) => {
      const w = t.waiting;
      t.waiting = null;
      w?.resolve(r);
    });
    worker.on('error', (err) => fail(new Error(`k-means worker ${i} failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`k-means worker ${i} exited with code ${code}`));
    });
    return t;
  });
  const send = async (i: number, msg: NearestMessage): Promise<NearestReply> => {
    const t = threads[i];
    if (!t) throw new RangeError(`nearest pool: no thread ${i}`);
    if (t.failed) throw t.failed;
    if (t.waiting) throw new Error(`nearest pool: thread ${i} is busy`);
    const reply = await new Promise<NearestReply>((resolve, reject) => {
      t.waiting = { resolve, reject };
      t.worker.postMessage(msg);
    });
    if (reply.type === 'error') throw new Error(`k-means worker failed: ${reply.message}`);
    return reply;
  };
  return {
    size,
    async begin(data, n, d) {
      const sab = shared(data, n, d);
      await Promise.all(threads.map((_, i) => send(i, { type: 'nearest-begin', data: sab, n, d })));
    },
    async label(i, q) {
      const r = await send(i, { type: 'nearest-label', q });
      if (r.type !== 'labels') throw new Error('k-means worker: expected labels');
      return r;
    },
    async end() {
      await Promise.all(threads.map((t, i) => (t.failed ? Promise.resolve() : send(i, { type: 'nearest-end' }).then(() => undefined))));
    },
    async close() {
      await Promise.all(threads.map((t) => t.worker.terminate()));
    },
  };
}
