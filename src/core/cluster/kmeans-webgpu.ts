// WebGPU runner for the k-means assignment kernel (src/core/gpu/kernels/kmeans.wgsl.ts) and the
// Lloyd loop that uses it. The points are uploaded once (in row chunks that fit a storage-buffer
// binding); each iteration uploads k x d centroids and reads back n labels + squared distances.
// The centre update runs on the CPU through the same LloydState as the JS twin, so both backends
// produce the same centres whenever their labels agree.

import { computeDevice, type DeviceOptions } from '../gpu/device.ts';
import { KMEANS_ASSIGN_GRID_X, KMEANS_ASSIGN_WGSL, KMEANS_ASSIGN_WORKGROUP } from '../gpu/kernels/kmeans.wgsl.ts';
import { createRng } from '../util/random.ts';
import {
  DEFAULT_MAX_ITER,
  DEFAULT_TOL,
  LloydState,
  initialCenters,
  kmeansSync,
  meanFeatureVariance,
  throwIfAborted,
  type KMeansOptions,
  type KMeansResult,
} from './kmeans.ts';
import { sqDist } from './distance.ts';

// Buffer usage and map flags as numbers: the GPUBufferUsage / GPUMapMode globals do not exist in
// Node, where this module may still be imported (and then never reaches a device).
const USAGE_MAP_READ = 0x0001;
const USAGE_COPY_SRC = 0x0004;
const USAGE_COPY_DST = 0x0008;
const USAGE_UNIFORM = 0x0040;
const USAGE_STORAGE = 0x0080;
const MAP_READ = 0x0001;

/** Largest points buffer we ask for: SwiftShader grants up to 1 GiB when requested. */
const MAX_CHUNK_BYTES = 1 << 30;

/**
 * Device options for the k-means kernel. Fixed (not sized to the data) because computeDevice()
 * shares one device per options key: a per-call size would create a new device per call.
 */
export function kmeansDeviceOptions(allowFallbackAdapter = false): DeviceOptions {
  return { allowFallbackAdapter, maxStorageBufferBindingSize: MAX_CHUNK_BYTES };
}

interface Chunk {
  rows: number;
  start: number;
  points: GPUBuffer;
  labels: GPUBuffer;
  dist2: GPUBuffer;
  read: GPUBuffer;
  params: GPUBuffer;
  bind: GPUBindGroup;
}

export interface KMeansGpuAssigner {
  /** Nearest centroid (label) and squared distance for every row, computed on the GPU. */
  assign(centroids: Float32Array | Float64Array, outLabels: Int32Array, outDist2: Float32Array): Promise<void>;
  destroy(): void;
}

/** Uploads `data` (n x d) and prepares the assignment pipeline for k centroids. */
export function createKMeansGpuAssigner(device: GPUDevice, data: Float32Array, n: number, d: number, k: number): KMeansGpuAssigner {
  const module = device.createShaderModule({ code: KMEANS_ASSIGN_WGSL });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const layout = pipeline.getBindGroupLayout(0);
  const centroidBuf = device.createBuffer({ size: Math.max(16, k * d * 4), usage: USAGE_STORAGE | USAGE_COPY_DST });
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, MAX_CHUNK_BYTES);
  const rowsPerChunk = Math.max(1, Math.floor(limit / (d * 4)));
  const chunks: Chunk[] = [];
  for (let start = 0; start < n; start += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, n - start);
    const points = device.createBuffer({ size: rows * d * 4, usage: USAGE_STORAGE | USAGE_COPY_DST });
    device.queue.writeBuffer(points, 0, data.buffer, data.byteOffset + start * d * 4, rows * d * 4);
    const labels = device.createBuffer({ size: rows * 4, usage: USAGE_STORAGE | USAGE_COPY_SRC });
    const dist2 = device.createBuffer({ size: rows * 4, usage: USAGE_STORAGE | USAGE_COPY_SRC });
    const read = device.createBuffer({ size: rows * 8, usage: USAGE_MAP_READ | USAGE_COPY_DST });
    const params = device.createBuffer({ size: 16, usage: USAGE_UNIFORM | USAGE_COPY_DST });
    device.queue.writeBuffer(params, 0, new Uint32Array([rows, d, k, 0]));
    const bind = device.createBindGroup({
      layout,
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: points } },
        { binding: 2, resource: { buffer: centroidBuf } },
        { binding: 3, resource: { buffer: labels } },
        { binding: 4, resource: { buffer: dist2 } },
      ],
    });
    chunks.push({ rows, start, points, labels, dist2, read, params, bind });
  }
  const c32 = new Float32Array(k * d);
  return {
    async assign(centroids, outLabels, outDist2) {
      c32.set(centroids);
      device.queue.writeBuffer(centroidBuf, 0, c32);
      const enc = device.createCommandEncoder();
      for (const ch of chunks) {
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, ch.bind);
        const groups = Math.ceil(ch.rows / KMEANS_ASSIGN_WORKGROUP);
        pass.dispatchWorkgroups(Math.min(groups, KMEANS_ASSIGN_GRID_X), Math.ceil(groups / KMEANS_ASSIGN_GRID_X));
        pass.end();
        enc.copyBufferToBuffer(ch.labels, 0, ch.read, 0, ch.rows * 4);
        enc.copyBufferToBuffer(ch.dist2, 0, ch.read, ch.rows * 4, ch.rows * 4);
      }
      device.queue.submit([enc.finish()]);
      for (const ch of chunks) {
        await ch.read.mapAsync(MAP_READ);
        const bytes = ch.read.getMappedRange();
        outLabels.set(new Int32Array(bytes, 0, ch.rows), ch.start);
        outDist2.set(new Float32Array(bytes, ch.rows * 4, ch.rows), ch.start);
        ch.read.unmap();
      }
    },
    destroy() {
      centroidBuf.destroy();
      for (const ch of chunks) {
        ch.points.destroy();
        ch.labels.destroy();
        ch.dist2.destroy();
        ch.read.destroy();
        ch.params.destroy();
      }
    },
  };
}

