// The parse worker: an uploaded archive's bytes (transferred from the page, never fetched, never
// sent anywhere) are read here with the archive core's limits (core/upload/archive.ts), every source
// file of a known language is extracted with web-tree-sitter (core/extract/languages.ts; grammars
// served by this site), each function's body is turned into dedup features (core/dedup) for the
// clones inside the upload; then, on request, the bodies are embedded with the data set's TF-IDF/SVD
// model (the same checked model files the search worker embeds queries with) and placed on the map
// with the layout's saved VAE encoder (or the layout's PCA, refitted from the data set's vectors
// with the prebuild's own accumulator), each point assigned to the nearest cluster centroid.
// Cancel: the page terminates this worker (nothing here holds state worth keeping mid-step).
import * as Comlink from 'comlink';
import { Language, Parser } from 'web-tree-sitter';
import runtimeWasmUrl from 'web-tree-sitter/web-tree-sitter.wasm?url';
import pythonWasmUrl from '@vscode/tree-sitter-wasm/wasm/tree-sitter-python.wasm?url';
import javascriptWasmUrl from '@vscode/tree-sitter-wasm/wasm/tree-sitter-javascript.wasm?url';
import typescriptWasmUrl from '@vscode/tree-sitter-wasm/wasm/tree-sitter-typescript.wasm?url';
import tsxWasmUrl from '@vscode/tree-sitter-wasm/wasm/tree-sitter-tsx.wasm?url';
import goWasmUrl from '@vscode/tree-sitter-wasm/wasm/tree-sitter-go.wasm?url';
import javaWasmUrl from '@vscode/tree-sitter-wasm/wasm/tree-sitter-java.wasm?url';
import rubyWasmUrl from '@vscode/tree-sitter-wasm/wasm/tree-sitter-ruby.wasm?url';
import rustWasmUrl from '@vscode/tree-sitter-wasm/wasm/tree-sitter-rust.wasm?url';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { validateManifest, type Manifest, type ManifestFile } from '../src/core/data/manifest.ts';
import { memoryAsyncBuffer, readParquetColumns, toFloat32Array } from '../src/core/data/parquet-read.ts';
import { extractFeatures, type FeatureBag } from '../src/core/dedup/features.ts';
import { PRESET_80 } from '../src/core/dedup/settings.ts';
import { deserializeTfidfSvd, TfidfSvdEmbedder, type TfidfSvdJson } from '../src/core/embed/tfidf-svd.ts';
import { decodeSourceFile } from '../src/core/extract/source-file.ts';
import { languageOfPath, type SourceLanguage } from '../src/core/extract/language-paths.ts';
import { MultiLanguageExtractor } from '../src/core/extract/languages.ts';
import { initTfBackend, type TfBackendChoice } from '../src/core/gpu/tf-backend.ts';
import { PcaAccumulator, type PcaModel } from '../src/core/reduce/pca.ts';
import { deserializeVae, type VaeModel } from '../src/core/reduce/vae.ts';
import { ArchiveError, readArchive, type ArchiveSkip } from '../src/core/upload/archive.ts';
import { centroidsFromRows, placeUpload, type Centroids, type Placer, type UploadPlacement } from '../src/core/upload/place.ts';
import type { InnerClones, UploadFunction } from '../src/core/upload/report.ts';
import { bodyFeatures, similarityGroups } from './dedup-logic.ts';
import { fetchChecked } from './shared/fetch-checked.ts';
import { dequantize, loadVectors, mapEmbedding } from './shared/vectors.ts';

export type { ArchiveSkip, InnerClones, UploadFunction, UploadPlacement, Centroids };

const GRAMMAR_URL: Record<SourceLanguage, string> = {
  python: pythonWasmUrl,
  javascript: javascriptWasmUrl,
  typescript: typescriptWasmUrl,
  tsx: tsxWasmUrl,
  go: goWasmUrl,
  java: javaWasmUrl,
  ruby: rubyWasmUrl,
  rust: rustWasmUrl,
};

export interface ParseProgress {
  step: 'read' | 'extract' | 'features' | 'clones' | 'embed' | 'place';
  done: number;
  total: number;
}

export interface FileError {
  path: string;
  line: number;
  message: string;
}

