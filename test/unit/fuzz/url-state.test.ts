// Fuzz: the permalink parser (src/ui/url-state.ts) on 6,000 seeded mutations of valid links — random
// view states encoded by encodeViewState, then characters, parameters and URL syntax (&, =, %, %zz,
// ;, huge and odd numbers, hostile text) inserted, removed and swapped. (test/unit/ui/url-state.test.ts
// already feeds it 3,000 random strings.) Properties: decoding never throws and stays fast; every
// decoded field lies inside the documented domain and LIMITS; every warning is a bounded line of
// text; and the decoded state is a permalink fixed point: encoding it and decoding again gives no
// warnings, and a second round trip changes nothing.
import { describe, expect, it } from 'vitest';
import { COLOR_BYS, LIMITS, ROUTES, decodeViewState, defaultViewState, encodeViewState, type ViewState } from '../../../src/ui/url-state.ts';
import { createRng, mutateText, type Rng } from './mutate.ts';

const CASES = 6000;

const HOSTILE = ['<img src=x onerror=alert(1)>', '"><svg onload=alert(1)>', 'javascript:alert(1)', '</script><script>alert(1)</script>', '${1+1}', '{{7*7}}', '\u202e', '\u0000', '%00'];
const URL_TOKENS = [
  '&', '=', '?', '#', '#/', '/', '%', '%zz', '%00', '%E2%80', '%F0%9F%98', '%2C', '%26', '%3D', '+', ',', ';', '-', '.', ' ', '\t', '\n',
  'inf', '-inf', 'NaN', 'Infinity', '1e309', '-1e309', '1e-400', '-0', '0x10', '1_000', '١٢', '00000000001', '4294967296', '99999999999',
  '__proto__', 'constructor', 'toString', 'q=', 'k=', 'p=', 'nn=', 'sel=', 'cam=', 'th=', 'group=', 'fn=', 'repo=', 'lines=', 'ivf=', 'upload=', 'layout=',
  ...HOSTILE, 'x'.repeat(3000), ',,,,', ';;;;', '1,2;3,4;5,6', '0,0,0,0,0,0',
];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)]!;
}

function randomText(rng: Rng, max: number): string {
  let s = '';
  const n = rng.int(max);
  for (let i = 0; i < n; i++) s += rng.int(8) === 0 ? pick(rng, HOSTILE) : String.fromCodePoint(rng.int(3) === 0 ? 0x20 + rng.int(0x2fff) : 0x20 + rng.int(0x5f));
  return s;
}

const num = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.next();

/** A random view state inside the documented domain (what a real page could write). */
function randomState(rng: Rng): ViewState {
  const s = defaultViewState();
  s.route = pick(rng, ROUTES);
  if (rng.int(2)) s.search.query = randomText(rng, 60);
  else if (rng.int(3) === 0) s.neighboursOf = rng.int(2 ** 32);
  s.search.embedder = rng.int(2) ? 'tfidf' : 'jina';
  s.search.metric = rng.int(4) ? 'minkowski' : 'cosine';
  s.search.p = rng.int(6) === 0 ? Infinity : num(rng, LIMITS.pMin, LIMITS.pMax);
  s.search.k = 1 + rng.int(LIMITS.kMax);
  if (rng.int(3) === 0) s.search.nprobe = 1 + rng.int(4096);
  if (rng.int(3) === 0) s.filters.repos = Array.from({ length: 1 + rng.int(4) }, () => randomText(rng, 20).replace(/[,\s\u0000-\u001f\u007f]/g, '') || 'numpy');
  if (rng.int(3) === 0) s.filters.clusters = Array.from({ length: 1 + rng.int(5) }, () => rng.int(1_000_000));
  if (rng.int(3) === 0) s.filters.kinds = [pick(rng, ['function', 'method', 'nested'])];
  if (rng.int(3) === 0) s.filters.hasDocstring = rng.int(2) === 0;
  if (rng.int(3) === 0) {
    s.filters.minLines = rng.int(100);
    s.filters.maxLines = s.filters.minLines + rng.int(1000);
  }
  if (rng.int(2)) s.selected = rng.int(2 ** 32);
  if (rng.int(3) === 0) s.layout = pick(rng, ['default', 'pca-2', 'umap-2', 'trained', 'vae_3']);
  s.colorBy = pick(rng, COLOR_BYS);
  s.dims = rng.int(2) ? 2 : 3;
  if (rng.int(3) === 0) s.selection = Array.from({ length: 3 + rng.int(10) }, () => [num(rng, -1e6, 1e6), num(rng, -1e6, 1e6)] as [number, number]);
  if (rng.int(3) === 0) s.dedupThreshold = pick(rng, [0.8, 0.95, 0.9, num(rng, 0.01, 1)]);
  if (rng.int(3) === 0) s.dedupGroup = rng.int(2 ** 32);
  if (rng.int(4) === 0) s.upload = `u-${rng.nextU32().toString(36)}`;
  if (rng.int(2)) s.camera = { x: num(rng, -1e3, 1e3), y: num(rng, -1e3, 1e3), z: s.dims === 3 ? num(rng, -10, 10) : 0, zoom: num(rng, -20, 20), rotationX: s.dims === 3 ? num(rng, -90, 90) : 0, rotationOrbit: s.dims === 3 ? num(rng, -360, 360) : 0 };
  return s;
}

