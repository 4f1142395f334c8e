// Stage 5: the maps. From the stored vectors (Jina when present, else TF-IDF/SVD), with the same
// core code the browser's train worker runs:
//   - VAE-3 (the study's 768-512-512-3 net, KL balanced so no latent dimension collapses), trained on
//     a seeded sample and applied to every function: the default map;
//   - k-means on that map with k chosen by a silhouette sweep (the study's Figure 12), cluster cards
//     (size, nearest-to-centroid functions, a c-TF-IDF label) in `clusters-default`;
//   - PCA-2/PCA-3 and UMAP-2 layouts for comparison, and a quality report per layout (silhouette in
//     the layout and in the original space, NMI of its k-means clusters against the package);
//   - the trained encoder's weights, so the browser places uploaded functions without retraining.
// Vectors stay int8 in memory (n x dim bytes); float copies are made only of samples and chunks.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmbeddingInfo, LayoutInfo, ManifestFile } from '../../src/core/data/manifest.ts';
import { TABLE } from '../../src/core/data/schema.ts';
import { kmeans, sampleIndices } from '../../src/core/cluster/kmeans.ts';
import { clusterCards, functionLabelText } from '../../src/core/cluster/labels.ts';
import { DIRECT_MAX_DIM } from '../../src/core/cluster/distance.ts';
import { normalizedMutualInformation } from '../../src/core/cluster/metrics.ts';
import { silhouetteSamplesMulti, silhouetteSamplesMultiParallel, silhouetteSweep } from '../../src/core/cluster/silhouette.ts';
import { initTfBackend } from '../../src/core/gpu/tf-backend.ts';
import { PcaAccumulator, pcaProject } from '../../src/core/reduce/pca.ts';
import { umapLayout } from '../../src/core/reduce/umap.ts';
import { disposeVae, encode, serializeVae, trainVae, type VaeSettings } from '../../src/core/reduce/vae.ts';
import { createVaeEngine, defaultVaeWorkers } from '../vae-parallel.ts';
import { createSilhouettePool, defaultClusterWorkers } from '../cluster-parallel.ts';
import { createRng } from '../../src/core/util/random.ts';
import { openDb, sqlList, sqlString, type Db } from '../duckdb.ts';
import { writeFileAtomic } from '../fsutil.ts';
import { describeFile, sameExtentAs, writeParquet } from '../parquet.ts';
import { createProgress } from '../progress.ts';
import { emptyOutputs, type StageOutputs } from '../state.ts';

export const DEFAULT_LAYOUT = 'default';

export type LayoutName = 'vae-3' | 'vae-2' | 'pca-2' | 'pca-3' | 'umap-2';
export const LAYOUT_NAMES: readonly LayoutName[] = ['vae-3', 'vae-2', 'pca-2', 'pca-3', 'umap-2'];

export interface LayoutOptions {
  /** Layouts to make; the first is the default map. */
  layouts: LayoutName[];
  /** Rows the VAE is trained on (a seeded sample; all rows when fewer). */
  vaeSample: number;
  vaeEpochs: number;
  /**
   * Worker threads the VAE's batches are split over (data-parallel; 1 = this thread). Part of the
   * stage's inputs: the maps are byte-identical for a given count, and differ in the last bits
   * between counts (the gradient's sums are ordered differently).
   */
  vaeWorkers: number;
  /** k values the silhouette sweep tries; the best is used unless `k` is set. */
  ks: number[];
  k: number | null;
  /** Rows the silhouette is scored on (the study: 25,000). */
  silhouetteSample: number;
  /** Rows UMAP is fitted on; the rest are transformed. */
  umapSample: number;
  /**
   * Above this many functions UMAP-2 is left out (umap-js transforms ~500 rows/s here: 578k rows
   * would take ~20 minutes for a comparison layout). Infinity when --layouts names it explicitly.
   */
  umapMaxRows: number;
  seed: number;
}

export const DEFAULT_LAYOUT_OPTIONS: LayoutOptions = {
  layouts: ['vae-3', 'pca-2', 'pca-3', 'umap-2'],
  vaeSample: 20_000,
  vaeEpochs: 30,
  vaeWorkers: defaultVaeWorkers(),
  ks: [8, 12, 16, 24, 32, 48, 64, 96, 128, 150],
  k: null,
  silhouetteSample: 25_000,
  umapSample: 5_000,
  umapMaxRows: 200_000,
  seed: 1,
};

