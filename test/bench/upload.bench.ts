// Drop to map for a real repository in the browser: the built site (vite build, served by vite
// preview) with a data set, Debian's python3-fonttools 4.38 (fontTools/, ~4,700 functions) zipped
// here and given to the upload view's file input; the clock runs from the file to the upload's points
// drawn on the map (`data-upload-points`), with the view's own per-step times (read, extract, dedup
// features, clones inside, embed, place, clones in the corpus, summaries, save).
//
// Two variants, chosen with UPLOAD_BENCH_EMBEDDER:
// - `tfidf` (default): the stdlib data set (public/data: TF-IDF/SVD-256 vectors, the default VAE-3
//   map); section "upload: drop to map".
// - `jina`: a data set laid out from the random-weight model of the real jina-embeddings-v2-base-code
//   geometry (prebuild --model-dir; UPLOAD_BENCH_DATA names it), so the upload view embeds the upload
//   with that model in its embed worker on onnxruntime-web WASM; section "upload: drop to map, Jina
//   geometry on WASM". The whole repository is tried first; while it embeds, the bench watches the
//   embed step's progress and, when its rate shows the step would take longer than
//   UPLOAD_BENCH_EMBED_LIMIT_MIN minutes (default 35), stops it and measures a deterministic subset
//   of fontTools' files instead (whole files, by hash of their path, at most
//   UPLOAD_BENCH_FALLBACK_FUNCTIONS functions, default 1000), reporting the stopped attempt's rate and
//   an extrapolation to the whole repository, labelled as such. UPLOAD_BENCH_MAX_FUNCTIONS skips the
//   whole-repository attempt and measures such a subset directly (either variant).
//
// Peer: the same cores run in Node in the same run on the same zip — readArchive, the multi-language
// extractor, dedup features + clones inside (dedup-logic's similarityGroups), the map's embedder
// (TF-IDF/SVD with the data set's model files, or JinaEmbedder on onnxruntime-node with the data
// set's copy of the model, 2 intra-op threads as the page's 2 WASM threads, the same 16 texts per
// call as the view), placement with the data set's saved VAE encoder on tfjs WASM and nearest clusters
// from clusters-<layout> — so the ratio is the browser's overhead (workers, comlink, structured
// cloning, IndexedDB, drawing, WASM instead of native ORT) over the bare pipeline. Clones in the
// corpus run only in the browser (the Node peer has no dedup worker).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { zipSync } from 'fflate';
import { Language, Parser } from 'web-tree-sitter';
import type { Manifest } from '../../src/core/data/manifest.ts';
import { memoryAsyncBuffer, readParquetColumns, toFloat32Array } from '../../src/core/data/parquet-read.ts';
import { extractFeatures, type FeatureBag } from '../../src/core/dedup/features.ts';
import { bodyFeatures } from '../../src/core/dedup/body-features.ts';
import { PRESET_80 } from '../../src/core/dedup/settings.ts';
import { JinaEmbedder } from '../../src/core/embed/jina.ts';
import { deserializeTfidfSvd, TfidfSvdEmbedder, type TfidfSvdJson } from '../../src/core/embed/tfidf-svd.ts';
import { decodeSourceFile } from '../../src/core/extract/source-file.ts';
import { grammarFileName, languageOfPath, MultiLanguageExtractor, type SourceLanguage } from '../../src/core/extract/languages.ts';
import { initTfBackend } from '../../src/core/gpu/tf-backend.ts';
import { deserializeVae, disposeVae } from '../../src/core/reduce/vae.ts';
import { readArchive } from '../../src/core/upload/archive.ts';
import { centroidsFromRows, placeUpload } from '../../src/core/upload/place.ts';
import type { UploadFunction } from '../../src/core/upload/report.ts';
import { similarityGroups } from '../../workers/dedup-logic.ts';
import { launchBrowser, openPage } from '../e2e/helpers/browser.ts';
import { ROOT, buildSite, copyDataSet, startPreview } from '../e2e/helpers/site.ts';
import type { BenchResult, BenchRow } from './types.ts';

const PACKAGE = 'python3-fonttools';
const CACHE = join(ROOT, '.cache', 'bench', 'upload');
const DATA = process.env.UPLOAD_BENCH_DATA ?? join(ROOT, 'public', 'data');
const GRAMMARS = join(ROOT, 'node_modules', '@vscode', 'tree-sitter-wasm', 'wasm');
/** Texts per embed call, as the upload view sends them to its Jina worker (JINA_BATCH in upload-client.ts). */
const JINA_CALL = 16;
/** onnxruntime threads: the embed worker uses min(4, hardwareConcurrency) = 2 here; Node the same. */
const JINA_THREADS = 2;
const JINA_MAX_TOKENS = 512;
/** The whole-repository attempt is judged after this much steady embedding (s) and this many functions. */
const JUDGE_AFTER_S = 180;
const JUDGE_AFTER_FUNCTIONS = 48;
const POLL_MS = 2000;

