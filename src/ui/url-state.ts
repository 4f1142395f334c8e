// Permalinks: everything a person would want to share about a view lives in the URL's hash, as
// `#/<route>?key=value&…`. Decoding treats the hash as hostile input (anyone can craft a link):
// every value is parsed into a typed field with bounds, anything unknown or malformed is dropped
// with a warning the UI shows, and nothing from the URL is ever used as markup or code.

export type Route = 'map' | 'stats' | 'dedup' | 'clusters' | 'train' | 'summaries' | 'upload';
export const ROUTES: readonly Route[] = ['map', 'stats', 'dedup', 'clusters', 'train', 'summaries', 'upload'];

export type Metric = 'minkowski' | 'cosine';
export type EmbedderName = 'tfidf' | 'jina';
export type ColorBy = 'cluster' | 'package' | 'docstyle' | 'dedup' | 'rank';
export const COLOR_BYS: readonly ColorBy[] = ['cluster', 'package', 'docstyle', 'dedup', 'rank'];

export interface Camera {
  /** Target point in layout coordinates. */
  x: number;
  y: number;
  z: number;
  zoom: number;
  /** 3-D only: orbit angles in degrees. */
  rotationX: number;
  rotationOrbit: number;
}

export interface Filters {
  /** Repository (package) names; empty = all. */
  repos: string[];
  clusters: number[];
  kinds: string[];
  /** null = either. */
  hasDocstring: boolean | null;
  /** Line-count range; null = unbounded. */
  minLines: number | null;
  maxLines: number | null;
}

export interface SearchState {
  query: string;
  embedder: EmbedderName;
  metric: Metric;
  /** Minkowski exponent; Infinity for Chebyshev. */
  p: number;
  k: number;
  /** IVF: partitions to visit; null = exact search over every vector. */
  nprobe: number | null;
}

export interface ViewState {
  route: Route;
  search: SearchState;
  filters: Filters;
  camera: Camera | null;
  /** The function whose detail panel is open. */
  selected: number | null;
  /** "Neighbours of this function": the search is by this function's vector, not by text. */
  neighboursOf: number | null;
  layout: string | null;
  colorBy: ColorBy;
  dims: 2 | 3;
  /** Lasso polygon in the layout's x, y (2-D), or null: the selection is what lies inside. */
  selection: [number, number][] | null;
  /** Duplicates view: the similarity threshold shown and the group open (null: defaults / none). */
  dedupThreshold: number | null;
  dedupGroup: number | null;
  /**
   * An upload kept in this browser (its local id). Uploads never leave the machine, so a link
   * holding one works only where the upload is stored; elsewhere the view says so.
   */
  upload: string | null;
}

export const LIMITS = {
  queryChars: 2000,
  kMax: 1000,
  pMin: 0.1,
  pMax: 64,
  listItems: 200,
  nameChars: 200,
  coordAbs: 1e9,
  zoomAbs: 64,
  selectionVertices: 200,
} as const;

export function defaultViewState(): ViewState {
  return {
    route: 'map',
    search: { query: '', embedder: 'tfidf', metric: 'minkowski', p: 2, k: 100, nprobe: null },
    filters: { repos: [], clusters: [], kinds: [], hasDocstring: null, minLines: null, maxLines: null },
    camera: null,
    selected: null,
    neighboursOf: null,
    layout: null,
    colorBy: 'cluster',
    dims: 2,
    selection: null,
    dedupThreshold: null,
    dedupGroup: null,
    upload: null,
  };
}

/** Whether Minkowski with this p is a metric (the triangle inequality fails below 1). */
export function isMetricP(p: number): boolean {
  return p >= 1;
}

function fmtNumber(n: number): string {
  if (n === Infinity) return 'inf';
  // Enough digits to round-trip a float32 camera coordinate without noise.
  return String(Number(n.toPrecision(7)));
}

