// The dedup worker: the duplicate groups the prebuild found, and the dedup core rerun in the browser.
// It opens on the data worker's checked manifest, downloads the `dedup` shards whole (each checked
// against the manifest's sha256), reads the light columns it needs (id, repo_id, lang, name) of the
// `functions` shards with range reads, and answers: groups at a threshold, largest first; a group's
// members (qualname, path, body read by row group); the per-package / per-language unique shares;
// and, on demand, the dedup core (tree-sitter features, weighted MinHash, LSH, components, Louvain)
// over a group's or a package's functions at a threshold the visitor picks.
import * as Comlink from 'comlink';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { Language, Parser } from 'web-tree-sitter';
import runtimeWasmUrl from 'web-tree-sitter/web-tree-sitter.wasm?url';
import pythonWasmUrl from '@vscode/tree-sitter-wasm/wasm/tree-sitter-python.wasm?url';
import { validateManifest, type Manifest, type ManifestFile } from '../src/core/data/manifest.ts';
import { TABLE } from '../src/core/data/schema.ts';
import {
  httpAsyncBuffer,
  memoryAsyncBuffer,
  readParquetColumns,
  readParquetMetadata,
  rowGroupOf,
  shardForId,
  toFloat32Array,
  toUint32Array,
  type ColumnTable,
  type DecodedColumn,
} from '../src/core/data/parquet-read.ts';
import type { FeatureBag } from '../src/core/dedup/features.ts';
import { PRESET_80, PRESET_GEMINI_FUNC } from '../src/core/dedup/settings.ts';
import { BandIndex, queryBands, verifyCandidates, weighAgainst } from '../src/core/upload/corpus-bands.ts';
import { fetchChecked } from './shared/fetch-checked.ts';
import {
  NO_REPO,
  backgroundOf,
  bodyFeatures,
  buildLevel,
  groupMembers,
  sameThreshold,
  similarityGroups,
  summarise,
  thresholdsOf,
  uniqueShares,
  type Background,
  type DedupLevel,
  type DedupRows,
  type FunctionIndex,
  type GroupSummary,
  type ShareRow,
  type ShareTable,
} from './dedup-logic.ts';

export type { GroupSummary, ShareRow, ShareTable };

export interface DedupInfo {
  thresholds: number[];
  functions: number;
  packages: number;
  /** Per threshold: groups, functions in groups, the largest group. */
  levels: { threshold: number; groups: number; grouped: number; largest: number }[];
  loadMs: number;
  bytes: number;
}

export interface GroupPage {
  threshold: number;
  total: number;
  offset: number;
  groups: GroupSummary[];
}

export interface MemberInfo {
  id: number;
  name: string;
  qualname: string;
  repo: string;
  path: string;
  community: number;
}

export interface FunctionCode extends MemberInfo {
  start_line: number;
  end_line: number;
  body: string;
}

export interface GraphNode {
  id: number;
  name: string;
  repo: string;
  /** Community in the prebuilt table (or in the rerun), -1 where none. */
  community: number;
  /** Group in the rerun (the prebuilt group's members are all one group: 0). */
  group: number;
}

export interface GroupGraph {
  threshold: number;
  nodes: GraphNode[];
  /** Node indices and estimated similarity of pairs at or above the threshold. */
  edges: { a: number; b: number; sim: number }[];
  /** Members left out (past the cap) and bodies that did not parse. */
  omitted: number;
  /** Pairs above the threshold not listed in `edges` (only the MAX_EDGES most similar are). */
  edgesOmitted: number;
  unparsed: number;
  method: string;
  ms: Record<string, number>;
}

export type RethresholdScope = { kind: 'group'; threshold: number; groupId: number } | { kind: 'package'; name: string };

export interface RethresholdResult extends GroupGraph {
  scope: RethresholdScope;
  /** New groups (two or more members), largest first, as node indices. */
  groups: { members: number[]; communities: number }[];
  /** Functions of the scope (before the cap). */
  scopeSize: number;
}