type EmbedderKind = 'tfidf' | 'jina';

function log(msg: string): void {
  process.stderr.write(`upload-bench: ${msg}\n`);
}

function envInt(name: string, fallback: number | null): number | null {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return n;
}

function envEmbedder(): EmbedderKind {
  const raw = process.env.UPLOAD_BENCH_EMBEDDER ?? 'tfidf';
  if (raw !== 'tfidf' && raw !== 'jina') throw new Error(`UPLOAD_BENCH_EMBEDDER must be 'tfidf' or 'jina', got '${raw}'`);
  return raw;
}

function loadText(l: number[]): string {
  return l.map((x) => x.toFixed(1)).join(' / ');
}

/** The package's fontTools/ folder (apt-get download + dpkg-deb -x, cached). */
function fetchPackage(): string {
  mkdirSync(CACHE, { recursive: true });
  const pkgDir = join(CACHE, 'pkg');
  const src = join(pkgDir, 'usr', 'lib', 'python3', 'dist-packages', 'fontTools');
  if (existsSync(src)) return src;
  let deb = readdirSync(CACHE).find((f) => f.startsWith(`${PACKAGE}_`) && f.endsWith('.deb'));
  if (!deb) {
    execFileSync('apt-get', ['download', PACKAGE], { cwd: CACHE, stdio: 'ignore' });
    deb = readdirSync(CACHE).find((f) => f.startsWith(`${PACKAGE}_`) && f.endsWith('.deb'));
  }
  if (!deb) throw new Error(`apt-get download ${PACKAGE} gave no .deb in ${CACHE}`);
  execFileSync('dpkg-deb', ['-x', join(CACHE, deb), pkgDir]);
  return src;
}

/** Every file under dir, relative paths in sorted order. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/** The folder zipped under `prefix/`; `only` keeps just those relative paths. */
function zipFolder(dir: string, prefix: string, only: ReadonlySet<string> | null = null): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const rel of listFiles(dir)) {
    if (only && !only.has(rel)) continue;
    files[`${prefix}/${rel}`] = new Uint8Array(readFileSync(join(dir, rel)));
  }
  return zipSync(files, { level: 6 });
}

function grammarLoader(lang: SourceLanguage): Promise<Uint8Array> {
  return Promise.resolve(new Uint8Array(readFileSync(join(GRAMMARS, grammarFileName(lang)))));
}

/** Functions the extractor finds in each source file of dir (relative path -> count). */
async function functionsPerFile(dir: string): Promise<Map<string, number>> {
  const ex = await MultiLanguageExtractor.create({ grammarWasm: grammarLoader });
  const counts = new Map<string, number>();
  try {
    for (const rel of listFiles(dir)) {
      const lang = languageOfPath(rel);
      if (!lang) continue;
      const d = decodeSourceFile(new Uint8Array(readFileSync(join(dir, rel))));
      if (!d.ok) continue;
      counts.set(rel, (await ex.extract(lang, d.text, rel)).functions.length);
    }
  } finally {
    ex.delete();
  }
  return counts;
}

/**
 * A deterministic subset of whole files holding at most `max` functions: files in the order of the
 * SHA-256 of their path (so the subset spans the package's subfolders rather than its first ones),
 * each taken when it still fits.
 */
function pickFiles(counts: Map<string, number>, max: number): { files: Set<string>; functions: number } {
  const order = [...counts.entries()]
    .filter(([, n]) => n > 0)
    .map(([p, n]) => ({ p, n, h: createHash('sha256').update(p).digest('hex') }))
    .sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
  const files = new Set<string>();
  let functions = 0;
  for (const f of order) {
    if (functions + f.n > max) continue;
    files.add(f.p);
    functions += f.n;
  }
  return { files, functions };
}

/** The map's embedding: Jina's when the data set has it (as the upload view decides), else TF-IDF/SVD. */
function mapEmbedding(manifest: Manifest): Manifest['embeddings'][number] {
  const info = manifest.embeddings.find((e) => !e.model.startsWith('tfidf')) ?? manifest.embeddings[0];
  if (!info) throw new Error(`${DATA} has no embeddings`);
  return info;
}