export interface ParseResult {
  format: string;
  totalEntries: number;
  skipped: ArchiveSkip[];
  warnings: string[];
  /** Source files read, per language (with or without functions). */
  filesByLanguage: Record<string, number>;
  functions: UploadFunction[];
  /** Files that did not parse (their functions are missing) and why. */
  fileErrors: FileError[];
  /** Near-duplicates inside the upload (estimated weighted Jaccard >= 0.8). */
  inside: InnerClones;
  /** Feature bags of the Python functions (the corpus's language), for matching against the corpus. */
  pythonBags: FeatureBag[];
  /** Function index of each of those bags. */
  pythonIndex: Uint32Array;
  ms: { read: number; extract: number; features: number; clones: number };
}

export interface PlaceRequest {
  /** The layout's name as the data set lists it (or 'default'). */
  layout: string;
  method: string;
  dims: 2 | 3;
  /** Centroids in the layout's space when the caller has them (non-default layouts); else read from `clusters-<layout>`. */
  centroids: Centroids | null;
}

export interface PlaceResult extends UploadPlacement {
  method: string;
  ms: number;
}

let manifest: Manifest | null = null;
let base: URL | null = null;
let extractor: Promise<MultiLanguageExtractor> | null = null;
const featureParsers = new Map<SourceLanguage, Promise<Parser>>();
let tfidf: Promise<TfidfSvdEmbedder> | null = null;
let tfBackend: Promise<TfBackendChoice> | null = null;
const placers = new Map<string, Promise<Placer>>();

function url(f: ManifestFile): string {
  if (!base) throw new Error('the parse worker has no data set');
  return new URL(f.path, base).href;
}

function ready(): Manifest {
  if (!manifest) throw new Error('the parse worker has no data set');
  return manifest;
}

function getExtractor(): Promise<MultiLanguageExtractor> {
  extractor ??= MultiLanguageExtractor.create({ grammarWasm: (lang) => Promise.resolve(GRAMMAR_URL[lang]), runtimeWasmUrl });
  extractor.catch(() => (extractor = null));
  return extractor;
}

/** A parser for dedup features (after the extractor, which initialised the runtime once). */
function featureParser(lang: SourceLanguage): Promise<Parser> {
  let p = featureParsers.get(lang);
  if (!p) {
    p = (async () => {
      await getExtractor();
      const parser = new Parser();
      parser.setLanguage(await Language.load(GRAMMAR_URL[lang]));
      return parser;
    })();
    p.catch(() => featureParsers.delete(lang));
    featureParsers.set(lang, p);
  }
  return p;
}

