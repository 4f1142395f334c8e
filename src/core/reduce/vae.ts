// Variational autoencoder for the 2-D/3-D map layout (the study's Figure "VAE map"), on TensorFlow.js.
// Architecture as in the study: encoder d -> 512 ELU -> 512 ELU -> (mu, log sigma) of a latent of
// size 2 or 3; decoder latent -> 512 ELU -> 512 ELU -> d (linear). Points are placed at mu.
//
// The study's defect, and the fix. Its loss was the *mean* squared reconstruction error (averaged
// over the d coordinates) plus the *summed* KL divergence: on unit-normalised 768-d embeddings the
// reconstruction term is ~1/768 of a sum, the KL term wins, and every latent dimension collapses to
// the prior (mu ~ 0 for all points). Here both terms are per-sample sums (a Gaussian likelihood with
// unit noise: 0.5 * sum_j (x_j - x^_j)^2 and sum over latent dims of KL), the inputs are
// standardised per feature (so the reconstruction term measures the data's structure, not its
// scale), and the KL weight ramps linearly from 0 to `klWeight` over `klAnnealEpochs` (KL
// annealing, Bowman et al. 2016). KL per latent dimension is reported every epoch so a collapse
// (a dimension whose KL goes to 0 carries no information) is visible.
//
// Speed: in tfjs-backend-wasm 4.22 a matMul with a transpose flag is 10-20x slower than an explicit
// transpose followed by a plain matMul (measured: 10000x768x512 dW 6.6 s vs 0.33 s), and the
// built-in gradient of matMul uses the flags. So dense layers use a custom gradient with explicit
// transposes, and the first layer skips the (unused) gradient with respect to the input.
//
// Determinism: weights are initialised and batches shuffled and the reparameterisation noise drawn
// from the seeded generator in util/random.ts (not tfjs's RNG), so the same seed gives the same
// starting point on every backend; on the single-threaded wasm and cpu backends training is then
// bit-for-bit repeatable. WebGPU reductions may differ in the last bits.

import * as tf from '@tensorflow/tfjs';
import { createRng, type Rng } from '../util/random.ts';

export interface VaeSettings {
  /** Latent dimensions (2 or 3 for a map). */
  latentDim: number;
  /** Encoder hidden layer sizes; the decoder mirrors them (study: [512, 512]). */
  hidden: number[];
  /** Rows per step (study: 10,000). Clamped to n. */
  batchSize: number;
  /** Passes over the data (study: 30). */
  epochs: number;
  /**
   * Adam learning rate at epoch 0. The study used 0.03, which diverges on this data (STACK.md);
   * 1e-3 is Adam's usual rate.
   */
  learningRate: number;
  /** Epochs (0-based) at whose start the rate is multiplied by `lrDecayFactor` (study: 3, 10, 20). */
  lrDecayEpochs: number[];
  lrDecayFactor: number;
  /** Final weight of the KL term (1 = the evidence lower bound). */
  klWeight: number;
  /** The KL weight ramps linearly from 0 to klWeight over this many epochs (0 = no annealing). */
  klAnnealEpochs: number;
  /** Standardise each input feature (zero mean, unit variance) before the network. */
  standardize: boolean;
  seed: number;
}

export const DEFAULT_VAE_SETTINGS: Readonly<VaeSettings> = Object.freeze({
  latentDim: 3,
  hidden: [512, 512],
  batchSize: 10_000,
  epochs: 30,
  learningRate: 1e-3,
  lrDecayEpochs: [3, 10, 20],
  lrDecayFactor: 0.5,
  klWeight: 1,
  klAnnealEpochs: 5,
  standardize: true,
  seed: 0,
});

export interface VaeEpochStats {
  /** 1-based epoch just finished. */
  epoch: number;
  /** Mean over samples of the per-sample reconstruction term (0.5 * squared error, summed over d). */
  reconLoss: number;
  /** Mean over samples of the per-sample KL divergence, summed over latent dims (unweighted). */
  klLoss: number;
  /** Mean KL of each latent dimension (nats); near 0 means that dimension has collapsed. */
  klPerDim: number[];
  /** KL weight in effect at the end of the epoch. */
  klWeight: number;
  samplesPerSec: number;
  /** Learning rate used in this epoch. */
  lr: number;
}