interface NodeRun {
  ms: Record<string, number>;
  functions: number;
  clusters: Int32Array;
  /** Jina only: model load (s) and embedding after it (s), inside ms.embed. */
  jina?: { loadS: number; embedS: number };
}

/** The pipeline's cores in Node, step by step (ms per step). */
async function nodePipeline(zip: Uint8Array, manifest: Manifest, kind: EmbedderKind): Promise<NodeRun> {
  const ms: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    ms[name] = now - t;
    t = now;
  };
  const archive = readArchive(zip, 'fonttools.zip');
  lap('read');
  const ex = await MultiLanguageExtractor.create({ grammarWasm: grammarLoader });
  const functions: UploadFunction[] = [];
  for (const f of archive.files) {
    const lang = languageOfPath(f.path);
    if (!lang) continue;
    const d = decodeSourceFile(f.bytes);
    if (!d.ok) continue;
    const r = await ex.extract(lang, d.text, f.path);
    for (const fn of r.functions) functions.push({ ...fn, path: f.path });
  }
  lap('extract');
  const parsers = new Map<SourceLanguage, Parser>();
  const parserFor = async (lang: SourceLanguage): Promise<Parser> => {
    let p = parsers.get(lang);
    if (!p) {
      p = new Parser();
      p.setLanguage(await Language.load(await grammarLoader(lang)));
      parsers.set(lang, p);
    }
    return p;
  };
  const bags: (FeatureBag | null)[] = [];
  for (const f of functions) {
    const p = await parserFor(f.lang as SourceLanguage);
    if (f.lang === 'python') bags.push(bodyFeatures(p, f.body));
    else {
      const tree = p.parse(f.body);
      bags.push(tree ? extractFeatures(tree.rootNode) : null);
      tree?.delete();
    }
  }
  lap('features');
  const keep = bags.filter((b): b is FeatureBag => b !== null);
  similarityGroups(keep, PRESET_80.threshold, PRESET_80, null);
  lap('clones');
  let vectors: Float32Array;
  let dim: number;
  let jina: NodeRun['jina'];
  if (kind === 'tfidf') {
    const tfInfo = manifest.embeddings.find((e) => e.model.startsWith('tfidf'))!;
    const files = manifest.models[tfInfo.model_files ?? tfInfo.model]!;
    const json = JSON.parse(readFileSync(join(DATA, files.find((f) => f.path.endsWith('.json'))!.path), 'utf8')) as TfidfSvdJson;
    const bin = new Uint8Array(readFileSync(join(DATA, files.find((f) => f.path.endsWith('.bin'))!.path)));
    const embedder = new TfidfSvdEmbedder(deserializeTfidfSvd(json, bin));
    vectors = embedder.embedSync(functions.map((f) => f.body));
    dim = embedder.dim;
  } else {
    // The data set's own copy of the model (models/<model_files>/), as the site loads it.
    const info = mapEmbedding(manifest);
    const t0 = performance.now();
    const embedder = new JinaEmbedder({
      modelId: info.model_files ?? info.model,
      modelBase: join(DATA, 'models'),
      device: 'cpu',
      dtype: 'q8',
      maxTokens: JINA_MAX_TOKENS,
      sessionOptions: { intraOpNumThreads: JINA_THREADS },
    });
    await embedder.load();
    const t1 = performance.now();
    dim = embedder.dim;
    if (dim !== info.dim) throw new Error(`the data set's ${info.model} has dim ${info.dim}, its model files give ${dim}`);
    const texts = functions.map((f) => f.body);
    vectors = new Float32Array(texts.length * dim);
    for (let i = 0; i < texts.length; i += JINA_CALL) {
      vectors.set(await embedder.embed(texts.slice(i, i + JINA_CALL), { kind: 'document' }), i * dim);
      if ((i / JINA_CALL) % 20 === 19) log(`node: embedded ${i + JINA_CALL}/${texts.length} in ${((performance.now() - t1) / 1000).toFixed(0)} s`);
    }
    await embedder.dispose();
    jina = { loadS: (t1 - t0) / 1000, embedS: (performance.now() - t1) / 1000 };
  }
  lap('embed');
  const layout = manifest.layouts.find((l) => l.name === manifest.default_layout) ?? manifest.layouts[0];
  const vaeKey = /^(vae-[23])\b/.exec(layout?.method ?? '')?.[1];
  if (!layout || !vaeKey) throw new Error(`${DATA}'s default layout (${layout?.method ?? 'none'}) is not a VAE map: this bench places with its saved encoder`);
  const vae = manifest.models[vaeKey]!;
  const model = deserializeVae(readFileSync(join(DATA, vae.find((f) => f.path.endsWith('.json'))!.path), 'utf8'), new Uint8Array(readFileSync(join(DATA, vae.find((f) => f.path.endsWith('.bin'))!.path))));
  const cl = manifest.tables[`clusters-${layout.name}`]![0]!;
  const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(readFileSync(join(DATA, cl.path))), cl.path, ['cluster', 'x', 'y', 'z']);
  const xyz = new Float32Array(rows * 3);
  const [x, y, z] = ['x', 'y', 'z'].map((c) => toFloat32Array(columns[c]!));
  for (let i = 0; i < rows; i++) xyz.set([x![i]!, y![i]!, z![i]!], i * 3);
  const placed = await placeUpload(vectors, dim, { kind: 'vae', model }, centroidsFromRows(Array.from(columns.cluster!, Number), xyz, 3));
  disposeVae(model);
  lap('place');
  ex.delete();
  return { ms, functions: functions.length, clusters: placed.clusters, ...(jina ? { jina } : {}) };
}