export interface RethresholdProgress {
  phase: 'reading bodies' | 'parsing' | 'hashing';
  done: number;
  total: number;
}

/** Members a graph shows at most, and functions a package rerun reads at most. */
export const GRAPH_MAX = 400;
export const PACKAGE_MAX = 3000;
/** Pairs a graph lists at most (the most similar), so a giant group stays drawable. */
export const MAX_EDGES = 6000;
/** Functions whose features give the document frequencies (the whole corpus when it is this small). */
const BACKGROUND_TARGET = 4096;
const SETTINGS = PRESET_80;

let base: URL | null = null;
let manifest: Manifest | null = null;
let opening: Promise<DedupInfo> | null = null;
let index: FunctionIndex | null = null;
let levels: DedupLevel[] = [];
let bytes = 0;
const shardMeta = new Map<string, Promise<{ file: AsyncBuffer; metadata: FileMetaData }>>();
const groupCache = new Map<string, Promise<ColumnTable>>();
let parserPromise: Promise<Parser> | null = null;
let backgroundPromise: Promise<Background> | null = null;

function url(f: ManifestFile): string {
  if (!base) throw new Error('the dedup worker has no data set');
  return new URL(f.path, base).href;
}

function str(col: DecodedColumn, i: number): string {
  const v = col[i];
  return v === null || v === undefined ? '' : String(v);
}

function intOrMinus1(col: DecodedColumn, i: number): number {
  const v = col[i];
  return v === null || v === undefined ? -1 : Number(v);
}

function shard(f: ManifestFile): Promise<{ file: AsyncBuffer; metadata: FileMetaData }> {
  let p = shardMeta.get(f.path);
  if (!p) {
    p = (async () => {
      const file = httpAsyncBuffer(url(f), f.bytes, { onBytes: (n) => (bytes += n) });
      const metadata = await readParquetMetadata(file, f.path);
      if (f.rows !== undefined && Number(metadata.num_rows) !== f.rows) {
        throw new Error(`${f.path} holds ${metadata.num_rows} rows, the manifest says ${f.rows}`);
      }
      return { file, metadata };
    })();
    p.catch(() => shardMeta.delete(f.path));
    shardMeta.set(f.path, p);
  }
  return p;
}

async function loadIndex(m: Manifest): Promise<FunctionIndex> {
  const shards = m.tables[TABLE.functions] ?? [];
  const idCount = shards.reduce((n, s) => Math.max(n, (s.id_max ?? -1) + 1), 0);
  const repo = new Uint32Array(idCount).fill(NO_REPO);
  const lang = new Uint16Array(idCount);
  const name = new Array<string>(idCount).fill('');
  const langs: string[] = [];
  const langCode = new Map<string, number>();
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < shards.length) {
      const f = shards[next++];
      const { file, metadata } = await shard(f);
      const { columns, rows } = await readParquetColumns(file, f.path, ['id', 'repo_id', 'lang', 'name'], { metadata });
      const ids = toUint32Array(columns.id);
      const repos = toUint32Array(columns.repo_id);
      for (let i = 0; i < rows; i++) {
        const id = ids[i];
        if (id >= idCount) throw new Error(`${f.path}: id ${id} is past the manifest's id range`);
        repo[id] = repos[i];
        const l = str(columns.lang, i);
        let c = langCode.get(l);
        if (c === undefined) {
          c = langs.length;
          langs.push(l);
          langCode.set(l, c);
        }
        lang[id] = c;
        name[id] = str(columns.name, i);
      }
    }
  };
  await Promise.all([reader(), reader()]);
  const repoNames: string[] = [];
  for (const f of m.tables[TABLE.repos] ?? []) {
    const b = await fetchChecked(url(f), f, (n) => (bytes += n));
    const { columns, rows } = await readParquetColumns(memoryAsyncBuffer(b), f.path, ['repo_id', 'name']);
    const ids = toUint32Array(columns.repo_id);
    for (let i = 0; i < rows; i++) repoNames[ids[i]] = str(columns.name, i);
  }
  return { idCount, repo, lang, langs, repoNames: Array.from(repoNames, (n) => n ?? ''), name };
}

