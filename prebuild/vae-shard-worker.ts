// One VAE replica in a worker thread (see vae-parallel.ts): tfjs WASM, the core's shard handler,
// replies with the gradient buffer transferred.
import { parentPort } from 'node:worker_threads';
import { initTfBackend } from '../src/core/gpu/tf-backend.ts';
import { createVaeShardHandler, type VaeShardRequest } from '../src/core/reduce/vae.ts';

const port = parentPort;
if (!port) throw new Error('vae-shard-worker must run in a worker thread');
const ready = initTfBackend({ order: ['wasm', 'cpu'] });
const handle = createVaeShardHandler();
// One request at a time (the coordinator waits for each reply), in arrival order.
let queue: Promise<void> = Promise.resolve();
port.on('message', (req: VaeShardRequest) => {
  queue = queue.then(async () => {
    await ready;
    const reply = await handle(req);
    port.postMessage(reply, reply.type === 'grads' ? [reply.result.grads.buffer as ArrayBuffer] : []);
  });
});