export interface VaeTrainHooks {
  onEpoch?(stats: VaeEpochStats): void;
  /** Called after every step with rows done in this epoch (for progress bars). */
  onStep?(done: number, total: number, epoch: number): void;
  /** Aborting stops training before the next step; trainVae then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Awaited before every step: resolve it to continue (pause/resume from a UI). */
  shouldPause?: () => Promise<void>;
}

interface Dense {
  w: tf.Variable<tf.Rank.R2>;
  b: tf.Variable<tf.Rank.R1>;
}

export interface VaeModel {
  inputDim: number;
  settings: VaeSettings;
  /** Per-feature shift and 1/scale applied before the encoder (identity when not standardising). */
  shift: Float32Array;
  invScale: Float32Array;
  /** Hidden layers of the encoder (ELU). */
  encoder: Dense[];
  mu: Dense;
  logSigma: Dense;
  /** Hidden layers of the decoder (ELU), then the linear output layer. */
  decoder: Dense[];
  output: Dense;
  /** Stats of every epoch trained. */
  history: VaeEpochStats[];
  /** tfjs backend the model was trained on. */
  backend: string;
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error('VAE training aborted');
  e.name = 'AbortError';
  return e;
}

// tfjs keeps one global registry of variable names: each model instance gets its own prefix.
let instances = 0;
const uniqueName = (name: string): string => `vae${instances}/${name}`;

/** A variable from a fresh tensor; the tensor is released (the variable keeps its data). */
function toVariable<R extends tf.Rank>(t: tf.Tensor<R>, name: string): tf.Variable<R> {
  const v = tf.variable(t, true, uniqueName(name));
  t.dispose();
  return v;
}

function glorotDense(inDim: number, outDim: number, rng: Rng, name: string): Dense {
  // Glorot-uniform weights (the Keras default the study used), zero biases.
  const limit = Math.sqrt(6 / (inDim + outDim));
  const w = new Float32Array(inDim * outDim);
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * limit;
  return {
    w: toVariable(tf.tensor2d(w, [inDim, outDim]), `${name}/w`),
    b: toVariable(tf.zeros([outDim]) as tf.Tensor1D, `${name}/b`),
  };
}

// y = x W + b with explicit transposes in the gradient (see the header). The variant without
// input gradient returns zeros for x, which costs a fill instead of a (B x out x in) product.
const denseOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b] = args as tf.Tensor[];
  const save = args[3] as tf.GradSaveFunc;
  const y = tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b);
  save([x, w]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved;
      return [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(sw as tf.Tensor2D)),
        tf.matMul(tf.transpose(sx as tf.Tensor2D), dy as tf.Tensor2D),
        tf.sum(dy, 0),
      ];
    },
  };
}) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

const denseNoInputGrad = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b] = args as tf.Tensor[];
  const save = args[3] as tf.GradSaveFunc;
  const y = tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b);
  save([x]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx] = saved;
      return [tf.zerosLike(sx), tf.matMul(tf.transpose(sx as tf.Tensor2D), dy as tf.Tensor2D), tf.sum(dy, 0)];
    },
  };
}) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

function encodeTensors(model: VaeModel, x: tf.Tensor2D, training: boolean): { mu: tf.Tensor2D; logSigma: tf.Tensor2D } {
  let h: tf.Tensor2D = x;
  model.encoder.forEach((l, i) => {
    const lin = i === 0 && training ? denseNoInputGrad(h, l.w, l.b) : training ? denseOp(h, l.w, l.b) : tf.add(tf.matMul(h, l.w), l.b);
    h = tf.elu(lin) as tf.Tensor2D;
  });
  if (training) return { mu: denseOp(h, model.mu.w, model.mu.b), logSigma: denseOp(h, model.logSigma.w, model.logSigma.b) };
  return { mu: tf.add(tf.matMul(h, model.mu.w), model.mu.b) as tf.Tensor2D, logSigma: tf.add(tf.matMul(h, model.logSigma.w), model.logSigma.b) as tf.Tensor2D };
}