async function loadRows(m: Manifest): Promise<DedupRows> {
  const files = m.tables[TABLE.dedup] ?? [];
  if (files.length === 0) throw new Error('this data set has no duplicate groups (the dedup stage did not run)');
  const parts = await Promise.all(
    files.map(async (f) => {
      const b = await fetchChecked(url(f), f, (n) => (bytes += n));
      return (await readParquetColumns(memoryAsyncBuffer(b), f.path, ['id', 'threshold', 'group_id', 'community_id'])).columns;
    }),
  );
  const n = parts.reduce((s, p) => s + p.id.length, 0);
  const rows: DedupRows = { ids: new Uint32Array(n), thresholds: new Float32Array(n), groups: new Int32Array(n), communities: new Int32Array(n) };
  let at = 0;
  for (const p of parts) {
    const len = p.id.length;
    rows.ids.set(toUint32Array(p.id), at);
    rows.thresholds.set(toFloat32Array(p.threshold), at);
    for (let i = 0; i < len; i++) {
      rows.groups[at + i] = intOrMinus1(p.group_id, i);
      rows.communities[at + i] = intOrMinus1(p.community_id, i);
    }
    at += len;
  }
  return rows;
}

async function doOpen(): Promise<DedupInfo> {
  const t0 = performance.now();
  const m = manifest!;
  const [idx, rows] = await Promise.all([loadIndex(m), loadRows(m)]);
  index = idx;
  levels = thresholdsOf(rows).map((t) => buildLevel(rows, t, idx.idCount));
  let functions = 0;
  for (let id = 0; id < idx.idCount; id++) if (idx.repo[id] !== NO_REPO) functions++;
  return {
    thresholds: levels.map((l) => l.threshold),
    functions,
    packages: idx.repoNames.filter((n) => n !== '').length,
    levels: levels.map((l) => {
      const groups = l.start.length - 1;
      return { threshold: l.threshold, groups, grouped: l.members.length, largest: groups > 0 ? l.start[l.order[0] + 1] - l.start[l.order[0]] : 0 };
    }),
    loadMs: Math.round(performance.now() - t0),
    bytes,
  };
}

function levelAt(threshold: number): DedupLevel {
  const l = levels.find((x) => sameThreshold(x.threshold, threshold));
  if (!l) throw new Error(`the data set has no duplicate groups at ${threshold} (it has ${levels.map((x) => x.threshold).join(', ')})`);
  return l;
}

function ready(): FunctionIndex {
  if (!index) throw new Error('the dedup worker is not open');
  return index;
}

/** Reads `columns` of the rows with these ids, one row group at a time (two in flight). */
async function readById(ids: readonly number[], columns: readonly string[]): Promise<Map<number, Record<string, unknown>>> {
  const m = manifest!;
  const shards = m.tables[TABLE.functions] ?? [];
  const cols = columns.includes('id') ? [...columns] : ['id', ...columns];
  // Row groups to read, with the ids wanted in each.
  const want = new Map<string, { f: ManifestFile; rg: number; rowStart: number; rowEnd: number; ids: number[] }>();
  for (const id of ids) {
    const f = shardForId(shards, id);
    if (!f || f.id_min === undefined) throw new Error(`no functions shard holds id ${id}`);
    const { metadata } = await shard(f);
    const g = rowGroupOf(metadata, id - f.id_min);
    const key = `${f.path}#${g.index}`;
    let w = want.get(key);
    if (!w) {
      w = { f, rg: g.index, rowStart: g.rowStart, rowEnd: g.rowEnd, ids: [] };
      want.set(key, w);
    }
    w.ids.push(id);
  }
  const out = new Map<number, Record<string, unknown>>();
  const jobs = [...want.values()];
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < jobs.length) {
      const w = jobs[next++];
      const key = `${w.f.path}#${w.rg}#${cols.join(',')}`;
      let p = groupCache.get(key);
      if (!p) {
        const { file, metadata } = await shard(w.f);
        p = readParquetColumns(file, w.f.path, cols, { metadata, rowStart: w.rowStart, rowEnd: w.rowEnd }).then((r) => r.columns);
        p.catch(() => groupCache.delete(key));
        groupCache.set(key, p);
        while (groupCache.size > 8) groupCache.delete(groupCache.keys().next().value!);
      }
      const table = await p;
      for (const id of w.ids) {
        const i = id - (w.f.id_min ?? 0) - w.rowStart;
        const found = Number(table.id[i]);
        if (found !== id) throw new Error(`${w.f.path}: row ${i + w.rowStart} holds id ${found}, expected ${id}`);
        const row: Record<string, unknown> = {};
        for (const c of cols) row[c] = table[c][i] ?? null;
        out.set(id, row);
      }
    }
  };
  await Promise.all([reader(), reader()]);
  return out;
}

