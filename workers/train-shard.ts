// A sub-worker of the train worker: one replica of the VAE on tfjs WASM that computes the gradient
// of its part of each batch (the core's shard handler; the train worker sums the parts and applies
// Adam). Plain postMessage, one request at a time; the gradient buffer is transferred back.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { initTfBackend } from '../src/core/gpu/tf-backend.ts';
import { createVaeShardHandler, type VaeShardRequest } from '../src/core/reduce/vae.ts';

const ready = initTfBackend({
  // Never WebGPU here: sub-workers exist only when the train worker itself runs on WASM.
  order: ['wasm', 'cpu'],
  wasmPaths: {
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  },
});
const handle = createVaeShardHandler();
let queue: Promise<void> = Promise.resolve();

self.onmessage = (e: MessageEvent<VaeShardRequest>) => {
  const req = e.data;
  queue = queue.then(async () => {
    await ready;
    const reply = await handle(req);
    self.postMessage(reply, reply.type === 'grads' ? [reply.result.grads.buffer as ArrayBuffer] : []);
  });
};
