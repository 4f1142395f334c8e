import { describe, expect, it } from 'vitest';
import { decodeViewState, defaultViewState, encodeViewState, type ViewState } from '../../../src/ui/url-state.ts';

function full(): ViewState {
  const s = defaultViewState();
  s.route = 'map';
  s.search = { query: 'parse a date & time #1 ?x=y', embedder: 'jina', metric: 'minkowski', p: 3, k: 250, nprobe: 16 };
  s.filters = { repos: ['numpy', 'python3-azure'], clusters: [3, 17], kinds: ['method'], hasDocstring: false, minLines: 5, maxLines: 80 };
  s.camera = { x: -12.5, y: 3.25, z: 0.5, zoom: 2.75, rotationX: 30, rotationOrbit: -45 };
  s.selected = 4242;
  s.layout = 'vae-3';
  s.colorBy = 'docstyle';
  s.dims = 3;
  s.selection = [[0.5, -1.25], [3, 4], [-2, 2.5]];
  s.dedupThreshold = 0.95;
  s.dedupGroup = 812;
  s.upload = 'u-1a2b3c';
  return s;
}

describe('permalinks', () => {
  it('round-trips every field of a view', () => {
    const s = full();
    const hash = encodeViewState(s);
    const back = decodeViewState(hash);
    expect(back.warnings).toEqual([]);
    expect(back.state).toEqual(s);
  });

  it('round-trips Chebyshev (p = inf) and cosine', () => {
    const s = defaultViewState();
    s.search.p = Infinity;
    s.search.query = 'x';
    expect(decodeViewState(encodeViewState(s)).state.search.p).toBe(Infinity);
    s.search.metric = 'cosine';
    expect(decodeViewState(encodeViewState(s)).state.search.metric).toBe('cosine');
  });

  it('keeps the default view short and decodes an empty hash to defaults', () => {
    expect(encodeViewState(defaultViewState())).toBe('#/map');
    expect(decodeViewState('').state).toEqual(defaultViewState());
    expect(decodeViewState('#/stats').state.route).toBe('stats');
  });

  it('refuses out-of-range dedup thresholds and malformed upload ids', () => {
    const r = decodeViewState('#/dedup?th=1.5&group=-3&upload=../x');
    expect(r.state.dedupThreshold).toBeNull();
    expect(r.state.dedupGroup).toBeNull();
    expect(r.state.upload).toBeNull();
    expect(r.warnings).toHaveLength(3);
    expect(decodeViewState('#/upload?upload=abc-123').state).toMatchObject({ route: 'upload', upload: 'abc-123' });
    expect(decodeViewState('#/summaries').state.route).toBe('summaries');
  });

  it('2-D cameras carry only x, y and zoom', () => {
    const s = defaultViewState();
    s.camera = { x: 1, y: 2, z: 0, zoom: 3, rotationX: 0, rotationOrbit: 0 };
    const hash = encodeViewState(s);
    expect(hash).toContain('cam=1%2C2%2C3');
    expect(decodeViewState(hash).state.camera).toEqual(s.camera);
  });

  it('accepts p below 1 (not a metric) but refuses p outside the slider', () => {
    expect(decodeViewState('#/map?p=0.5').state.search.p).toBe(0.5);
    const r = decodeViewState('#/map?p=0.01');
    expect(r.state.search.p).toBe(2);
    expect(r.warnings.join()).toMatch(/p is between/);
  });

  it.each([
    ['#/map?k=0', /k is a whole number/],
    ['#/map?k=1e9', /k is a whole number/],
    ['#/map?k=-5', /k is a whole number/],
    ['#/map?p=NaN', /p is a number/],
    ['#/map?p=Infinity', /p is a number/],
    ['#/map?metric=%3Cscript%3E', /metric is minkowski or cosine/],
    ['#/map?emb=openai', /embedder is tfidf or jina/],
    ['#/map?fn=abc', /not a function id/],
    ['#/map?fn=99999999999', /not a function id/],
    ['#/map?cam=1,2', /camera is/],
    ['#/map?cam=1,2,1e300', /camera is|out of range/],
    ['#/map?lines=9-3', /minimum is above/],
    ['#/map?layout=..%2F..%2Fetc', /layout names/],
    ['#/map?color=javascript:alert(1)', /colour is one of/],
    ['#/map?dims=4', /dims is 2 or 3/],
    ['#/map?ivf=0', /ivf is the number of partitions/],
    ['#/map?sel=1,2;3,4', /the selection is 3 to 200 points/],
    ['#/map?sel=1,2;3,x;5,6', /the selection is 3 to 200 points/],
    ['#/map?ivf=all', /ivf is the number of partitions/],
    ['#/map?cluster=1,x', /cluster ids/],
    ['#/map?repo=a%00b', /control characters/],
    ['#/nowhere', /unknown view/],
    ['#/map?evil=1', /unknown parameter/],
  ])('refuses %s with a clear warning and keeps a usable view', (hash, why) => {
    const r = decodeViewState(hash);
    expect(r.warnings.join('\n')).toMatch(why);
    // Whatever was refused, the rest of the state is the default, and re-encoding is stable.
    const again = decodeViewState(encodeViewState(r.state));
    expect(again.warnings).toEqual([]);
    expect(again.state).toEqual(r.state);
  });

  it('keeps hostile query text as plain data, bounded in length', () => {
    const payload = '<img src=x onerror="window.__pwned=1"><script>alert(1)</script>';
    const r = decodeViewState(encodeViewState({ ...defaultViewState(), search: { ...defaultViewState().search, query: payload } }));
    expect(r.state.search.query).toBe(payload);
    const long = decodeViewState(`#/map?q=${'a'.repeat(5000)}`);
    expect(long.state.search.query.length).toBe(2000);
    expect(long.warnings.join()).toMatch(/cut to 2000/);
  });

  it('uses the first of repeated parameters and says so', () => {
    const r = decodeViewState('#/map?k=5&k=7');
    expect(r.state.search.k).toBe(5);
    expect(r.warnings.join()).toMatch(/given twice/);
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rnd() * 80);
      let s = '#/map?';
      for (let j = 0; j < len; j++) s += String.fromCharCode(Math.floor(rnd() * 0x3000));
      const r = decodeViewState(s);
      expect(r.state.route).toBeTypeOf('string');
    }
  });
});