function parser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init({ locateFile: (path: string, prefix = '') => (path.endsWith('.wasm') ? runtimeWasmUrl : prefix + path) });
    const language = await Language.load(pythonWasmUrl);
    const p = new Parser();
    p.setLanguage(language);
    return p;
  })();
  parserPromise.catch(() => (parserPromise = null));
  return parserPromise;
}

/** Feature bags of these functions' bodies (null: did not parse). */
async function featuresOf(ids: readonly number[], onProgress?: (p: RethresholdProgress) => void): Promise<(FeatureBag | null)[]> {
  onProgress?.({ phase: 'reading bodies', done: 0, total: ids.length });
  const rows = await readById(ids, ['body']);
  const p = await parser();
  const out: (FeatureBag | null)[] = [];
  for (let i = 0; i < ids.length; i++) {
    out.push(bodyFeatures(p, String(rows.get(ids[i])?.body ?? '')));
    if (onProgress && (i % 200 === 199 || i === ids.length - 1)) onProgress({ phase: 'parsing', done: i + 1, total: ids.length });
  }
  return out;
}

/**
 * Document frequencies for the weighting: the whole corpus when it has at most BACKGROUND_TARGET
 * functions (then the weights are the prebuild's), else row groups spread evenly over the shards.
 */
function background(): Promise<Background> {
  backgroundPromise ??= (async () => {
    const m = manifest!;
    const idx = ready();
    const shards = m.tables[TABLE.functions] ?? [];
    let ids: number[] = [];
    if (idx.idCount <= BACKGROUND_TARGET) {
      for (let id = 0; id < idx.idCount; id++) if (idx.repo[id] !== NO_REPO) ids.push(id);
    } else {
      // One row group from each of up to `picks` shards, evenly spaced, the middle one of each.
      const picks = Math.max(1, Math.min(shards.length, 2));
      for (let k = 0; k < picks && ids.length < BACKGROUND_TARGET; k++) {
        const f = shards[Math.floor(((k + 0.5) * shards.length) / picks)];
        const { metadata } = await shard(f);
        const rg = metadata.row_groups.length >> 1;
        const g = rowGroupOf(metadata, Number(metadata.row_groups.slice(0, rg).reduce((s, r) => s + Number(r.num_rows), 0)));
        for (let r = g.rowStart; r < g.rowEnd && ids.length < BACKGROUND_TARGET; r++) ids.push((f.id_min ?? 0) + r);
      }
      ids = ids.filter((id) => id < idx.idCount && idx.repo[id] !== NO_REPO);
    }
    const bags = (await featuresOf(ids)).filter((b): b is FeatureBag => b !== null);
    return backgroundOf(bags);
  })();
  backgroundPromise.catch(() => (backgroundPromise = null));
  return backgroundPromise;
}

