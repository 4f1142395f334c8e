// Reductions against their Python peers, on the same seeded synthetic float32 Gaussian mixture
// (551,657 x 768 by default: the study's corpus size and Jina's width), in the same run:
//   PCA -> 100 components: ours (PcaAccumulator with its default WASM SIMD Gram kernel, the tfjs
//     Gram kernel, and with REDUCE_BENCH_SKIP_JS_PCA unset also the JS loop and randomizedPca) vs scikit-learn PCA (randomized and full; ratios against the faster one).
//   VAE, one epoch at batch 10,000 with the study's 768-512-512-3 net: ours (tfjs, wasm backend in
//     Node, each batch split over W worker threads as the prebuild does: prebuild/vae-parallel.ts)
//     vs PyTorch CPU with the same net, loss, optimiser and batch order policy.
// Env: REDUCE_BENCH_N scales the rows down (the notes record N); REDUCE_BENCH_VAE_N does the same for
// the VAE alone; REDUCE_BENCH_VAE_WORKERS sets W (default: cores); REDUCE_BENCH_SKIP_JS_PCA=1 skips
// the slow JS-Gram and randomized PCA variants; REDUCE_BENCH_ONLY=vae skips PCA on both sides (a
// quick look: the section it writes then has the VAE rows only).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { initTfBackend } from '../../src/core/gpu/tf-backend.ts';
import { PcaAccumulator, explainedVarianceCurve, randomizedPca } from '../../src/core/reduce/pca.ts';
import { tfGramKernel } from '../../src/core/reduce/pca-tf.ts';
import { disposeVae, trainVae, type VaeEpochStats, type VaeGradientEngine } from '../../src/core/reduce/vae.ts';
import { createVaeEngine, defaultVaeWorkers } from '../../prebuild/vae-parallel.ts';
import { createRng } from '../../src/core/util/random.ts';
import type { BenchResult, BenchRow } from './types.ts';

const PY = '/usr/bin/python3';
const D = 768;
const K = 100;
const SHARD = 16_384; // rows per streamed chunk (a vectors shard's row group)
const VAE_BATCH = 10_000;

const PEER = String.raw`
import json, sys, time, os
import numpy as np
path, n, d, k, vae_n, batch, only = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
X = np.fromfile(path, dtype=np.float32).reshape(n, d)
out = {'numpy': np.__version__, 'coretype': os.environ.get('OPENBLAS_CORETYPE', 'unset')}
import sklearn, threadpoolctl
from sklearn.decomposition import PCA
out['sklearn'] = sklearn.__version__
out['blas'] = [(i.get('internal_api'), i.get('num_threads'), i.get('architecture')) for i in threadpoolctl.threadpool_info()]
for solver in ([] if only == 'vae' else ['randomized', 'full']):
    t0 = time.perf_counter(); p = PCA(n_components=k, svd_solver=solver, random_state=0).fit(X); t = time.perf_counter() - t0
    out['pca_' + solver] = {'s': t, 'evr': float(p.explained_variance_ratio_.sum()), 'ev0': float(p.explained_variance_[0])}
import torch
torch.set_num_threads(os.cpu_count())
torch.manual_seed(0)
out['torch'] = torch.__version__
out['torch_threads'] = torch.get_num_threads()
Xv = torch.from_numpy(X[:vae_n].copy())
Xv = (Xv - Xv.mean(0)) / Xv.std(0, unbiased=False).clamp_min(1e-12)
class VAE(torch.nn.Module):
    def __init__(s, d, h=512, z=3):
        super().__init__()
        s.e1 = torch.nn.Linear(d, h); s.e2 = torch.nn.Linear(h, h); s.mu = torch.nn.Linear(h, z); s.ls = torch.nn.Linear(h, z)
        s.d1 = torch.nn.Linear(z, h); s.d2 = torch.nn.Linear(h, h); s.o = torch.nn.Linear(h, d)
    def forward(s, x):
        h = torch.nn.functional.elu(s.e2(torch.nn.functional.elu(s.e1(x))))
        mu, ls = s.mu(h), s.ls(h)
        zz = mu + torch.exp(ls) * torch.randn_like(mu)
        return s.o(torch.nn.functional.elu(s.d2(torch.nn.functional.elu(s.d1(zz))))), mu, ls
m = VAE(d)
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
perm = torch.randperm(vae_n)
t0 = time.perf_counter(); rec_sum = 0.0; kl_sum = 0.0
for s in range(0, vae_n, batch):
    x = Xv[perm[s:s + batch]]
    xr, mu, ls = m(x)
    rec = 0.5 * ((xr - x) ** 2).sum(1).mean()
    kl = (0.5 * (mu ** 2 + torch.exp(2 * ls) - 1) - ls).sum(1).mean()
    loss = rec + kl * min(1.0, (s // batch + 1) / (5 * ((vae_n + batch - 1) // batch)))
    opt.zero_grad(); loss.backward(); opt.step()
    rec_sum += float(rec) * x.shape[0]; kl_sum += float(kl) * x.shape[0]
out['vae'] = {'s': time.perf_counter() - t0, 'recon': rec_sum / vae_n, 'kl': kl_sum / vae_n}
print(json.dumps(out))
`;