function decodeTensors(model: VaeModel, z: tf.Tensor2D, training: boolean): tf.Tensor2D {
  let h: tf.Tensor2D = z;
  const dense = (x: tf.Tensor2D, l: Dense): tf.Tensor2D => (training ? denseOp(x, l.w, l.b) : (tf.add(tf.matMul(x, l.w), l.b) as tf.Tensor2D));
  for (const l of model.decoder) h = tf.elu(dense(h, l)) as tf.Tensor2D;
  return dense(h, model.output);
}

function allVariables(model: VaeModel): tf.Variable[] {
  const layers = [...model.encoder, model.mu, model.logSigma, ...model.decoder, model.output];
  return layers.flatMap((l) => [l.w as tf.Variable, l.b as tf.Variable]);
}

/** Releases the model's tensors. */
export function disposeVae(model: VaeModel): void {
  for (const v of allVariables(model)) v.dispose();
}

function buildModel(inputDim: number, settings: VaeSettings, shift: Float32Array, invScale: Float32Array, rng: Rng): VaeModel {
  instances++;
  const encoder: Dense[] = [];
  let prev = inputDim;
  settings.hidden.forEach((h, i) => {
    encoder.push(glorotDense(prev, h, rng, `enc${i}`));
    prev = h;
  });
  const mu = glorotDense(prev, settings.latentDim, rng, 'mu');
  const logSigma = glorotDense(prev, settings.latentDim, rng, 'logSigma');
  const decoder: Dense[] = [];
  prev = settings.latentDim;
  [...settings.hidden].reverse().forEach((h, i) => {
    decoder.push(glorotDense(prev, h, rng, `dec${i}`));
    prev = h;
  });
  const output = glorotDense(prev, inputDim, rng, 'out');
  return { inputDim, settings, shift, invScale, encoder, mu, logSigma, decoder, output, history: [], backend: tf.getBackend() };
}

function validate(s: VaeSettings): void {
  if (!(Number.isInteger(s.latentDim) && s.latentDim >= 1)) throw new RangeError('VAE: latentDim must be a positive integer');
  if (s.hidden.length === 0 || s.hidden.some((h) => !(Number.isInteger(h) && h >= 1))) throw new RangeError('VAE: hidden sizes must be positive integers');
  if (!(s.batchSize >= 1)) throw new RangeError('VAE: batchSize must be >= 1');
  if (!(Number.isInteger(s.epochs) && s.epochs >= 0)) throw new RangeError('VAE: epochs must be an integer >= 0');
  if (!(s.learningRate > 0)) throw new RangeError('VAE: learningRate must be > 0');
  if (!(s.klWeight >= 0) || !(s.klAnnealEpochs >= 0)) throw new RangeError('VAE: klWeight and klAnnealEpochs must be >= 0');
}

/** Learning rate in effect during `epoch` (0-based): step decay at the listed epochs. */
export function vaeLearningRate(s: VaeSettings, epoch: number): number {
  let lr = s.learningRate;
  for (const e of s.lrDecayEpochs) if (epoch >= e) lr *= s.lrDecayFactor;
  return lr;
}

