// Exact top-100 k-NN latency (src/core/search/knn.ts with its WASM SIMD kernels, one Node thread) against numpy brute force
// on the same vectors in the same run, float32 and int8 (codes + per-row scale, as stored), for
// L2, L1, L3 and cosine; then IVF recall@100 and bytes fetched per query at nprobe 1/4/16.
//
// Data: a seeded two-level mixture (1000 clusters around 40 topic centres) in 768-d, rows L2-normalised (centre + noise of the same
// norm, so same-cluster cosine ~0.5, cross-cluster ~0), the shape of code embeddings. Queries are
// stored rows plus noise. KNN_BENCH_N scales the row count down for a trial (default 551,657).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantizeInt8 } from '../../src/core/embed/quantize.ts';
import { buildInMemoryIvf, ivfIndexBytes, recallAtK, searchIvf } from '../../src/core/search/ivf.ts';
import { KnnQuery, type KnnMetric, type VectorBlock } from '../../src/core/search/knn.ts';
import type { BenchResult, BenchRow } from './types.ts';

const PY = '/usr/bin/python3';
const N = Number(process.env.KNN_BENCH_N ?? 551_657);
const D = 768;
const K = 100;
const CLUSTERS = 1000;
const SUPER = 40;
/** Noise norm relative to the unit centre: 1.5 gives same-cluster cosine ~0.3, overlapping clusters. */
const NOISE = 1.5;
const BLOCK = 8192; // rows per block: about one Parquet row group
const QUERIES = 5;
const IVF_N = Math.min(N, Number(process.env.KNN_BENCH_IVF_N ?? 100_000));

/** xorshift32 uniforms and an Irwin-Hall (sum of 4) approximate normal: fast enough for 400M values. */
function gen(seed: number): { u: () => number; g: () => number } {
  let s = seed >>> 0 || 1;
  const u = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return { u, g: () => (u() + u() + u() + u() - 2) * Math.sqrt(3) };
}

interface Data {
  f32: VectorBlock[];
  i8: VectorBlock[];
  queries: Float32Array[];
}

function makeData(n: number, seed: number): Data {
  const { u, g } = gen(seed);
  // Two levels, as topics and sub-topics: cluster centres scatter around SUPER centres, so
  // neighbouring clusters exist and a query's neighbours can straddle partitions.
  const supers = new Float32Array(SUPER * D).map(() => g());
  const centres = new Float32Array(CLUSTERS * D);
  for (let c = 0; c < CLUSTERS; c++) {
    let ss = 0;
    const sup = c % SUPER;
    for (let j = 0; j < D; j++) ss += (centres[c * D + j] = supers[sup * D + j] + g()) ** 2;
    const inv = 1 / Math.sqrt(ss);
    for (let j = 0; j < D; j++) centres[c * D + j] *= inv;
  }
  const noise = NOISE / Math.sqrt(D);
  const f32: VectorBlock[] = [];
  const i8: VectorBlock[] = [];
  for (let s = 0; s < n; s += BLOCK) {
    const e = Math.min(n, s + BLOCK);
    const rows = new Float32Array((e - s) * D);
    for (let r = 0; r < e - s; r++) {
      const c = Math.floor(u() * CLUSTERS);
      let ss = 0;
      for (let j = 0; j < D; j++) ss += (rows[r * D + j] = centres[c * D + j] + noise * g()) ** 2;
      const inv = 1 / Math.sqrt(ss);
      for (let j = 0; j < D; j++) rows[r * D + j] *= inv;
    }
    const ids = new Uint32Array(e - s).map((_, i) => s + i);
    f32.push({ kind: 'float32', ids, rows, dim: D });
    const { codes, scales } = quantizeInt8(rows, D);
    i8.push({ kind: 'int8', ids, codes, scales, dim: D });
  }
  const queries: Float32Array[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const b = f32[Math.floor(u() * f32.length)]! as Extract<VectorBlock, { kind: 'float32' }>;
    const r = Math.floor(u() * b.ids.length);
    const q = b.rows.slice(r * D, (r + 1) * D);
    for (let j = 0; j < D; j++) q[j] += (0.5 / Math.sqrt(D)) * g();
    queries.push(q);
  }
  return { f32, i8, queries };
}

