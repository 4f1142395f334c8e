// Drop to map for a real repository in the browser: the built site (vite build, served by vite
// preview) with the stdlib data set (public/data: TF-IDF/SVD-256 vectors, the default VAE-3 map),
// Debian's python3-fonttools 4.38 (fontTools/, ~4,700 functions) zipped here and given to the upload
// view's file input; the clock runs from the file to the upload's points drawn on the map
// (`data-upload-points`), with the view's own per-step times (read, extract, dedup features, clones
// inside, embed, place, clones in the corpus, summaries, save).
//
// Peer: the same cores run in Node in the same run on the same zip — readArchive, the multi-language
// extractor, dedup features + clones inside (dedup-logic's similarityGroups), TF-IDF/SVD embedding
// with the data set's model files, placement with the data set's saved VAE encoder on tfjs WASM and
// nearest clusters from clusters-default — so the ratio is the browser's overhead (workers, comlink,
// structured cloning, IndexedDB, drawing) over the bare pipeline. Clones in the corpus run only in the
// browser (the Node peer has no dedup worker). The Jina-geometry run is not part of this bench (see notes).
import { execFileSync } from 'node:child_process';
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
import type { BenchResult } from './types.ts';

const PACKAGE = 'python3-fonttools';
const CACHE = join(ROOT, '.cache', 'bench', 'upload');
const DATA = process.env.UPLOAD_BENCH_DATA ?? join(ROOT, 'public', 'data');
const GRAMMARS = join(ROOT, 'node_modules', '@vscode', 'tree-sitter-wasm', 'wasm');

function log(msg: string): void {
  process.stderr.write(`upload-bench: ${msg}\n`);
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

function zipFolder(dir: string, prefix: string): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files[`${prefix}/${relative(dir, p)}`] = new Uint8Array(readFileSync(p));
    }
  };
  walk(dir);
  return zipSync(files, { level: 6 });
}

/** The pipeline's cores in Node, step by step (ms per step). */
async function nodePipeline(zip: Uint8Array, manifest: Manifest): Promise<{ ms: Record<string, number>; functions: number; clusters: Int32Array }> {
  const ms: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    ms[name] = now - t;
    t = now;
  };
  const archive = readArchive(zip, 'fonttools.zip');
  lap('read');
  const ex = await MultiLanguageExtractor.create({ grammarWasm: (lang) => Promise.resolve(new Uint8Array(readFileSync(join(GRAMMARS, grammarFileName(lang))))) });
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
      p.setLanguage(await Language.load(new Uint8Array(readFileSync(join(GRAMMARS, grammarFileName(lang))))));
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
  const tfInfo = manifest.embeddings.find((e) => e.model.startsWith('tfidf'))!;
  const files = manifest.models[tfInfo.model_files ?? tfInfo.model]!;
  const json = JSON.parse(readFileSync(join(DATA, files.find((f) => f.path.endsWith('.json'))!.path), 'utf8')) as TfidfSvdJson;
  const bin = new Uint8Array(readFileSync(join(DATA, files.find((f) => f.path.endsWith('.bin'))!.path)));
  const embedder = new TfidfSvdEmbedder(deserializeTfidfSvd(json, bin));
  const vectors = embedder.embedSync(functions.map((f) => f.body));
  lap('embed');
  const vae = manifest.models['vae-3']!;
  const model = deserializeVae(readFileSync(join(DATA, vae.find((f) => f.path.endsWith('.json'))!.path), 'utf8'), new Uint8Array(readFileSync(join(DATA, vae.find((f) => f.path.endsWith('.bin'))!.path))));
  const cl = manifest.tables['clusters-default']![0]!;
  const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(readFileSync(join(DATA, cl.path))), cl.path, ['cluster', 'x', 'y', 'z']);
  const xyz = new Float32Array(rows * 3);
  const [x, y, z] = ['x', 'y', 'z'].map((c) => toFloat32Array(columns[c]!));
  for (let i = 0; i < rows; i++) xyz.set([x![i]!, y![i]!, z![i]!], i * 3);
  const placed = await placeUpload(vectors, embedder.dim, { kind: 'vae', model }, centroidsFromRows(Array.from(columns.cluster!, Number), xyz, 3));
  disposeVae(model);
  lap('place');
  ex.delete();
  return { ms, functions: functions.length, clusters: placed.clusters };
}