// Adam keeps its rate in a protected field that applyGradients reads on every step; setting it
// keeps the moment estimates across a decay (a new optimizer would reset them).
interface MutableRate {
  learningRate: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Trains a VAE on `n` rows of `d` float32 values (row-major). Call initTfBackend() first to pick
 * the backend (it stays whatever tfjs has otherwise). The returned model owns tfjs variables:
 * release them with disposeVae().
 */
export async function trainVae(
  data: Float32Array,
  n: number,
  d: number,
  settings: Partial<VaeSettings> = {},
  hooks: VaeTrainHooks = {},
): Promise<VaeModel> {
  const s: VaeSettings = { ...DEFAULT_VAE_SETTINGS, ...settings, hidden: [...(settings.hidden ?? DEFAULT_VAE_SETTINGS.hidden)], lrDecayEpochs: [...(settings.lrDecayEpochs ?? DEFAULT_VAE_SETTINGS.lrDecayEpochs)] };
  validate(s);
  if (!(n >= 1) || !(d >= 1) || data.length < n * d) throw new RangeError('trainVae: data shorter than n * d');
  await tf.ready();
  const rng = createRng(s.seed);

  // Per-feature standardisation (two passes in float64; constant features keep scale 1).
  const shift = new Float32Array(d);
  const invScale = new Float32Array(d).fill(1);
  if (s.standardize) {
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
    for (let j = 0; j < d; j++) mean[j] /= n;
    const v = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const t = data[i * d + j] - mean[j];
        v[j] += t * t;
      }
    }
    for (let j = 0; j < d; j++) {
      shift[j] = mean[j];
      const sd = Math.sqrt(v[j] / n);
      invScale[j] = sd > 1e-12 ? 1 / sd : 1;
    }
  }

  const model = buildModel(d, s, shift, invScale, rng);
  const vars = allVariables(model);
  const optimizer = tf.train.adam(s.learningRate);
  const shiftT = tf.tensor1d(shift);
  const invScaleT = tf.tensor1d(invScale);
  const batch = Math.min(Math.floor(s.batchSize), n);
  const stepsPerEpoch = Math.ceil(n / batch);
  const annealSteps = s.klAnnealEpochs * stepsPerEpoch;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const buf = new Float32Array(batch * d);
  const noise = new Float32Array(batch * s.latentDim);
  let step = 0;
  try {
    for (let epoch = 0; epoch < s.epochs; epoch++) {
      const lr = vaeLearningRate(s, epoch);
      (optimizer as unknown as MutableRate).learningRate = lr;
      // Fisher–Yates with the seeded generator: the same seed gives the same batches.
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      const t0 = performance.now();
      let reconSum = 0;
      const klSum = new Float64Array(s.latentDim);
      let beta = s.klWeight;
      for (let start = 0; start < n; start += batch) {
        if (hooks.signal?.aborted) throw abortError(hooks.signal);
        if (hooks.shouldPause) await hooks.shouldPause();
        if (hooks.signal?.aborted) throw abortError(hooks.signal);
        const m = Math.min(batch, n - start);
        for (let i = 0; i < m; i++) buf.set(data.subarray(order[start + i] * d, order[start + i] * d + d), i * d);
        for (let i = 0; i < m * s.latentDim; i++) noise[i] = rng.normal();
        beta = annealSteps > 0 ? s.klWeight * Math.min(1, (step + 1) / annealSteps) : s.klWeight;
        // The loss terms are kept out of the tape's tidy to report them; released below.
        let reconT: tf.Tensor | null = null;
        let klDimT: tf.Tensor | null = null;
        const stats = tf.tidy(() => {
          const x = tf.mul(tf.sub(tf.tensor2d(buf.subarray(0, m * d), [m, d]), shiftT), invScaleT) as tf.Tensor2D;
          const eps = tf.tensor2d(noise.subarray(0, m * s.latentDim), [m, s.latentDim]);
          const { grads } = tf.variableGrads(() => {
            const { mu, logSigma } = encodeTensors(model, x, true);
            const z = tf.add(mu, tf.mul(tf.exp(logSigma), eps)) as tf.Tensor2D;
            const xr = decodeTensors(model, z, true);
            // Per-sample sums, averaged over the batch (see the header).
            const recon = tf.mul(0.5, tf.mean(tf.sum(tf.square(tf.sub(xr, x)), 1)));
            // KL(N(mu, sigma^2) || N(0, 1)) per dim = 0.5 (mu^2 + sigma^2 - 1) - log sigma.
            const klDim = tf.mean(tf.sub(tf.mul(0.5, tf.sub(tf.add(tf.square(mu), tf.exp(tf.mul(2, logSigma))), 1)), logSigma), 0);
            reconT = tf.keep(recon);
            klDimT = tf.keep(klDim);
            return tf.add(recon, tf.mul(beta, tf.sum(klDim))) as tf.Scalar;
          }, vars);
          optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
          return tf.concat([tf.reshape(reconT as unknown as tf.Tensor, [1]), klDimT as unknown as tf.Tensor1D]);
        });
        const v = await stats.data();
        tf.dispose([stats, reconT as tf.Tensor | null, klDimT as tf.Tensor | null].filter((t): t is tf.Tensor => t !== null));
        if (!Number.isFinite(v[0])) throw new Error(`VAE training diverged at epoch ${epoch + 1} (loss ${v[0]}); lower the learning rate`);
        reconSum += v[0] * m;
        for (let k = 0; k < s.latentDim; k++) klSum[k] += v[1 + k] * m;
        step++;
        hooks.onStep?.(Math.min(n, start + m), n, epoch + 1);
        await yieldToEventLoop(); // lets an abort, a pause request or a message get through
      }
      const secs = (performance.now() - t0) / 1000;
      const klPerDim = Array.from(klSum, (x) => x / n);
      const stats: VaeEpochStats = {
        epoch: epoch + 1,
        reconLoss: reconSum / n,
        klLoss: klPerDim.reduce((a, b) => a + b, 0),
        klPerDim,
        klWeight: beta,
        samplesPerSec: n / Math.max(secs, 1e-9),
        lr,
      };
      model.history.push(stats);
      hooks.onEpoch?.(stats);
    }
  } catch (err) {
    disposeVae(model);
    throw err;
  } finally {
    optimizer.dispose();
    shiftT.dispose();
    invScaleT.dispose();
  }
  return model;
}