function writeRaw(path: string, blocks: VectorBlock[], part: 'rows' | 'codes' | 'scales'): void {
  const fd = openSync(path, 'w');
  try {
    for (const b of blocks) {
      const a = part === 'rows' && b.kind === 'float32' ? b.rows : part === 'codes' && b.kind === 'int8' ? b.codes : part === 'scales' && b.kind === 'int8' ? b.scales : null;
      if (!a) throw new Error(`block has no ${part}`);
      writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
  } finally {
    closeSync(fd);
  }
}

// numpy peer: the textbook vectorised brute force. L2 by ||x||^2 - 2 X q (+ ||q||^2) with the row
// norms precomputed (index time, not counted), Minkowski p by chunked |X - q|^p sums, cosine by X q;
// int8 by dequantising chunks (codes as float32 times scale) or, for cosine, an int8 -> float32 dot.
// Top 100 by argpartition + sort. Median of the queries.
const PEER = String.raw`
import json, sys, time
import numpy as np
n, d, k = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
X = np.fromfile(sys.argv[4], dtype=np.float32).reshape(n, d)
C = np.fromfile(sys.argv[5], dtype=np.int8).reshape(n, d)
S = np.fromfile(sys.argv[6], dtype=np.float32)
Q = np.fromfile(sys.argv[7], dtype=np.float32).reshape(-1, d)
xx = np.einsum('ij,ij->i', X, X)
CH = 16384
def topk(dist):
    idx = np.argpartition(dist, k)[:k]
    return idx[np.lexsort((idx, dist[idx]))]
def l2_f32(q): return topk(xx - 2 * (X @ q))
def cos_f32(q): return topk(1 - X @ (q / np.linalg.norm(q)))
def mink(q, p, deq):
    out = np.empty(n, dtype=np.float32)
    for s in range(0, n, CH):
        B = (C[s:s+CH].astype(np.float32) * S[s:s+CH, None]) if deq else X[s:s+CH]
        A = np.abs(B - q)
        out[s:s+CH] = A.sum(1) if p == 1 else (A * A).sum(1) if p == 2 else (A ** p).sum(1)
    return topk(out)
def cos_i8(q):
    qn = q / np.linalg.norm(q)
    out = np.empty(n, dtype=np.float32)
    for s in range(0, n, CH):
        out[s:s+CH] = 1 - (C[s:s+CH].astype(np.float32) @ qn) * S[s:s+CH]
    return topk(out)
cases = {
  'float32 L2': l2_f32, 'float32 L1': lambda q: mink(q, 1, False), 'float32 L3': lambda q: mink(q, 3, False), 'float32 cosine': cos_f32,
  'int8 L2': lambda q: mink(q, 2, True), 'int8 L1': lambda q: mink(q, 1, True), 'int8 L3': lambda q: mink(q, 3, True), 'int8 cosine': cos_i8,
}
res = {'numpy': np.__version__, 'times': {}, 'ids': {}}
for name, f in cases.items():
    ts = []
    f(Q[0])  # warm-up, as ours gets one
    for i, q in enumerate(Q):
        t0 = time.perf_counter(); ids = f(q); ts.append(time.perf_counter() - t0)
        if i == 0: res['ids'][name] = [int(x) for x in ids[:10]]
    res['times'][name] = sorted(ts)[len(ts) // 2]
print(json.dumps(res))
`;

interface PeerOut {
  numpy: string;
  times: Record<string, number>;
  ids: Record<string, number[]>;
}

const CASES: [string, 'f32' | 'i8', KnnMetric][] = [
  ['float32 L2', 'f32', { kind: 'minkowski', p: 2 }],
  ['float32 L1', 'f32', { kind: 'minkowski', p: 1 }],
  ['float32 L3', 'f32', { kind: 'minkowski', p: 3 }],
  ['float32 cosine', 'f32', { kind: 'cosine' }],
  ['int8 L2', 'i8', { kind: 'minkowski', p: 2 }],
  ['int8 L1', 'i8', { kind: 'minkowski', p: 1 }],
  ['int8 L3', 'i8', { kind: 'minkowski', p: 3 }],
  ['int8 cosine', 'i8', { kind: 'cosine' }],
];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function bench(): Promise<BenchResult> {
  const t0 = performance.now();
  const data = makeData(N, 12345);
  process.stderr.write(`knn: ${N} x ${D} generated in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const ours: Record<string, { ms: number; ids: number[] }> = {};
  for (const [name, dt, m] of CASES) {
    const blocks = dt === 'f32' ? data.f32 : data.i8;
    // One warm-up query (JIT), then the timed ones.
    const run = (q: Float32Array): { ms: number; ids: number[] } => {
      const s0 = performance.now();
      const s = new KnnQuery(q, K, m);
      for (const b of blocks) s.add(b);
      const r = s.result();
      return { ms: performance.now() - s0, ids: Array.from(r.ids.subarray(0, 10)) };
    };
    run(data.queries[0]!);
    const times: number[] = [];
    let first: number[] = [];
    for (const [i, q] of data.queries.entries()) {
      const r = run(q);
      times.push(r.ms);
      if (i === 0) first = r.ids;
    }
    ours[name] = { ms: median(times), ids: first };
    process.stderr.write(`knn: ours ${name} ${median(times).toFixed(0)} ms\n`);
  }

  let peer: PeerOut | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'atlas-knn-bench-'));
  try {
    writeRaw(join(dir, 'x.f32'), data.f32, 'rows');
    writeRaw(join(dir, 'c.i8'), data.i8, 'codes');
    writeRaw(join(dir, 's.f32'), data.i8, 'scales');
    const qs = new Float32Array(QUERIES * D);
    data.queries.forEach((q, i) => qs.set(q, i * D));
    const fd = openSync(join(dir, 'q.f32'), 'w');
    writeSync(fd, new Uint8Array(qs.buffer));
    closeSync(fd);
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE; // the faster OpenBLAS setting here (see STACK.md)
    try {
      const out = execFileSync(PY, ['-c', PEER, String(N), String(D), String(K), join(dir, 'x.f32'), join(dir, 'c.i8'), join(dir, 's.f32'), join(dir, 'q.f32')], {
        encoding: 'utf8',
        env,
        maxBuffer: 1 << 24,
      });
      peer = JSON.parse(out) as PeerOut;
    } catch (e) {
      notes.push(`numpy peer failed: ${(e as Error).message.split('\n')[0]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const agree: string[] = [];
  for (const [name] of CASES) {
    const p = peer?.times[name];
    rows.push({ metric: `top-100 ${name}, ${N} x ${D}`, ours: ours[name]!.ms, peer: p === undefined ? null : p * 1000, unit: 'ms/query', higherIsBetter: false });
    // numpy ranks in float32 (and float32 L2 by the norm expansion), ours in float64: the top 10 should still agree.
    if (peer) {
      const a = ours[name]!.ids;
      const b = peer.ids[name] ?? [];
      agree.push(`${name} ${a.filter((x) => b.includes(x)).length}/10`);
    }
  }
  if (peer) notes.push(`Top-10 ids shared with numpy on the first query (numpy computes in float32): ${agree.join(', ')}.`);

  // IVF: recall@100 against exact search and bytes per query, int8 rows as stored.
  const ivfBlocks = data.i8.slice(0, Math.ceil(IVF_N / BLOCK));
  const ivfN = ivfBlocks.reduce((s, b) => s + b.ids.length, 0);
  const merged = mergeInt8(ivfBlocks);
  const nlist = Math.max(16, Math.round(Math.sqrt(ivfN) / 4));
  const t1 = performance.now();
  const ivf = buildInMemoryIvf(merged, nlist, { seed: 1, sample: 10000, iterations: 10 });
  const buildS = (performance.now() - t1) / 1000;
  const m: KnnMetric = { kind: 'cosine' };
  for (const nprobe of [1, 4, 16]) {
    let recall = 0;
    let bytes = 0;
    let ms = 0;
    for (const q of data.queries) {
      const exact = new KnnQuery(q, K, m);
      exact.add(merged);
      const s0 = performance.now();
      const { result, stats } = await searchIvf(ivf.index, q, K, m, nprobe, ivf.fetch);
      ms += performance.now() - s0;
      recall += recallAtK(exact.result().ids, result.ids, K);
      bytes += stats.bytes;
    }
    const nq = data.queries.length;
    rows.push({ metric: `IVF recall@100, nprobe ${nprobe}/${nlist}, ${ivfN} int8 rows, cosine`, ours: recall / nq, peer: null, unit: 'recall', higherIsBetter: true });
    rows.push({ metric: `IVF bytes fetched per query, nprobe ${nprobe}`, ours: bytes / nq / 2 ** 20, peer: null, unit: 'MiB', higherIsBetter: false });
    rows.push({ metric: `IVF query latency, nprobe ${nprobe}`, ours: ms / nq, peer: null, unit: 'ms/query', higherIsBetter: false });
  }
  notes.push(
    `Data: seeded two-level mixture (${CLUSTERS} clusters around ${SUPER} topic centres), noise norm ${NOISE} x the centre's (same-cluster cosine ~${(1 / (1 + NOISE * NOISE)).toFixed(2)}), rows L2-normalised; int8 = quantizeInt8 codes + per-row scale. Ours: one Node ${process.version} thread, float64 arithmetic (WebAssembly SIMD f64x2 kernels for cosine/L1/L2, including the copy of each block into WASM memory; JS loops for L3), early abandoning of rows whose partial Minkowski sum passes the current 100th best (exact). numpy ${peer?.numpy ?? '?'} (OPENBLAS_CORETYPE unset), median of ${QUERIES} queries each.`,
    `IVF: own seeded k-means (k-means++ on 10k sampled rows, 10 Lloyd iterations) with ${nlist} partitions over the first ${ivfN} rows, built in ${buildS.toFixed(1)} s; bytes = rows fetched x ${D + 8} B (id + int8 codes + scale) + the partition index (${(ivfIndexBytes(ivf.index) / 2 ** 20).toFixed(2)} MiB). Exact search fetches ${((ivfN * (D + 8)) / 2 ** 20).toFixed(0)} MiB.`,
  );
  return { name: 'k-NN search', peer: `numpy ${peer?.numpy ?? ''} brute force (/usr/bin/python3), same vectors, same run`, rows, notes };
}

function mergeInt8(blocks: VectorBlock[]): VectorBlock {
  const n = blocks.reduce((s, b) => s + b.ids.length, 0);
  const ids = new Uint32Array(n);
  const codes = new Int8Array(n * D);
  const scales = new Float32Array(n);
  let o = 0;
  for (const b of blocks) {
    if (b.kind !== 'int8') throw new Error('expected int8 blocks');
    ids.set(b.ids, o);
    codes.set(b.codes, o * D);
    scales.set(b.scales, o);
    o += b.ids.length;
  }
  return { kind: 'int8', ids, codes, scales, dim: D };
}