const uint32 = (v: number | null) => v === null || (Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
const finite = (v: number, abs: number) => Number.isFinite(v) && Math.abs(v) <= abs;

/** Every field inside its domain; returns what is not. */
function domainProblems(s: ViewState): string[] {
  const bad: string[] = [];
  const check = (ok: boolean, what: string) => ok || bad.push(what);
  check(ROUTES.includes(s.route), 'route');
  check(typeof s.search.query === 'string' && s.search.query.length <= LIMITS.queryChars, 'query');
  check(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s.search.query), 'query holds a lone surrogate');
  check(s.search.embedder === 'tfidf' || s.search.embedder === 'jina', 'embedder');
  check(s.search.metric === 'minkowski' || s.search.metric === 'cosine', 'metric');
  check(s.search.p === Infinity || (s.search.p >= LIMITS.pMin && s.search.p <= LIMITS.pMax), 'p');
  check(Number.isInteger(s.search.k) && s.search.k >= 1 && s.search.k <= LIMITS.kMax, 'k');
  check(s.search.nprobe === null || (Number.isInteger(s.search.nprobe) && s.search.nprobe >= 1 && s.search.nprobe <= 4096), 'nprobe');
  for (const list of [s.filters.repos, s.filters.kinds]) {
    check(list.length <= LIMITS.listItems && list.every((n) => n.length > 0 && n.length <= LIMITS.nameChars && n === n.trim() && !/[\u0000-\u001f\u007f,]/.test(n)), 'names');
  }
  check(s.filters.clusters.length <= LIMITS.listItems && s.filters.clusters.every((c) => Number.isInteger(c) && c >= 0 && c <= 1_000_000), 'clusters');
  check(s.filters.minLines === null || s.filters.maxLines === null || s.filters.minLines <= s.filters.maxLines, 'lines');
  check(uint32(s.selected) && uint32(s.neighboursOf) && uint32(s.dedupGroup), 'ids');
  check(!(s.neighboursOf !== null && s.search.query), 'query and neighbours together');
  check(s.layout === null || /^[a-z0-9][a-z0-9_-]{0,63}$/i.test(s.layout), 'layout');
  check(COLOR_BYS.includes(s.colorBy), 'colorBy');
  check(s.dims === 2 || s.dims === 3, 'dims');
  check(s.selection === null || (s.selection.length >= 3 && s.selection.length <= LIMITS.selectionVertices && s.selection.every(([x, y]) => finite(x, LIMITS.coordAbs) && finite(y, LIMITS.coordAbs))), 'selection');
  check(s.dedupThreshold === null || (s.dedupThreshold > 0 && s.dedupThreshold <= 1), 'threshold');
  check(s.upload === null || /^[a-z0-9][a-z0-9-]{0,63}$/i.test(s.upload), 'upload');
  const c = s.camera;
  check(c === null || (finite(c.x, LIMITS.coordAbs) && finite(c.y, LIMITS.coordAbs) && finite(c.z, LIMITS.coordAbs) && finite(c.zoom, LIMITS.zoomAbs) && finite(c.rotationX, 90) && finite(c.rotationOrbit, 360)), 'camera');
  return bad;
}

describe('fuzz: permalink parser', () => {
  it(`${CASES} mutated valid links: no throw, fields in range, bounded warnings, a fixed point after one round trip`, () => {
    const rng = createRng(31337);
    let warned = 0;
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      const valid = encodeViewState(randomState(rng));
      // A valid link decodes to itself without warnings...
      if (i % 10 === 0) expect(decodeViewState(valid).warnings, valid).toEqual([]);
      // ...and a mutated one is refused piece by piece.
      const { text: hash, steps } = mutateText(rng, valid, URL_TOKENS, 5);
      const where = `case ${i}: ${JSON.stringify(hash.slice(0, 300))} (${steps.join(', ')})`;
      const t0 = performance.now();
      const r = decodeViewState(hash);
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      expect(ms, where).toBeLessThan(1000);
      expect(domainProblems(r.state), where).toEqual([]);
      expect(r.warnings.every((w) => typeof w === 'string' && w.length > 0 && w.length <= 300 && !w.includes('\n')), `${where}: ${JSON.stringify(r.warnings)}`).toBe(true);
      if (r.warnings.length) warned++;
      const again = decodeViewState(encodeViewState(r.state));
      expect(again.warnings, where).toEqual([]);
      const third = decodeViewState(encodeViewState(again.state));
      expect(third.state, where).toEqual(again.state);
      expect(encodeViewState(third.state), where).toBe(encodeViewState(again.state));
    }
    // The mutations really broke links: most cases were refused in part, with warnings.
    expect(warned).toBeGreaterThan(CASES / 3);
    console.log(`permalink fuzz: ${warned} of ${CASES} mutated links gave warnings; slowest ${slowest.toFixed(1)} ms`);
  }, 60_000);
});
