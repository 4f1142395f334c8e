// The train worker: trains the study's VAE on the data set's vectors in the visitor's browser (tfjs:
// WebGPU on a real GPU, else WASM — never WebGPU on a software adapter), with pause, resume and
// cancel between steps; places every function with the trained encoder; clusters the new map by
// k-means with k from a silhouette sweep; keeps the encoder in IndexedDB so it survives a reload.
// On WASM, training is data-parallel: each batch is split over one sub-worker per core
// (train-shard.ts, a tfjs replica each), this worker sums their gradients and applies Adam (the
// core's trainVae with a sharded engine, as the prebuild does with worker threads).
import * as Comlink from 'comlink';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { Manifest } from '../src/core/data/manifest.ts';
import { validateManifest } from '../src/core/data/manifest.ts';
import { kmeans, sampleIndices } from '../src/core/cluster/kmeans.ts';
import { silhouetteSweep } from '../src/core/cluster/silhouette.ts';
import { initTfBackend, type TfBackendChoice } from '../src/core/gpu/tf-backend.ts';
import {
  deserializeVae,
  disposeVae,
  encode,
  remoteVaeShard,
  serializeVae,
  shardedVaeEngine,
  trainVae,
  type VaeEpochStats,
  type VaeGradientEngine,
  type VaeModel,
  type VaeSettings,
  type VaeShardChannel,
  type VaeShardReply,
} from '../src/core/reduce/vae.ts';
import { createRng } from '../src/core/util/random.ts';
import { dequantize, loadVectors, mapEmbedding, type LoadedVectors } from './shared/vectors.ts';

export type { VaeEpochStats, VaeSettings };

export interface TrainInfo {
  embedding: string;
  dim: number;
  rows: number;
  backend: TfBackendChoice;
  /** Sub-workers each training batch is split over (1: trained in the train worker itself). */
  workers: number;
  /** An encoder saved by an earlier session for this data set, if any. */
  saved: { savedAt: string; latentDim: number; epochs: number } | null;
}

export interface TrainRequest {
  settings: Partial<VaeSettings>;
  /** Rows trained on (a seeded sample; all when fewer). */
  sampleSize: number;
}

export interface TrainResult {
  epochs: VaeEpochStats[];
  /** Sub-workers the batches were split over. */
  workers: number;
  ms: number;
  trainRows: number;
}

export interface Placement {
  ids: Uint32Array;
  positions: Float32Array;
  dims: 2 | 3;
  bounds: { min: number[]; max: number[] };
  ms: number;
}

export interface ClusterResult {
  k: number;
  clusters: Int32Array;
  sweep: { k: number; silhouette: number }[];
  ms: number;
}

let manifest: Manifest | null = null;
let base: URL | null = null;
let vectors: Promise<LoadedVectors> | null = null;
let model: VaeModel | null = null;
let placement: Placement | null = null;
let abort: AbortController | null = null;
let paused: { promise: Promise<void>; resume: () => void } | null = null;
let backend: Promise<TfBackendChoice> | null = null;

function tfBackend(): Promise<TfBackendChoice> {
  backend ??= initTfBackend({
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
    },
  });
  return backend;
}

/**
 * Sub-workers for data-parallel training: one per core (at most 8) on WASM; none on WebGPU (one
 * GPU replica is the fast path there) or with a single core.
 */
function workerCount(choice: TfBackendChoice): number {
  if (choice.backend !== 'wasm') return 1;
  return Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1));
}

function subWorkerChannel(index: number): VaeShardChannel {
  const w = new Worker(new URL('./train-shard.ts', import.meta.url), { type: 'module', name: `train-shard-${index}` });
  return {
    post: (msg, transfer) => w.postMessage(msg, transfer),
    listen(onReply, onError) {
      w.onmessage = (e: MessageEvent<VaeShardReply>) => onReply(e.data);
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        onError(new Error(`VAE sub-worker ${index} failed: ${e.message || 'could not start'}`));
      };
      w.onmessageerror = () => onError(new Error(`VAE sub-worker ${index}: a message could not be read`));
    },
    terminate: async () => w.terminate(),
  };
}

