// Gram-matrix kernel for PcaAccumulator on TensorFlow.js (WASM/XNNPACK or WebGPU). At d = 768 the
// JS rank-8 loop runs ~1.7 G multiply-adds/s; XNNPACK's single-threaded SIMD sgemm does ~10 G/s
// even though it computes the full matrix instead of the upper triangle. The transpose is explicit:
// tfjs-backend-wasm 4.22's matMul with transposeA is ~10x slower than transpose + matMul.
// Call initTfBackend() (gpu/tf-backend.ts) first; the kernel uses whatever backend tfjs has.
import * as tf from '@tensorflow/tfjs';
import type { GramKernel } from './pca.ts';

export function tfGramKernel(): GramKernel {
  return (rows, count, dim, scatter) => {
    const g = tf.tidy(() => {
      const x = tf.tensor2d(rows.subarray(0, count * dim), [count, dim]);
      return tf.matMul(tf.transpose(x), x);
    });
    // Synchronous read: PcaAccumulator.add is synchronous (cheap on wasm/cpu; on WebGPU this stalls
    // the pipeline, which the block size of thousands of rows amortises).
    const v = g.dataSync();
    g.dispose();
    for (let i = 0; i < dim * dim; i++) scatter[i] += v[i];
  };
}
