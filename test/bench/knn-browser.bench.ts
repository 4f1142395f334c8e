// Exact top-100 k-NN latency of src/core/search/knn.ts inside headless Chromium (its WebAssembly
// SIMD kernels for L1/L2/cosine, JS loops for L3, on the page's main thread) against the same code
// in Node and numpy brute force, all in the same run on bit-identical vectors: the page generates
// them with the seeded generator of browser/knn-data.ts (nothing is shipped), Node runs the same
// generator, and numpy reads Node's copy from raw files.
//
// Sizes: KNN_BROWSER_N rows of int8 (default 551,657, the corpus' vector count) and
// KNN_BROWSER_F32_N rows of float32 (default the same; 1.7 GB at full size). If the page dies
// generating float32 at that size, the float32 size is halved until it fits, and the notes say so.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VectorBlock } from '../../src/core/search/knn.ts';
import { openKernelPage, type KernelPage } from '../e2e/helpers/kernel-page.ts';
import type { KnnPageApi } from './browser/knn-entry.ts';
import { KNN_BLOCK, KNN_CASES, KNN_CLUSTERS, KNN_DIM, KNN_NOISE, KNN_SUPER, knnDataGen, makeBlocks, timeCase, type CaseTiming } from './browser/knn-data.ts';
import type { BenchResult, BenchRow } from './types.ts';

const PY = '/usr/bin/python3';
const N = Number(process.env.KNN_BROWSER_N ?? 551_657);
const F32_N = Math.min(N, Number(process.env.KNN_BROWSER_F32_N ?? N));
const QUERIES = Number(process.env.KNN_BROWSER_QUERIES ?? 5);
const K = 100;
const SEED = 20240611;
const D = KNN_DIM;
const ENTRY = fileURLToPath(new URL('./browser/knn-entry.ts', import.meta.url));

// numpy peer, one dtype per call: the vectorised brute force of knn.bench.ts (L2 by the norm
// expansion for float32, chunked |X - q|^p sums otherwise, int8 dequantised chunk by chunk, cosine
// by a matrix-vector product), top 100 by argpartition + sort, median of the queries after a warm-up.
const PEER = String.raw`
import json, sys, time
import numpy as np
dtype, n, d, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
Q = np.fromfile(sys.argv[5], dtype=np.float32).reshape(-1, d)
CH = 16384
if dtype == 'f32':
    X = np.fromfile(sys.argv[6], dtype=np.float32).reshape(n, d)
    xx = np.einsum('ij,ij->i', X, X)
else:
    C = np.fromfile(sys.argv[6], dtype=np.int8).reshape(n, d)
    S = np.fromfile(sys.argv[7], dtype=np.float32)
def topk(dist):
    idx = np.argpartition(dist, k)[:k]
    return idx[np.lexsort((idx, dist[idx]))]
def block(s):
    return X[s:s+CH] if dtype == 'f32' else C[s:s+CH].astype(np.float32) * S[s:s+CH, None]
def mink(q, p):
    if dtype == 'f32' and p == 2:
        return topk(xx - 2 * (X @ q))
    out = np.empty(n, dtype=np.float32)
    for s in range(0, n, CH):
        A = np.abs(block(s) - q)
        out[s:s+CH] = A.sum(1) if p == 1 else (A * A).sum(1) if p == 2 else (A ** p).sum(1)
    return topk(out)
def cos(q):
    qn = q / np.linalg.norm(q)
    if dtype == 'f32':
        return topk(1 - X @ qn)
    out = np.empty(n, dtype=np.float32)
    for s in range(0, n, CH):
        out[s:s+CH] = 1 - (C[s:s+CH].astype(np.float32) @ qn) * S[s:s+CH]
    return topk(out)
pre = 'float32' if dtype == 'f32' else 'int8'
cases = {pre + ' L2': lambda q: mink(q, 2), pre + ' L1': lambda q: mink(q, 1), pre + ' L3': lambda q: mink(q, 3), pre + ' cosine': cos}
res = {'numpy': np.__version__, 'times': {}, 'ids': {}}
for name, f in cases.items():
    f(Q[0])
    ts = []
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

function writeArrays(path: string, arrays: ArrayBufferView[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const a of arrays) writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  } finally {
    closeSync(fd);
  }
}

function log(msg: string): void {
  process.stderr.write(`knn-browser: ${msg}\n`);
}

/** Node side and numpy for one dtype, on the same rows as the page. */
function nodeAndPeer(dtype: 'f32' | 'i8', n: number, notes: string[]): { node: Record<string, CaseTiming>; peer: PeerOut | null; genS: number } {
  const t0 = performance.now();
  const queries = knnDataGen(n, SEED).queries(QUERIES);
  let blocks: VectorBlock[] = makeBlocks(dtype, n, SEED);
  const genS = (performance.now() - t0) / 1000;
  log(`node ${dtype}: ${n} x ${D} generated in ${genS.toFixed(1)} s`);
  const node: Record<string, CaseTiming> = {};
  for (const c of KNN_CASES.filter((x) => x.dtype === dtype)) {
    node[c.name] = timeCase(blocks, queries, K, c.metric);
    log(`node ${c.name}: ${node[c.name]!.ms.toFixed(0)} ms`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'atlas-knn-browser-'));
  let peer: PeerOut | null = null;
  try {
    writeArrays(join(dir, 'q.f32'), queries);
    const files: string[] = [];
    if (dtype === 'f32') {
      writeArrays(join(dir, 'x.f32'), blocks.map((b) => (b.kind === 'float32' ? b.rows : new Float32Array(0))));
      files.push(join(dir, 'x.f32'));
    } else {
      writeArrays(join(dir, 'c.i8'), blocks.map((b) => (b.kind === 'int8' ? b.codes : new Int8Array(0))));
      writeArrays(join(dir, 's.f32'), blocks.map((b) => (b.kind === 'int8' ? b.scales : new Float32Array(0))));
      files.push(join(dir, 'c.i8'), join(dir, 's.f32'));
    }
    blocks = []; // let Node's copy go before numpy loads its own
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE; // the faster OpenBLAS setting here (see STACK.md)
    try {
      const out = execFileSync(PY, ['-c', PEER, dtype, String(n), String(D), String(K), join(dir, 'q.f32'), ...files], { encoding: 'utf8', env, maxBuffer: 1 << 24 });
      peer = JSON.parse(out) as PeerOut;
      for (const [k, v] of Object.entries(peer.times)) log(`numpy ${k}: ${(v * 1000).toFixed(0)} ms`);
    } catch (e) {
      notes.push(`numpy peer (${dtype}) failed: ${(e as Error).message.split('\n')[0]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { node, peer, genS };
}

