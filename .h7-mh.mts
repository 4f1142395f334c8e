import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractFeatures, type FeatureBag } from './src/core/dedup/features.ts';
import { PRESET_GEMINI_FUNC, kindWeights } from './src/core/dedup/settings.ts';
import { weighBags } from './src/core/dedup/tfidf.ts';
import { weightedMinHash } from './src/core/dedup/minhash.ts';
import { findPython, listStdlibFiles } from './test/unit/extract/cpython.ts';
import { pythonParser } from './test/unit/dedup/corpus.ts';
const py = findPython()!;
const parser = await pythonParser();
const bags: FeatureBag[] = [];
for (const f of listStdlibFiles(py.stdlib)) {
  if (bags.length >= 12288) break;
  const tree = parser.parse(readFileSync(join(py.stdlib, f), 'utf8'));
  if (!tree) continue;
  for (const d of tree.rootNode.descendantsOfType('function_definition')) if (d && bags.length < 12288) bags.push(extractFeatures(d));
  tree.delete();
}
const sets = weighBags(bags, kindWeights(PRESET_GEMINI_FUNC), 1);
for (let r = 0; r < 2; r++) {
  let t = performance.now();
  weightedMinHash(sets, 256, 1);
  const whole = performance.now() - t;
  t = performance.now();
  for (let b = 0; b < sets.length; b += 2048) weightedMinHash(sets.slice(b, b + 2048), 256, 1);
  const batched = performance.now() - t;
  t = performance.now();
  for (let b = 0; b < sets.length; b += 2048) weightedMinHash(sets.slice(b, b + 2048), 256, 1, 0);
  const nocache = performance.now() - t;
  console.log({ n: sets.length, whole, batched, nocache });
}
