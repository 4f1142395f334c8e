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
// Data parallelism: training is a coordinator loop (trainVae) plus a gradient engine. Each step's
// batch is cut into W contiguous parts, W replicas of the net (worker threads in the prebuild,
// sub-workers in the browser, or one replica in this realm) compute the gradient of their part's
// share of the batch's mean loss, the coordinator sums them in replica order and applies Adam (in
// JS, on one flat float32 array of weights), and the new weights go out with the next step. The
// summed gradient equals the single-replica gradient up to float rounding.
//
// Determinism: weights are initialised and batches shuffled and the reparameterisation noise drawn
// from the seeded generator in util/random.ts (not tfjs's RNG), all in the coordinator, so the same
// seed gives the same starting point and the same batches for every W and every backend; on the
// single-threaded wasm and cpu backends training is then bit-for-bit repeatable for a given W. W
// changes only the order of the gradient's sums (~1e-6 relative per step). WebGPU reductions may
// differ in the last bits.

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

// ---- flat parameters ---------------------------------------------------------------------------
// Training moves the weights between realms (worker threads, browser sub-workers) as one flat
// float32 array, layer by layer in a fixed order: enc0..encH, mu, logSigma, dec0..decH, out, each
// weight matrix (row-major, in x out) followed by its bias. Gradients use the same layout.

export interface VaeParam {
  /** `enc0/w`, `enc0/b`, ..., `out/b` (the serialised tensor names). */
  name: string;
  shape: number[];
  /** Offset in float32 elements. */
  offset: number;
  size: number;
}

function layerShapes(inputDim: number, s: Pick<VaeSettings, 'latentDim' | 'hidden'>): [string, number, number][] {
  const layers: [string, number, number][] = [];
  let prev = inputDim;
  s.hidden.forEach((h, i) => {
    layers.push([`enc${i}`, prev, h]);
    prev = h;
  });
  layers.push(['mu', prev, s.latentDim], ['logSigma', prev, s.latentDim]);
  prev = s.latentDim;
  [...s.hidden].reverse().forEach((h, i) => {
    layers.push([`dec${i}`, prev, h]);
    prev = h;
  });
  layers.push(['out', prev, inputDim]);
  return layers;
}

/** Names, shapes and offsets of every parameter in the flat layout. */
export function vaeParamLayout(inputDim: number, s: Pick<VaeSettings, 'latentDim' | 'hidden'>): VaeParam[] {
  const out: VaeParam[] = [];
  let offset = 0;
  for (const [name, inDim, outDim] of layerShapes(inputDim, s)) {
    out.push({ name: `${name}/w`, shape: [inDim, outDim], offset, size: inDim * outDim });
    offset += inDim * outDim;
    out.push({ name: `${name}/b`, shape: [outDim], offset, size: outDim });
    offset += outDim;
  }
  return out;
}

/** Glorot-uniform weights (the Keras default the study used) and zero biases, drawn from `rng`. */
export function initVaeWeights(inputDim: number, s: Pick<VaeSettings, 'latentDim' | 'hidden'>, rng: Rng): Float32Array {
  const layout = vaeParamLayout(inputDim, s);
  const last = layout[layout.length - 1];
  const flat = new Float32Array(last ? last.offset + last.size : 0);
  for (const p of layout) {
    if (p.shape.length !== 2) continue; // biases stay 0
    const limit = Math.sqrt(6 / (p.shape[0] + p.shape[1]));
    for (let i = p.offset; i < p.offset + p.size; i++) flat[i] = (2 * rng.next() - 1) * limit;
  }
  return flat;
}

/** A model whose tfjs variables hold `weights` (flat layout); the variables own copies. */
export function vaeFromWeights(inputDim: number, settings: VaeSettings, shift: Float32Array, invScale: Float32Array, weights: Float32Array, backend = tf.getBackend()): VaeModel {
  const layout = vaeParamLayout(inputDim, settings);
  const last = layout[layout.length - 1];
  if (last && weights.length !== last.offset + last.size) throw new RangeError(`vaeFromWeights: ${weights.length} weights, the net has ${last.offset + last.size}`);
  instances++;
  const byName = new Map(layout.map((p) => [p.name, p]));
  const dense = (name: string): Dense => {
    const w = byName.get(`${name}/w`) as VaeParam;
    const b = byName.get(`${name}/b`) as VaeParam;
    return {
      w: toVariable(tf.tensor2d(weights.slice(w.offset, w.offset + w.size), [w.shape[0], w.shape[1]]), `${name}/w`),
      b: toVariable(tf.tensor1d(weights.slice(b.offset, b.offset + b.size)), `${name}/b`),
    };
  };
  return {
    inputDim,
    settings,
    shift,
    invScale,
    encoder: settings.hidden.map((_, i) => dense(`enc${i}`)),
    mu: dense('mu'),
    logSigma: dense('logSigma'),
    decoder: settings.hidden.map((_, i) => dense(`dec${i}`)),
    output: dense('out'),
    history: [],
    backend,
  };
}

