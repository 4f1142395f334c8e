// The dedup core's hashing steps in headless Chromium against the same code in Node, on the same
// weighted sets (real stdlib functions: tree-sitter features, log-TF-log-IDF weights), in one run:
// weighted MinHash signatures/s (256 samples), LSH band hashing + candidate pairs, and pair
// verification (estimated weighted Jaccard >= the threshold) per second.
import { fileURLToPath } from 'node:url';
import { extractFeatures } from '../../src/core/dedup/features.ts';
import { PRESET_GEMINI_FUNC, kindWeights } from '../../src/core/dedup/settings.ts';
import { weighBags } from '../../src/core/dedup/tfidf.ts';
import { createRng } from '../../src/core/util/random.ts';
import { openKernelPage } from '../e2e/helpers/kernel-page.ts';
import { findPython, listStdlibFiles } from '../unit/extract/cpython.ts';
import { pythonParser } from '../unit/dedup/corpus.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from './types.ts';
import { hashSteps, type StepTimes } from './browser/dedup-steps.ts';

const N = Number(process.env.DEDUP_BROWSER_N ?? 5000);
const RUNS = 3;

export default async function bench(): Promise<BenchResult> {
  const settings = PRESET_GEMINI_FUNC;
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

  const node = hashSteps(sets, RUNS);

  // Chromium, same sets.
  const page = await openKernelPage(fileURLToPath(new URL('./browser/dedup-entry.ts', import.meta.url)));
  let browser: StepTimes;
  try {
    browser = await page.evaluate(
      (input) => (globalThis as unknown as { dedupBench: (i: unknown) => typeof browser }).dedupBench(input),
      { hashes: sets.map((s) => Array.from(s.hashes)), weights: sets.map((s) => Array.from(s.weights)), runs: RUNS },
    );
  } finally {
    await page.close();
  }
  if (browser.check !== node.check) throw new Error('Chromium computed different signatures from Node');
  const nnz = sets.reduce((s, x) => s + x.hashes.length, 0);
  return {
    name: 'dedup hashing in Chromium',
    peer: 'the same dedup core in Node, same weighted sets, same run',
    rows: [
      { metric: `weighted MinHash, ${settings.samples} samples (signatures/s)`, ours: n / browser.minhashS, peer: n / node.minhashS, unit: 'functions/s', higherIsBetter: true },
      { metric: `LSH ${settings.bands} x ${settings.rows}: band hashes + candidate pairs`, ours: n / browser.lshS, peer: n / node.lshS, unit: 'functions/s', higherIsBetter: true },
      { metric: `verify candidate pairs (estimated Jaccard >= ${settings.threshold})`, ours: node.pairs / browser.verifyS, peer: node.pairs / node.verifyS, unit: 'pairs/s', higherIsBetter: true },
    ],
    notes: [
      `${n} real stdlib functions (seeded file order), ${nnz} weighted features; ${node.pairs} candidate pairs, ${node.verified} verified; signatures identical in Chromium and Node (checksum ${node.check}).`,
      `Best of ${RUNS} runs on each side; single-threaded both; headless Chromium via the kernel-page harness (esbuild bundle on a 127.0.0.1 page).`,
    ],
  };
}