/**
 * Places rows with a trained encoder: returns n x latentDim latent means (row-major). Rows are
 * processed in chunks so memory stays bounded for any n.
 */
export async function encode(model: VaeModel, rows: Float32Array, n = Math.floor(rows.length / model.inputDim), chunk = 8192): Promise<Float32Array> {
  const d = model.inputDim;
  const k = model.settings.latentDim;
  if (rows.length < n * d) throw new RangeError('encode: rows shorter than n * inputDim');
  const out = new Float32Array(n * k);
  const shiftT = tf.tensor1d(model.shift);
  const invScaleT = tf.tensor1d(model.invScale);
  try {
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      const mu = tf.tidy(() => {
        const x = tf.mul(tf.sub(tf.tensor2d(rows.subarray(start * d, (start + m) * d), [m, d]), shiftT), invScaleT) as tf.Tensor2D;
        return encodeTensors(model, x, false).mu;
      });
      out.set(await mu.data(), start * k);
      mu.dispose();
    }
  } finally {
    shiftT.dispose();
    invScaleT.dispose();
  }
  return out;
}

/** Reconstructs rows through encoder mean and decoder, in the input's (unstandardised) units. */
export async function reconstruct(model: VaeModel, rows: Float32Array, n = Math.floor(rows.length / model.inputDim)): Promise<Float32Array> {
  const d = model.inputDim;
  const y = tf.tidy(() => {
    const shiftT = tf.tensor1d(model.shift);
    const invScaleT = tf.tensor1d(model.invScale);
    const x = tf.mul(tf.sub(tf.tensor2d(rows.subarray(0, n * d), [n, d]), shiftT), invScaleT) as tf.Tensor2D;
    const xr = decodeTensors(model, encodeTensors(model, x, false).mu, false);
    return tf.add(tf.div(xr, invScaleT), shiftT);
  });
  const out = (await y.data()) as Float32Array;
  y.dispose();
  return out;
}

