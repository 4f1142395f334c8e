import { describe, expect, it } from 'vitest';
import { louvainCommunities } from '../../../src/core/dedup/communities.ts';
import { connectedComponents } from '../../../src/core/dedup/components.ts';
import type { FeatureBag } from '../../../src/core/dedup/features.ts';
import { runDedup } from '../../../src/core/dedup/index.ts';
import { type DedupSettings, N_KINDS, PRESET_80 } from '../../../src/core/dedup/settings.ts';
import { createRng } from '../../../src/core/util/random.ts';

/** A synthetic bag: `shared` features common to its family plus `own` features of its own. */
function bag(rng: ReturnType<typeof createRng>, family: number, shared: number, own: number, id: number): FeatureBag {
  const m = new Map<number, number>();
  for (let i = 0; i < shared; i++) m.set(((family * 7919 + i) * 2654435761) >>> 0, 1 + (i % 3));
  for (let i = 0; i < own; i++) m.set(rng.nextU32(), 1);
  const hashes = Float64Array.from(m.keys()).sort();
  // All features in the uast2seq kind (kind weights then only scale).
  const kindOffsets = new Uint32Array(N_KINDS + 1);
  for (let k = N_KINDS - 1; k <= N_KINDS; k++) kindOffsets[k] = k === N_KINDS ? hashes.length : 0;
  return {
    hashes: Uint32Array.from(hashes),
    counts: Float32Array.from(hashes, (h) => m.get(h) ?? 1),
    kindOffsets,
    normHash: Uint32Array.of(id, family),
  };
}

describe('components and communities', () => {
  it('labels components densely by smallest member; singletons are -1', () => {
    const c = connectedComponents(8, [5, 1, 6, 3], [7, 3, 5, 2]);
    expect(Array.from(c.idPerItem)).toEqual([-1, 0, 0, 0, -1, 1, 1, 1]);
    expect(Array.from(c.sizes)).toEqual([3, 3]);
  });

  it('Louvain is deterministic and finds two cliques joined by one edge', () => {
    const a: number[] = [];
    const b: number[] = [];
    const w: number[] = [];
    for (const base of [0, 10]) for (let i = 0; i < 10; i++) for (let j = i + 1; j < 10; j++) a.push(base + i), b.push(base + j), w.push(0.9);
    a.push(3), b.push(14), w.push(0.8);
    const members = Uint32Array.from({ length: 20 }, (_, i) => i);
    const r1 = louvainCommunities(members, a, b, w, 7);
    const r2 = louvainCommunities(members, a, b, w, 7);
    expect(Array.from(r1.communityPerMember)).toEqual(Array.from(r2.communityPerMember));
    expect(r1.count).toBe(2);
    expect(Array.from(r1.communityPerMember)).toEqual([...Array(10).fill(0), ...Array(10).fill(1)]);
  });

  it('runDedup groups families, splits communities, and is deterministic', () => {
    const rng = createRng(3);
    const bags: FeatureBag[] = [];
    // 40 families of 12 near-duplicates (shared 60, own 3 -> weighted Jaccard ~0.9), interleaved, and 200 loners.
    for (let i = 0; i < 480; i++) bags.push(bag(rng, i % 40, 60, 3, i));
    for (let i = 0; i < 200; i++) bags.push(bag(rng, 1000 + i, 10, 40, 480 + i));
    // One exact duplicate.
    bags.push({ ...bags[5], normHash: bags[5].normHash.slice() });
    const s: DedupSettings = { ...PRESET_80, communityMinSize: 4 };
    const r1 = runDedup(bags, s);
    const r2 = runDedup(bags, s);
    expect(Array.from(r1.groupIdPerItem)).toEqual(Array.from(r2.groupIdPerItem));
    expect(Array.from(r1.communityIdPerItem)).toEqual(Array.from(r2.communityIdPerItem));
    expect(r1.stats.exactDuplicates).toBe(1);
    expect(r1.groupIdPerItem[680]).toBe(r1.groupIdPerItem[5]);
    expect(r1.stats.groups).toBe(40);
    for (let i = 0; i < 480; i++) expect(r1.groupIdPerItem[i]).toBe(i % 40); // dense, by smallest member
    for (let i = 480; i < 680; i++) expect(r1.groupIdPerItem[i]).toBe(-1);
    // Communities refine groups.
    for (let i = 0; i < 480; i++) for (const j of [i + 40, i + 80]) if (j < 480 && r1.communityIdPerItem[i] === r1.communityIdPerItem[j]) expect(r1.groupIdPerItem[i]).toBe(r1.groupIdPerItem[j]);
    for (let e = 0; e < r1.pairs.a.length; e++) {
      expect(r1.pairs.a[e]).toBeLessThan(r1.pairs.b[e]);
      expect(r1.pairs.similarity[e]).toBeGreaterThanOrEqual(s.threshold);
    }
  });

  it('a giant component (10k similar items) finishes fast and is capped, split and reported', () => {
    const rng = createRng(9);
    const bags: FeatureBag[] = [];
    // Every item: 28 of the same 30 features (IDF would erase features all items share and make
    // any own feature dominate, so similarity here comes from the overlap): pairwise ~0.87.
    for (let i = 0; i < 10_000; i++) {
      const drop1 = rng.int(30);
      const drop2 = (drop1 + 1 + rng.int(29)) % 30;
      const hs: number[] = [];
      for (let f = 0; f < 30; f++) if (f !== drop1 && f !== drop2) hs.push(((f + 1) * 2654435761) >>> 0);
      hs.sort((x, y) => x - y);
      const kindOffsets = new Uint32Array(N_KINDS + 1);
      kindOffsets[N_KINDS] = hs.length;
      bags.push({ hashes: Uint32Array.from(hs), counts: new Float32Array(hs.length).fill(1), kindOffsets, normHash: Uint32Array.of(i, 7) });
    }
    const s: DedupSettings = { ...PRESET_80, samples: 128, bands: 9, rows: 13, maxComponentSize: 1000 };
    const t0 = performance.now();
    const r = runDedup(bags, s);
    const ms = performance.now() - t0;
    console.log(`giant: ${ms.toFixed(0)} ms`, JSON.stringify(r.stats));
    expect(ms).toBeLessThan(30_000);
    expect(r.stats.cappedBuckets).toBeGreaterThan(0);
    expect(r.stats.largestBucket).toBeGreaterThan(s.bucketCap);
    expect(r.stats.candidates).toBeLessThan(10_000 * s.bands * (s.bucketWindow + 1));
    expect(r.stats.giantComponents.length).toBe(1);
    const g = r.stats.giantComponents[0];
    expect(g.size).toBeGreaterThan(9000);
    expect(g.parts).toBeGreaterThanOrEqual(10);
    expect(r.stats.largestGroup).toBeLessThanOrEqual(s.maxComponentSize);
    const sizes = new Map<number, number>();
    for (const x of r.groupIdPerItem) if (x >= 0) sizes.set(x, (sizes.get(x) ?? 0) + 1);
    expect(Math.max(...sizes.values())).toBeLessThanOrEqual(s.maxComponentSize);
  });
});
