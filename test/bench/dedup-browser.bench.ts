// The dedup core's hashing steps in headless Chromium against the same code in Node, on the same
// weighted sets (real stdlib functions: tree-sitter features, log-TF-log-IDF weights), in one run:
// weighted MinHash signatures/s (256 samples), LSH band hashing + candidate pairs, and pair
// verification (estimated weighted Jaccard >= the threshold) per second.
import { fileURLToPath } from 'node:url';
import { extractFeatures } from '../../src/core/dedup/features.ts';
import { bandHashes, candidatePairs } from '../../src/core/dedup/lsh.ts';
import { estimateJaccard, weightedMinHash } from '../../src/core/dedup/minhash.ts';
import { PRESET_GEMINI_FUNC, kindWeights } from '../../src/core/dedup/settings.ts';
import { weighBags } from '../../src/core/dedup/tfidf.ts';
import { createRng } from '../../src/core/util/random.ts';
import { openKernelPage } from '../e2e/helpers/kernel-page.ts';
import { findPython, listStdlibFiles } from '../unit/extract/cpython.ts';
import { pythonParser } from '../unit/dedup/corpus.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from './types.ts';

const N = Number(process.env.DEDUP_BROWSER_N ?? 5000);
const RUNS = 3;

function best<T>(runs: number, fn: () => T): { s: number; value: T } {
  let s = Infinity;
  let value: T | undefined;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    value = fn();
    s = Math.min(s, (performance.now() - t0) / 1000);
  }
  return { s, value: value as T };
}

export default async function bench(): Promise<BenchResult> {
  const settings = PRESET_GEMINI_FUNC;
  const S = settings.samples;
  const py = findPython();
  if (!py) throw new Error('no python3 here: the benchmark cuts functions from its stdlib');
  const parser = await pythonParser();
  const files = listStdlibFiles(py.stdlib).filter((f) => !/(^|\/)(test|tests|idle_test|lib2to3|__phello__|encodings)\//.test(f));
  const rng = createRng(5);
  const bags = [];
  for (let i = files.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [files[i], files[j]] = [files[j]!, files[i]!];
  }
  for (const f of files) {
    if (bags.length >= N) break;
    const tree = parser.parse(readFileSync(join(py.stdlib, f), 'utf8'));
    if (!tree) continue;
    for (const d of tree.rootNode.descendantsOfType('function_definition')) if (d && bags.length < N) bags.push(extractFeatures(d));
    tree.delete();
  }
  const sets = weighBags(bags, kindWeights(settings), settings.minDf);
  const n = sets.length;

  // Node, same steps.
  const mh = best(RUNS, () => weightedMinHash(sets, S, settings.seed));
  const sig = mh.value;
  const include = Uint8Array.from(sets, (s) => (s.hashes.length > 0 ? 1 : 0));
  const lsh = best(RUNS, () => candidatePairs(bandHashes(sig, n, S, settings.bands, settings.rows), n, settings.bands, settings.bucketCap, settings.bucketWindow, settings.maxCandidates, include));
  const keys = lsh.value.keys;
  const verify = best(RUNS, () => {
    let kept = 0;
    for (const key of keys) {
      const x = Math.floor(key / n);
      if (estimateJaccard(sig, S, x, key - x * n) >= settings.threshold) kept++;
    }
    return kept;
  });
  let check = 0;
  for (let i = 0; i < sig.length; i++) check = (Math.imul(check, 31) + sig[i]!) >>> 0;

  // Chromium, same sets.
  const page = await openKernelPage(fileURLToPath(new URL('./browser/dedup-entry.ts', import.meta.url)));
  let browser: { minhashS: number; lshS: number; verifyS: number; pairs: number; verified: number; check: number };
  try {
    browser = await page.evaluate(
      (input) => (globalThis as unknown as { dedupBench: (i: unknown) => typeof browser }).dedupBench(input),
      { hashes: sets.map((s) => Array.from(s.hashes)), weights: sets.map((s) => Array.from(s.weights)), runs: RUNS },
    );
  } finally {
    await page.close();
  }
  if (browser.check !== check) throw new Error('Chromium computed different signatures from Node');
  const nnz = sets.reduce((s, x) => s + x.hashes.length, 0);
  return {
    name: 'dedup hashing in Chromium',
    peer: 'the same dedup core in Node, same weighted sets, same run',
    rows: [
      { metric: `weighted MinHash, ${S} samples (signatures/s)`, ours: n / browser.minhashS, peer: n / mh.s, unit: 'functions/s', higherIsBetter: true },
      { metric: `LSH ${settings.bands} x ${settings.rows}: band hashes + candidate pairs`, ours: n / browser.lshS, peer: n / lsh.s, unit: 'functions/s', higherIsBetter: true },
      { metric: `verify candidate pairs (estimated Jaccard >= ${settings.threshold})`, ours: keys.length / browser.verifyS, peer: keys.length / verify.s, unit: 'pairs/s', higherIsBetter: true },
    ],
    notes: [
      `${n} real stdlib functions (seeded file order), ${nnz} weighted features; ${keys.length} candidate pairs, ${verify.value} verified; signatures identical in Chromium and Node (checksum ${check}).`,
      `Best of ${RUNS} runs on each side; single-threaded both; headless Chromium via the kernel-page harness (esbuild bundle on a 127.0.0.1 page).`,
    ],
  };
}
