// Page entry for test/e2e/kmeans-kernel.test.ts: runs the WebGPU k-means kernel and its JS twin on
// the same seeded data inside Chromium and returns plain-JSON summaries for the test to compare.
import { assignNearest } from '../../../src/core/cluster/distance.ts';
import { kmeans } from '../../../src/core/cluster/kmeans.ts';
import { createKMeansGpuAssigner, kmeansDeviceOptions } from '../../../src/core/cluster/kmeans-webgpu.ts';
import { chooseBackend, computeDevice } from '../../../src/core/gpu/device.ts';
import { createRng } from '../../../src/core/util/random.ts';
import { gaussianBlobs } from '../../unit/cluster/blobs.ts';

interface CompareArgs {
  n: number;
  d: number;
  k: number;
  seed: number;
  separated: boolean;
}

async function compareKMeans(a: CompareArgs) {
  const b = a.separated
    ? gaussianBlobs(a.n, a.d, a.k, { seed: a.seed, std: 1, spread: 20, minSeparation: 12 })
    : gaussianBlobs(a.n, a.d, a.k + 5, { seed: a.seed, std: 1.5, spread: 5 });
  const opts = { k: a.k, seed: a.seed, allowFallbackAdapter: true };
  const gpu = await kmeans(b.data, b.n, a.d, { ...opts, backend: 'webgpu' });
  const js = await kmeans(b.data, b.n, a.d, { ...opts, backend: 'js' });
  let sameLabels = 0;
  for (let i = 0; i < b.n; i++) if (gpu.assignments[i] === js.assignments[i]) sameLabels++;
  let maxCentroidDiff = 0;
  for (let q = 0; q < gpu.centroids.length; q++) maxCentroidDiff = Math.max(maxCentroidDiff, Math.abs(gpu.centroids[q] - js.centroids[q]));
  return {
    backend: gpu.backend,
    reason: gpu.backendReason,
    n: b.n,
    sameLabels,
    inertiaGpu: gpu.inertia,
    inertiaJs: js.inertia,
    iterationsGpu: gpu.iterations,
    iterationsJs: js.iterations,
    maxCentroidDiff,
    gpuMs: gpu.totalMs,
    jsMs: js.totalMs,
  };
}

/** One assignment pass on arbitrary (random-row) centroids: GPU labels/distances vs the JS twin. */
async function compareAssign(a: { n: number; d: number; k: number; seed: number }) {
  const b = gaussianBlobs(a.n, a.d, a.k, { seed: a.seed, std: 1, spread: 3 });
  const rng = createRng(a.seed + 1);
  const cents = new Float32Array(a.k * a.d);
  for (let j = 0; j < a.k; j++) {
    const r = rng.int(b.n);
    cents.set(b.data.subarray(r * a.d, r * a.d + a.d), j * a.d);
  }
  const device = await computeDevice(kmeansDeviceOptions(true));
  if (!device) return { ok: false as const, reason: (await chooseBackend({ allowFallbackAdapter: true })).reason };
  const gpu = createKMeansGpuAssigner(device, b.data, b.n, a.d, a.k);
  const lab = new Int32Array(b.n);
  const dist = new Float32Array(b.n);
  await gpu.assign(cents, lab, dist);
  gpu.destroy();
  const js = new Float64Array(b.n);
  const ref = assignNearest(b.data, b.n, a.d, cents, a.k, new Int32Array(b.n), js);
  let sameLabels = 0;
  let maxRelDist = 0;
  let unexplained = 0;
  for (let i = 0; i < b.n; i++) {
    if (lab[i] === ref.labels[i]) sameLabels++;
    else {
      // A differing label must be a near tie in float32: its distance equals the best within rounding.
      let s = 0;
      for (let t = 0; t < a.d; t++) s += (b.data[i * a.d + t] - cents[lab[i] * a.d + t]) ** 2;
      if (Math.abs(s - js[i]) > 1e-4 * Math.max(1, js[i])) unexplained++;
    }
    maxRelDist = Math.max(maxRelDist, Math.abs(dist[i] - js[i]) / Math.max(1e-6, js[i]));
  }
  return { ok: true as const, n: b.n, sameLabels, unexplained, maxRelDist };
}

const g = globalThis as Record<string, unknown>;
g.__compareKMeans = compareKMeans;
g.__compareAssign = compareAssign;
g.__kernelsReady = true;
