// The dedup worker's pure parts (workers/dedup-logic.ts): indexing the prebuilt table, unique shares,
// group summaries, and the in-browser rerun of the dedup core, checked against runDedup itself on
// real CPython stdlib functions and their clones.
import { describe, expect, it } from 'vitest';
import type { FeatureBag } from '../../../src/core/dedup/features.ts';
import { runDedup } from '../../../src/core/dedup/index.ts';
import { PRESET_80 } from '../../../src/core/dedup/settings.ts';
import { createRng } from '../../../src/core/util/random.ts';
import {
  NO_REPO,
  backgroundOf,
  bodyFeatures,
  buildLevel,
  groupMembers,
  similarityGroups,
  summarise,
  thresholdsOf,
  uniqueShares,
  type DedupRows,
  type FunctionIndex,
} from '../../../workers/dedup-logic.ts';
import { pythonParser, stdlibFunctions, type1Clone, type2Clone } from './corpus.ts';

/** Rows as the prebuild writes them: one per (id, threshold), FLOAT thresholds, -1 for null. */
function rowsOf(perThreshold: Record<string, [number, number][]>, ids: number): DedupRows {
  const ts = Object.keys(perThreshold).map(Number).sort((a, b) => a - b);
  const n = ids * ts.length;
  const rows: DedupRows = { ids: new Uint32Array(n), thresholds: new Float32Array(n), groups: new Int32Array(n), communities: new Int32Array(n) };
  let k = 0;
  for (let id = 0; id < ids; id++) {
    for (const t of ts) {
      const [g, c] = perThreshold[String(t)][id];
      rows.ids[k] = id;
      rows.thresholds[k] = t;
      rows.groups[k] = g;
      rows.communities[k] = c;
      k++;
    }
  }
  return rows;
}

describe('the prebuilt table, indexed', () => {
  // 8 functions in 3 packages; at 0.8 groups {0,1,5} and {2,6}; at 0.95 group {0,5}.
  const _ = [-1, -1] as [number, number];
  const rows = rowsOf(
    {
      '0.8': [[0, 0], [0, 0], [1, 1], _, _, [0, 2], [1, 1], _],
      '0.95': [[0, 0], _, _, _, _, [0, 0], _, _],
    },
    8,
  );
  const index: FunctionIndex = {
    idCount: 9,
    repo: Uint32Array.of(0, 0, 1, 1, 1, 2, 2, 2, NO_REPO),
    lang: Uint16Array.of(0, 0, 0, 0, 0, 0, 1, 1, 0),
    langs: ['python', 'cython'],
    repoNames: ['azure-a', 'six', 'idna'],
    name: ['f', 'f', 'g', 'h', 'i', 'f_copy', 'g', 'k', ''],
  };

  it('reads FLOAT thresholds back as 0.8 and 0.95 and groups members largest first', () => {
    const ts = thresholdsOf(rows);
    expect(ts).toEqual([0.8, 0.95]);
    const l80 = buildLevel(rows, 0.8, index.idCount);
    expect(Array.from(l80.order)).toEqual([0, 1]);
    expect(Array.from(groupMembers(l80, 0))).toEqual([0, 1, 5]);
    expect(Array.from(groupMembers(l80, 1))).toEqual([2, 6]);
    expect(() => groupMembers(l80, 2)).toThrow(RangeError);
    const s = summarise(l80, index, 0);
    expect(s).toMatchObject({ groupId: 0, size: 3, name: 'f', packages: ['azure-a', 'idna'], packageCount: 2, communityCount: 2 });
    expect(Array.from(s.ids)).toEqual([0, 1, 5]);
    expect(Array.from(s.communities)).toEqual([0, 0, 2]);
  });

  it('counts unique shares per package and per language at each threshold', () => {
    const levels = thresholdsOf(rows).map((t) => buildLevel(rows, t, index.idCount));
    const t = uniqueShares(index, levels);
    expect(t.thresholds).toEqual([0.8, 0.95]);
    const byName = Object.fromEntries(t.packages.map((r) => [r.name, r]));
    expect(byName['azure-a']).toMatchObject({ functions: 2, duplicated: [2, 1], unique: [0, 0.5] });
    expect(byName.six).toMatchObject({ functions: 3, duplicated: [1, 0] });
    expect(byName.six.unique[0]).toBeCloseTo(2 / 3);
    expect(byName.idna).toMatchObject({ functions: 3, duplicated: [2, 1] });
    const langs = Object.fromEntries(t.languages.map((r) => [r.name, r]));
    expect(langs.python).toMatchObject({ functions: 6, duplicated: [4, 2] });
    expect(langs.cython).toMatchObject({ functions: 2, duplicated: [1, 0] });
    expect(t.total).toMatchObject({ functions: 8, duplicated: [5, 2] });
  });
});

