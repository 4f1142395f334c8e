// The layout stage on a real (small) corpus through the CLI: the default map is VAE-3 with k-means
// clusters whose k the silhouette sweep chose, cluster cards, comparison layouts with a quality
// report, and a saved encoder that places functions exactly where the map has them.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../../src/core/data/manifest.ts';
import { initTfBackend } from '../../../src/core/gpu/tf-backend.ts';
import { deserializeVae, disposeVae, encode } from '../../../src/core/reduce/vae.ts';
import type { LayoutReport } from '../../../prebuild/stages/layout.ts';
import { defaultVaeWorkers } from '../../../prebuild/vae-parallel.ts';
import { parquetList, query, readManifest, runCli, STDLIB } from './cli-helpers.ts';

const REPOS = ['json', 'email', 'logging', 'http', 'wsgiref', 'xmlrpc'];
const KS = [4, 6, 9, 14];

let work: string;
let out: string;
let m: Manifest;
let report: LayoutReport;
let n: number;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-layout-'));
  const corpus = join(work, 'corpus');
  for (const name of REPOS) await cp(join(STDLIB, name), join(corpus, name), { recursive: true });
  out = join(work, 'out');
  const r = await runCli([
    '--source', `dir:${corpus}`, '--out', out, '--cache', join(work, 'cache'),
    '--embed-dim', '32', '--vocab', '4000', '--svd-sample', '2000', '--workers', '2',
    '--layouts', 'vae-3,pca-2,umap-2', '--vae-epochs', '12', '--ks', KS.join(','), '--quiet',
  ]);
  expect(r.stderr).not.toContain('prebuild: error');
  expect(r.code).toBe(0);
  m = await readManifest(out);
  report = JSON.parse(await readFile(join(out, 'layout-report.json'), 'utf8')) as LayoutReport;
  n = m.counts.functions;
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('layout stage', () => {
  test('the default map is VAE-3 of the vectors, every function placed in 3-D with a cluster', async () => {
    expect(m.default_layout).toBe('default');
    const def = m.layouts.find((l) => l.name === 'default')!;
    expect(def.dims).toBe(3);
    expect(def.method).toMatch(/^vae-3 of tfidf-svd/);
    expect(m.layouts.map((l) => l.name).sort()).toEqual(['default', 'pca-2', 'umap-2']);
    const [row] = await query<{ nrows: number; noz: number; nocl: number; clusters: number; outside: number }>(
      `SELECT count(*)::INT nrows, count(*) FILTER (WHERE z IS NULL)::INT noz, count(*) FILTER (WHERE cluster IS NULL)::INT nocl,
              count(DISTINCT cluster)::INT clusters,
              count(*) FILTER (WHERE x < ${def.bounds.min[0]} OR x > ${def.bounds.max[0]} OR z < ${def.bounds.min[2]} OR z > ${def.bounds.max[2]})::INT outside
       FROM read_parquet(${parquetList(out, m, def.table)})`,
    );
    expect(row).toEqual({ nrows: n, noz: 0, nocl: 0, clusters: report.k, outside: 0 });
    const pca = m.layouts.find((l) => l.name === 'pca-2')!;
    const [p] = await query<{ nrows: number; z: number }>(`SELECT count(*)::INT nrows, count(z)::INT z FROM read_parquet(${parquetList(out, m, pca.table)})`);
    expect(p).toEqual({ nrows: n, z: 0 });
  });

  test('k is the silhouette sweep’s best, and the sweep’s curve is in the report', () => {
    expect(report.k_chosen_by).toBe('silhouette sweep');
    expect(report.sweep.map((s) => s.k)).toEqual(KS);
    const best = report.sweep.reduce((a, b) => (b.silhouette > a.silhouette ? b : a));
    expect(report.k).toBe(best.k);
    for (const s of report.sweep) expect(s.silhouette).toBeGreaterThan(-1);
  });

  test('the VAE learned (reconstruction fell) and no latent dimension collapsed', () => {
    // Trained data-parallel over one worker thread per core (--vae-workers' default).
    expect(report.vae!.workers).toBe(defaultVaeWorkers());
    const epochs = report.vae!.epochs;
    expect(epochs).toHaveLength(12);
    expect(epochs[epochs.length - 1]!.recon).toBeLessThan(epochs[0]!.recon);
    for (const kl of epochs[epochs.length - 1]!.kl_per_dim) expect(kl).toBeGreaterThan(0.05);
  });

  test('cluster cards: sizes add up, labels are words of the cluster, nearest functions belong to it', async () => {
    const cards = await query<{ cluster: number; size: number; label: string; terms: string[]; nearest: number[] }>(
      `SELECT cluster, size, label, terms, nearest FROM read_parquet(${parquetList(out, m, 'clusters-default')}) ORDER BY cluster`,
    );
    expect(cards).toHaveLength(report.k);
    expect(cards.reduce((s, c) => s + c.size, 0)).toBe(n);
    const def = m.layouts.find((l) => l.name === 'default')!;
    for (const c of cards) {
      expect(c.label.length).toBeGreaterThan(0);
      expect(c.label).toBe(c.terms.slice(0, 3).join(', '));
      const members = await query<{ id: number }>(
        `SELECT id FROM read_parquet(${parquetList(out, m, def.table)}) WHERE cluster = ${c.cluster} AND id IN (${[...c.nearest].join(',') || -1})`,
      );
      expect(members).toHaveLength(c.nearest.length);
    }
  });

  test('a quality row per layout: silhouettes in [-1, 1], NMI against the package in [0, 1]', () => {
    expect(report.quality.map((q) => q.layout).sort()).toEqual(['pca-2', 'umap-2', 'vae-3']);
    for (const q of report.quality) {
      expect(q.silhouette_layout).toBeGreaterThanOrEqual(-1);
      expect(q.silhouette_layout).toBeLessThanOrEqual(1);
      expect(q.silhouette_original).toBeGreaterThanOrEqual(-1);
      expect(q.nmi_package).toBeGreaterThan(0);
      expect(q.nmi_package).toBeLessThanOrEqual(1);
    }
  });

  test('the saved encoder places functions where the map has them, without retraining', async () => {
    const files = m.models['vae-3']!;
    const json = await readFile(join(out, files.find((f) => f.path.endsWith('.json'))!.path), 'utf8');
    const bin = new Uint8Array(await readFile(join(out, files.find((f) => f.path.endsWith('.bin'))!.path)));
    await initTfBackend({ order: ['wasm', 'cpu'] });
    const model = deserializeVae(json, bin);
    const vec = m.embeddings[0]!;
    const rows = await query<{ id: number; embedding: Uint8Array; scale: number; x: number; y: number; z: number }>(
      `SELECT v.id, v.embedding, v.scale, l.x, l.y, l.z FROM read_parquet(${parquetList(out, m, vec.table)}) v
       JOIN read_parquet(${parquetList(out, m, 'layout-default')}) l USING (id) ORDER BY v.id LIMIT 40`,
    );
    const data = new Float32Array(rows.length * vec.dim);
    rows.forEach((r, i) => {
      const codes = new Int8Array(r.embedding.buffer, r.embedding.byteOffset, vec.dim);
      for (let j = 0; j < vec.dim; j++) data[i * vec.dim + j] = codes[j]! * r.scale;
    });
    const xyz = await encode(model, data, rows.length);
    rows.forEach((r, i) => {
      expect(xyz[i * 3]).toBeCloseTo(r.x, 3);
      expect(xyz[i * 3 + 1]).toBeCloseTo(r.y, 3);
      expect(xyz[i * 3 + 2]).toBeCloseTo(r.z, 3);
    });
    disposeVae(model);
  });
});