/** Encodes a view into a hash string (`#/map?…`); default values are left out to keep links short. */
export function encodeViewState(s: ViewState): string {
  const d = defaultViewState();
  const q = new URLSearchParams();
  if (s.search.query) q.set('q', s.search.query);
  if (s.neighboursOf !== null) q.set('nn', String(s.neighboursOf));
  if (s.search.embedder !== d.search.embedder) q.set('emb', s.search.embedder);
  if (s.search.metric !== d.search.metric) q.set('metric', s.search.metric);
  if (s.search.p !== d.search.p) q.set('p', fmtNumber(s.search.p));
  if (s.search.k !== d.search.k) q.set('k', String(s.search.k));
  if (s.search.nprobe !== null) q.set('ivf', String(s.search.nprobe));
  const f = s.filters;
  if (f.repos.length) q.set('repo', f.repos.join(','));
  if (f.clusters.length) q.set('cluster', f.clusters.join(','));
  if (f.kinds.length) q.set('kind', f.kinds.join(','));
  if (f.hasDocstring !== null) q.set('doc', f.hasDocstring ? '1' : '0');
  if (f.minLines !== null || f.maxLines !== null) q.set('lines', `${f.minLines ?? ''}-${f.maxLines ?? ''}`);
  if (s.selected !== null) q.set('fn', String(s.selected));
  if (s.layout !== null) q.set('layout', s.layout);
  if (s.colorBy !== d.colorBy) q.set('color', s.colorBy);
  if (s.dims !== d.dims) q.set('dims', String(s.dims));
  if (s.selection && s.selection.length >= 3) q.set('sel', s.selection.map(([x, y]) => `${fmtNumber(x)},${fmtNumber(y)}`).join(';'));
  if (s.dedupThreshold !== null) q.set('th', fmtNumber(s.dedupThreshold));
  if (s.dedupGroup !== null) q.set('group', String(s.dedupGroup));
  if (s.upload !== null) q.set('upload', s.upload);
  if (s.camera) {
    const c = s.camera;
    const parts = [c.x, c.y, c.zoom].map(fmtNumber);
    if (s.dims === 3) parts.push(...[c.z, c.rotationX, c.rotationOrbit].map(fmtNumber));
    q.set('cam', parts.join(','));
  }
  const query = q.toString();
  return `#/${s.route}${query ? `?${query}` : ''}`;
}

export interface DecodeResult {
  state: ViewState;
  /** One line per value that was refused, for the UI to show; the view uses the default instead. */
  warnings: string[];
}

/** Shows a refused value in a warning: shortened, and only ever rendered as text. */
function quote(v: string): string {
  const s = v.length > 40 ? `${v.slice(0, 40)}…` : v;
  return JSON.stringify(s);
}