interface EmbedSample {
  /** ms since the file was set on the input. */
  t: number;
  done: number;
  total: number;
}

interface PageRun {
  functions: number;
  /** Drop to map (ms); 0 when stopped. */
  totalMs: number;
  /** Report to points drawn (ms). */
  mapMs: number;
  steps: Record<string, number>;
  notes: Record<string, string>;
  /** The embed step's progress as polled every POLL_MS while it ran. */
  samples: EmbedSample[];
  /** ms since the drop when the embed step was first seen running. */
  embedSeenAt: number | null;
  /** Set when the run was stopped because its embed step would take too long. */
  stopped: { done: number; total: number; steadyRate: number; elapsedS: number; projectedS: number } | null;
  /** The page's WebGPU adapter as the backend policy sees it: 'none', 'fallback' or 'hardware'. */
  webgpu: string;
  errors: string[];
}

/** Steady embedding rate (functions/s) between the first sample with progress and the last one. */
function steadyRate(samples: EmbedSample[]): { rate: number; spanS: number; functions: number } | null {
  const first = samples.find((s) => s.done > 0);
  const last = samples[samples.length - 1];
  if (!first || !last || last.done <= first.done || last.t <= first.t) return null;
  const spanS = (last.t - first.t) / 1000;
  return { rate: (last.done - first.done) / spanS, spanS, functions: last.done - first.done };
}

/**
 * One upload in a fresh browser profile: set the zip on the upload input, wait for the report (while
 * polling the embed step's progress), show the upload on the map, read the view's step timings.
 * With `embedLimitS`, the run is stopped once its steady embed rate shows the embed step would take
 * longer than that.
 */