interface PeerOut {
  numpy: string;
  sklearn: string;
  torch: string;
  torch_threads: number;
  coretype: string;
  blas: unknown;
  pca_randomized?: { s: number; evr: number; ev0: number };
  pca_full?: { s: number; evr: number; ev0: number };
  vae: { s: number; recon: number; kl: number };
}

/** Seeded Gaussian mixture: 64 centres ~ N(0, 1) per coordinate with per-cluster low-rank spread, plus isotropic noise. */
function mixture(n: number, d: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const kc = 64;
  const rank = 8;
  const centres = new Float32Array(kc * d);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal();
  const axes = new Float32Array(kc * rank * d);
  for (let i = 0; i < axes.length; i++) axes[i] = rng.normal() * 0.3;
  const out = new Float32Array(n * d);
  const coef = new Float64Array(rank);
  for (let i = 0; i < n; i++) {
    const c = rng.int(kc);
    for (let r = 0; r < rank; r++) coef[r] = rng.normal();
    const o = i * d;
    for (let j = 0; j < d; j++) {
      let v = centres[c * d + j] + 0.5 * rng.normal();
      for (let r = 0; r < rank; r++) v += coef[r] * axes[(c * rank + r) * d + j];
      out[o + j] = v;
    }
  }
  return out;
}

function* shards(data: Float32Array, n: number): Generator<Float32Array> {
  for (let s = 0; s < n; s += SHARD) yield data.subarray(s * D, Math.min(n, s + SHARD) * D);
}