// ---- gradients of one part of a batch --------------------------------------------------------

/** Gradient of one part of a batch, and the part's loss sums (for the epoch's statistics). */
export interface VaeGradients {
  /** d(loss)/d(weights) in the flat layout, loss = scale * sum over the part's rows of (recon + beta * KL). */
  grads: Float32Array;
  /** Sum over the part's rows of the per-sample reconstruction term. */
  reconSum: number;
  /** Sum over the part's rows of the KL of each latent dimension. */
  klSum: Float64Array;
  /** Rows in the part. */
  m: number;
}

/**
 * One copy of the network that computes gradients for given weights (the data-parallel unit: each
 * worker holds one). Rows come in raw units; the replica standardises them with shift/invScale.
 */
export class VaeReplica {
  readonly model: VaeModel;
  private readonly vars: tf.Variable[];
  private readonly layout: VaeParam[];
  private readonly shiftT: tf.Tensor1D;
  private readonly invScaleT: tf.Tensor1D;

  constructor(inputDim: number, settings: VaeSettings, shift: Float32Array, invScale: Float32Array) {
    this.layout = vaeParamLayout(inputDim, settings);
    const last = this.layout[this.layout.length - 1] as VaeParam;
    this.model = vaeFromWeights(inputDim, settings, shift, invScale, new Float32Array(last.offset + last.size));
    this.vars = allVariables(this.model);
    this.shiftT = tf.tensor1d(shift);
    this.invScaleT = tf.tensor1d(invScale);
  }

  get size(): number {
    const last = this.layout[this.layout.length - 1] as VaeParam;
    return last.offset + last.size;
  }

  setWeights(weights: Float32Array): void {
    if (weights.length !== this.size) throw new RangeError(`VaeReplica: ${weights.length} weights, the net has ${this.size}`);
    this.layout.forEach((p, i) => {
      tf.tidy(() => {
        (this.vars[i] as tf.Variable).assign(tf.tensor(weights.slice(p.offset, p.offset + p.size), p.shape));
      });
    });
  }

  /**
   * Gradient of scale * sum_i (recon_i + beta * KL_i) over the m rows (row-major, m x inputDim) with
   * the reparameterisation noise `noise` (m x latentDim). With scale = 1 / batch, the gradients of
   * the parts of a batch add up to the gradient of the batch's mean loss.
   */
  async gradients(rows: Float32Array, m: number, noise: Float32Array, beta: number, scale: number): Promise<VaeGradients> {
    const d = this.model.inputDim;
    const k = this.model.settings.latentDim;
    if (!(m >= 1) || rows.length < m * d || noise.length < m * k) throw new RangeError('VaeReplica.gradients: rows or noise shorter than m rows');
    // The loss terms are kept out of the tape's tidy to report them; released below.
    let reconT: tf.Tensor | null = null;
    let klDimT: tf.Tensor | null = null;
    const grads = tf.tidy(() => {
      const x = tf.mul(tf.sub(tf.tensor2d(rows.subarray(0, m * d), [m, d]), this.shiftT), this.invScaleT) as tf.Tensor2D;
      const eps = tf.tensor2d(noise.subarray(0, m * k), [m, k]);
      const { grads: g } = tf.variableGrads(() => {
        const { mu, logSigma } = encodeTensors(this.model, x, true);
        const z = tf.add(mu, tf.mul(tf.exp(logSigma), eps)) as tf.Tensor2D;
        const xr = decodeTensors(this.model, z, true);
        // Per-sample sums (see the header), summed over the part's rows.
        const recon = tf.mul(0.5, tf.sum(tf.square(tf.sub(xr, x))));
        // KL(N(mu, sigma^2) || N(0, 1)) per dim = 0.5 (mu^2 + sigma^2 - 1) - log sigma.
        const klDim = tf.sum(tf.sub(tf.mul(0.5, tf.sub(tf.add(tf.square(mu), tf.exp(tf.mul(2, logSigma))), 1)), logSigma), 0);
        reconT = tf.keep(recon);
        klDimT = tf.keep(klDim);
        return tf.mul(scale, tf.add(recon, tf.mul(beta, tf.sum(klDim)))) as tf.Scalar;
      }, this.vars);
      return this.vars.map((v) => g[v.name] as tf.Tensor);
    });
    try {
      const flat = new Float32Array(this.size);
      const parts = await Promise.all(grads.map((t) => t.data() as Promise<Float32Array>));
      parts.forEach((values, i) => flat.set(values, (this.layout[i] as VaeParam).offset));
      const recon = (await (reconT as unknown as tf.Tensor).data())[0] as number;
      const kl = await (klDimT as unknown as tf.Tensor).data();
      return { grads: flat, reconSum: recon, klSum: Float64Array.from(kl), m };
    } finally {
      tf.dispose([...grads, reconT as tf.Tensor | null, klDimT as tf.Tensor | null].filter((t): t is tf.Tensor => t !== null));
    }
  }

