// Looking uploaded functions up in the corpus's LSH bands, on real stdlib code: the corpus's band
// rows are made exactly as the prebuild's dedup stage makes `dedup-bands` (weights over distinct
// bodies, weighted MinHash, the gemini preset's 32 x 8 bands); an upload holding exact copies and
// renamed (type-2) clones of corpus functions, plus functions the corpus does not have, is weighed
// with the corpus's document frequencies and looked up.
import { describe, expect, it } from 'vitest';
import { bodyFeatures } from '../../../src/core/dedup/body-features.ts';
import type { FeatureBag } from '../../../src/core/dedup/features.ts';
import { exactRepresentatives, weighDistinct } from '../../../src/core/dedup/index.ts';
import { bandHashes } from '../../../src/core/dedup/lsh.ts';
import { weightedMinHash } from '../../../src/core/dedup/minhash.ts';
import { PRESET_80, PRESET_GEMINI_FUNC } from '../../../src/core/dedup/settings.ts';
import { BandIndex, queryBands, verifyCandidates, weighAgainst } from '../../../src/core/upload/corpus-bands.ts';
import { createRng } from '../../../src/core/util/random.ts';
import { backgroundOf } from '../../../workers/dedup-logic.ts';
import { pythonParser, stdlibFunctions, type2Clone } from '../dedup/corpus.ts';

const S = PRESET_GEMINI_FUNC;
const B = S.bands;

describe('upload vs corpus bands', async () => {
  const parser = await pythonParser();
  const fns = (await stdlibFunctions(460, 8, 7)) ?? [];
  it('has real stdlib functions', () => expect(fns.length).toBe(460));
  const corpusSrc = fns.slice(0, 400);
  const bags = corpusSrc.map((s) => bodyFeatures(parser, s)).filter((b): b is FeatureBag => b !== null);
  const ids = bags.map((_, i) => 1000 + i);
  // The prebuild's corpusBands: signatures of distinct bodies, copies share their representative's bands.
  const rep = exactRepresentatives(bags);
  const sig = weightedMinHash(weighDistinct(bags, S, rep), S.samples, S.seed);
  const all = bandHashes(sig, bags.length, S.samples, S.bands, S.rows);
  const rowsId: number[] = [];
  const rowsBand: number[] = [];
  const rowsHash: number[] = [];
  for (let i = 0; i < bags.length; i++) {
    for (let k = 0; k < B; k++) {
      rowsId.push(ids[i]!);
      rowsBand.push(k);
      rowsHash.push(all[rep[i]! * B + k]!);
    }
  }
  const index = BandIndex.build(rowsId, rowsBand, rowsHash, B);
  const bg = backgroundOf(bags);

  it('finds every exact copy of a corpus function with all its bands equal', () => {
    const upload = bags.slice(0, 40);
    const { bands, empty } = queryBands(weighAgainst(upload, S, bg.df, bg.docs), S);
    for (let i = 0; i < upload.length; i++) {
      expect(empty[i]).toBe(0);
      expect(Array.from(bands.subarray(i * B, i * B + B))).toEqual(Array.from(all.subarray(rep[i]! * B, rep[i]! * B + B)));
      expect(index.candidates(bands.subarray(i * B, i * B + B)).ids).toContain(ids[i]);
    }
  });

  it('finds most renamed clones and verifies them above 0.8; unrelated functions verify below', () => {
    const rng = createRng(11);
    const clones = corpusSrc.slice(0, 60).map((s) => bodyFeatures(parser, type2Clone(parser, s, rng)));
    const others = fns.slice(400).map((s) => bodyFeatures(parser, s));
    const upload = [...clones, ...others].filter((b): b is FeatureBag => b !== null);
    const nClones = clones.filter((b) => b !== null).length;
    const sets = weighAgainst(upload, S, bg.df, bg.docs);
    const { bands } = queryBands(sets, S);
    let found = 0;
    let falseMatches = 0;
    for (let i = 0; i < upload.length; i++) {
      const q = bands.subarray(i * B, i * B + B);
      const got = index.candidates(q).ids;
      // Brute force over the rows: any corpus id sharing any band.
      const brute = new Set<number>();
      for (let r = 0; r < rowsId.length; r++) if (rowsHash[r] === q[rowsBand[r]!]) brute.add(rowsId[r]!);
      expect(got).toEqual([...brute].sort((a, b) => a - b));
      const verified = verifyCandidates([upload[i]!], bags, got.map((id) => [0, id - 1000] as const), PRESET_80, bg, 0.8).map((v) => ids[v.candidate]!);
      if (i < nClones && verified.includes(1000 + i)) found++;
      if (i >= nClones && verified.length > 0) falseMatches++;
    }
    expect(found / nClones).toBeGreaterThan(0.8);
    expect(falseMatches).toBe(0);
  });

  it('with document frequencies from a sample of the corpus, verification still keeps unrelated functions apart', () => {
    // The browser's dedup worker weighs with a sample of a large corpus: features outside the sample
    // must not simply vanish, or functions sharing only common structure would look alike.
    const sample = backgroundOf(bags.slice(0, 60));
    const rng = createRng(12);
    const clones = corpusSrc.slice(100, 140).map((s) => bodyFeatures(parser, type2Clone(parser, s, rng)));
    const others = fns.slice(400).map((s) => bodyFeatures(parser, s)).filter((b): b is FeatureBag => b !== null);
    let cloneHits = 0;
    clones.forEach((c, k) => {
      if (!c) return;
      const v = verifyCandidates([c], bags, bags.map((_, j) => [0, j] as const), PRESET_80, sample, 0.8);
      if (v.some((x) => x.candidate === 100 + k)) cloneHits++;
    });
    expect(cloneHits / clones.filter(Boolean).length).toBeGreaterThan(0.8);
    // Every unrelated function against every corpus function: no pair reaches 0.8.
    const pairs = others.flatMap((_, u) => bags.map((_, j) => [u, j] as const));
    expect(verifyCandidates(others, bags, pairs, PRESET_80, sample, 0.8).filter((v) => bags[v.candidate]!.normHash.join() !== others[v.upload]!.normHash.join())).toEqual([]);
  });

  it('caps candidates and refuses malformed band rows', () => {
    const { bands } = queryBands(weighAgainst(bags.slice(0, 1), S, bg.df, bg.docs), S);
    const capped = index.candidates(bands.subarray(0, B), 0);
    expect(capped.ids).toEqual([]);
    expect(capped.truncated).toBe(true);
    expect(() => BandIndex.build([1], [B], [5], B)).toThrow(/outside/);
    expect(() => BandIndex.build([1, 2], [0], [5], B)).toThrow(/different lengths/);
  });
});