async function browserRun(previewUrl: string, zipPath: string, embedLimitS: number | null): Promise<PageRun> {
  const browser = await launchBrowser();
  const run: PageRun = { functions: 0, totalMs: 0, mapMs: 0, steps: {}, notes: {}, samples: [], embedSeenAt: null, stopped: null, webgpu: '?', errors: [] };
  try {
    const { page, errors } = await openPage(browser.context);
    run.errors = errors;
    await page.goto(`${previewUrl}#/upload`);
    await page.locator('[data-testid="upload-input"]').waitFor();
    // The data set opens with the page; wait for it so the clock measures the upload only.
    await page.locator('footer [data-testid="load-time"]').waitFor({ timeout: 120_000 });
    // What core/gpu/device.ts decides from: WebGPU only on an adapter that is not a fallback one.
    run.webgpu = await page.evaluate(async () => {
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean } } | null> } }).gpu;
      const a = gpu ? await gpu.requestAdapter().catch(() => null) : null;
      return !a ? 'none' : a.info?.isFallbackAdapter ? 'fallback' : 'hardware';
    });
    const t0 = Date.now();
    await page.locator('[data-testid="upload-input"]').setInputFiles(zipPath);
    const report = page.locator('[data-testid="upload-report"]');
    let lastLog = 0;
    for (;;) {
      const s = await page.evaluate(() => {
        const li = document.querySelector('[data-testid="upload-steps"] li[data-step="embed"]');
        const bar = li?.querySelector('progress');
        return {
          report: document.querySelector('[data-testid="upload-report"]') !== null,
          error: document.querySelector('[data-testid="upload-error"]')?.textContent ?? null,
          status: li?.getAttribute('data-status') ?? null,
          done: bar ? Number(bar.value) : 0,
          total: bar ? Number(bar.max) : 0,
        };
      });
      const now = Date.now() - t0;
      if (s.report) break;
      if (s.error) throw new Error(`the upload failed in the page: ${s.error}`);
      if (now > 3_600_000) throw new Error('the upload did not finish within an hour');
      if (s.status === 'running') {
        run.embedSeenAt ??= now;
        if (s.total > 0) run.samples.push({ t: now, done: s.done, total: s.total });
        const r = steadyRate(run.samples);
        if (r && now - lastLog > 60_000) {
          lastLog = now;
          log(`browser: embedded ${s.done}/${s.total}, steady ${r.rate.toFixed(2)} functions/s`);
        }
        if (embedLimitS !== null && r && r.spanS >= JUDGE_AFTER_S && r.functions >= JUDGE_AFTER_FUNCTIONS) {
          const elapsedS = (now - run.embedSeenAt) / 1000;
          const projectedS = elapsedS + (s.total - s.done) / r.rate;
          if (projectedS > embedLimitS) {
            run.stopped = { done: s.done, total: s.total, steadyRate: r.rate, elapsedS, projectedS };
            log(`browser: stopping: ${s.done}/${s.total} embedded in ${elapsedS.toFixed(0)} s, steady ${r.rate.toFixed(2)} functions/s, the embed step would take ~${(projectedS / 60).toFixed(0)} min (limit ${(embedLimitS / 60).toFixed(0)})`);
            await page.locator('[data-testid="upload-cancel"]').click();
            await page.close();
            return run;
          }
          embedLimitS = null; // judged once: the rest runs to the end
        }
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    run.functions = Number(await report.getAttribute('data-functions'));
    const id = await report.getAttribute('data-upload');
    const tMap = Date.now();
    await page.locator('[data-testid="upload-on-map"]').click();
    await page.locator(`[data-testid="map"][data-upload-points="${run.functions}"]`).waitFor({ timeout: 600_000 });
    run.totalMs = Date.now() - t0;
    run.mapMs = Date.now() - tMap;
    await page.goto(`${previewUrl}#/upload?upload=${id}`);
    await report.waitFor({ timeout: 120_000 });
    run.steps = Object.fromEntries(
      await page.locator('[data-testid="report-timings"] tr[data-step]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-step') ?? '', Number(r.getAttribute('data-ms'))])),
    ) as Record<string, number>;
    run.notes = Object.fromEntries(
      await page.locator('[data-testid="report-timings"] tr[data-step]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-step') ?? '', r.querySelector('td:last-child')?.textContent ?? ''])),
    ) as Record<string, string>;
    if (errors.length) log(`page errors: ${errors.slice(0, 3).join(' | ')}`);
    await page.close();
    return run;
  } finally {
    await browser.close();
  }
}

const STEPS = ['read', 'extract', 'features', 'clones', 'embed', 'place'] as const;

/** Rows both variants share: the six steps side by side, then the browser-only steps. */
function commonRows(page: PageRun, node: NodeRun, embedModel: string): BenchRow[] {
  const nodeTotal = Object.values(node.ms).reduce((a, b) => a + b, 0);
  const pageCore = STEPS.reduce((sum, s) => sum + (page.steps[s] ?? 0), 0);
  return [
    { metric: `read to placed, ${page.functions} functions: the six steps both sides run (browser workers vs Node)`, ours: pageCore / 1000, peer: nodeTotal / 1000, unit: 's', higherIsBetter: false },
    ...STEPS.map((s) => ({ metric: s === 'embed' && embedModel ? `step: embed (${embedModel})` : `step: ${s}`, ours: (page.steps[s] ?? 0) / 1000, peer: node.ms[s]! / 1000, unit: 's', higherIsBetter: false })),
    { metric: 'step: clones in the corpus (dedup worker, first use loads its index; no Node peer)', ours: (page.steps.corpus ?? 0) / 1000, peer: null, unit: 's', higherIsBetter: false },
    { metric: `step: summaries (at most 200 undocumented functions; no Node peer)`, ours: (page.steps.summaries ?? 0) / 1000, peer: null, unit: 's', higherIsBetter: false },
    { metric: 'step: keep in IndexedDB', ours: (page.steps.save ?? 0) / 1000, peer: null, unit: 's', higherIsBetter: false },
    { metric: 'report to points drawn on the map (open the map view, draw)', ours: page.mapMs / 1000, peer: null, unit: 's', higherIsBetter: false },
    { metric: 'drop to map, everything (all steps, the report, the map drawn)', ours: page.totalMs / 1000, peer: null, unit: 's', higherIsBetter: false },
  ];
}