  dispose(): void {
    disposeVae(this.model);
    this.shiftT.dispose();
    this.invScaleT.dispose();
  }
}

// ---- Adam ------------------------------------------------------------------------------------
// The coordinator's optimiser, in plain JS on the flat weights (so every worker count shares one
// update rule). Same rule and defaults as tf.train.adam: beta1 0.9, beta2 0.999, epsilon 1e-7, bias
// correction; moments are kept in float64.

export class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  constructor(size: number, private readonly beta1 = 0.9, private readonly beta2 = 0.999, private readonly epsilon = 1e-7) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** w -= lr * m^ / (sqrt(v^) + epsilon), in place. */
  step(w: Float32Array, g: Float32Array, lr: number): void {
    this.t++;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const eps = this.epsilon;
    const m = this.m;
    const v = this.v;
    for (let i = 0; i < w.length; i++) {
      const gi = g[i] as number;
      const mi = b1 * (m[i] as number) + (1 - b1) * gi;
      const vi = b2 * (v[i] as number) + (1 - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] = (w[i] as number) - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
    }
  }
}

// ---- gradient engines: where a batch's gradient is computed ------------------------------------

/** What every replica needs to know to start a training run. */
export interface VaeShardSetup {
  inputDim: number;
  settings: VaeSettings;
  shift: Float32Array;
  invScale: Float32Array;
}

/**
 * Computes the gradient of a whole batch, split over `parts` replicas (the data-parallel unit), and
 * sums the parts in a fixed order (so a given number of parts gives the same result every run).
 */
export interface VaeGradientEngine {
  /** Replicas a batch is split over. */
  readonly parts: number;
  /** Readies the replicas for a training run; returns the tfjs backend they run on. */
  start(setup: VaeShardSetup): Promise<string>;
  /** Gradient of the mean loss over the m rows (raw units) with the given noise and KL weight. */
  gradients(weights: Float32Array, rows: Float32Array, m: number, noise: Float32Array, beta: number): Promise<VaeGradients>;
  /** Ends the training run (releases the replicas' tensors; the engine can start again). */
  end(): Promise<void>;
  /** Releases the engine for good (terminates its workers). */
  close(): Promise<void>;
}

/** Messages to a replica (a worker thread, a browser sub-worker or the same realm). */
export type VaeShardRequest =
  | { type: 'start'; setup: VaeShardSetup }
  | { type: 'step'; weights: Float32Array; rows: Float32Array; m: number; noise: Float32Array; beta: number; scale: number }
  | { type: 'end' };

export type VaeShardReply =
  | { type: 'started'; backend: string }
  | { type: 'grads'; result: VaeGradients }
  | { type: 'ended' }
  | { type: 'error'; message: string };

/**
 * A replica's message handler: the whole body of a worker that computes gradients (adapters only
 * move the messages; they initialise the tfjs backend before the first message). The buffers of a
 * 'grads' reply may be transferred.
 */
export function createVaeShardHandler(): (req: VaeShardRequest) => Promise<VaeShardReply> {
  let replica: VaeReplica | null = null;
  return async (req) => {
    try {
      if (req.type === 'start') {
        replica?.dispose();
        replica = null;
        const s = req.setup;
        replica = new VaeReplica(s.inputDim, s.settings, s.shift, s.invScale);
        return { type: 'started', backend: tf.getBackend() };
      }
      if (req.type === 'end') {
        replica?.dispose();
        replica = null;
        return { type: 'ended' };
      }
      if (!replica) throw new Error('VAE shard: step before start');
      replica.setWeights(req.weights);
      return { type: 'grads', result: await replica.gradients(req.rows, req.m, req.noise, req.beta, req.scale) };
    } catch (err) {
      return { type: 'error', message: err instanceof Error ? err.message : String(err) };
    }
  };
}

/** One replica as seen by the coordinator: one request at a time. */
export interface VaeShard {
  request(req: VaeShardRequest): Promise<VaeShardReply>;
  close(): Promise<void>;
}

