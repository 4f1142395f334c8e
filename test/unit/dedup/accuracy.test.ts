// Mutation accuracy on real code: ~300 CPython stdlib functions, a type-1 clone (layout, comments),
// a type-2 clone (consistent renaming, changed literals) and a type-3 clone (one statement inserted,
// deleted, or two adjacent independent statements swapped) of each, and random pairs of distinct
// originals as non-clones. A pair is predicted a clone when both items land in the same group.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { extractFeatures, type FeatureBag } from '../../../src/core/dedup/features.ts';
import { runDedup } from '../../../src/core/dedup/index.ts';
import { type DedupSettings, PRESET_80, PRESET_95, PRESET_GEMINI_FUNC, kindWeights } from '../../../src/core/dedup/settings.ts';
import { weighBags, weightedJaccard } from '../../../src/core/dedup/tfidf.ts';
import { createRng } from '../../../src/core/util/random.ts';
import { findPython } from '../extract/cpython.ts';
import { pythonParser, stdlibFunctions, type1Clone, type2Clone, type3Clone, type Type3Kind, withFunctionNode } from './corpus.ts';

const N = 300;

interface Scores {
  preset: string;
  recall1: number;
  recall2: number;
  recall3: number;
  precision1: number;
  precision2: number;
  precision3: number;
  recall3ByKind: Record<Type3Kind, number>;
  falsePositives: number;
  negatives: number;
  groupedOriginalPairs: number;
}

