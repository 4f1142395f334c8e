// WebGPU runner for the k-NN distance kernel (src/core/gpu/kernels/knn.wgsl.ts). The GPU scores
// every (row, query) pair of a block; the CPU keeps the top k with the same TopK as the JS twin
// (knn.ts), so both backends rank by the same key with the same tie-break. Used only where
// computeDevice() hands out a device (a real, non-fallback adapter; tests may allow SwiftShader).
import { computeDevice, type DeviceOptions } from '../gpu/device.ts';
import { KNN_WGSL } from '../gpu/kernels/knn.wgsl.ts';
import { finishResult, kernelKind, prepareQuery, validateMetric, type KernelKind, type KnnMetric, type KnnResult, type VectorBlock } from './knn.ts';
import { TopK } from './topk.ts';

/** Kernel modes, as the WGSL switch numbers them. */
const MODE: Record<KernelKind, number> = { l1: 0, l2: 1, l3: 2, l4: 3, lint: 4, lgen: 5, linf: 6, dot: 7 };

const WORKGROUP = 64;
/** The most workgroups one dispatch dimension may have (WebGPU's guaranteed limit). */
const MAX_GROUPS = 65535;

export class WebGpuKnn {
  private readonly device: GPUDevice;
  private readonly pipeF32: GPUComputePipeline;
  private readonly pipeI8: GPUComputePipeline;
  /** A 4-byte placeholder bound where a block's other row format would go (bindings must be filled). */
  private readonly dummy: GPUBuffer;

  /** A runner on the policy's device, or null when the policy says CPU (no adapter, or a fallback one). */
  static async create(opts: DeviceOptions = {}): Promise<WebGpuKnn | null> {
    const device = await computeDevice(opts);
    return device ? new WebGpuKnn(device) : null;
  }