async function memberInfo(level: DedupLevel | null, ids: readonly number[]): Promise<MemberInfo[]> {
  const idx = ready();
  const rows = await readById(ids, ['qualname', 'path']);
  return ids.map((id) => ({
    id,
    name: idx.name[id] ?? '',
    qualname: String(rows.get(id)?.qualname ?? ''),
    repo: idx.repoNames[idx.repo[id]] ?? '',
    path: String(rows.get(id)?.path ?? ''),
    community: level ? level.community[id] : -1,
  }));
}

/** Runs the core over `ids` at `threshold`; nodes carry `communityOf` (prebuilt) or the rerun's. */
async function rerun(
  ids: number[],
  threshold: number,
  usePrebuilt: DedupLevel | null,
  onProgress?: (p: RethresholdProgress) => void,
): Promise<{ graph: GroupGraph; groups: { members: number[]; communities: number }[] }> {
  const idx = ready();
  const t0 = performance.now();
  const [bg, bags] = await Promise.all([background(), featuresOf(ids, onProgress)]);
  const t1 = performance.now();
  onProgress?.({ phase: 'hashing', done: 0, total: ids.length });
  const keep: number[] = [];
  for (let i = 0; i < ids.length; i++) if (bags[i]) keep.push(i);
  const r = similarityGroups(
    keep.map((i) => bags[i]!),
    threshold,
    SETTINGS,
    bg,
  );
  const nodes: GraphNode[] = keep.map((i, k) => ({
    id: ids[i],
    name: idx.name[ids[i]] ?? '',
    repo: idx.repoNames[idx.repo[ids[i]]] ?? '',
    community: usePrebuilt ? usePrebuilt.community[ids[i]] : r.community[k],
    group: r.group[k],
  }));
  let edges: { a: number; b: number; sim: number }[] = [];
  for (let e = 0; e < r.a.length; e++) edges.push({ a: r.a[e], b: r.b[e], sim: Math.round(r.similarity[e] * 1000) / 1000 });
  const edgesOmitted = Math.max(0, edges.length - MAX_EDGES);
  if (edgesOmitted > 0) edges = edges.sort((x, y) => y.sim - x.sim || x.a - y.a || x.b - y.b).slice(0, MAX_EDGES);
  const byGroup = new Map<number, number[]>();
  for (let k = 0; k < nodes.length; k++) {
    const g = r.group[k];
    if (g < 0) continue;
    let list = byGroup.get(g);
    if (!list) byGroup.set(g, (list = []));
    list.push(k);
  }
  const groups = [...byGroup.values()]
    .map((members) => ({ members, communities: new Set(members.map((k) => r.community[k])).size }))
    .sort((x, y) => y.members.length - x.members.length || x.members[0] - y.members[0]);
  return {
    graph: {
      threshold,
      nodes,
      edges,
      omitted: 0,
      edgesOmitted,
      unparsed: ids.length - keep.length,
      method: r.method,
      ms: { features: Math.round(t1 - t0), ...Object.fromEntries(Object.entries(r.ms).map(([k, v]) => [k, Math.round(v)])) },
    },
    groups,
  };
}

/** An upload's functions matched against the corpus (see matchUpload). */
export interface UploadCorpusMatch {
  threshold: number;
  /** Upload bag index, corpus id, similarity (exact weighted Jaccard of the two weighted sets). */
  index: Uint32Array;
  corpusId: Uint32Array;
  similarity: Float32Array;
  /** Bags looked up (non-empty after weighing with the corpus's document frequencies). */
  compared: number;
  candidates: number;
  method: string;
  ms: number;
}

let bandIndexPromise: Promise<BandIndex | null> | null = null;