// Started on the first training and kept (starting tfjs in each sub-worker takes a moment).
let engine: VaeGradientEngine | null = null;

async function trainingEngine(): Promise<{ engine: VaeGradientEngine | undefined; workers: number }> {
  const w = workerCount(await tfBackend());
  if (w === 1) return { engine: undefined, workers: 1 };
  engine ??= shardedVaeEngine(Array.from({ length: w }, (_, i) => remoteVaeShard(subWorkerChannel(i))));
  return { engine, workers: w };
}

function storeKey(): string {
  return `${base?.href ?? ''}#${manifest ? mapEmbedding(manifest).model : ''}`;
}

// IndexedDB, one object store: the serialised encoder per data set and embedding.
function idb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open('code-atlas', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('encoders');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB could not be opened'));
  });
}

interface SavedEncoder {
  json: string;
  binary: Uint8Array;
  savedAt: string;
  latentDim: number;
  epochs: number;
}

async function idbGet(key: string): Promise<SavedEncoder | null> {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const req = db.transaction('encoders').objectStore('encoders').get(key);
    req.onsuccess = () => resolve((req.result as SavedEncoder | undefined) ?? null);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB read failed'));
  });
}

async function idbPut(key: string, value: SavedEncoder): Promise<void> {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('encoders', 'readwrite');
    tx.objectStore('encoders').put(value, key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
  });
}

function data(): Promise<LoadedVectors> {
  if (!manifest || !base) throw new Error('the train worker has no data set');
  vectors ??= loadVectors(manifest, base, mapEmbedding(manifest), () => {}, () => {});
  vectors.catch(() => (vectors = null));
  return vectors;
}

/** A seeded sample of m distinct row indices, sorted (the clustering core's sampler). */
function sampleRows(n: number, m: number, seed: number): Int32Array {
  return sampleIndices(n, m, createRng(seed));
}