/** A replica in this realm (no copies, no messages). */
export function localVaeShard(): VaeShard {
  const handle = createVaeShardHandler();
  return {
    request: (req) => handle(req),
    close: async () => {
      await handle({ type: 'end' });
    },
  };
}

/** The two ends of a message channel to a worker, as Node's worker_threads and the DOM both offer. */
export interface VaeShardChannel {
  post(msg: VaeShardRequest, transfer: ArrayBuffer[]): void;
  /** Registers the reply listener (called once). */
  listen(onReply: (reply: VaeShardReply) => void, onError: (err: Error) => void): void;
  terminate(): Promise<void>;
}

/**
 * A replica behind a message channel. Rows and noise are copied into buffers of their own and
 * transferred (the caller's batch buffer is reused and must not be detached); weights are cloned.
 */
export function remoteVaeShard(channel: VaeShardChannel): VaeShard {
  let waiting: { resolve: (r: VaeShardReply) => void; reject: (e: Error) => void } | null = null;
  let failed: Error | null = null;
  channel.listen(
    (reply) => {
      const w = waiting;
      waiting = null;
      w?.resolve(reply);
    },
    (err) => {
      failed = err;
      const w = waiting;
      waiting = null;
      w?.reject(err);
    },
  );
  return {
    request(req) {
      if (failed) return Promise.reject(failed);
      if (waiting) return Promise.reject(new Error('VAE shard: a request is already in flight'));
      return new Promise<VaeShardReply>((resolve, reject) => {
        waiting = { resolve, reject };
        if (req.type === 'step') {
          const rows = req.rows.slice();
          const noise = req.noise.slice();
          channel.post({ ...req, rows, noise }, [rows.buffer as ArrayBuffer, noise.buffer as ArrayBuffer]);
        } else {
          channel.post(req, []);
        }
      });
    },
    close: () => channel.terminate(),
  };
}