/** The corpus's LSH band hashes (the `dedup-bands` table, checked downloads), or null when absent. */
function bandIndex(): Promise<BandIndex | null> {
  bandIndexPromise ??= (async () => {
    const files = manifest!.tables[TABLE.dedupBands] ?? [];
    if (files.length === 0) return null;
    const parts = await Promise.all(
      files.map(async (f) => {
        const b = await fetchChecked(url(f), f, (n) => (bytes += n));
        return (await readParquetColumns(memoryAsyncBuffer(b), f.path, ['id', 'band', 'hash'], { utf8: false })).columns;
      }),
    );
    const n = parts.reduce((s, p) => s + p.id.length, 0);
    const ids = new Uint32Array(n);
    const band = new Int32Array(n);
    const hash = new Uint32Array(n);
    let at = 0;
    for (const p of parts) {
      ids.set(toUint32Array(p.id), at);
      for (let i = 0; i < p.id.length; i++) {
        band[at + i] = Number(p.band[i]);
        hash[at + i] = Number(p.hash[i]) >>> 0;
      }
      at += p.id.length;
    }
    return BandIndex.build(ids, band, hash, PRESET_GEMINI_FUNC.bands);
  })();
  bandIndexPromise.catch(() => (bandIndexPromise = null));
  return bandIndexPromise;
}

/** Candidates verified per upload function at most (a bucket of generated code can be huge). */
const UPLOAD_CANDIDATE_CAP = 64;

/**
 * Near-duplicates of an upload's functions in the corpus: each bag (of the corpus's language) is
 * weighed with the corpus's document frequencies, signed and cut into the gemini preset's bands,
 * looked up in the `dedup-bands` table; every candidate's body is read, parsed and weighed the same
 * way, and pairs whose exact weighted Jaccard reaches `threshold` are kept.
 */
async function matchUpload(bags: FeatureBag[], threshold: number): Promise<UploadCorpusMatch> {
  const t0 = performance.now();
  const idx = await bandIndex();
  if (!idx) {
    return { threshold, index: new Uint32Array(0), corpusId: new Uint32Array(0), similarity: new Float32Array(0), compared: 0, candidates: 0, method: 'the data set has no dedup-bands table', ms: 0 };
  }
  const bg = await background();
  const sets = weighAgainst(bags, PRESET_GEMINI_FUNC, bg.df, bg.docs);
  const { bands, empty } = queryBands(sets, PRESET_GEMINI_FUNC);
  const B = PRESET_GEMINI_FUNC.bands;
  const perBag: number[][] = [];
  const all = new Set<number>();
  let compared = 0;
  for (let i = 0; i < bags.length; i++) {
    if (empty[i]) {
      perBag.push([]);
      continue;
    }
    compared++;
    const c = idx.candidates(bands.subarray(i * B, i * B + B), UPLOAD_CANDIDATE_CAP).ids;
    perBag.push(c);
    for (const id of c) all.add(id);
  }
  const candIds = [...all].sort((a, b) => a - b);
  const candBags = candIds.length ? await featuresOf(candIds) : [];
  // Candidates that parsed, and the (upload bag, candidate) pairs to verify.
  const parsed: FeatureBag[] = [];
  const parsedOf = new Map<number, number>();
  candIds.forEach((id, k) => {
    const b = candBags[k];
    if (b) {
      parsedOf.set(id, parsed.length);
      parsed.push(b);
    }
  });
  const pairs: [number, number][] = [];
  for (let i = 0; i < bags.length; i++) for (const id of perBag[i]!) if (parsedOf.has(id)) pairs.push([i, parsedOf.get(id)!]);
  const parsedIds = [...parsedOf.keys()];
  const found = verifyCandidates(bags, parsed, pairs, PRESET_80, bg, threshold);
  const ia = found.map((f) => f.upload);
  const ic = found.map((f) => parsedIds[f.candidate]!);
  const is = found.map((f) => f.similarity);
  return {
    threshold,
    index: Uint32Array.from(ia),
    corpusId: Uint32Array.from(ic),
    similarity: Float32Array.from(is),
    compared,
    candidates: candIds.length,
    method: `LSH ${B} bands x ${PRESET_GEMINI_FUNC.rows} rows against ${idx.size / B} corpus functions, verified by weighted Jaccard (document frequencies of ${bg.docs} corpus bodies plus the upload's and the candidates')`,
    ms: Math.round(performance.now() - t0),
  };
}