const api = {
  async open(manifestUrl: string, m: Manifest): Promise<TrainInfo> {
    manifest = validateManifest(m);
    base = new URL('.', manifestUrl);
    const info = mapEmbedding(manifest);
    const rows = (manifest.tables[info.table] ?? []).reduce((s, f) => s + (f.rows ?? 0), 0);
    let saved: TrainInfo['saved'] = null;
    try {
      const s = await idbGet(storeKey());
      if (s) saved = { savedAt: s.savedAt, latentDim: s.latentDim, epochs: s.epochs };
    } catch {
      // No IndexedDB (private mode): training still works, it just is not kept.
    }
    const choice = await tfBackend();
    return { embedding: info.model, dim: info.dim, rows, backend: choice, workers: workerCount(choice), saved };
  },

  /** Trains a new VAE; epochs are reported as they finish. Rejects with AbortError when cancelled. */
  async train(req: TrainRequest, onEpoch: (s: VaeEpochStats) => void, onStep?: (done: number, total: number, epoch: number) => void): Promise<TrainResult> {
    await tfBackend();
    const v = await data();
    const par = await trainingEngine();
    const rows = sampleRows(v.rows, Math.max(1, req.sampleSize), req.settings.seed ?? 0);
    const { data: x } = dequantize(v, rows);
    abort = new AbortController();
    paused = null;
    const epochs: VaeEpochStats[] = [];
    const t0 = performance.now();
    let next: VaeModel;
    try {
      next = await trainVae(
        x,
        rows.length,
        v.info.dim,
        req.settings,
        {
          signal: abort.signal,
          shouldPause: () => paused?.promise ?? Promise.resolve(),
          onEpoch: (s) => {
            epochs.push(s);
            onEpoch(s);
          },
          onStep: (done, total, epoch) => onStep?.(done, total, epoch),
        },
        par.engine,
      );
    } catch (err) {
      // A sub-worker that failed cannot be reused: start fresh ones next time.
      if (par.engine && (err as Error).name !== 'AbortError') {
        await par.engine.close().catch(() => {});
        engine = null;
      }
      throw err;
    }
    if (model) disposeVae(model);
    model = next;
    placement = null;
    try {
      const { json, binary } = await serializeVae(model);
      await idbPut(storeKey(), { json, binary, savedAt: new Date().toISOString(), latentDim: model.settings.latentDim, epochs: epochs.length });
    } catch {
      // Not kept across reloads when IndexedDB is unavailable; the model still works now.
    }
    return { epochs, workers: par.workers, ms: Math.round(performance.now() - t0), trainRows: rows.length };
  },

  pause(): void {
    if (paused) return;
    let resume = () => {};
    const promise = new Promise<void>((r) => (resume = r));
    paused = { promise, resume };
  },

  resume(): void {
    paused?.resume();
    paused = null;
  },

  cancel(): void {
    abort?.abort();
    paused?.resume();
    paused = null;
  },

  /** Loads the encoder an earlier session saved (no retraining). */
  async restore(): Promise<boolean> {
    await tfBackend();
    const s = await idbGet(storeKey());
    if (!s) return false;
    if (model) disposeVae(model);
    model = deserializeVae(s.json, s.binary);
    placement = null;
    return true;
  },

  /** Places every function with the trained encoder (its latent means). */
  async place(): Promise<Placement> {
    if (!model) throw new Error('train a VAE first');
    const t0 = performance.now();
    const v = await data();
    const dims = model.settings.latentDim === 3 ? 3 : 2;
    const ids = new Uint32Array(v.rows);
    const positions = new Float32Array(v.rows * dims);
    let at = 0;
    for (const b of v.blocks) {
      const n = b.ids.length;
      const rows = new Float32Array(n * v.info.dim);
      for (let i = 0; i < n; i++) {
        const s = b.scales[i]!;
        for (let j = 0; j < v.info.dim; j++) rows[i * v.info.dim + j] = b.codes[i * v.info.dim + j]! * s;
      }
      positions.set(await encode(model, rows, n), at * dims);
      ids.set(b.ids, at);
      at += n;
    }
    const min = new Array<number>(dims).fill(Infinity);
    const max = new Array<number>(dims).fill(-Infinity);
    for (let i = 0; i < positions.length; i++) {
      const j = i % dims;
      min[j] = Math.min(min[j]!, positions[i]!);
      max[j] = Math.max(max[j]!, positions[i]!);
    }
    placement = { ids, positions, dims, bounds: { min, max }, ms: Math.round(performance.now() - t0) };
    return { ...placement, ids: ids.slice(), positions: positions.slice() };
  },

  /** k-means on the placed map; k from the silhouette sweep over `ks` unless `k` is given. */
  async cluster(opts: { k: number | null; ks: number[]; sampleSize: number; seed: number }): Promise<ClusterResult> {
    if (!placement) throw new Error('place the functions first');
    const t0 = performance.now();
    const { positions, dims } = placement;
    const n = placement.ids.length;
    let k = opts.k ?? 0;
    let sweep: ClusterResult['sweep'] = [];
    if (!opts.k) {
      const ks = opts.ks.filter((x) => x >= 2 && x < n);
      const r = await silhouetteSweep(positions, n, dims, ks.length ? ks : [2], { sampleSize: opts.sampleSize, seed: opts.seed });
      sweep = r.steps.map((s) => ({ k: s.k, silhouette: s.silhouette }));
      k = Number.isFinite(r.bestK) ? r.bestK : 2;
    }
    const km = await kmeans(positions, n, dims, { k: Math.min(k, n), seed: opts.seed });
    return Comlink.transfer({ k, clusters: km.assignments, sweep, ms: Math.round(performance.now() - t0) }, [km.assignments.buffer]);
  },
};

export type TrainApi = typeof api;

Comlink.expose(api);