/** Every vector of the embedding as int8 codes + scales, in id order. */
export interface Codes {
  ids: Uint32Array;
  codes: Int8Array;
  scales: Float32Array;
  n: number;
  dim: number;
}

export async function readCodes(db: Db, paths: string[], total: number, dim: number): Promise<Codes> {
  const ids = new Uint32Array(total);
  const codes = new Int8Array(total * dim);
  const scales = new Float32Array(total);
  let n = 0;
  const result = await db.conn.stream(`SELECT id, embedding, scale FROM read_parquet(${sqlList(paths)}) ORDER BY id`);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const cid = chunk.getColumnValues(0) as number[];
    const blobs = chunk.getColumnValues(1) as { bytes: Uint8Array }[];
    const sc = chunk.getColumnValues(2) as number[];
    for (let i = 0; i < cid.length; i++) {
      if (n >= total) throw new Error(`the vector shards hold more rows than the manifest's ${total}`);
      const b = blobs[i]!.bytes;
      if (b.length !== dim) throw new Error(`vector of function ${cid[i]} has ${b.length} bytes, expected ${dim}`);
      ids[n] = cid[i]!;
      codes.set(new Int8Array(b.buffer, b.byteOffset, dim), n * dim);
      scales[n] = sc[i]!;
      n++;
    }
  }
  return { ids: ids.subarray(0, n), codes: codes.subarray(0, n * dim), scales: scales.subarray(0, n), n, dim };
}

/** Dequantised float rows [from, to). */
function rowsOf(c: Codes, from: number, to: number): Float32Array {
  const d = c.dim;
  const out = new Float32Array((to - from) * d);
  for (let r = from; r < to; r++) {
    const s = c.scales[r]!;
    const o = r * d;
    const p = (r - from) * d;
    for (let j = 0; j < d; j++) out[p + j] = c.codes[o + j]! * s;
  }
  return out;
}

/** Dequantised float rows at the given row indices. */
function gather(c: Codes, rows: ArrayLike<number>): Float32Array {
  const d = c.dim;
  const out = new Float32Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const s = c.scales[r]!;
    for (let j = 0; j < d; j++) out[i * d + j] = c.codes[r * d + j]! * s;
  }
  return out;
}

/** A seeded sample of m distinct row indices, sorted (the clustering core's sampler). */
function sampleRows(n: number, m: number, seed: number): Int32Array {
  return sampleIndices(n, m, createRng(seed));
}

const CHUNK = 16_384;

interface LayoutCoords {
  name: LayoutName;
  method: string;
  dims: 2 | 3;
  coords: Float32Array;
}

interface QualityRow {
  layout: string;
  dims: number;
  k: number;
  silhouette_layout: number;
  silhouette_original: number;
  nmi_package: number;
}

export interface LayoutReport {
  embedding: string;
  n: number;
  default_layout: string;
  k: number;
  k_chosen_by: 'silhouette sweep' | 'setting';
  sweep: { k: number; silhouette: number; inertia: number }[];
  vae: { epochs: { epoch: number; recon: number; kl: number; kl_per_dim: number[]; lr: number }[]; backend: string; train_rows: number; workers: number } | null;
  pca_explained_variance_ratio: number[];
  quality: QualityRow[];
}