const api = {
  /** Opens the data set the data worker checked; loads the dedup table and the light columns. */
  open(manifestUrl: string, m: Manifest): Promise<DedupInfo> {
    if (!opening) {
      manifest = validateManifest(m);
      base = new URL('.', manifestUrl);
      opening = doOpen();
      opening.catch(() => (opening = null));
    }
    return opening;
  },

  /** Groups at a threshold, largest first: `limit` of them from `offset`. */
  groups(threshold: number, offset = 0, limit = 100): GroupPage {
    const idx = ready();
    const level = levelAt(threshold);
    const total = level.order.length;
    const groups: GroupSummary[] = [];
    for (let k = Math.max(0, offset); k < Math.min(total, offset + limit); k++) groups.push(summarise(level, idx, level.order[k]));
    return { threshold: level.threshold, total, offset, groups };
  },

  /** One group's summary. */
  group(threshold: number, groupId: number): GroupSummary {
    return summarise(levelAt(threshold), ready(), groupId);
  },

  /** A group's members with name, qualname, package and path (the first `limit`, ascending ids). */
  members(threshold: number, groupId: number, limit = 500): Promise<MemberInfo[]> {
    const level = levelAt(threshold);
    return memberInfo(level, Array.from(groupMembers(level, groupId).subarray(0, limit)));
  },

  /** A function's code, read from the one row group that holds it. */
  async code(id: number, threshold = 0.8): Promise<FunctionCode> {
    const level = levels.find((x) => sameThreshold(x.threshold, threshold)) ?? null;
    const [info] = await memberInfo(level, [id]);
    const row = (await readById([id], ['body', 'start_line', 'end_line'])).get(id);
    return { ...info, start_line: Number(row?.start_line ?? 0), end_line: Number(row?.end_line ?? 0), body: String(row?.body ?? '') };
  },

  /** The per-package and per-language unique shares at every threshold. */
  uniqueShares(): ShareTable {
    return uniqueShares(ready(), levels);
  },

  /**
   * A group's members (the first GRAPH_MAX) as a graph: edges between members whose signatures'
   * estimated Jaccard is at or above the threshold, computed here; nodes carry the prebuilt communities.
   */
  async graph(threshold: number, groupId: number, onProgress?: (p: RethresholdProgress) => void): Promise<GroupGraph> {
    const level = levelAt(threshold);
    const all = groupMembers(level, groupId);
    const ids = Array.from(all.subarray(0, GRAPH_MAX));
    const { graph } = await rerun(ids, level.threshold, level, onProgress);
    return { ...graph, omitted: all.length - ids.length };
  },

  /** The dedup core rerun at `threshold` over a group's members or a package's functions. */
  async rethreshold(scope: RethresholdScope, threshold: number, onProgress?: (p: RethresholdProgress) => void): Promise<RethresholdResult> {
    const idx = ready();
    if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`a threshold is in (0, 1], not ${threshold}`);
    let ids: number[];
    let cap: number;
    if (scope.kind === 'group') {
      ids = Array.from(groupMembers(levelAt(scope.threshold), scope.groupId));
      cap = GRAPH_MAX;
    } else {
      const r = idx.repoNames.indexOf(scope.name);
      if (r < 0) throw new Error(`there is no package ${scope.name}`);
      ids = [];
      for (let id = 0; id < idx.idCount; id++) if (idx.repo[id] === r) ids.push(id);
      cap = PACKAGE_MAX;
    }
    const scopeSize = ids.length;
    const { graph, groups } = await rerun(ids.slice(0, cap), threshold, null, onProgress);
    return { ...graph, omitted: scopeSize - Math.min(cap, scopeSize), scope, groups, scopeSize };
  },
  /** An upload's (Python) feature bags against the corpus: near-duplicates at `threshold`. */
  matchUpload(bags: FeatureBag[], threshold = 0.8): Promise<UploadCorpusMatch> {
    ready();
    return matchUpload(bags, threshold);
  },
};

export type DedupApi = typeof api;

Comlink.expose(api);