/** Features of one function's body: Python the way the corpus's are computed; other languages from the body's own tree. */
async function featuresOf(f: UploadFunction): Promise<FeatureBag | null> {
  const lang = f.lang as SourceLanguage;
  if (!(lang in GRAMMAR_URL)) return null;
  const parser = await featureParser(lang);
  if (lang === 'python') return bodyFeatures(parser, f.body);
  // A method cut out of its class may not parse on its own: its tree (ERROR nodes and all) is still
  // the same for two copies, which is what clones inside the upload need.
  const tree = parser.parse(f.body);
  if (!tree) return null;
  try {
    return extractFeatures(tree.rootNode);
  } finally {
    tree.delete();
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

async function analyse(bytes: Uint8Array, fileName: string, report: (p: ParseProgress) => void): Promise<ParseResult> {
  const t0 = performance.now();
  report({ step: 'read', done: 0, total: bytes.byteLength });
  const archive = readArchive(bytes, fileName, undefined, (done, total) => report({ step: 'read', done, total }));
  const t1 = performance.now();
  const ex = await getExtractor();
  const functions: UploadFunction[] = [];
  const skipped = [...archive.skipped];
  const fileErrors: FileError[] = [];
  const filesByLanguage: Record<string, number> = {};
  const files = archive.files;
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const lang = languageOfPath(file.path);
    if (!lang) {
      skipped.push({ path: file.path, reason: 'not-source', detail: 'not a file of a language the extractor knows' });
      continue;
    }
    const decoded = decodeSourceFile(file.bytes);
    if (!decoded.ok) {
      skipped.push({ path: file.path, reason: decoded.reason === 'binary' ? 'binary' : decoded.reason === 'too-large' ? 'too-large' : 'not-utf8', detail: decoded.detail });
      continue;
    }
    filesByLanguage[lang] = (filesByLanguage[lang] ?? 0) + 1;
    const r = await ex.extract(lang, decoded.text, file.path);
    if (r.error && r.functions.length === 0) fileErrors.push({ path: file.path, line: r.error.line, message: r.error.message });
    for (const f of r.functions) functions.push({ ...f, path: file.path });
    if (i % 25 === 24 || i === files.length - 1) {
      report({ step: 'extract', done: i + 1, total: files.length });
      await tick();
    }
  }
  const t2 = performance.now();
  const bags: (FeatureBag | null)[] = [];
  for (let i = 0; i < functions.length; i++) {
    bags.push(await featuresOf(functions[i]!));
    if (i % 200 === 199 || i === functions.length - 1) report({ step: 'features', done: i + 1, total: functions.length });
  }
  const t3 = performance.now();
  report({ step: 'clones', done: 0, total: functions.length });
  const keep: number[] = [];
  for (let i = 0; i < bags.length; i++) if (bags[i]) keep.push(i);
  const sim = similarityGroups(
    keep.map((i) => bags[i]!),
    PRESET_80.threshold,
    PRESET_80,
    null,
  );
  // Back from bag indices to function indices.
  const group = new Int32Array(functions.length).fill(-1);
  keep.forEach((fi, k) => (group[fi] = sim.group[k]!));
  const inside: InnerClones = {
    threshold: PRESET_80.threshold,
    a: Uint32Array.from(sim.a, (k) => keep[k]!),
    b: Uint32Array.from(sim.b, (k) => keep[k]!),
    similarity: sim.similarity,
    group,
    method: `${sim.method} over ${keep.length} parsed bodies (weighted MinHash, ${PRESET_80.samples} samples)`,
  };
  const pythonIndex: number[] = [];
  const pythonBags: FeatureBag[] = [];
  for (const i of keep) {
    if (functions[i]!.lang !== 'python') continue;
    pythonIndex.push(i);
    pythonBags.push(bags[i]!);
  }
  const t4 = performance.now();
  report({ step: 'clones', done: functions.length, total: functions.length });
  return {
    format: archive.format,
    totalEntries: archive.totalEntries,
    skipped,
    warnings: archive.warnings,
    filesByLanguage,
    functions,
    fileErrors,
    inside,
    pythonBags,
    pythonIndex: Uint32Array.from(pythonIndex),
    ms: { read: Math.round(t1 - t0), extract: Math.round(t2 - t1), features: Math.round(t3 - t2), clones: Math.round(t4 - t3) },
  };
}

async function loadTfidf(): Promise<TfidfSvdEmbedder> {
  const m = ready();
  const info = m.embeddings.find((e) => e.model.startsWith('tfidf'));
  if (!info) throw new Error('this data set has no TF-IDF/SVD model');
  const files = m.models[info.model_files ?? info.model] ?? [];
  const json = files.find((f) => f.path.endsWith('.json'));
  const bin = files.find((f) => f.path.endsWith('.bin'));
  if (!json || !bin) throw new Error(`the manifest lists no model files for ${info.model}`);
  const [j, b] = await Promise.all([fetchChecked(url(json), json), fetchChecked(url(bin), bin)]);
  return new TfidfSvdEmbedder(deserializeTfidfSvd(JSON.parse(new TextDecoder().decode(j)) as TfidfSvdJson, b));
}

function backend(): Promise<TfBackendChoice> {
  tfBackend ??= initTfBackend({
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
    },
    // The encoder's forward pass on a software WebGPU adapter is slower than WASM; the policy skips fallback adapters.
  });
  return tfBackend;
}

/** The model key of a layout made by a VAE: its method starts with `vae-2`/`vae-3`. */
function vaeKeyOf(method: string): string | null {
  const m = /^(vae-[23])\b/.exec(method);
  return m ? m[1]! : null;
}

function pcaDimsOf(layout: string, method: string): 2 | 3 | null {
  const m = /^pca-([23])\b/.exec(method) ?? /^pca-([23])$/.exec(layout);
  return m ? (Number(m[1]) as 2 | 3) : null;
}