function runPeer(file: string, n: number, vaeN: number, only: string): PeerOut | null {
  try {
    execFileSync(PY, ['-c', 'import sklearn, threadpoolctl, torch'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE; // the faster OpenBLAS setting here (see STACK.md)
  const out = execFileSync(PY, ['-c', PEER, file, String(n), String(D), String(K), String(vaeN), String(VAE_BATCH), only || 'all'], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  return JSON.parse(out) as PeerOut;
}

const secs = (t0: number): number => (performance.now() - t0) / 1000;

export default async function bench(): Promise<BenchResult> {
  const n = Math.max(1000, Number(process.env.REDUCE_BENCH_N ?? 551_657));
  const vaeN = Math.min(n, Math.max(1000, Number(process.env.REDUCE_BENCH_VAE_N ?? n)));
  const skipSlow = process.env.REDUCE_BENCH_SKIP_JS_PCA === '1';
  const only = process.env.REDUCE_BENCH_ONLY ?? '';
  const vaeWorkers = Math.max(1, Number(process.env.REDUCE_BENCH_VAE_WORKERS ?? defaultVaeWorkers()));
  // The machine is shared: record its load, since contention moves both sides (BLAS threads most).
  const loadStart = loadavg()[0];
  const notes: string[] = [];
  const rows: BenchRow[] = [];
  let peerName = 'scikit-learn / torch (not available)';
  let t0 = performance.now();
  const data = mixture(n, D, 42);
  notes.push(`Data: ${n} x ${D} float32 (${((n * D * 4) / 2 ** 30).toFixed(2)} GiB), seeded mixture of 64 Gaussians with rank-8 spread; generated in ${secs(t0).toFixed(1)} s. VAE rows: ${vaeN}.`);
  const choice = await initTfBackend();
  notes.push(`tfjs backend: ${choice.backend} (${choice.reason}).`);

  const dir = mkdtempSync(join(tmpdir(), 'reduce-bench-'));
  try {
    const file = join(dir, 'x.f32');
    writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, n * D * 4));

    // --- PCA, ours ---
    const ours: { name: string; s: number; evr: number; ev0: number }[] = [];
    if (only !== 'vae') {
      // The default accumulator: the WebAssembly SIMD Gram kernel (pca-simd.ts), upper triangle only.
      t0 = performance.now();
      const acc = new PcaAccumulator(D);
      for (const s of shards(data, n)) acc.add(s);
      const tAcc = secs(t0);
      const m = acc.finish(K);
      const total = secs(t0);
      ours.push({ name: 'covariance (WASM SIMD Gram, one thread) + eigh', s: total, evr: explainedVarianceCurve(m, K).cumulative[K - 1], ev0: m.explainedVariance[0] });
      notes.push(`Ours, WASM SIMD Gram: accumulate ${tAcc.toFixed(1)} s + eigendecomposition (768 x 768, JS) ${(total - tAcc).toFixed(1)} s.`);
    }
    if (!skipSlow && only !== 'vae') {
      t0 = performance.now();
      const accTf = new PcaAccumulator(D, { gramKernel: tfGramKernel() });
      for (const s of shards(data, n)) accTf.add(s);
      const tAccTf = secs(t0);
      const mTf = accTf.finish(K);
      const totalTf = secs(t0);
      ours.push({ name: `covariance (tfjs ${choice.backend} Gram) + eigh`, s: totalTf, evr: explainedVarianceCurve(mTf, K).cumulative[K - 1], ev0: mTf.explainedVariance[0] });
      notes.push(`Ours, tfjs Gram (the previous default): accumulate ${tAccTf.toFixed(1)} s + eigendecomposition ${(totalTf - tAccTf).toFixed(1)} s.`);
    }
    if (!skipSlow && only !== 'vae') {
      t0 = performance.now();
      const acc = new PcaAccumulator(D, { gramKernel: null });
      for (const s of shards(data, n)) acc.add(s);
      const m = acc.finish(K);
      ours.push({ name: 'covariance (JS Gram) + eigh', s: secs(t0), evr: explainedVarianceCurve(m, K).cumulative[K - 1], ev0: m.explainedVariance[0] });
      t0 = performance.now();
      const r = await randomizedPca(() => shards(data, n), D, K, { oversample: 10, powerIterations: 2, seed: 0 });
      ours.push({ name: 'randomized, 2 power iterations (3 passes, JS)', s: secs(t0), evr: explainedVarianceCurve(r).cumulative[K - 1], ev0: r.explainedVariance[0] });
    }

    // --- VAE, ours: the prebuild's data-parallel engine (W worker threads, tfjs WASM each) ---
    const epochStats: VaeEpochStats[] = [];
    t0 = performance.now();
    const engine = createVaeEngine(vaeWorkers);
    // Time inside the engine (split, workers' forward/backward, messages, sum) vs the coordinator's
    // own work (gathering the batch, noise, Adam), to show where an epoch goes.
    let inEngine = 0;
    let steps = 0;
    let startMs = 0;
    const timedEngine: VaeGradientEngine = {
      parts: engine.parts,
      async start(s) {
        const t = performance.now();
        try {
          return await engine.start(s);
        } finally {
          startMs = performance.now() - t;
        }
      },
      end: () => engine.end(),
      close: () => engine.close(),
      async gradients(...args) {
        const t = performance.now();
        try {
          return await engine.gradients(...args);
        } finally {
          inEngine += performance.now() - t;
          steps++;
        }
      },
    };
    let vaeS: number;
    try {
      const model = await trainVae(data.subarray(0, vaeN * D), vaeN, D, { latentDim: 3, hidden: [512, 512], batchSize: VAE_BATCH, epochs: 1, seed: 0 }, { onEpoch: (s) => epochStats.push(s) }, timedEngine);
      vaeS = secs(t0);
      disposeVae(model);
    } finally {
      await engine.close();
    }
    const ep = epochStats[0];
    notes.push(
      `Ours: VAE batches split over ${vaeWorkers} ${vaeWorkers === 1 ? 'replica (this thread)' : 'worker threads'} (prebuild/vae-parallel.ts). The epoch's ${vaeS.toFixed(1)} s: ` +
        `${steps} steps at ${(inEngine / 1000 / Math.max(1, steps)).toFixed(2)} s each in the gradient engine (split, workers' forward/backward, messages, gradient sum), ` +
        `${(startMs / 1000).toFixed(1)} s waiting for the threads to start (tfjs WASM in each; it overlaps the standardisation), ` +
        `${((vaeS * 1000 - inEngine - startMs) / 1000).toFixed(1)} s in the coordinator (standardisation, batch gathering, noise, Adam).`,
    );

    // --- peers ---
    const peer = runPeer(file, n, vaeN, only);
    if (peer) {
      peerName = `scikit-learn ${peer.sklearn} PCA(100, randomized | full), torch ${peer.torch} CPU (${peer.torch_threads} threads) VAE 768-512-512-3, numpy ${peer.numpy}, Debian /usr/bin/python3, OPENBLAS_CORETYPE ${peer.coretype}`;
    }
    const pr = peer?.pca_randomized;
    const pf = peer?.pca_full;
    const bestPeer = pr && pf ? Math.min(pr.s, pf.s) : null;
    const bestPeerName = pr && pf ? (pr.s <= pf.s ? 'randomized' : 'full') : '';
    for (const o of ours) {
      rows.push({ metric: `PCA ${n} x ${D} -> ${K} fit: ours ${o.name} vs sklearn ${bestPeerName || '-'} (faster of the two) (s)`, ours: o.s, peer: bestPeer, unit: 's', higherIsBetter: false });
    }
    rows.push({ metric: `VAE one epoch, ${vaeN} x ${D}, batch ${VAE_BATCH} (s)`, ours: vaeS, peer: peer ? peer.vae.s : null, unit: 's', higherIsBetter: false });
    rows.push({ metric: 'VAE training throughput (samples/s)', ours: ep.samplesPerSec, peer: peer ? vaeN / peer.vae.s : null, unit: 'samples/s', higherIsBetter: true });
    if (peer) {
      notes.push(`Peer BLAS: ${JSON.stringify(peer.blas)}.`);
      if (pr && pf && ours[0]) {
        notes.push(`sklearn PCA fit: randomized ${pr.s.toFixed(1)} s, full ${pf.s.toFixed(1)} s.`);
        notes.push(
          `Explained variance ratio, sum of 100 components: ${ours.map((o) => `ours ${o.name} ${o.evr.toFixed(4)}`).join('; ')}; sklearn randomized ${pr.evr.toFixed(4)}, full ${pf.evr.toFixed(4)}. ` +
            `First variance: ours ${ours[0].ev0.toFixed(3)}, sklearn full ${pf.ev0.toFixed(3)}.`,
        );
      }
      // Multiply-adds of one epoch (forward, weight gradients, input gradients but the first layer's):
      // what each side's GEMMs had to do, against the WASM SIMD GEMM's measured ceiling.
      const dims = [D, 512, 512];
      let fwd = 0;
      for (let i = 0; i + 1 < dims.length; i++) fwd += (dims[i] as number) * (dims[i + 1] as number);
      fwd = 2 * fwd + 2 * 512 * 3 + 3 * 512;
      const macs = vaeN * (2 * fwd + (fwd - D * 512));
      notes.push(
        `VAE arithmetic: ${(macs / 1e12).toFixed(2)} T multiply-adds per epoch; torch ran them at ${(macs / peer.vae.s / 1e9).toFixed(1)} G/s (OpenBLAS AVX-512 FMA on 2 cores), ours at ${(macs / vaeS / 1e9).toFixed(1)} G/s. ` +
          'WebAssembly SIMD is 128-bit without FMA (relaxed SIMD is not on by default in Node 20): the best GEMM kernel here (src/core/cluster/simd.ts, 4 x 2 register tile) measures 20-22 G/s per core, ' +
          `so even a perfect 2-core WASM epoch would take ${(macs / 44e9).toFixed(0)} s, ${(macs / 44e9 / peer.vae.s).toFixed(2)}x the peer's time.`,
      );
      notes.push(`VAE epoch 1 per-sample means: ours recon ${ep.reconLoss.toFixed(1)}, KL ${ep.klLoss.toFixed(2)} (per dim ${ep.klPerDim.map((x) => x.toFixed(2)).join(', ')}); torch recon ${peer.vae.recon.toFixed(1)}, KL ${peer.vae.kl.toFixed(2)}.`);
    }
    notes.push(
      'Both VAEs: standardised inputs, loss = per-sample 0.5 * squared error summed over 768 + KL (weight annealed linearly over 5 epochs), Adam 1e-3. ' +
        `Ours is data-parallel over ${vaeWorkers} thread(s), each a single-threaded tfjs WASM replica (tfjs's own WASM threads cannot start in Node or in a COOP/COEP worker); torch uses every core. Ours includes starting the threads and computing the standardisation.`,
    );
    if (only !== 'vae') notes.push('PCA timings are fit only (no projection); ours streams the rows in 16,384-row chunks as from shards.');
    else notes.push('REDUCE_BENCH_ONLY=vae: PCA was not run in this run.');
    notes.push(`1-minute load average: ${loadStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end (2 cores; other jobs ran alongside when it is above ~2).`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'Reductions: PCA and VAE', peer: peerName, rows, notes };
}