export default async function bench(): Promise<BenchResult> {
  if (!existsSync(join(DATA, 'manifest.json'))) throw new Error(`${DATA} has no data set: run \`npm run prebuild\` (the stdlib) first or set UPLOAD_BENCH_DATA`);
  const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8')) as Manifest;
  const mapModel = (manifest.embeddings.find((e) => !e.model.startsWith('tfidf')) ?? manifest.embeddings[0])!.model;
  if (!mapModel.startsWith('tfidf')) throw new Error(`${DATA}'s map is laid out from ${mapModel}: this bench measures the TF-IDF/SVD case`);
  const src = fetchPackage();
  const zip = zipFolder(src, 'fontTools');
  const work = mkdtempSync(join(tmpdir(), 'atlas-upload-bench-'));
  const zipPath = join(work, 'fonttools.zip');
  writeFileSync(zipPath, zip);
  const load0 = loadavg();
  try {
    log(`zip of ${PACKAGE}: ${(zip.length / 2 ** 20).toFixed(1)} MiB; building the site`);
    const dist = join(work, 'dist');
    await buildSite(dist);
    copyDataSet(DATA, join(dist, 'data'));
    const preview = await startPreview(dist);
    const browser = await launchBrowser();
    let pageMs = 0;
    let pageSteps: Record<string, number> = {};
    let pageNotes: Record<string, string> = {};
    let pageFunctions = 0;
    let mapMs = 0;
    try {
      const { page, errors } = await openPage(browser.context);
      await page.goto(`${preview.url}#/upload`);
      await page.locator('[data-testid="upload-input"]').waitFor();
      // The data set opens with the page; wait for it so the clock measures the upload only.
      await page.locator('footer [data-testid="load-time"]').waitFor({ timeout: 120_000 });
      const t0 = Date.now();
      await page.locator('[data-testid="upload-input"]').setInputFiles(zipPath);
      const report = page.locator('[data-testid="upload-report"]');
      await report.waitFor({ timeout: 1_800_000 });
      pageFunctions = Number(await report.getAttribute('data-functions'));
      const id = await report.getAttribute('data-upload');
      const tMap = Date.now();
      await page.locator('[data-testid="upload-on-map"]').click();
      await page.locator(`[data-testid="map"][data-upload-points="${pageFunctions}"]`).waitFor({ timeout: 600_000 });
      pageMs = Date.now() - t0;
      mapMs = Date.now() - tMap;
      await page.goto(`${preview.url}#/upload?upload=${id}`);
      await report.waitFor({ timeout: 120_000 });
      pageSteps = Object.fromEntries(
        await page.locator('[data-testid="report-timings"] tr[data-step]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-step') ?? '', Number(r.getAttribute('data-ms'))])),
      ) as Record<string, number>;
      pageNotes = Object.fromEntries(
        await page.locator('[data-testid="report-timings"] tr[data-step]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-step') ?? '', r.querySelector('td:last-child')?.textContent ?? ''])),
      ) as Record<string, string>;
      if (errors.length) log(`page errors: ${errors.slice(0, 3).join(' | ')}`);
      await page.close();
    } finally {
      await browser.close();
      await preview.stop();
    }
    log(`browser: ${pageFunctions} functions, drop to map ${(pageMs / 1000).toFixed(1)} s`);
    await initTfBackend({ order: ['wasm', 'cpu'] });
    const node = await nodePipeline(zip, manifest);
    const nodeTotal = Object.values(node.ms).reduce((a, b) => a + b, 0);
    log(`node: ${node.functions} functions in ${(nodeTotal / 1000).toFixed(1)} s`);
    const steps = ['read', 'extract', 'features', 'clones', 'embed', 'place'] as const;
    const pageCore = steps.reduce((sum, s) => sum + (pageSteps[s] ?? 0), 0);
    const rows: BenchResult['rows'] = [
      { metric: `read to placed, ${pageFunctions} functions: the six steps both sides run (browser workers vs Node)`, ours: pageCore / 1000, peer: nodeTotal / 1000, unit: 's', higherIsBetter: false },
      ...steps.map((s) => ({ metric: `step: ${s}`, ours: (pageSteps[s] ?? 0) / 1000, peer: node.ms[s]! / 1000, unit: 's', higherIsBetter: false })),
      { metric: 'step: clones in the corpus (dedup worker, first use loads its index; no Node peer)', ours: (pageSteps.corpus ?? 0) / 1000, peer: null, unit: 's', higherIsBetter: false },
      { metric: `step: summaries (at most 200 undocumented functions; no Node peer)`, ours: (pageSteps.summaries ?? 0) / 1000, peer: null, unit: 's', higherIsBetter: false },
      { metric: 'step: keep in IndexedDB', ours: (pageSteps.save ?? 0) / 1000, peer: null, unit: 's', higherIsBetter: false },
      { metric: 'report to points drawn on the map (open the map view, draw)', ours: mapMs / 1000, peer: null, unit: 's', higherIsBetter: false },
      { metric: 'drop to map, everything (all steps, the report, the map drawn)', ours: pageMs / 1000, peer: null, unit: 's', higherIsBetter: false },
    ];
    return {
      name: 'upload: drop to map',
      peer: 'the same cores (archive, extractors, dedup features, TF-IDF/SVD, VAE placement on tfjs WASM) run in Node 20 on the same zip, same run',
      rows,
      notes: [
        `repository: Debian's ${PACKAGE} (${readdirSync(CACHE).find((f) => f.endsWith('.deb')) ?? PACKAGE}), its fontTools/ folder zipped here (${(zip.length / 2 ** 20).toFixed(1)} MiB, ${node.functions} functions extracted in Node, ${pageFunctions} in the browser)`,
        `data set: ${DATA} (${manifest.sources.join(', ')}, ${manifest.counts.functions} functions, ${mapModel}, default layout ${manifest.layouts.find((l) => l.name === manifest.default_layout)?.method ?? '?'})`,
        'browser: Debian Chromium headless (software WebGL), the built site from vite preview with COOP/COEP; the clock starts when the file is set on the upload input (the data set already open) and stops when the map reports the upload points drawn; steps are the view\'s own timings',
        `summaries: ${pageNotes.summaries ?? '?'}`,
        `clones in the corpus: ${pageNotes.corpus ?? '?'}; clones inside: ${pageNotes.clones ?? '?'}`,
        'Jina: not measured here. Placing an upload on a Jina map needs a data set laid out from the full-geometry model; at ~285 ms per function on 2 threads (STACK.md) the embed step alone for ~4,700 functions would be ~22 minutes',
        `load average (1/5/15 min) at the start ${load0.map((x) => x.toFixed(1)).join(' / ')}, at the end ${loadavg().map((x) => x.toFixed(1)).join(' / ')}, ${cpus().length} cores shared with other work`,
      ],
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
