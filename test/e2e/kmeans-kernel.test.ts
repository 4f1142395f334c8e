// The WebGPU k-means assignment kernel against its JS twin, inside Debian's Chromium (SwiftShader
// WebGPU, accepted here through allowFallbackAdapter). Same seeded data on both sides.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKernelPage, type KernelPage } from './helpers/kernel-page.ts';

const entry = fileURLToPath(new URL('./kernels/kmeans-entry.ts', import.meta.url));

interface CompareResult {
  backend: string;
  reason: string;
  n: number;
  sameLabels: number;
  inertiaGpu: number;
  inertiaJs: number;
  iterationsGpu: number;
  iterationsJs: number;
  maxCentroidDiff: number;
}

type AssignResult = { ok: false; reason: string } | { ok: true; n: number; sameLabels: number; unexplained: number; maxRelDist: number };

describe('k-means WebGPU kernel vs JS twin (Chromium)', () => {
  let kp: KernelPage;
  beforeAll(async () => {
    kp = await openKernelPage(entry);
  });
  afterAll(async () => {
    await kp?.close();
  });

  for (const d of [3, 64]) {
    it(`gives identical assignments and the same inertia on well-separated seeded data (d=${d})`, async () => {
      const r = await kp.evaluate(
        (a) => (globalThis as unknown as { __compareKMeans: (x: typeof a) => Promise<CompareResult> }).__compareKMeans(a),
        { n: 6000, d, k: 8, seed: 17 + d, separated: true },
      );
      expect(r.backend, r.reason).toBe('webgpu');
      expect(r.sameLabels).toBe(r.n);
      expect(r.iterationsGpu).toBe(r.iterationsJs);
      expect(Math.abs(r.inertiaGpu - r.inertiaJs) / r.inertiaJs).toBeLessThan(1e-9);
      expect(r.maxCentroidDiff).toBeLessThan(1e-6);
      expect(kp.errors).toEqual([]);
    });

    it(`assigns like the JS twin on overlapping data, up to float32 near-ties (d=${d})`, async () => {
      const r = await kp.evaluate(
        (a) => (globalThis as unknown as { __compareAssign: (x: typeof a) => Promise<AssignResult> }).__compareAssign(a),
        { n: 5000, d, k: 40, seed: 5 + d },
      );
      if (!r.ok) throw new Error(`no WebGPU device: ${r.reason}`);
      expect(r.unexplained).toBe(0);
      expect(r.sameLabels / r.n).toBeGreaterThan(0.999);
      expect(r.maxRelDist).toBeLessThan(1e-4);
    });
  }

  it('converges to the same clustering on overlapping data from the same seed (d=3)', async () => {
    const r = await kp.evaluate(
      (a) => (globalThis as unknown as { __compareKMeans: (x: typeof a) => Promise<CompareResult> }).__compareKMeans(a),
      { n: 4000, d: 3, k: 12, seed: 3, separated: false },
    );
    expect(r.backend).toBe('webgpu');
    // Float32 (GPU) vs Float64 (JS) distances may flip a near-tie; the inertia must still agree.
    expect(r.sameLabels / r.n).toBeGreaterThan(0.99);
    expect(Math.abs(r.inertiaGpu - r.inertiaJs) / r.inertiaJs).toBeLessThan(1e-3);
  });
});