/**
 * Lloyd k-means with the assignment step on WebGPU. Same init, stopping rules and empty-cluster
 * handling as the JS backend (kmeansSync); falls back to it when no device is granted.
 */
export async function kmeansWebGpu(data: Float32Array, n: number, d: number, opts: KMeansOptions): Promise<KMeansResult> {
  const device = await computeDevice(kmeansDeviceOptions(opts.allowFallbackAdapter ?? false));
  if (!device) {
    const r = kmeansSync(data, n, d, { ...opts, backend: 'js' });
    return { ...r, backendReason: 'no usable WebGPU device (see core/gpu/device.ts): JS' };
  }
  const { k } = opts;
  if (k < 1 || k > n) throw new RangeError(`kmeans: k must be in [1, n], got ${k}`);
  const now = (): number => performance.now();
  const t0 = now();
  const rng = createRng(opts.seed ?? 0);
  opts.onProgress?.({ phase: 'init', iteration: 0, maxIterations: opts.maxIter ?? DEFAULT_MAX_ITER });
  const centers = initialCenters(data, n, d, opts, rng);
  const initMs = now() - t0;
  const tolAbs = (opts.tol ?? DEFAULT_TOL) * meanFeatureVariance(data, n, d);
  const maxIter = opts.maxIter ?? DEFAULT_MAX_ITER;
  const gpu = createKMeansGpuAssigner(device, data, n, d, k);
  const st = new LloydState(data, n, d, k, centers);
  const lab = new Int32Array(n);
  const dist = new Float32Array(n);
  const iterationMs: number[] = [];
  let iterations = 0;
  let converged = false;
  let strict = false;
  let labelsMs = 0;
  try {
    for (let it = 0; it < maxIter; it++) {
      throwIfAborted(opts.signal);
      const t = now();
      await gpu.assign(centers, lab, dist);
      let changed = 0;
      for (let i = 0; i < n; i++) if (st.move(i, lab[i])) changed++;
      iterations = it + 1;
      if (it > 0 && changed === 0) {
        strict = true;
        converged = true;
        iterationMs.push(now() - t);
        break;
      }
      st.relocateEmpty();
      const tot = st.updateCenters();
      iterationMs.push(now() - t);
      opts.onProgress?.({ phase: 'iterate', iteration: iterations, maxIterations: maxIter, changed, shift: tot });
      if (tot <= tolAbs) {
        converged = true;
        break;
      }
    }
    const tl = now();
    if (!strict) {
      await gpu.assign(centers, lab, dist);
      for (let i = 0; i < n; i++) st.move(i, lab[i]);
    }
    labelsMs = now() - tl;
  } finally {
    gpu.destroy();
  }
  let inertia = 0;
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    inertia += sqDist(data, i, centers, st.labels[i], d);
    sizes[st.labels[i]]++;
  }
  return {
    centroids: Float32Array.from(centers),
    assignments: st.labels,
    sizes,
    inertia,
    iterations,
    converged,
    initMs,
    iterationMs: Float64Array.from(iterationMs),
    labelsMs,
    totalMs: now() - t0,
    backend: 'webgpu',
    backendReason: 'WebGPU assignment kernel, CPU centre update',
  };
}