export async function runLayout(
  outDir: string,
  embedOut: StageOutputs,
  functionShards: ManifestFile[],
  opts: LayoutOptions,
  quiet: boolean,
  tempDir = join(outDir, '..', '.duckdb-tmp'),
): Promise<StageOutputs> {
  const info = embedOut.facts.embedding as EmbeddingInfo;
  const shards = embedOut.tables[info.table] ?? [];
  const total = shards.reduce((n, s) => n + (s.rows ?? 0), 0);
  const log = (line: string) => {
    if (!quiet) process.stderr.write(`layout: ${line}\n`);
  };
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = Math.round((performance.now() - t0) / 100) / 10;
    }
  };
  const layouts = opts.layouts.length ? opts.layouts : DEFAULT_LAYOUT_OPTIONS.layouts;
  const db = await openDb({ tempDir });
  // Threads for the quality report's d-dimensional silhouettes, started now so that they have
  // booted (tsx, in each thread) by the time they are needed.
  const silhouettePool = info.dim > DIRECT_MAX_DIM && defaultClusterWorkers() > 1 ? createSilhouettePool(defaultClusterWorkers()) : null;
  try {
    const c = await timed('read vectors', () => readCodes(db, shards.map((s) => join(outDir, s.path)), total, info.dim));
    const n = c.n;
    const d = c.dim;
    // Package of each row (for NMI) and the text its cluster label is drawn from.
    const meta = await timed('read names', async () => {
      const repo = new Int32Array(n);
      const texts: string[] = new Array(n);
      const r = await db.conn.stream(
        `SELECT id, repo_id, name, qualname FROM read_parquet(${sqlList(functionShards.map((s) => join(outDir, s.path)))}) ORDER BY id`,
      );
      let i = 0;
      for (;;) {
        const chunk = await r.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const ids = chunk.getColumnValues(0) as number[];
        const repos = chunk.getColumnValues(1) as number[];
        const names = chunk.getColumnValues(2) as string[];
        const quals = chunk.getColumnValues(3) as string[];
        for (let j = 0; j < ids.length; j++, i++) {
          if (ids[j] !== c.ids[i]) throw new Error(`functions and ${info.table} disagree at row ${i}: id ${ids[j]} vs ${c.ids[i]}`);
          repo[i] = repos[j]!;
          texts[i] = functionLabelText({ name: names[j]!, qualname: quals[j]! });
        }
      }
      if (i !== n) throw new Error(`functions has ${i} rows, ${info.table} has ${n}`);
      return { repo, texts };
    });

    const made: LayoutCoords[] = [];
    const out = emptyOutputs();
    let vaeReport: LayoutReport['vae'] = null;

    // PCA (exact covariance + eigen, streamed): the explained-variance curve, and PCA-2/3 layouts.
    const pca = await timed('pca', () => {
      const acc = new PcaAccumulator(d);
      for (let r = 0; r < n; r += CHUNK) acc.add(rowsOf(c, r, Math.min(n, r + CHUNK)), Math.min(n, r + CHUNK) - r);
      return acc.finish(Math.min(d, 100));
    });
    log(`PCA: first 3 components keep ${(100 * pca.explainedVarianceRatio.slice(0, 3).reduce((a, b) => a + b, 0)).toFixed(1)}% of the variance`);
    for (const name of layouts.filter((l): l is 'pca-2' | 'pca-3' => l === 'pca-2' || l === 'pca-3')) {
      const dims = name === 'pca-2' ? 2 : 3;
      const coords = new Float32Array(n * dims);
      for (let r = 0; r < n; r += CHUNK) {
        const to = Math.min(n, r + CHUNK);
        const all = pcaProject(pca, rowsOf(c, r, to), to - r);
        const kk = pca.k;
        for (let i = 0; i < to - r; i++) for (let j = 0; j < dims; j++) coords[(r + i) * dims + j] = all[i * kk + j]!;
      }
      made.push({ name, method: `${name} of ${info.model}`, dims, coords });
    }

    // VAE-3 / VAE-2 trained on a sample, applied to every row.
    const vaeNames = layouts.filter((l): l is 'vae-3' | 'vae-2' => l === 'vae-3' || l === 'vae-2');
    if (vaeNames.length) {
      const backend = await initTfBackend({ order: ['wasm', 'cpu'] });
      log(`VAE on tfjs ${backend.backend}: ${backend.reason}`);
      const sample = sampleRows(n, opts.vaeSample, opts.seed);
      const train = gather(c, sample);
      const engine = createVaeEngine(opts.vaeWorkers);
      log(`VAE batches split over ${opts.vaeWorkers} ${opts.vaeWorkers === 1 ? 'replica in this thread' : 'worker threads'}`);
      try {
        for (const name of vaeNames) {
          const latentDim = name === 'vae-3' ? 3 : 2;
          const settings: Partial<VaeSettings> = { latentDim, epochs: opts.vaeEpochs, batchSize: Math.min(10_000, Math.max(256, Math.floor(sample.length / 10))), seed: opts.seed };
          const epochs: NonNullable<LayoutReport['vae']>['epochs'] = [];
          const bar = createProgress({ label: `layout: ${name} training`, total: opts.vaeEpochs * sample.length, unit: 'rows', quiet });
          let shown = 0;
          const model = await timed(`${name} train`, () =>
            trainVae(train, sample.length, d, settings, {
              onStep: (done, _total, epoch) => {
                const at = (epoch - 1) * sample.length + done;
                bar.tick(Math.max(0, at - shown));
                shown = Math.max(shown, at);
              },
              onEpoch: (s) =>
                // No timings in the report: it is a data set file, and reruns must give the same bytes.
                epochs.push({ epoch: s.epoch, recon: s.reconLoss, kl: s.klLoss, kl_per_dim: s.klPerDim, lr: s.lr }),
            }, engine),
          );
          bar.done();
          const last = epochs[epochs.length - 1];
          if (last) log(`${name}: recon ${last.recon.toFixed(3)}, KL per dim ${last.kl_per_dim.map((v) => v.toFixed(2)).join(' ')}`);
          const coords = await timed(`${name} encode`, async () => {
            const xyz = new Float32Array(n * latentDim);
            for (let r = 0; r < n; r += CHUNK) {
              const to = Math.min(n, r + CHUNK);
              xyz.set(await encode(model, rowsOf(c, r, to), to - r), r * latentDim);
            }
            return xyz;
          });
          made.push({ name, method: `${name} of ${info.model} (VAE ${d}-512-512-${latentDim}, ${opts.vaeEpochs} epochs on ${sample.length} rows)`, dims: latentDim, coords });
          // The encoder, so uploads are placed on this map without retraining.
          const { json, binary } = await serializeVae(model);
          const dir = `models/${name}`;
          await mkdir(join(outDir, dir), { recursive: true });
          await writeFileAtomic(join(outDir, dir, 'model.json'), json);
          await writeFileAtomic(join(outDir, dir, 'model.bin'), binary);
          out.models[name] = [await describeFile(outDir, `${dir}/model.json`), await describeFile(outDir, `${dir}/model.bin`)];
          if (name === 'vae-3' || !vaeReport) vaeReport = { epochs, backend: backend.backend, train_rows: sample.length, workers: opts.vaeWorkers };
          disposeVae(model);
        }
      } finally {
        await engine.close();
      }
    }

    if (layouts.includes('umap-2') && n > opts.umapMaxRows) {
      log(`umap-2 left out: ${n} functions is above ${opts.umapMaxRows} (name it in --layouts to make it anyway)`);
    } else if (layouts.includes('umap-2')) {
      const sample = sampleRows(n, Math.min(n, opts.umapSample), opts.seed + 7);
      // UMAP on the first 50 principal components, as is usual: faster, and less noise.
      const pcs = Math.min(50, pca.k);
      const project = (rows: Float32Array, m: number) => {
        const all = pcaProject(pca, rows, m);
        const kk = pca.k;
        const outRows = new Float32Array(m * pcs);
        for (let i = 0; i < m; i++) for (let j = 0; j < pcs; j++) outRows[i * pcs + j] = all[i * kk + j]!;
        return outRows;
      };
      const reduced = new Float32Array(n * pcs);
      for (let r = 0; r < n; r += CHUNK) {
        const to = Math.min(n, r + CHUNK);
        reduced.set(project(rowsOf(c, r, to), to - r), r * pcs);
      }
      const bar = createProgress({ label: 'layout: umap-2', total: n, unit: 'rows', quiet });
      let shown = 0;
      const { coords } = await timed('umap-2', () =>
        umapLayout(reduced, n, pcs, { nComponents: 2, sampleSize: sample.length, seed: opts.seed }, {
          onProgress: (p) => {
            if (p.phase !== 'transform') return;
            bar.tick(Math.max(0, p.done - shown));
            shown = Math.max(shown, p.done);
          },
        }),
      );
      bar.done();
      made.push({ name: 'umap-2', method: `umap-2 of ${info.model} (fit on ${sample.length} rows, PCA-${pcs} input)`, dims: 2, coords });
    }

    const main = made.find((m) => m.name === layouts[0]) ?? made[0];
    if (!main) throw new Error('no layout was made');

    // k by the silhouette sweep on the default map, then k-means on all of it.
    const sweepKs = opts.ks.filter((k) => k >= 2 && k < n);
    let k = opts.k ?? 0;
    let sweep: LayoutReport['sweep'] = [];
    if (!opts.k) {
      const r = await timed('silhouette sweep', () =>
        silhouetteSweep(main.coords, n, main.dims, sweepKs.length ? sweepKs : [Math.max(2, Math.min(8, n - 1))], {
          sampleSize: opts.silhouetteSample,
          seed: opts.seed,
          onStep: (s, done, all) => log(`sweep ${done}/${all}: k=${s.k} silhouette ${s.silhouette.toFixed(3)} (${Math.round(s.ms)} ms)`),
        }),
      );
      sweep = r.steps.map((s) => ({ k: s.k, silhouette: s.silhouette, inertia: s.inertia }));
      k = Number.isFinite(r.bestK) ? r.bestK : Math.min(8, n);
    }
    k = Math.max(1, Math.min(k, n));
    const km = await timed('k-means', () => kmeans(main.coords, n, main.dims, { k, seed: opts.seed }));
    log(`k-means: k=${k}, ${km.iterations} iterations, inertia ${km.inertia.toExponential(3)}`);

    // Cluster cards in the map's space: nearest-to-centroid functions and a c-TF-IDF label.
    const cards = await timed('cluster cards', () =>
      clusterCards(main.coords, n, main.dims, km.assignments, km.centroids, k, meta.texts, { ids: c.ids, nearest: 10, labelTerms: 3 }),
    );

    // Quality per layout: its own k-means (same k), silhouette there and in the original space, NMI vs package.
    // The original-space silhouettes of every layout's labels share one pass over the sample's
    // pairwise distances (the d-dimensional Gram tiles, the stage's costliest part after the VAE),
    // spread over one thread per core; the values do not depend on the thread count.
    const qualitySample = sampleRows(n, Math.min(n, opts.silhouetteSample), opts.seed + 3);
    const qm = qualitySample.length;
    const original = gather(c, qualitySample);
    const quality: QualityRow[] = [];
    const scored: { m: LayoutCoords; labels: Int32Array; lab: Int32Array; inLayout: number }[] = [];
    for (const m of made) {
      const labels = m === main ? km.assignments : (await kmeans(m.coords, n, m.dims, { k, seed: opts.seed })).assignments;
      const lay = new Float32Array(qm * m.dims);
      const lab = new Int32Array(qm);
      qualitySample.forEach((r, i) => {
        for (let j = 0; j < m.dims; j++) lay[i * m.dims + j] = m.coords[r * m.dims + j]!;
        lab[i] = labels[r]!;
      });
      const inLayout = meanSilhouette(silhouetteSamplesMulti(lay, qm, m.dims, [lab], [k])[0]!, lab, k);
      scored.push({ m, labels, lab, inLayout });
    }
    const inOriginal = await timed('quality silhouettes', () => silhouetteSamplesMultiParallel(original, qm, d, scored.map((x) => x.lab), scored.map(() => k), silhouettePool));
    scored.forEach(({ m, labels, lab, inLayout }, i) => {
      const inOrig = meanSilhouette(inOriginal[i]!, lab, k);
      quality.push({
        layout: m.name,
        dims: m.dims,
        k,
        silhouette_layout: inLayout,
        silhouette_original: inOrig,
        nmi_package: normalizedMutualInformation(labels, meta.repo),
      });
      log(`quality ${m.name}: silhouette ${inLayout.toFixed(3)} in the layout, ${inOrig.toFixed(3)} in ${d}-d; NMI vs package ${quality[quality.length - 1]!.nmi_package.toFixed(3)}`);
    });

    // Files: one layout table per map (the default one under its own name too), the clusters table.
    const infos: LayoutInfo[] = [];
    // The default map first: the manifest's default_layout is the first one.
    for (const m of [main, ...made.filter((x) => x !== main)]) {
      const name = m === main ? DEFAULT_LAYOUT : m.name;
      const table = TABLE.layout(name);
      const files = await writeLayoutShards(db, outDir, table, shards, c.ids, m, km.assignments);
      out.tables[table] = files;
      infos.push({ name, method: m.method, table, dims: m.dims, bounds: boundsOf(m.coords, m.dims) });
    }
    const clustersTable = `clusters-${DEFAULT_LAYOUT}`;
    await db.exec('CREATE OR REPLACE TABLE cl (cluster INTEGER, size INTEGER, x FLOAT, y FLOAT, z FLOAT, label VARCHAR, terms VARCHAR[], nearest UINTEGER[])');
    const ap = await db.conn.createAppender('cl');
    for (const card of cards) {
      ap.appendInteger(card.cluster);
      ap.appendInteger(card.size);
      for (let j = 0; j < 3; j++) {
        if (j < main.dims) ap.appendFloat(km.centroids[card.cluster * main.dims + j]!);
        else ap.appendNull();
      }
      ap.appendVarchar(card.label);
      ap.appendNull();
      ap.appendNull();
      ap.endRow();
    }
    ap.closeSync();
    // Lists go in with SQL (the appender's list support is clumsy): one UPDATE per card.
    for (const card of cards) {
      const terms = card.terms.map((t) => sqlString(t.term)).join(', ');
      const nearest = Array.from(card.nearest).join(', ');
      await db.exec(`UPDATE cl SET terms = [${terms}]::VARCHAR[], nearest = [${nearest}]::UINTEGER[] WHERE cluster = ${card.cluster}`);
    }
    out.tables[clustersTable] = [await writeParquet(db, 'SELECT * FROM cl ORDER BY cluster', outDir, `${clustersTable}.parquet`, { rowGroupRows: 4096 })];

    const report: LayoutReport = {
      embedding: info.model,
      n,
      default_layout: main.name,
      k,
      k_chosen_by: opts.k ? 'setting' : 'silhouette sweep',
      sweep,
      vae: vaeReport,
      pca_explained_variance_ratio: Array.from(pca.explainedVarianceRatio),
      quality,
    };
    log(`timings (s): ${JSON.stringify(timings)}`);
    await writeFileAtomic(join(outDir, 'layout-report.json'), JSON.stringify(report, null, 1));
    out.models['layout-report'] = [await describeFile(outDir, 'layout-report.json')];
    out.facts = { layout: infos[0], layouts: infos, pca_explained_variance_ratio: report.pca_explained_variance_ratio, layout_report: report, layout_timings_s: timings };
    return out;
  } finally {
    await silhouettePool?.close();
    db.close();
  }
}

