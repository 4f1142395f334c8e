// The placement core on real code: stdlib functions embedded with TF-IDF/SVD, a VAE trained on them
// (as the layout stage does), k-means clusters. An "upload" of some of those functions (and of other
// stdlib functions the map never saw) is placed with the serialised-and-restored encoder: the same
// upload always gets the same coordinates and clusters, a copy of a corpus function lands exactly on
// its corpus point, and every cluster assignment is the nearest centroid by brute force.
import { describe, expect, it } from 'vitest';
import { initTfBackend } from '../../../src/core/gpu/tf-backend.ts';
import { fitTfidfSvd, TfidfSvdEmbedder } from '../../../src/core/embed/tfidf-svd.ts';
import { deserializeVae, disposeVae, encode, serializeVae, trainVae } from '../../../src/core/reduce/vae.ts';
import { pca } from '../../../src/core/reduce/pca.ts';
import { kmeans } from '../../../src/core/cluster/kmeans.ts';
import {
  centroidsFromLayout,
  centroidsFromRows,
  dequantizeRows,
  nearestClusters,
  placeRows,
  placeUpload,
  roundLikeStored,
  PlacementError,
} from '../../../src/core/upload/place.ts';
import { stdlibFunctions } from '../embed/stdlib-corpus.ts';

const choice = await initTfBackend({ order: ['wasm', 'cpu'] });

const all = stdlibFunctions(1400).map((f) => f.text);
const corpusTexts = all.slice(0, 1000);
const uploadTexts = [...all.slice(1000, 1400), ...corpusTexts.slice(0, 50)];

describe(`upload placement (tfjs ${choice.backend})`, async () => {
  it('has real functions to work on', () => {
    expect(all.length).toBe(1400);
  });

  const model = await fitTfidfSvd(corpusTexts, { dim: 32, seed: 3 });
  const embedder = new TfidfSvdEmbedder(model);
  const dim = embedder.dim;
  // The corpus as the prebuild stores and lays it out: int8-rounded vectors, VAE-3 on them, k-means.
  const corpus = roundLikeStored(embedder.embedSync(corpusTexts), dim).rows;
  const n = corpusTexts.length;
  const vae = await trainVae(corpus, n, dim, { latentDim: 3, hidden: [64, 64], epochs: 3, batchSize: 200, seed: 5 });
  const layout = await encode(vae, corpus, n);
  const km = await kmeans(layout, n, 3, { k: 7, seed: 1 });
  const saved = await serializeVae(vae);
  disposeVae(vae);
  const uploadVectors = embedder.embedSync(uploadTexts);

  it('places the same upload at the same coordinates and clusters, with a fresh encoder each time', async () => {
    const c = centroidsFromRows(Int32Array.from({ length: 7 }, (_, i) => i), Float32Array.from(km.centroids), 3);
    const runs = [];
    for (let r = 0; r < 2; r++) {
      const m = deserializeVae(saved.json, saved.binary);
      runs.push(await placeUpload(uploadVectors.slice(), dim, { kind: 'vae', model: m }, c));
      disposeVae(m);
    }
    expect(runs[0]!.positions.length).toBe(uploadTexts.length * 3);
    expect(Array.from(runs[1]!.positions)).toEqual(Array.from(runs[0]!.positions));
    expect(Array.from(runs[1]!.clusters)).toEqual(Array.from(runs[0]!.clusters));
    expect(Array.from(runs[1]!.codes)).toEqual(Array.from(runs[0]!.codes));
    // Not degenerate: the upload spreads over several clusters and the points differ.
    expect(new Set(runs[0]!.clusters).size).toBeGreaterThan(2);
    expect(new Set(Array.from(runs[0]!.positions, (v) => v.toFixed(4))).size).toBeGreaterThan(uploadTexts.length);
  });

  it('puts an uploaded copy of a corpus function on its corpus point', async () => {
    const m = deserializeVae(saved.json, saved.binary);
    const p = await placeUpload(uploadVectors.slice(), dim, { kind: 'vae', model: m }, null);
    disposeVae(m);
    const first = uploadTexts.length - 50;
    for (let i = 0; i < 50; i++) {
      for (let j = 0; j < 3; j++) expect(p.positions[(first + i) * 3 + j]).toBeCloseTo(layout[i * 3 + j]!, 5);
    }
    // Stored form round-trips: dequantised codes are the rounded vectors placed.
    const back = dequantizeRows(p.codes, p.scales, dim);
    expect(Array.from(back.subarray(0, dim))).toEqual(Array.from(roundLikeStored(uploadVectors.subarray(0, dim), dim).rows));
    expect(Array.from(p.clusters).every((c) => c === -1)).toBe(true);
  });

  it('assigns every point to its nearest centroid (brute force in float64)', async () => {
    const m = deserializeVae(saved.json, saved.binary);
    const pts = await placeRows({ kind: 'vae', model: m }, roundLikeStored(uploadVectors, dim).rows, uploadTexts.length);
    disposeVae(m);
    const c = centroidsFromRows(Int32Array.from({ length: 7 }, (_, i) => 10 + i), Float32Array.from(km.centroids), 3);
    const { cluster, distance } = nearestClusters(pts, uploadTexts.length, c);
    for (let i = 0; i < uploadTexts.length; i++) {
      let best = -1;
      let bestD = Infinity;
      for (let r = 0; r < 7; r++) {
        let s = 0;
        for (let j = 0; j < 3; j++) s += (pts[i * 3 + j]! - c.centroids[r * 3 + j]!) ** 2;
        if (s < bestD) {
          bestD = s;
          best = r;
        }
      }
      expect(cluster[i]).toBe(10 + best);
      expect(distance[i]).toBeCloseTo(Math.sqrt(bestD), 4);
    }
  });

  it('derives centroids from a layout as its clusters\' means, and they assign the corpus as k-means did', () => {
    const c = centroidsFromLayout(layout, km.assignments, n, 3);
    expect(c.k).toBe(7);
    for (let r = 0; r < 7; r++) for (let j = 0; j < 3; j++) expect(c.centroids[r * 3 + j]).toBeCloseTo(km.centroids[r * 3 + j]!, 3);
    const { cluster } = nearestClusters(layout, n, c);
    let same = 0;
    for (let i = 0; i < n; i++) if (cluster[i] === km.assignments[i]) same++;
    expect(same / n).toBeGreaterThan(0.99);
  });

  it('places with a PCA exactly as the PCA projects its own rows', async () => {
    const { model: pm, coords } = pca(corpus, dim, 3);
    const p = await placeRows({ kind: 'pca', model: pm, dims: 2 }, corpus, n);
    for (let i = 0; i < n; i += 37) for (let j = 0; j < 2; j++) expect(p[i * 2 + j]).toBeCloseTo(coords[i * 3 + j]!, 5);
  });

  it('refuses vectors of another dimension with a clear error', async () => {
    const m = deserializeVae(saved.json, saved.binary);
    await expect(placeRows({ kind: 'vae', model: m }, new Float32Array(10 * (dim + 1)), 10)).rejects.toThrow(PlacementError);
    await expect(placeRows({ kind: 'vae', model: m }, new Float32Array(10 * (dim + 1)), 10)).rejects.toThrow(/embedded with another model/);
    disposeVae(m);
    expect(() => roundLikeStored(new Float32Array(7), 3)).toThrow(/not rows of 3/);
  });
});