export default async function bench(): Promise<BenchResult> {
  const kind = envEmbedder();
  const maxFunctions = envInt('UPLOAD_BENCH_MAX_FUNCTIONS', null);
  const embedLimitMin = envInt('UPLOAD_BENCH_EMBED_LIMIT_MIN', 35)!;
  const fallbackFunctions = envInt('UPLOAD_BENCH_FALLBACK_FUNCTIONS', 1000)!;
  if (!existsSync(join(DATA, 'manifest.json'))) {
    throw new Error(
      kind === 'tfidf'
        ? `${DATA} has no data set: run \`npm run prebuild\` (the stdlib) first or set UPLOAD_BENCH_DATA`
        : `${DATA} has no data set: build one laid out from the Jina model (npm run prebuild -- --source ... --model-dir DIR --out DIR) and set UPLOAD_BENCH_DATA to it`,
    );
  }
  const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8')) as Manifest;
  const mapModel = mapEmbedding(manifest).model;
  if (kind === 'tfidf' && !mapModel.startsWith('tfidf')) throw new Error(`${DATA}'s map is laid out from ${mapModel}: this variant measures the TF-IDF/SVD case (UPLOAD_BENCH_EMBEDDER=jina measures that one)`);
  if (kind === 'jina' && mapModel.startsWith('tfidf')) throw new Error(`${DATA} has no Jina vectors (its map is laid out from ${mapModel}): build it with prebuild --model-dir (the full-geometry fixture) and set UPLOAD_BENCH_DATA`);
  const src = fetchPackage();
  const work = mkdtempSync(join(tmpdir(), 'atlas-upload-bench-'));
  const load0 = loadavg();
  try {
    // The whole repository, or (UPLOAD_BENCH_MAX_FUNCTIONS, or after a stopped Jina attempt) a subset.
    let counts: Map<string, number> | null = null;
    const subsetZip = async (max: number): Promise<{ zip: Uint8Array; path: string; files: number; of: number; functions: number; full: number }> => {
      counts ??= await functionsPerFile(src);
      const pick = pickFiles(counts, max);
      const zip = zipFolder(src, 'fontTools', pick.files);
      const path = join(work, `fonttools-subset-${max}.zip`);
      writeFileSync(path, zip);
      const withFunctions = [...counts.values()].filter((n) => n > 0).length;
      return { zip, path, files: pick.files.size, of: withFunctions, functions: pick.functions, full: [...counts.values()].reduce((a, b) => a + b, 0) };
    };
    const fullZip = zipFolder(src, 'fontTools');
    const fullPath = join(work, 'fonttools.zip');
    writeFileSync(fullPath, fullZip);
    let subset = maxFunctions !== null ? await subsetZip(maxFunctions) : null;
    log(`zip of ${PACKAGE}: ${(fullZip.length / 2 ** 20).toFixed(1)} MiB${subset ? `; subset of ${subset.files} files, ${subset.functions} functions` : ''}; building the site`);
    const dist = join(work, 'dist');
    await buildSite(dist);
    copyDataSet(DATA, join(dist, 'data'));
    const preview = await startPreview(dist);
    let page: PageRun;
    let stoppedFull: PageRun | null = null;
    const loadAfterFull: number[][] = [];
    try {
      if (subset) page = await browserRun(preview.url, subset.path, null);
      else {
        page = await browserRun(preview.url, fullPath, kind === 'jina' ? embedLimitMin * 60 : null);
        if (page.stopped) {
          stoppedFull = page;
          loadAfterFull.push(loadavg());
          subset = await subsetZip(fallbackFunctions);
          log(`measuring a subset instead: ${subset.files} of ${subset.of} files, ${subset.functions} functions`);
          page = await browserRun(preview.url, subset.path, null);
        }
      }
    } finally {
      await preview.stop();
    }
    const loadAfterPage = loadavg();
    log(`browser: ${page.functions} functions, drop to map ${(page.totalMs / 1000).toFixed(1)} s`);
    await initTfBackend({ order: ['wasm', 'cpu'] });
    const zip = subset ? subset.zip : fullZip;
    const node = await nodePipeline(zip, manifest, kind);
    const nodeTotal = Object.values(node.ms).reduce((a, b) => a + b, 0);
    log(`node: ${node.functions} functions in ${(nodeTotal / 1000).toFixed(1)} s`);
    const deb = readdirSync(CACHE).find((f) => f.endsWith('.deb')) ?? PACKAGE;
    const dataNote = `data set: ${DATA} (${manifest.sources.join(', ')}, ${manifest.counts.functions} functions, ${mapModel}, default layout ${manifest.layouts.find((l) => l.name === manifest.default_layout)?.method ?? '?'})`;
    const browserNote =
      "browser: Debian Chromium headless (software WebGL), a fresh profile per upload, the built site from vite preview with COOP/COEP; the clock starts when the file is set on the upload input (the data set already open) and stops when the map reports the upload points drawn; steps are the view's own timings";
    if (kind === 'tfidf') {
      return {
        name: 'upload: drop to map',
        peer: 'the same cores (archive, extractors, dedup features, TF-IDF/SVD, VAE placement on tfjs WASM) run in Node 20 on the same zip, same run',
        rows: commonRows(page, node, ''),
        notes: [
          subset
            ? `repository: a subset of Debian's ${PACKAGE} (${deb}): ${subset.files} of fontTools/' ${subset.of} source files, whole files picked by the SHA-256 of their path up to ${maxFunctions} functions (UPLOAD_BENCH_MAX_FUNCTIONS), zipped here (${(zip.length / 2 ** 20).toFixed(2)} MiB, ${node.functions} functions extracted in Node, ${page.functions} in the browser)`
            : `repository: Debian's ${PACKAGE} (${deb}), its fontTools/ folder zipped here (${(zip.length / 2 ** 20).toFixed(1)} MiB, ${node.functions} functions extracted in Node, ${page.functions} in the browser)`,
          dataNote,
          browserNote,
          `summaries: ${page.notes.summaries ?? '?'}`,
          `clones in the corpus: ${page.notes.corpus ?? '?'}; clones inside: ${page.notes.clones ?? '?'}`,
          'Jina: measured in its own section, "upload: drop to map, Jina geometry on WASM" (UPLOAD_BENCH_EMBEDDER=jina with a data set laid out from the full-geometry model)',
          `load average (1/5/15 min) at the start ${loadText(load0)}, at the end ${loadText(loadavg())}, ${cpus().length} cores shared with other work`,
        ],
      };
    }

    // Jina: per-function rates, and the whole repository's figures (measured or extrapolated).
    const n = page.functions;
    const embedS = (page.steps.embed ?? 0) / 1000;
    const steady = steadyRate(page.samples);
    const firstProgress = page.samples.find((s) => s.done > 0);
    const warmS = firstProgress && page.embedSeenAt !== null ? (firstProgress.t - page.embedSeenAt) / 1000 : null;
    const nodeJina = node.jina!;
    const rows = commonRows(page, node, `${mapModel}, q8`);
    rows.push(
      { metric: `embed step rate, model load included (functions/s)`, ours: n / embedS, peer: node.functions / (node.ms.embed! / 1000), unit: 'functions/s', higherIsBetter: true },
      { metric: `embed rate after the model is loaded (functions/s; browser: steady rate from the step's progress after its first batch)`, ours: steady?.rate ?? 0, peer: node.functions / nodeJina.embedS, unit: 'functions/s', higherIsBetter: true },
      { metric: `ms per function after the model is loaded`, ours: steady ? 1000 / steady.rate : 0, peer: (nodeJina.embedS * 1000) / node.functions, unit: 'ms', higherIsBetter: false },
    );
    const notes: string[] = [];
    const full = subset?.full ?? n;
    if (subset) {
      // Extrapolation to the whole repository: model load + the steady per-function time measured
      // on the subset for every function (both sides, so their ratio compares like with like), and
      // the browser's also at the stopped whole-repository attempt's rate; the other steps scaled
      // linearly by the function count.
      const perFnS = steady ? 1 / steady.rate : embedS / n;
      const loadS = warmS ?? 0;
      const extrapEmbedS = loadS + full * perFnS;
      const otherS = page.totalMs / 1000 - embedS;
      const extrapTotalS = otherS * (full / n) + extrapEmbedS;
      const nodeExtrapEmbedS = nodeJina.loadS + full * (nodeJina.embedS / node.functions);
      rows.push(
        { metric: `EXTRAPOLATION, not measured: embed step for all ${full} functions (model load + ${full} x the per-function time measured on the ${n})`, ours: extrapEmbedS / 60, peer: nodeExtrapEmbedS / 60, unit: 'min', higherIsBetter: false },
        { metric: `EXTRAPOLATION, not measured: drop to map for all ${full} functions (that embed step; the other steps scaled linearly from ${n} functions)`, ours: extrapTotalS / 60, peer: null, unit: 'min', higherIsBetter: false },
      );
      if (stoppedFull?.stopped) {
        const s = stoppedFull.stopped;
        rows.push(
          { metric: `whole repository, stopped attempt: steady embed rate over its first ${s.done} functions (functions/s; no Node peer)`, ours: s.steadyRate, peer: null, unit: 'functions/s', higherIsBetter: true },
          { metric: `EXTRAPOLATION, not measured: that attempt's embed step for all ${s.total} functions at its rate (its own projection)`, ours: s.projectedS / 60, peer: null, unit: 'min', higherIsBetter: false },
        );
      }
      notes.push(
        `repository measured: a subset of Debian's ${PACKAGE} (${deb}): ${subset.files} of fontTools/' ${subset.of} source files with functions, whole files picked by the SHA-256 of their path up to ${maxFunctions ?? fallbackFunctions} functions, zipped here (${(subset.zip.length / 2 ** 20).toFixed(2)} MiB, ${node.functions} functions extracted in Node, ${n} in the browser); the whole fontTools/ holds ${full} functions`,
      );
    } else notes.push(`repository: Debian's ${PACKAGE} (${deb}), its fontTools/ folder zipped here (${(fullZip.length / 2 ** 20).toFixed(1)} MiB, ${node.functions} functions extracted in Node, ${n} in the browser)`);
    if (stoppedFull?.stopped) {
      const s = stoppedFull.stopped;
      notes.push(
        `whole repository tried first (${s.total} functions): stopped after ${s.done} functions embedded in ${(s.elapsedS / 60).toFixed(1)} min of its embed step (model load included), at a steady ${s.steadyRate.toFixed(2)} functions/s (${(1000 / s.steadyRate).toFixed(0)} ms per function, measured over ${JUDGE_AFTER_S}+ s after its first batch); at that rate its embed step would have taken ~${(s.projectedS / 60).toFixed(0)} min, over the ${embedLimitMin}-minute limit (UPLOAD_BENCH_EMBED_LIMIT_MIN), so the subset was measured instead`,
      );
    }
    notes.push(
      dataNote,
      `model: random weights of the real jina-embeddings-v2-base-code geometry (12 x 768, 12 heads, vocab 61056, ALiBi, GEGLU; test/fixtures/models/gen-jina.py --mode full), q8, copied into the data set's models/ by the prebuild; the page's embed worker loads it from the site and runs it on onnxruntime-web WASM (SIMD, ${JINA_THREADS} threads: the page is cross-origin isolated; the page's WebGPU adapter: ${page.webgpu}${page.webgpu === 'hardware' ? '' : ', so the backend policy picks WASM'}), ${JINA_CALL} texts per worker call, batches of 8 inside, at most ${JINA_MAX_TOKENS} tokens; Node: the same JinaEmbedder on onnxruntime-node (intraOpNumThreads ${JINA_THREADS}), the same calls. Absolute rates are indicative of the real model's cost (same shapes, same operators), the ratio is the result`,
      `browser embed step ${embedS.toFixed(1)} s: model fetch (~154 MB from the preview server) and session creation until the first batch ${warmS === null ? '?' : `~${warmS.toFixed(0)} s`}, then ${steady ? `${steady.functions} functions in ${steady.spanS.toFixed(0)} s` : '?'} (progress polled every ${POLL_MS / 1000} s); Node: model load ${nodeJina.loadS.toFixed(1)} s, embedding ${nodeJina.embedS.toFixed(1)} s`,
      browserNote,
      `summaries: ${page.notes.summaries ?? '?'}`,
      `clones in the corpus: ${page.notes.corpus ?? '?'}; clones inside: ${page.notes.clones ?? '?'}`,
      'the browser run and the Node peer run one after the other, not paired call by call as in "embed-jina in Chromium": on this shared machine the load can differ between them (see the load averages), so this ratio is looser than that paired one',
      `load average (1/5/15 min) at the start ${loadText(load0)}${loadAfterFull.length ? `, after the stopped whole-repository attempt ${loadText(loadAfterFull[0]!)}` : ''}, after the browser run ${loadText(loadAfterPage)}, at the end ${loadText(loadavg())}; ${cpus().length} cores shared with other work`,
    );
    if (page.errors.length) notes.push(`page console errors: ${page.errors.slice(0, 3).join(' | ').slice(0, 400)}`);
    return {
      name: 'upload: drop to map, Jina geometry on WASM',
      peer: `the same cores (archive, extractors, dedup features, JinaEmbedder on onnxruntime-node with ${JINA_THREADS} intra-op threads, VAE placement on tfjs WASM) run in Node 20 on the same zip, same run`,
      rows,
      notes,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