  constructor(device: GPUDevice) {
    this.device = device;
    const module = device.createShaderModule({ code: KNN_WGSL });
    // One explicit layout for both entry points, so each can be given the same bind group shape.
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
      { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
      { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
      { binding: 3, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
      { binding: 4, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
      { binding: 5, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } },
    ];
    const layout = device.createPipelineLayout({ bindGroupLayouts: [device.createBindGroupLayout({ entries })] });
    this.pipeF32 = device.createComputePipeline({ layout, compute: { module, entryPoint: 'scoreF32' } });
    this.pipeI8 = device.createComputePipeline({ layout, compute: { module, entryPoint: 'scoreI8' } });
    this.dummy = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
  }

  /** Rows per dispatch: bounded by the workgroup-count limit and the largest storage binding. */
  private rowsPerChunk(bytesPerRow: number, nq: number): number {
    const maxBinding = this.device.limits.maxStorageBufferBindingSize;
    const byRows = Math.floor(maxBinding / Math.max(bytesPerRow, 4 * nq));
    return Math.max(1, Math.min(MAX_GROUPS * WORKGROUP, byRows));
  }

  /**
   * Ranking keys of every row of `block` against each query (queries: nq x dim, already prepared
   * with prepareQuery semantics), as nq x n float32, query-major.
   */
  async scoreBlock(block: VectorBlock, queries: Float32Array, metric: KnnMetric): Promise<Float32Array> {
    validateMetric(metric);
    const dim = block.dim;
    const n = block.ids.length;
    const nq = Math.floor(queries.length / dim);
    const out = new Float32Array(nq * n);
    if (n === 0 || nq === 0) return out;
    const words = Math.ceil(dim / 4);
    const bytesPerRow = block.kind === 'float32' ? dim * 4 : words * 4;
    const chunk = this.rowsPerChunk(bytesPerRow, nq);
    for (let start = 0; start < n; start += chunk) {
      const end = Math.min(n, start + chunk);
      const part = await this.scoreChunk(block, start, end, queries, nq, metric, words);
      for (let qi = 0; qi < nq; qi++) out.set(part.subarray(qi * (end - start), (qi + 1) * (end - start)), qi * n + start);
    }
    return out;
  }

  private async scoreChunk(block: VectorBlock, start: number, end: number, queries: Float32Array, nq: number, metric: KnnMetric, words: number): Promise<Float32Array> {
    const device = this.device;
    const dim = block.dim;
    const n = end - start;
    const kind = kernelKind(metric);
    const p = metric.kind === 'minkowski' ? metric.p : 2;
    const params = new ArrayBuffer(32);
    const u = new Uint32Array(params);
    const f = new Float32Array(params);
    u[0] = n;
    u[1] = dim;
    u[2] = nq;
    u[3] = MODE[kind];
    f[4] = Number.isFinite(p) ? p : 0;
    u[5] = kind === 'lint' ? p : 0;
    u[6] = words;

    const made: GPUBuffer[] = [];
    const upload = (data: ArrayBufferView, usage: number): GPUBuffer => {
      // Sizes are padded to 4 bytes (WebGPU's copy alignment) and at least 4 (no empty bindings).
      const size = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
      const buf = device.createBuffer({ size, usage: usage | GPUBufferUsage.COPY_DST });
      made.push(buf);
      if (data.byteLength % 4 === 0) device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
      else {
        const padded = new Uint8Array(size);
        padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        device.queue.writeBuffer(buf, 0, padded);
      }
      return buf;
    };
    try {
      const paramBuf = upload(new Uint8Array(params), GPUBufferUsage.UNIFORM);
      const queryBuf = upload(queries, GPUBufferUsage.STORAGE);
      const outBytes = nq * n * 4;
      const outBuf = device.createBuffer({ size: outBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      made.push(outBuf);
      const readBuf = device.createBuffer({ size: outBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      made.push(readBuf);
      let rowsF = this.dummy;
      let rowsI = this.dummy;
      let scaleBuf = this.dummy;
      if (block.kind === 'float32') {
        rowsF = upload(block.rows.subarray(start * dim, end * dim), GPUBufferUsage.STORAGE);
      } else {
        rowsI = upload(packInt8Rows(block.codes, start, end, dim, words), GPUBufferUsage.STORAGE);
        scaleBuf = upload(block.scales.subarray(start, end), GPUBufferUsage.STORAGE);
      }
      const pipeline = block.kind === 'float32' ? this.pipeF32 : this.pipeI8;
      const bind = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: paramBuf } },
          { binding: 1, resource: { buffer: queryBuf } },
          { binding: 2, resource: { buffer: outBuf } },
          { binding: 3, resource: { buffer: rowsF } },
          { binding: 4, resource: { buffer: rowsI } },
          { binding: 5, resource: { buffer: scaleBuf } },
        ],
      });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(Math.ceil(n / WORKGROUP), nq);
      pass.end();
      enc.copyBufferToBuffer(outBuf, 0, readBuf, 0, outBytes);
      device.queue.submit([enc.finish()]);
      await readBuf.mapAsync(GPUMapMode.READ);
      const result = new Float32Array(readBuf.getMappedRange().slice(0));
      readBuf.unmap();
      return result;
    } finally {
      for (const b of made) b.destroy();
    }
  }

  /** Exact top-k of one query over blocks: GPU scores, CPU selection (same TopK as the twin). */
  async search(query: ArrayLike<number>, blocks: Iterable<VectorBlock> | AsyncIterable<VectorBlock>, k: number, metric: KnnMetric): Promise<KnnResult> {
    const q = Float32Array.from(prepareQuery(query, metric));
    const top = new TopK(k);
    for await (const b of blocks) top.pushScores(b.ids, await this.scoreBlock(b, q, metric));
    return finishResult(top.result(), metric);
  }

  dispose(): void {
    this.dummy.destroy();
  }
}

/** Packs rows [start, end) of int8 codes into u32 words, `words` per row, zero-padded. */
export function packInt8Rows(codes: Int8Array, start: number, end: number, dim: number, words: number): Uint32Array {
  const n = end - start;
  if (words * 4 === dim) {
    // Already word-aligned: the bytes are the words (little-endian, as WGSL reads them).
    const bytes = new Uint8Array(n * dim);
    bytes.set(new Uint8Array(codes.buffer, codes.byteOffset + start * dim, n * dim));
    return new Uint32Array(bytes.buffer);
  }
  const bytes = new Uint8Array(n * words * 4);
  for (let r = 0; r < n; r++) bytes.set(new Uint8Array(codes.buffer, codes.byteOffset + (start + r) * dim, dim), r * words * 4);
  return new Uint32Array(bytes.buffer);
}
