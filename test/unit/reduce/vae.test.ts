import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initTfBackend } from '../../../src/core/gpu/tf-backend.ts';
import { deserializeVae, disposeVae, encode, serializeVae, trainVae, vaeLearningRate, DEFAULT_VAE_SETTINGS, type VaeEpochStats } from '../../../src/core/reduce/vae.ts';
import { gaussianMixture, knnLabelAgreement } from './mixture.ts';

// Node has no WebGPU: this picks tfjs-backend-wasm when its binary loads in Node, else cpu.
const choice = await initTfBackend({ order: ['webgpu', 'wasm', 'cpu'] });
console.info(`VAE tests run on tfjs backend '${choice.backend}' (${choice.reason})`);

const small = { hidden: [128, 128], batchSize: 256, learningRate: 1e-3, lrDecayEpochs: [6], klAnnealEpochs: 2 };

describe(`VAE (tfjs ${choice.backend} backend)`, () => {
  it('picks wasm or cpu in Node and says why webgpu was skipped', () => {
    expect(['wasm', 'cpu']).toContain(choice.backend);
    expect(choice.skipped.find((s) => s.backend === 'webgpu')?.why).toMatch(/navigator\.gpu|adapter/);
  });

  it('step-decays the learning rate at the configured epochs', () => {
    const s = { ...DEFAULT_VAE_SETTINGS, learningRate: 1e-3, lrDecayEpochs: [3, 10, 20], lrDecayFactor: 0.5 };
    expect([0, 2, 3, 9, 10, 20, 29].map((e) => vaeLearningRate(s, e))).toEqual([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 1.25e-4, 1.25e-4]);
  });

  it('learns a 64-d Gaussian mixture: loss falls, no latent dimension collapses, clusters stay apart', async () => {
    const mix = gaussianMixture(3000, 64, 6, 11);
    const epochs: VaeEpochStats[] = [];
    const model = await trainVae(mix.data, mix.n, mix.d, { ...small, latentDim: 2, epochs: 8, seed: 1 }, { onEpoch: (s) => epochs.push(s) });
    try {
      expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const first = epochs[0];
      const last = epochs[epochs.length - 1];
      expect(last.reconLoss).toBeLessThan(0.8 * first.reconLoss);
      expect(last.reconLoss + last.klLoss).toBeLessThan(first.reconLoss + first.klLoss);
      expect(last.klWeight).toBe(1);
      expect(last.lr).toBeCloseTo(5e-4, 12);
      for (const e of epochs) {
        expect(e.klPerDim).toHaveLength(2);
        expect(e.samplesPerSec).toBeGreaterThan(0);
      }
      // Each latent dimension carries information (a collapsed one has KL ~ 0).
      for (const kl of last.klPerDim) expect(kl).toBeGreaterThan(0.5);
      const z = await encode(model, mix.data, mix.n);
      expect(z.length).toBe(mix.n * 2);
      expect(knnLabelAgreement(z.subarray(0, 600 * 2), 2, mix.labels.subarray(0, 600))).toBeGreaterThan(0.9);
    } finally {
      disposeVae(model);
    }
  });

  it("collapses with the study's weighting (KL weight = d, i.e. mean reconstruction + summed KL), which the default avoids", async () => {
    // Shows the KL floor above can fail: the same data and net with the study's loss balance.
    const mix = gaussianMixture(3000, 64, 6, 11);
    const epochs: VaeEpochStats[] = [];
    const model = await trainVae(mix.data, mix.n, mix.d, { ...small, latentDim: 2, epochs: 5, seed: 1, klWeight: mix.d }, { onEpoch: (s) => epochs.push(s) });
    disposeVae(model);
    for (const kl of epochs[epochs.length - 1].klPerDim) expect(kl).toBeLessThan(0.05);
  });

  it('is deterministic for a seed, and serialise/deserialise gives identical encodings', async () => {
    const mix = gaussianMixture(600, 32, 4, 5);
    const opts = { ...small, hidden: [48, 48], latentDim: 3, epochs: 2, seed: 7 };
    const tensorsBefore = tf.memory().numTensors;
    const a = await trainVae(mix.data, mix.n, mix.d, opts);
    const b = await trainVae(mix.data, mix.n, mix.d, opts);
    const c = await trainVae(mix.data, mix.n, mix.d, { ...opts, seed: 8 });
    try {
      const za = await encode(a, mix.data);
      const zb = await encode(b, mix.data);
      const zc = await encode(c, mix.data);
      expect(Array.from(zb)).toEqual(Array.from(za));
      expect(Array.from(zc)).not.toEqual(Array.from(za));
      const { json, binary } = await serializeVae(a);
      // Through an unaligned copy, as a byte range read from a file may be.
      const shifted = new Uint8Array(binary.byteLength + 1);
      shifted.set(binary, 1);
      const back = deserializeVae(json, shifted.subarray(1));
      try {
        expect(back.settings).toEqual(a.settings);
        // The saved history keeps the losses; throughput is zeroed so saving is byte-stable.
        expect(back.history).toEqual(a.history.map((h) => ({ ...h, samplesPerSec: 0 })));
        const zr = await encode(back, mix.data, mix.n, 100); // different chunking, same result
        expect(Array.from(zr)).toEqual(Array.from(za));
      } finally {
        disposeVae(back);
      }
    } finally {
      disposeVae(a);
      disposeVae(b);
      disposeVae(c);
    }
    // Training, encoding and (de)serialising leave no tensors behind once the models are disposed.
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('stops when aborted and when paused waits before the next step', async () => {
    const mix = gaussianMixture(1000, 16, 3, 9);
    const ctrl = new AbortController();
    let steps = 0;
    let epochsSeen = 0;
    const run = trainVae(mix.data, mix.n, mix.d, { ...small, hidden: [16, 16], batchSize: 100, epochs: 50 }, {
      onStep: () => {
        if (++steps === 3) ctrl.abort();
      },
      onEpoch: () => epochsSeen++,
      signal: ctrl.signal,
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(steps).toBe(3);
    expect(epochsSeen).toBe(0);

    let pauses = 0;
    let release: () => void = () => {};
    let stepsAtPause = -1;
    let stepsDone = 0;
    const paused = trainVae(mix.data, mix.n, mix.d, { ...small, hidden: [16, 16], batchSize: 500, epochs: 1 }, {
      onStep: () => stepsDone++,
      shouldPause: () => {
        pauses++;
        if (pauses !== 2) return Promise.resolve();
        stepsAtPause = stepsDone;
        return new Promise<void>((r) => (release = r));
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(stepsAtPause).toBe(1);
    expect(stepsDone).toBe(1); // held at the pause
    release();
    const m = await paused;
    expect(stepsDone).toBe(2);
    disposeVae(m);
  });
});