/** Mean silhouette over the scored rows; NaN when fewer than 2 clusters are present (as layoutQuality). */
function meanSilhouette(values: Float64Array, labels: Int32Array, k: number): number {
  const seen = new Uint8Array(k);
  let present = 0;
  let s = 0;
  for (let i = 0; i < values.length; i++) {
    s += values[i]!;
    if (!seen[labels[i]!]) {
      seen[labels[i]!] = 1;
      present++;
    }
  }
  return present >= 2 ? s / Math.max(1, values.length) : NaN;
}

function boundsOf(coords: Float32Array, dims: number): { min: number[]; max: number[] } {
  const min = new Array<number>(dims).fill(Infinity);
  const max = new Array<number>(dims).fill(-Infinity);
  for (let i = 0; i < coords.length; i += dims) {
    for (let j = 0; j < dims; j++) {
      const v = coords[i + j]!;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  if (coords.length === 0) return { min: new Array(dims).fill(0), max: new Array(dims).fill(0) };
  // Float32 rounding of stored coordinates can step just outside float64 bounds: widen a little.
  return { min: min.map((v) => v - Math.abs(v) * 1e-6), max: max.map((v) => v + Math.abs(v) * 1e-6) };
}

/** One layout shard per vector shard (same id ranges), columns id, x, y, z, cluster. */
async function writeLayoutShards(
  db: Db,
  outDir: string,
  table: string,
  shards: ManifestFile[],
  ids: Uint32Array,
  m: LayoutCoords,
  clusters: Int32Array,
): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  let row = 0;
  for (const [s, shard] of shards.entries()) {
    await db.exec('CREATE OR REPLACE TABLE lay (id UINTEGER, x FLOAT, y FLOAT, z FLOAT, cluster INTEGER)');
    const ap = await db.conn.createAppender('lay');
    const end = row + (shard.rows ?? 0);
    for (; row < end; row++) {
      ap.appendUInteger(ids[row]!);
      ap.appendFloat(m.coords[row * m.dims]!);
      ap.appendFloat(m.coords[row * m.dims + 1]!);
      if (m.dims === 3) ap.appendFloat(m.coords[row * m.dims + 2]!);
      else ap.appendNull();
      ap.appendInteger(clusters[row]!);
      ap.endRow();
    }
    ap.closeSync();
    const rel = `${table}-${String(s).padStart(5, '0')}.parquet`;
    files.push(await writeParquet(db, 'SELECT id, x, y, z, cluster FROM lay ORDER BY id', outDir, rel, { rowGroupRows: 16384, ...sameExtentAs(shard) }));
  }
  return files;
}

export function parseLayouts(value: string): LayoutName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(LAYOUT_NAMES as readonly string[]).includes(n)) throw new Error(`--layouts: unknown layout '${n}' (known: ${LAYOUT_NAMES.join(', ')})`);
  }
  if (names.length === 0) throw new Error('--layouts names no layout');
  return names as LayoutName[];
}
