// Data-parallel VAE training: a batch split over W replicas gives the single-replica gradient up to
// rounding, training with W = 1 and W = 2 follows the same path, the worker-thread engine (the
// prebuild's) gives exactly what the same split gives in this realm, and training still learns.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTfBackend } from '../../../src/core/gpu/tf-backend.ts';
import {
  Adam,
  DEFAULT_VAE_SETTINGS,
  disposeVae,
  encode,
  initVaeWeights,
  localVaeEngine,
  localVaeShard,
  shardedVaeEngine,
  splitRows,
  trainVae,
  vaeParamLayout,
  type VaeEpochStats,
  type VaeGradientEngine,
  type VaeSettings,
  type VaeShard,
} from '../../../src/core/reduce/vae.ts';
import { createRng } from '../../../src/core/util/random.ts';
import { createVaeEngine } from '../../../prebuild/vae-parallel.ts';
import { gaussianMixture, knnLabelAgreement } from './mixture.ts';

const choice = await initTfBackend({ order: ['wasm', 'cpu'] });

const small: Partial<VaeSettings> = { hidden: [64, 64], batchSize: 250, learningRate: 1e-3, lrDecayEpochs: [6], klAnnealEpochs: 2 };

function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);
}

async function run(engine: VaeGradientEngine | undefined, settings: Partial<VaeSettings>, mix = gaussianMixture(1500, 48, 5, 3)) {
  const epochs: VaeEpochStats[] = [];
  const model = await trainVae(mix.data, mix.n, mix.d, settings, { onEpoch: (s) => epochs.push(s) }, engine);
  const z = await encode(model, mix.data, mix.n);
  disposeVae(model);
  return { epochs, z, mix };
}