async function pageTimings(page: KernelPage, dtype: 'f32' | 'i8', n: number): Promise<{ t: Record<string, CaseTiming>; genS: number }> {
  const genS = await page.evaluate((a) => (globalThis as unknown as { __knn: KnnPageApi }).__knn.prepare(a), { dtype, n, seed: SEED, queries: QUERIES });
  log(`chromium ${dtype}: ${n} x ${D} generated in ${genS.toFixed(1)} s`);
  const t: Record<string, CaseTiming> = {};
  for (const c of KNN_CASES.filter((x) => x.dtype === dtype)) {
    t[c.name] = await page.evaluate((a) => (globalThis as unknown as { __knn: KnnPageApi }).__knn.time(a), { name: c.name, k: K });
    log(`chromium ${c.name}: ${t[c.name]!.ms.toFixed(0)} ms`);
  }
  // Drop the page's copy before the next dtype is generated.
  await page.evaluate((a) => (globalThis as unknown as { __knn: KnnPageApi }).__knn.prepare(a), { dtype, n: 0, seed: SEED, queries: 1 });
  return { t, genS };
}

export default async function bench(): Promise<BenchResult> {
  const notes: string[] = [];
  const chromium: Record<string, CaseTiming> = {};
  const genS: Record<string, number> = {};
  let ua = '';
  // Chromium first: the float32 size it can hold decides the size Node and numpy run.
  let f32n = F32_N;
  let page: KernelPage | null = await openKernelPage(ENTRY);
  try {
    ua = await page.evaluate(() => navigator.userAgent, null);
    const i8 = await pageTimings(page, 'i8', N);
    Object.assign(chromium, i8.t);
    genS.chromium_i8 = i8.genS;
    for (;;) {
      try {
        const f = await pageTimings(page, 'f32', f32n);
        Object.assign(chromium, f.t);
        genS.chromium_f32 = f.genS;
        break;
      } catch (e) {
        const msg = (e as Error).message.split('\n')[0] ?? '';
        const next = Math.floor(f32n / 2 / KNN_BLOCK) * KNN_BLOCK;
        notes.push(`float32 at ${f32n} x ${D} (${((f32n * D * 4) / 2 ** 30).toFixed(2)} GiB) failed in the page (${msg}); retried at ${next} rows`);
        log(`float32 at ${f32n} failed in the page: ${msg}`);
        await page.close();
        page = null;
        if (next < KNN_BLOCK) throw e;
        f32n = next;
        page = await openKernelPage(ENTRY);
      }
    }
    if (page.errors.length) notes.push(`page errors: ${page.errors.slice(0, 3).join(' | ')}`);
  } finally {
    await page?.close();
  }

  const i8 = nodeAndPeer('i8', N, notes);
  const f32 = nodeAndPeer('f32', f32n, notes);
  const node = { ...i8.node, ...f32.node };
  const peerTimes: Record<string, number> = { ...(i8.peer?.times ?? {}), ...(f32.peer?.times ?? {}) };
  const peerIds: Record<string, number[]> = { ...(i8.peer?.ids ?? {}), ...(f32.peer?.ids ?? {}) };
  const numpyVersion = i8.peer?.numpy ?? f32.peer?.numpy ?? '?';

  const rows: BenchRow[] = [];
  const agree: string[] = [];
  for (const c of KNN_CASES) {
    const n = c.dtype === 'i8' ? N : f32n;
    const ch = chromium[c.name]!;
    const p = peerTimes[c.name];
    rows.push({ metric: `Chromium top-100 ${c.name}, ${n} x ${D} (vs numpy)`, ours: ch.ms, peer: p === undefined ? null : p * 1000, unit: 'ms/query', higherIsBetter: false });
    rows.push({ metric: `Chromium top-100 ${c.name}, ${n} x ${D} (vs the same code in Node)`, ours: ch.ms, peer: node[c.name]!.ms, unit: 'ms/query', higherIsBetter: false });
    const same = ch.ids.every((x, i) => x === node[c.name]!.ids[i]);
    const np = peerIds[c.name] ?? [];
    agree.push(`${c.name}: Chromium = Node ${same ? 'yes' : 'NO'}, shared with numpy ${ch.ids.filter((x) => np.includes(x)).length}/10`);
  }
  const chromeVer = /Chrome\/([\d.]+)/.exec(ua)?.[1] ?? ua;
  const simd = KNN_CASES.map((c) => `${c.name} ${chromium[c.name]!.simd ? 'SIMD' : 'JS'}`).join(', ');
  notes.push(
    `Data: seeded two-level mixture (${KNN_CLUSTERS} clusters around ${KNN_SUPER} topic centres, noise ${KNN_NOISE} x the centre's norm, rows L2-normalised; int8 = quantizeInt8 codes + per-row scale), generated block by block (${KNN_BLOCK} rows) by test/bench/browser/knn-data.ts inside the page and again in Node: bit-identical rows. Generation took ${genS.chromium_i8?.toFixed(0)} s (int8) / ${genS.chromium_f32?.toFixed(0)} s (float32) in Chromium, ${i8.genS.toFixed(0)} s / ${f32.genS.toFixed(0)} s in Node (not timed as search).`,
    f32n < N
      ? `float32 ran at ${f32n} rows (${((f32n * D * 4) / 2 ** 30).toFixed(2)} GiB), the largest size tried that the page held; int8 at the full ${N}.`
      : `float32 at the full ${N} x ${D} (${((N * D * 4) / 2 ** 30).toFixed(2)} GiB of Float32Array blocks) fitted in the page.`,
    `Ours: src/core/search/knn.ts (KnnQuery, float64 arithmetic) on the page's main thread in headless Chromium ${chromeVer} (Debian, --headless=new, one thread), and in Node ${process.version} (one thread); kernels: ${simd}. Median of ${QUERIES} queries after one warm-up query, per case.`,
    `numpy ${numpyVersion} (/usr/bin/python3, OPENBLAS_CORETYPE unset, the faster setting here): vectorised brute force, float32 arithmetic, median of ${QUERIES} queries after a warm-up.`,
    `Top-10 ids of the first query: ${agree.join('; ')}.`,
    `Load average at the end (1/5/15 min): ${loadavg().map((x) => x.toFixed(1)).join(' / ')} on this shared 2-core machine; the three sides run one after another (Chromium, then Node, then numpy per dtype), so load drift between them moves the ratios.`,
    'Each case has two rows: Chromium against numpy, then Chromium against the same knn.ts in Node (the "peer" column of that row is Node).',
  );
  return { name: 'k-NN search in Chromium', peer: `numpy ${numpyVersion} brute force (/usr/bin/python3) and the same knn.ts in Node, same vectors, same run`, rows, notes };
}