/** Row counts of `parts` contiguous parts of m rows, as equal as possible (larger parts first). */
export function splitRows(m: number, parts: number): number[] {
  const p = Math.max(1, Math.min(parts, m));
  const base = Math.floor(m / p);
  const extra = m % p;
  return Array.from({ length: p }, (_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Data-parallel engine over the given replicas: each batch is cut into contiguous parts, one per
 * replica (fewer when the batch has fewer rows), and the parts' gradients are summed in replica
 * order. Each part's loss is scaled by 1 / batch, so the sum is the batch gradient up to rounding.
 */
export function shardedVaeEngine(shards: VaeShard[]): VaeGradientEngine {
  if (shards.length === 0) throw new RangeError('shardedVaeEngine: no shards');
  const expect = async <T extends VaeShardReply['type']>(p: Promise<VaeShardReply>, type: T): Promise<Extract<VaeShardReply, { type: T }>> => {
    const r = await p;
    if (r.type === 'error') throw new Error(`VAE worker failed: ${r.message}`);
    if (r.type !== type) throw new Error(`VAE worker: expected '${type}', got '${r.type}'`);
    return r as Extract<VaeShardReply, { type: T }>;
  };
  let setup: VaeShardSetup | null = null;
  return {
    parts: shards.length,
    async start(s) {
      setup = s;
      const replies = await Promise.all(shards.map((sh) => expect(sh.request({ type: 'start', setup: s }), 'started')));
      return (replies[0] as { backend: string }).backend;
    },
    async gradients(weights, rows, m, noise, beta) {
      if (!setup) throw new Error('VAE engine: gradients before start');
      const d = setup.inputDim;
      const k = setup.settings.latentDim;
      const sizes = splitRows(m, shards.length);
      let at = 0;
      const pending = sizes.map((size, i) => {
        const from = at;
        at += size;
        const req: VaeShardRequest = {
          type: 'step',
          weights,
          rows: rows.subarray(from * d, (from + size) * d),
          m: size,
          noise: noise.subarray(from * k, (from + size) * k),
          beta,
          scale: 1 / m,
        };
        return expect((shards[i] as VaeShard).request(req), 'grads');
      });
      const results = (await Promise.all(pending)).map((r) => r.result);
      const first = results[0] as VaeGradients;
      const grads = first.grads;
      const klSum = Float64Array.from(first.klSum);
      let reconSum = first.reconSum;
      for (const r of results.slice(1)) {
        const g = r.grads;
        for (let i = 0; i < grads.length; i++) grads[i] = (grads[i] as number) + (g[i] as number);
        reconSum += r.reconSum;
        for (let j = 0; j < klSum.length; j++) klSum[j] = (klSum[j] as number) + (r.klSum[j] as number);
      }
      return { grads, reconSum, klSum, m };
    },
    async end() {
      setup = null;
      await Promise.all(shards.map((sh) => expect(sh.request({ type: 'end' }), 'ended')));
    },
    async close() {
      await Promise.all(shards.map((sh) => sh.close()));
    },
  };
}

/** One replica in this realm: the engine trainVae uses when it is given none. */
export function localVaeEngine(): VaeGradientEngine {
  return shardedVaeEngine([localVaeShard()]);
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Trains a VAE on `n` rows of `d` float32 values (row-major). Call initTfBackend() first to pick
 * the backend (it stays whatever tfjs has otherwise). The returned model owns tfjs variables:
 * release them with disposeVae().
 *
 * `engine` computes each batch's gradient: by default one replica in this realm; a data-parallel
 * engine (prebuild/vae-parallel.ts in Node, sub-workers in the browser's train worker) splits each
 * batch over W workers. This loop stays in charge of everything else — standardisation, the seeded
 * shuffle and noise, the KL warm-up, the learning-rate schedule and the Adam update — so for a given
 * seed the run depends on W only through the rounding of the gradient's sums. The engine is started
 * and ended here, not closed.
 */
export async function trainVae(
  data: Float32Array,
  n: number,
  d: number,
  settings: Partial<VaeSettings> = {},
  hooks: VaeTrainHooks = {},
  engine?: VaeGradientEngine,
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

  const weights = initVaeWeights(d, s, rng);
  const adam = new Adam(weights.length);
  const own = engine === undefined;
  const eng = engine ?? localVaeEngine();
  const batch = Math.min(Math.floor(s.batchSize), n);
  const stepsPerEpoch = Math.ceil(n / batch);
  const annealSteps = s.klAnnealEpochs * stepsPerEpoch;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Two batch buffers: the next batch is gathered (and its noise drawn, in the same order as
  // ever) while the replicas work on this one.
  const bufs = [new Float32Array(batch * d), new Float32Array(batch * d)];
  const noises = [new Float32Array(batch * s.latentDim), new Float32Array(batch * s.latentDim)];
  const prepare = (start: number, slot: number): number => {
    const m = Math.min(batch, n - start);
    const buf = bufs[slot] as Float32Array;
    const noise = noises[slot] as Float32Array;
    for (let i = 0; i < m; i++) buf.set(data.subarray(order[start + i] * d, order[start + i] * d + d), i * d);
    for (let i = 0; i < m * s.latentDim; i++) noise[i] = rng.normal();
    return m;
  };
  const history: VaeEpochStats[] = [];
  let step = 0;
  let backend = tf.getBackend();
  let failure: unknown = null;
  try {
    backend = await eng.start({ inputDim: d, settings: s, shift, invScale });
    for (let epoch = 0; epoch < s.epochs; epoch++) {
      const lr = vaeLearningRate(s, epoch);
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
      let slot = 0;
      let m = prepare(0, slot);
      for (let start = 0; start < n; start += batch) {
        if (hooks.signal?.aborted) throw abortError(hooks.signal);
        if (hooks.shouldPause) await hooks.shouldPause();
        if (hooks.signal?.aborted) throw abortError(hooks.signal);
        beta = annealSteps > 0 ? s.klWeight * Math.min(1, (step + 1) / annealSteps) : s.klWeight;
        const pending = eng.gradients(weights, (bufs[slot] as Float32Array).subarray(0, m * d), m, (noises[slot] as Float32Array).subarray(0, m * s.latentDim), beta);
        const nextM = start + batch < n ? prepare(start + batch, 1 - slot) : 0;
        const g = await pending;
        const meanRecon = g.reconSum / m;
        if (!Number.isFinite(meanRecon) || g.klSum.some((x) => !Number.isFinite(x))) {
          throw new Error(`VAE training diverged at epoch ${epoch + 1} (loss ${meanRecon}); lower the learning rate`);
        }
        adam.step(weights, g.grads, lr);
        reconSum += g.reconSum;
        for (let k = 0; k < s.latentDim; k++) klSum[k] += g.klSum[k] as number;
        step++;
        hooks.onStep?.(Math.min(n, start + m), n, epoch + 1);
        slot = 1 - slot;
        m = nextM;
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
      history.push(stats);
      hooks.onEpoch?.(stats);
    }
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    try {
      await eng.end();
    } catch (err) {
      // A replica that failed mid-step fails to end too: report the first error, not this one.
      if (failure === null) throw err;
    } finally {
      if (own) await eng.close();
    }
  }
  const model = vaeFromWeights(d, s, shift, invScale, weights, backend);
  model.history = history;
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