// ---- serialisation ---------------------------------------------------------------------------
// json: settings, shapes and byte offsets; binary: the float32 arrays back to back (little-endian,
// as typed arrays are on every platform the site runs on). Both encoder and decoder are stored:
// placement needs only the encoder, but a stored decoder lets a visitor keep training.

const FORMAT = 'code-atlas-vae';
const VERSION = 1;

interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements. */
  offset: number;
}

interface VaeJson {
  format: typeof FORMAT;
  version: number;
  inputDim: number;
  settings: VaeSettings;
  backend: string;
  history: VaeEpochStats[];
  tensors: TensorEntry[];
}

function namedTensors(model: VaeModel): [string, tf.Tensor | Float32Array][] {
  const out: [string, tf.Tensor | Float32Array][] = [
    ['shift', model.shift],
    ['invScale', model.invScale],
  ];
  const add = (name: string, l: Dense): void => {
    out.push([`${name}/w`, l.w], [`${name}/b`, l.b]);
  };
  model.encoder.forEach((l, i) => add(`enc${i}`, l));
  add('mu', model.mu);
  add('logSigma', model.logSigma);
  model.decoder.forEach((l, i) => add(`dec${i}`, l));
  add('out', model.output);
  return out;
}

export async function serializeVae(model: VaeModel): Promise<{ json: string; binary: Uint8Array }> {
  const parts: Float32Array[] = [];
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of namedTensors(model)) {
    const values = t instanceof Float32Array ? t : ((await t.data()) as Float32Array);
    const shape = t instanceof Float32Array ? [t.length] : t.shape;
    tensors.push({ name, shape, offset });
    parts.push(values);
    offset += values.length;
  }
  const all = new Float32Array(offset);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  // Throughput is left out of the saved history (as 0): the same training must give the same bytes.
  const history = model.history.map((h) => ({ ...h, samplesPerSec: 0 }));
  const json: VaeJson = { format: FORMAT, version: VERSION, inputDim: model.inputDim, settings: model.settings, backend: model.backend, history, tensors };
  return { json: JSON.stringify(json), binary: new Uint8Array(all.buffer) };
}

export function deserializeVae(json: string, binary: Uint8Array): VaeModel {
  const meta = JSON.parse(json) as VaeJson;
  if (meta.format !== FORMAT || meta.version !== VERSION) throw new Error(`deserializeVae: unsupported format ${meta.format} v${meta.version}`);
  if (binary.byteLength % 4 !== 0) throw new Error('deserializeVae: binary length is not a multiple of 4');
  // Copy so the floats are aligned whatever the source buffer's offset.
  const all = new Float32Array(binary.slice().buffer);
  const byName = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (const t of meta.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.offset + size > all.length) throw new Error(`deserializeVae: tensor ${t.name} runs past the binary`);
    byName.set(t.name, all.subarray(t.offset, t.offset + size));
    shapes.set(t.name, t.shape);
  }
  const get = (name: string): Float32Array => {
    const v = byName.get(name);
    if (!v) throw new Error(`deserializeVae: missing tensor ${name}`);
    return v;
  };
  const dense = (name: string): Dense => {
    const ws = shapes.get(`${name}/w`);
    if (!ws || ws.length !== 2) throw new Error(`deserializeVae: bad shape for ${name}/w`);
    return {
      w: toVariable(tf.tensor2d(get(`${name}/w`), [ws[0], ws[1]]), `${name}/w`),
      b: toVariable(tf.tensor1d(get(`${name}/b`)), `${name}/b`),
    };
  };
  const s = meta.settings;
  instances++;
  return {
    inputDim: meta.inputDim,
    settings: s,
    shift: get('shift').slice(),
    invScale: get('invScale').slice(),
    encoder: s.hidden.map((_, i) => dense(`enc${i}`)),
    mu: dense('mu'),
    logSigma: dense('logSigma'),
    decoder: s.hidden.map((_, i) => dense(`dec${i}`)),
    output: dense('out'),
    history: meta.history,
    backend: meta.backend,
  };
}
