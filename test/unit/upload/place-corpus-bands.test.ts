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
import { weightedJaccard } from '../../../src/core/dedup/tfidf.ts';
import { BandIndex, queryBands, weighAgainst } from '../../../src/core/upload/corpus-bands.ts';
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
    const verifyCorpus = weighAgainst(bags, PRESET_80, bg.df, bg.docs);
    const verifyUpload = weighAgainst(upload, PRESET_80, bg.df, bg.docs);
    let found = 0;
    let falseMatches = 0;
    for (let i = 0; i < upload.length; i++) {
      const q = bands.subarray(i * B, i * B + B);
      const got = index.candidates(q).ids;
      // Brute force over the rows: any corpus id sharing any band.
      const brute = new Set<number>();
      for (let r = 0; r < rowsId.length; r++) if (rowsHash[r] === q[rowsBand[r]!]) brute.add(rowsId[r]!);
      expect(got).toEqual([...brute].sort((a, b) => a - b));
      const verified = got.filter((id) => weightedJaccard(verifyUpload[i]!, verifyCorpus[id - 1000]!) >= 0.8);
      if (i < nClones && verified.includes(1000 + i)) found++;
      if (i >= nClones && verified.length > 0) falseMatches++;
    }
    expect(found / nClones).toBeGreaterThan(0.8);
    expect(falseMatches).toBe(0);
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