describe('dedup accuracy on stdlib mutations', async () => {
  const originals = await stdlibFunctions(N, 8, 11);
  const run = originals ? it : it.skip;

  run('precision >= 0.95 and recall >= 0.9 for type-1 and type-2 clones; type-3 recall >= 0.75 at gemini-func', async () => {
    if (!originals) return;
    const parser = await pythonParser();
    const rng = createRng(5);
    const n = originals.length;
    expect(n).toBeGreaterThanOrEqual(280);
    const t1 = originals.map((s) => type1Clone(parser, s, rng));
    const t2 = originals.map((s) => type2Clone(parser, s, rng));
    // Type-3 clones from their own stream, so types 1 and 2 are the same as without them.
    const rng3 = createRng(7);
    const t3All = originals.map((s) => type3Clone(parser, s, rng3));
    const t3Of: number[] = []; // original index of each type-3 clone
    const t3: string[] = [];
    const t3Kind: Type3Kind[] = [];
    t3All.forEach((c, i) => {
      if (!c) return;
      t3Of.push(i);
      t3.push(c.src);
      t3Kind.push(c.kind);
    });
    const n3 = t3.length;
    expect(n3).toBeGreaterThan(0.9 * n);
    // Every type-3 clone is valid Python to CPython too (tree-sitter is checked by withFunctionNode below).
    const py = findPython();
    if (py) {
      const check = 'import ast,json,sys\nbad=[]\nfor i,s in enumerate(json.load(sys.stdin)):\n    try: ast.parse(s)\n    except SyntaxError: bad.append(i)\nprint(json.dumps(bad))';
      const bad = JSON.parse(execFileSync(py.exe, ['-c', check], { input: JSON.stringify(t3), encoding: 'utf8', maxBuffer: 1 << 26 })) as number[];
      expect(bad.map((i) => t3[i])).toEqual([]);
    }
    const sources = [...originals, ...t1, ...t2, ...t3];
    const base3 = 3 * n;
    const bags: FeatureBag[] = sources.map((s) => withFunctionNode(parser, s, extractFeatures));
    // Clones really are clones of the intended type.
    let changed1 = 0;
    let changed2 = 0;
    for (let i = 0; i < n; i++) {
      if (t1[i] !== originals[i]) changed1++;
      if (t2[i] !== originals[i]) changed2++;
    }
    expect(changed1).toBeGreaterThan(0.9 * n);
    expect(changed2).toBeGreaterThan(0.9 * n);

    const negatives: [number, number][] = [];
    const nrng = createRng(99);
    while (negatives.length < 5000) {
      const a = nrng.int(n);
      const b = nrng.int(n);
      if (a !== b) negatives.push([Math.min(a, b), Math.max(a, b)]);
    }
    // Exact weighted Jaccard of type-2 pairs (for the report).
    const w = weighBags(bags, kindWeights(PRESET_80), 1);
    const j2 = Array.from({ length: n }, (_, i) => weightedJaccard(w[i], w[2 * n + i])).sort((x, y) => x - y);
    const jn = negatives.map(([a, b]) => weightedJaccard(w[a], w[b])).sort((x, y) => x - y);
    const j3 = t3Of.map((i, k) => weightedJaccard(w[i], w[base3 + k])).sort((x, y) => x - y);
    console.log(
      `type-2 exact weighted Jaccard: min ${j2[0].toFixed(3)} p10 ${j2[Math.floor(n * 0.1)].toFixed(3)} median ${j2[n >> 1].toFixed(3)}; ` +
        `type-3: min ${j3[0].toFixed(3)} p10 ${j3[Math.floor(n3 * 0.1)].toFixed(3)} median ${j3[n3 >> 1].toFixed(3)}; ` +
        `non-clone pairs: median ${jn[jn.length >> 1].toFixed(3)} p99 ${jn[Math.floor(jn.length * 0.99)].toFixed(3)} max ${jn[jn.length - 1].toFixed(3)}`,
    );

    const score = (settings: DedupSettings): Scores => {
      const r = runDedup(bags, settings);
      const g = r.groupIdPerItem;
      const same = (a: number, b: number): boolean => g[a] >= 0 && g[a] === g[b];
      let tp1 = 0;
      let tp2 = 0;
      for (let i = 0; i < n; i++) {
        if (same(i, n + i)) tp1++;
        if (same(i, 2 * n + i)) tp2++;
      }
      let tp3 = 0;
      const hit: Record<Type3Kind, number> = { insert: 0, delete: 0, reorder: 0 };
      const all: Record<Type3Kind, number> = { insert: 0, delete: 0, reorder: 0 };
      for (let k = 0; k < n3; k++) {
        all[t3Kind[k]]++;
        if (same(t3Of[k], base3 + k)) {
          tp3++;
          hit[t3Kind[k]]++;
        }
      }
      let fp = 0;
      for (const [a, b] of negatives) if (same(a, b)) fp++;
      let grouped = 0;
      for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (same(a, b)) grouped++;
      // Precision with as many non-clone pairs as clone pairs of the type, scaled from the sample.
      const fpPerPair = fp / negatives.length;
      const fpAtN = fpPerPair * n;
      return {
        preset: settings.name,
        recall1: tp1 / n,
        recall2: tp2 / n,
        recall3: tp3 / n3,
        precision1: tp1 / (tp1 + fpAtN || 1),
        precision2: tp2 / (tp2 + fpAtN || 1),
        precision3: tp3 / (tp3 + fpPerPair * n3 || 1),
        recall3ByKind: { insert: hit.insert / (all.insert || 1), delete: hit.delete / (all.delete || 1), reorder: hit.reorder / (all.reorder || 1) },
        falsePositives: fp,
        negatives: negatives.length,
        groupedOriginalPairs: grouped,
      };
    };
    const results = [PRESET_95, PRESET_80, PRESET_GEMINI_FUNC].map(score);
    // Per type and preset: precision and recall.
    const table: Record<string, string>[] = [];
    for (const s of results) {
      for (const [type, recall, precision] of [
        ['type-1', s.recall1, s.precision1],
        ['type-2', s.recall2, s.precision2],
        ['type-3', s.recall3, s.precision3],
      ] as const) {
        table.push({ preset: s.preset, type, precision: precision.toFixed(3), recall: recall.toFixed(3) });
      }
    }
    const kinds = { insert: 0, delete: 0, reorder: 0 };
    for (const k of t3Kind) kinds[k]++;
    console.log(`type-3 clones: ${n3} (insert ${kinds.insert}, delete ${kinds.delete}, reorder ${kinds.reorder})`);
    console.table(table);
    console.table(
      results.map((s) => ({
        preset: s.preset,
        'type-3 recall insert': s.recall3ByKind.insert.toFixed(3),
        delete: s.recall3ByKind.delete.toFixed(3),
        reorder: s.recall3ByKind.reorder.toFixed(3),
        falsePositives: s.falsePositives,
        negatives: s.negatives,
        groupedOriginalPairs: s.groupedOriginalPairs,
      })),
    );
    const [r95, r80, rg] = results;
    for (const s of results) {
      expect(s.recall1, s.preset).toBeGreaterThanOrEqual(0.9);
      expect(s.precision1, s.preset).toBeGreaterThanOrEqual(0.95);
      // Type-2 clones (every name renamed) sit below 0.95 by design; precision is asserted where found.
      if (s.recall2 >= 0.1) expect(s.precision2, s.preset).toBeGreaterThanOrEqual(0.95);
    }
    expect(r80.recall2).toBeGreaterThanOrEqual(0.9);
    expect(rg.recall2).toBeGreaterThanOrEqual(0.9);
    expect(r95.recall2).toBeLessThanOrEqual(r80.recall2);

    // Type-3 (one statement inserted, deleted or swapped) moves a function by far more than type-2 in
    // feature space, and by how much depends on its size: an inserted line in a 2-statement function
    // changes most of its graphlets and n-grams (exact weighted Jaccard measured min 0.16, p10 0.54,
    // median 0.81 over 297 clones of CPython 3.11's stdlib). So only the loosest preset is held to a
    // recall: measured similar-0.95 0.074, similar-0.80 0.455, gemini-func 0.828 (insert 0.81,
    // delete 0.83, reorder 1.0), precision 1.000 everywhere (0 of 5000 non-clone pairs grouped).
    // The bound sits a little below the measurement to leave room for another stdlib version.
    expect(rg.recall3).toBeGreaterThanOrEqual(0.75);
    // A swap of two adjacent statements only changes the n-grams across their boundary.
    expect(rg.recall3ByKind.reorder).toBeGreaterThanOrEqual(0.9);
    expect(r95.recall3).toBeLessThanOrEqual(r80.recall3);
    expect(r80.recall3).toBeLessThanOrEqual(rg.recall3);
    for (const s of results) if (s.recall3 >= 0.1) expect(s.precision3, s.preset).toBeGreaterThanOrEqual(0.95);
  });
});