describe(`data-parallel VAE (tfjs ${choice.backend})`, () => {
  let threads: VaeGradientEngine;
  beforeAll(() => {
    threads = createVaeEngine(2);
  });
  afterAll(async () => {
    await threads?.close();
  });

  it('splits a batch into contiguous, nearly equal parts, never an empty one', () => {
    expect(splitRows(10_000, 2)).toEqual([5000, 5000]);
    expect(splitRows(1657, 2)).toEqual([829, 828]);
    expect(splitRows(7, 3)).toEqual([3, 2, 2]);
    expect(splitRows(1, 4)).toEqual([1]);
    expect(splitRows(5, 1)).toEqual([5]);
  });

  it('the JS Adam step is tf.train.adam’s (same rule and defaults)', async () => {
    const rng = createRng(4);
    const size = 257;
    const w0 = Float32Array.from({ length: size }, () => rng.normal());
    const grads = [0, 1, 2].map(() => Float32Array.from({ length: size }, () => rng.normal()));
    const ours = w0.slice();
    const adam = new Adam(size);
    const v = tf.variable(tf.tensor1d(w0), true, 'adam-check');
    const opt = tf.train.adam(0.01);
    for (const g of grads) {
      adam.step(ours, g, 0.01);
      const gt = tf.tensor1d(g);
      opt.applyGradients([{ name: v.name, tensor: gt }]);
      gt.dispose();
    }
    const theirs = await v.data();
    for (let i = 0; i < size; i++) expect(Math.abs(ours[i]! - theirs[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(theirs[i]!)));
    v.dispose();
    opt.dispose();
  });

  it('the gradients of the parts add up to the whole batch’s gradient', async () => {
    const mix = gaussianMixture(300, 40, 4, 8);
    const settings: VaeSettings = { ...DEFAULT_VAE_SETTINGS, hidden: [32, 32], latentDim: 3 };
    const weights = initVaeWeights(mix.d, settings, createRng(2));
    const noiseRng = createRng(9);
    const noise = Float32Array.from({ length: mix.n * 3 }, () => noiseRng.normal());
    const setup = { inputDim: mix.d, settings, shift: new Float32Array(mix.d), invScale: new Float32Array(mix.d).fill(0.5) };
    const one = localVaeEngine();
    const three = shardedVaeEngine([localVaeShard(), localVaeShard(), localVaeShard()]);
    await one.start(setup);
    await three.start(setup);
    const a = await one.gradients(weights, mix.data, mix.n, noise, 0.7);
    const b = await three.gradients(weights, mix.data, mix.n, noise, 0.7);
    await one.close();
    await three.close();
    expect(b.grads.length).toBe(weights.length);
    expect(relDiff(a.reconSum, b.reconSum)).toBeLessThan(1e-5);
    for (let j = 0; j < 3; j++) expect(relDiff(a.klSum[j]!, b.klSum[j]!)).toBeLessThan(1e-5);
    let num = 0;
    let den = 0;
    for (let i = 0; i < a.grads.length; i++) {
      num += (a.grads[i]! - b.grads[i]!) ** 2;
      den += a.grads[i]! ** 2;
    }
    expect(den).toBeGreaterThan(0);
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
    // Every parameter receives a gradient (none is left at zero by a broken layout).
    for (const p of vaeParamLayout(mix.d, settings)) {
      let s = 0;
      for (let i = p.offset; i < p.offset + p.size; i++) s += Math.abs(a.grads[i]!);
      expect(s, p.name).toBeGreaterThan(0);
    }
  });

  it('W = 1 and W = 2 give the same losses (to ~1e-4 relative) after several steps; W = 2 in threads is W = 2 in this realm, bit for bit', async () => {
    const settings = { ...small, latentDim: 2, epochs: 3, seed: 5 };
    const w1 = await run(undefined, settings);
    const w2local = await run(shardedVaeEngine([localVaeShard(), localVaeShard()]), settings);
    const w2threads = await run(threads, settings);
    expect(w1.epochs).toHaveLength(3);
    for (let e = 0; e < 3; e++) {
      expect(relDiff(w1.epochs[e]!.reconLoss, w2local.epochs[e]!.reconLoss)).toBeLessThan(1e-4);
      expect(relDiff(w1.epochs[e]!.klLoss, w2local.epochs[e]!.klLoss)).toBeLessThan(1e-4);
    }
    // Same split, same code, same backend: the threads change nothing.
    expect(w2threads.epochs.map((e) => [e.reconLoss, ...e.klPerDim])).toEqual(w2local.epochs.map((e) => [e.reconLoss, ...e.klPerDim]));
    expect(Array.from(w2threads.z)).toEqual(Array.from(w2local.z));
    // And a rerun with the threads is the same run (byte-deterministic for a given W).
    const again = await run(threads, settings);
    expect(Array.from(again.z)).toEqual(Array.from(w2threads.z));
  });

  it('with 2 worker threads the loss falls, no latent dimension collapses and clusters stay apart', async () => {
    const mix = gaussianMixture(3000, 64, 6, 11);
    const { epochs, z } = await run(threads, { ...small, hidden: [128, 128], batchSize: 256, latentDim: 2, epochs: 8, seed: 1 }, mix);
    const first = epochs[0]!;
    const last = epochs[epochs.length - 1]!;
    expect(last.reconLoss).toBeLessThan(0.8 * first.reconLoss);
    expect(last.reconLoss + last.klLoss).toBeLessThan(first.reconLoss + first.klLoss);
    for (const kl of last.klPerDim) expect(kl).toBeGreaterThan(0.5);
    expect(knnLabelAgreement(z.subarray(0, 600 * 2), 2, mix.labels.subarray(0, 600))).toBeGreaterThan(0.9);
  });

  it('a batch smaller than the worker count uses fewer parts; training leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const mix = gaussianMixture(9, 8, 2, 1);
    const { epochs } = await run(shardedVaeEngine([localVaeShard(), localVaeShard(), localVaeShard(), localVaeShard()]), { hidden: [8, 8], batchSize: 3, epochs: 2, latentDim: 2 }, mix);
    expect(epochs).toHaveLength(2);
    expect(Number.isFinite(epochs[1]!.reconLoss)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a replica failing mid-training rejects the training with that replica’s error', async () => {
    const mix = gaussianMixture(400, 16, 3, 2);
    const healthy = localVaeShard();
    let steps = 0;
    const flaky: VaeShard = {
      async request(req) {
        if (req.type === 'step' && ++steps === 3) return { type: 'error', message: 'replica 1 ran out of memory' };
        return healthy.request(req);
      },
      close: () => healthy.close(),
    };
    const slow = localVaeShard();
    const engine = shardedVaeEngine([slow, flaky]);
    await expect(trainVae(mix.data, mix.n, mix.d, { hidden: [8, 8], batchSize: 50, epochs: 2 }, {}, engine)).rejects.toThrow('VAE worker failed: replica 1 ran out of memory');
    expect(steps).toBe(3);
    await engine.close();
  });

  it('reports a replica’s failure as an error, and rejects a bad worker count', async () => {
    const eng = createVaeEngine(2);
    try {
      await expect(eng.gradients(new Float32Array(4), new Float32Array(4), 1, new Float32Array(2), 1)).rejects.toThrow(/before start/);
      await eng.start({ inputDim: 4, settings: { ...DEFAULT_VAE_SETTINGS, hidden: [4], latentDim: 2 }, shift: new Float32Array(4), invScale: new Float32Array(4).fill(1) });
      // Wrong number of weights: each replica refuses it, and the error says why.
      await expect(eng.gradients(new Float32Array(5), new Float32Array(8), 2, new Float32Array(4), 1)).rejects.toThrow(/VAE worker failed: .*5 weights/);
    } finally {
      await eng.close();
    }
    expect(() => createVaeEngine(0)).toThrow(/positive integer/);
  });
});