function placerFor(req: PlaceRequest): Promise<Placer> {
  const key = `${req.layout}|${req.method}`;
  let p = placers.get(key);
  if (!p) {
    p = (async (): Promise<Placer> => {
      const m = ready();
      const vae = vaeKeyOf(req.method);
      if (vae) {
        const files = m.models[vae] ?? [];
        const json = files.find((f) => f.path.endsWith('.json'));
        const bin = files.find((f) => f.path.endsWith('.bin'));
        if (!json || !bin) throw new Error(`the data set has no saved encoder for ${vae} (models/${vae}): uploads cannot be placed on this layout`);
        await backend();
        const [j, b] = await Promise.all([fetchChecked(url(json), json), fetchChecked(url(bin), bin)]);
        const model: VaeModel = deserializeVae(new TextDecoder().decode(j), b);
        return { kind: 'vae', model };
      }
      const pcaDims = pcaDimsOf(req.layout, req.method);
      if (pcaDims) {
        // The layout stage's PCA, refitted the same way (exact covariance over every stored vector).
        const info = mapEmbedding(m);
        const v = await loadVectors(m, base!, info, () => {}, () => {});
        const acc = new PcaAccumulator(info.dim);
        const CHUNK = 8192;
        for (let r = 0; r < v.rows; r += CHUNK) {
          const rows = Array.from({ length: Math.min(CHUNK, v.rows - r) }, (_, i) => r + i);
          acc.add(dequantize(v, rows).data, rows.length);
        }
        const model: PcaModel = acc.finish(Math.min(info.dim, 3));
        return { kind: 'pca', model, dims: pcaDims };
      }
      throw new Error(`uploads are placed with a layout's saved encoder or its PCA; ${req.layout} (${req.method}) has neither: switch the map to the default layout`);
    })();
    p.catch(() => placers.delete(key));
    placers.set(key, p);
  }
  return p;
}

/** The layout's cluster centroids from `clusters-<layout>` (cluster, x, y, z per row), or null. */
async function centroidsOf(layout: string, dims: 2 | 3): Promise<Centroids | null> {
  const m = ready();
  const files = m.tables[`clusters-${layout}`] ?? [];
  if (files.length === 0) return null;
  const ids: number[] = [];
  const coords: number[] = [];
  for (const f of files) {
    const b = await fetchChecked(url(f), f);
    const cols = ['cluster', 'x', 'y', ...(dims === 3 ? ['z'] : [])];
    const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(b), f.path, cols);
    const xs = cols.slice(1).map((c) => toFloat32Array(columns[c]!));
    for (let i = 0; i < rows; i++) {
      ids.push(Number(columns.cluster![i]));
      for (const x of xs) coords.push(x[i]!);
    }
  }
  return centroidsFromRows(ids, Float32Array.from(coords), dims);
}

const api = {
  /** The data set the data worker checked (needed for embedding and placing, not for reading archives). */
  open(manifestUrl: string, m: Manifest): { embedding: string; dim: number } {
    manifest = validateManifest(m);
    base = new URL('.', manifestUrl);
    placers.clear();
    tfidf = null;
    const info = mapEmbedding(manifest);
    return { embedding: info.model, dim: info.dim };
  },

  /** Reads the archive and extracts every function (bytes are transferred in, never fetched). */
  async analyse(bytes: Uint8Array, fileName: string, onProgress?: (p: ParseProgress) => void): Promise<ParseResult> {
    try {
      return await analyse(bytes, fileName, onProgress ?? (() => {}));
    } catch (e) {
      // ArchiveError's code travels as text: comlink keeps only message and name of an Error.
      if (e instanceof ArchiveError) throw new Error(`${e.code}: ${e.message}`);
      throw e;
    }
  },

  /** Embeds texts with the data set's TF-IDF/SVD model (texts.length x dim, L2-normalised). */
  async embedTfidf(texts: string[]): Promise<Float32Array> {
    tfidf ??= loadTfidf();
    tfidf.catch(() => (tfidf = null));
    const v = (await tfidf).embedSync(texts);
    return Comlink.transfer(v, [v.buffer]);
  },

  /** Places vectors (n x dim) on a layout and assigns clusters. */
  async place(vectors: Float32Array, dim: number, req: PlaceRequest): Promise<PlaceResult> {
    const t0 = performance.now();
    const placer = await placerFor(req);
    const centroids = req.centroids ?? (await centroidsOf(req.layout, req.dims));
    const p = await placeUpload(vectors, dim, placer, centroids);
    const method =
      placer.kind === 'vae'
        ? `the layout's saved VAE encoder (${placer.model.inputDim}-${placer.model.settings.hidden.join('-')}-${placer.model.settings.latentDim}), latent means`
        : `the layout's PCA (refitted on ${placer.model.count} stored vectors)`;
    const out: PlaceResult = { ...p, method, ms: Math.round(performance.now() - t0) };
    return Comlink.transfer(out, [p.positions.buffer, p.clusters.buffer, p.centroidDistance.buffer]);
  },
};

export type ParseApi = typeof api;

Comlink.expose(api);