describe('rerunning the core over a few functions', async () => {
  const originals = await stdlibFunctions(120, 8, 21);
  const run = originals ? it : it.skip;

  run('reproduces runDedup: same signatures-based pairs, and at least its groups', async () => {
    if (!originals) return;
    const parser = await pythonParser();
    const rng = createRng(9);
    const bodies = [...originals];
    for (let i = 0; i < 20; i++) bodies.push(type2Clone(parser, originals[i], rng));
    for (let i = 20; i < 30; i++) bodies.push(type1Clone(parser, originals[i], rng));
    // A method body (indented whole lines) parses as the prebuild's worker parses it.
    bodies.push(originals[40].split('\n').map((l) => (l ? `    ${l}` : l)).join('\n'));
    const bags = bodies.map((b) => bodyFeatures(parser, b));
    expect(bags.every((b) => b !== null)).toBe(true);
    const all = bags as FeatureBag[];

    const ref = runDedup(all, PRESET_80);
    // The worker's weighting counts document frequencies over distinct bodies, as runDedup does.
    const mine = similarityGroups(all, PRESET_80.threshold, PRESET_80, backgroundOf(all));
    expect(mine.method).toBe('every pair');
    const myPairs = new Map<number, number>();
    for (let e = 0; e < mine.a.length; e++) myPairs.set(mine.a[e] * all.length + mine.b[e], mine.similarity[e]);
    for (let e = 0; e < ref.pairs.a.length; e++) {
      const key = Math.min(ref.pairs.a[e], ref.pairs.b[e]) * all.length + Math.max(ref.pairs.a[e], ref.pairs.b[e]);
      expect(myPairs.get(key), `pair ${ref.pairs.a[e]}-${ref.pairs.b[e]}`).toBeCloseTo(ref.pairs.similarity[e], 6);
    }
    // Every prebuilt-style group is inside one of the rerun's groups.
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        if (ref.groupIdPerItem[i] >= 0 && ref.groupIdPerItem[i] === ref.groupIdPerItem[j]) expect(mine.group[i]).toBe(mine.group[j]);
      }
    }
    // Type-1 clones have equal normalised bodies: similarity 1 with their original at any threshold.
    const strict = similarityGroups(all, 0.999, PRESET_80, backgroundOf(all));
    for (let i = 20; i < 30; i++) {
      const clone = 120 + i;
      expect(strict.group[i]).toBeGreaterThanOrEqual(0);
      expect(strict.group[clone]).toBe(strict.group[i]);
    }
    // The indented copy is an exact duplicate of its original too.
    expect(strict.group[bodies.length - 1]).toBe(strict.group[40]);
    expect(strict.group[40]).toBeGreaterThanOrEqual(0);
  });

  run('finds with LSH only pairs that every-pair comparison finds', async () => {
    if (!originals) return;
    const parser = await pythonParser();
    const rng = createRng(3);
    const bodies = [...originals];
    for (let i = 0; i < 30; i++) bodies.push(type2Clone(parser, originals[i], rng));
    const bags = bodies.map((b) => bodyFeatures(parser, b)).filter((b): b is FeatureBag => b !== null);
    const bg = backgroundOf(bags);
    const every = similarityGroups(bags, 0.7, PRESET_80, bg);
    const lsh = similarityGroups(bags, 0.7, PRESET_80, bg, 0);
    expect(lsh.method).toMatch(/^LSH \d+ bands x \d+ rows$/);
    const key = (a: number, b: number) => a * bags.length + b;
    const everyPairs = new Set(Array.from(every.a, (a, e) => key(a, every.b[e])));
    for (let e = 0; e < lsh.a.length; e++) expect(everyPairs.has(key(lsh.a[e], lsh.b[e]))).toBe(true);
    // And most of them: renamed clones are far above 0.7.
    expect(lsh.a.length).toBeGreaterThanOrEqual(0.9 * every.a.length);
    // Groups and communities are dense and by smallest member.
    const firstSeen: number[] = [];
    for (let i = 0; i < bags.length; i++) if (every.group[i] >= 0 && !firstSeen.includes(every.group[i])) firstSeen.push(every.group[i]);
    expect(firstSeen).toEqual(firstSeen.map((_, k) => k));
    expect(every.groups).toBe(firstSeen.length);
  });
});