function parseNumber(v: string): number | null {
  if (!/^-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(v)) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function parseIntStrict(v: string, min: number, max: number): number | null {
  if (!/^\d{1,10}$/.test(v)) return null;
  const n = Number(v);
  return n >= min && n <= max ? n : null;
}

/** A name from a list parameter: printable, bounded, no markup-significant characters needed. */
function cleanName(v: string): string | null {
  const t = v.trim();
  if (!t || t.length > LIMITS.nameChars) return null;
  // Control characters never occur in package names, cluster ids or kinds.
  if (/[\u0000-\u001f\u007f]/.test(t)) return null;
  return t;
}

/** Decodes a location hash; never throws. */
export function decodeViewState(hash: string): DecodeResult {
  const state = defaultViewState();
  const warnings: string[] = [];
  let raw = hash.startsWith('#') ? hash.slice(1) : hash;
  raw = raw.replace(/^\/?/, '');
  const qAt = raw.indexOf('?');
  const path = qAt >= 0 ? raw.slice(0, qAt) : raw;
  const query = qAt >= 0 ? raw.slice(qAt + 1) : '';
  const routeName = path.split('/')[0] ?? '';
  if (routeName === '') state.route = 'map';
  else if ((ROUTES as readonly string[]).includes(routeName)) state.route = routeName as Route;
  else warnings.push(`unknown view ${quote(routeName)}: showing the map`);

  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    warnings.push('the link parameters could not be read: using defaults');
    return { state, warnings };
  }
  const seen = new Set<string>();
  for (const [key, value] of params) {
    if (seen.has(key)) {
      warnings.push(`parameter ${quote(key)} given twice: the first one is used`);
      continue;
    }
    seen.add(key);
    const refuse = (why: string) => warnings.push(`${key}=${quote(value)} ignored: ${why}`);
    switch (key) {
      case 'q':
        if (value.length > LIMITS.queryChars) {
          state.search.query = value.slice(0, LIMITS.queryChars);
          warnings.push(`the query was cut to ${LIMITS.queryChars} characters`);
        } else state.search.query = value;
        break;
      case 'nn': {
        const id = parseIntStrict(value, 0, 0xffffffff);
        if (id === null) refuse('not a function id');
        else state.neighboursOf = id;
        break;
      }
      case 'emb':
        if (value === 'tfidf' || value === 'jina') state.search.embedder = value;
        else refuse('the embedder is tfidf or jina');
        break;
      case 'metric':
        if (value === 'minkowski' || value === 'cosine') state.search.metric = value;
        else refuse('the metric is minkowski or cosine');
        break;
      case 'p': {
        const p = value === 'inf' ? Infinity : parseNumber(value);
        if (p === null || Number.isNaN(p)) refuse('p is a number or inf');
        else if (p !== Infinity && (p < LIMITS.pMin || p > LIMITS.pMax)) refuse(`p is between ${LIMITS.pMin} and ${LIMITS.pMax}, or inf`);
        else state.search.p = p;
        break;
      }
      case 'k': {
        const k = parseIntStrict(value, 1, LIMITS.kMax);
        if (k === null) refuse(`k is a whole number from 1 to ${LIMITS.kMax}`);
        else state.search.k = k;
        break;
      }
      case 'ivf': {
        const v = parseIntStrict(value, 1, 4096);
        if (v === null) refuse('ivf is the number of partitions to visit, 1 to 4096');
        else state.search.nprobe = v;
        break;
      }
      case 'repo':
      case 'kind': {
        const items = value.split(',').map(cleanName);
        const good = items.filter((x): x is string => x !== null).slice(0, LIMITS.listItems);
        if (good.length < items.length) refuse('some names were empty, too long or held control characters');
        if (key === 'repo') state.filters.repos = good;
        else state.filters.kinds = good;
        break;
      }
      case 'cluster': {
        const items = value.split(',').map((v) => parseIntStrict(v, 0, 1_000_000));
        const good = items.filter((x): x is number => x !== null).slice(0, LIMITS.listItems);
        if (good.length < items.length) refuse('cluster ids are whole numbers');
        state.filters.clusters = good;
        break;
      }
      case 'doc':
        if (value === '1' || value === '0') state.filters.hasDocstring = value === '1';
        else refuse('doc is 1 or 0');
        break;
      case 'lines': {
        const m = /^(\d{0,9})-(\d{0,9})$/.exec(value);
        if (!m) {
          refuse('lines is MIN-MAX');
          break;
        }
        const lo = m[1] ? Number(m[1]) : null;
        const hi = m[2] ? Number(m[2]) : null;
        if (lo !== null && hi !== null && lo > hi) refuse('the minimum is above the maximum');
        else {
          state.filters.minLines = lo;
          state.filters.maxLines = hi;
        }
        break;
      }
      case 'fn': {
        const id = parseIntStrict(value, 0, 0xffffffff);
        if (id === null) refuse('not a function id');
        else state.selected = id;
        break;
      }
      case 'layout': {
        if (/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(value)) state.layout = value;
        else refuse('layout names are letters, digits, - and _');
        break;
      }
      case 'color':
        if ((COLOR_BYS as readonly string[]).includes(value)) state.colorBy = value as ColorBy;
        else refuse(`colour is one of ${COLOR_BYS.join(', ')}`);
        break;
      case 'dims':
        if (value === '2' || value === '3') state.dims = value === '3' ? 3 : 2;
        else refuse('dims is 2 or 3');
        break;
      case 'sel': {
        const pts = value.split(';').map((pair) => pair.split(',').map(parseNumber));
        if (pts.length < 3 || pts.length > LIMITS.selectionVertices || pts.some((p) => p.length !== 2 || p.some((v) => v === null || Math.abs(v) > LIMITS.coordAbs))) {
          refuse(`the selection is 3 to ${LIMITS.selectionVertices} points x,y separated by ;`);
          break;
        }
        state.selection = pts.map((p) => [p[0]!, p[1]!] as [number, number]);
        break;
      }
      case 'cam': {
        const nums = value.split(',').map(parseNumber);
        if ((nums.length !== 3 && nums.length !== 6) || nums.some((n) => n === null)) {
          refuse('the camera is x,y,zoom (or x,y,zoom,z,rotationX,rotationOrbit)');
          break;
        }
        const [x, y, zoom, z = 0, rx = 0, ro = 0] = nums as number[];
        if ([x, y, z].some((v) => Math.abs(v) > LIMITS.coordAbs) || Math.abs(zoom) > LIMITS.zoomAbs || Math.abs(rx) > 90 || Math.abs(ro) > 360) {
          refuse('the camera values are out of range');
          break;
        }
        state.camera = { x, y, z, zoom, rotationX: rx, rotationOrbit: ro };
        break;
      }
      case 'th': {
        const t = parseNumber(value);
        if (t === null || t <= 0 || t > 1) refuse('the threshold is a similarity above 0 and at most 1');
        else state.dedupThreshold = t;
        break;
      }
      case 'group': {
        const g = parseIntStrict(value, 0, 0xffffffff);
        if (g === null) refuse('not a group id');
        else state.dedupGroup = g;
        break;
      }
      case 'upload':
        if (/^[a-z0-9][a-z0-9-]{0,63}$/i.test(value)) state.upload = value;
        else refuse('upload ids are letters, digits and -');
        break;
      default:
        warnings.push(`unknown parameter ${quote(key)} ignored`);
    }
  }
  if (state.neighboursOf !== null && state.search.query) {
    warnings.push('a link holds either a query or a function to find neighbours of: the query is used');
    state.neighboursOf = null;
  }
  return { state, warnings };
}
