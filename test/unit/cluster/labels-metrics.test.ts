import { describe, expect, it } from 'vitest';
import { sqDist } from '../../../src/core/cluster/distance.ts';
import { clusterCards, clusterTopTerms, functionLabelText, nearestToCentroid } from '../../../src/core/cluster/labels.ts';
import { mutualInformation, normalizedMutualInformation } from '../../../src/core/cluster/metrics.ts';
import { gaussianBlobs } from './blobs.ts';
import { runPython, sklearnUnavailable } from './python-peer.ts';

const parseFns = [
  { name: 'parse_json', qualname: 'Reader.parse_json', body: 'def parse_json(self, text):\n    tokens = self.lex(text)\n    return self.parse_value(tokens)' },
  { name: 'parse_header', qualname: 'parse_header', body: 'def parse_header(line):\n    key, _, value = line.partition(":")\n    return key.strip(), value.strip()' },
  { name: 'parse_int', qualname: 'Parser.parse_int', body: 'def parse_int(s):\n    return int(s, 10)' },
  { name: 'parseDate', qualname: 'DateParser.parseDate', body: 'function parseDate(value) { return new Date(value) }' },
];
const renderFns = [
  { name: 'render_template', qualname: 'View.render_template', body: 'def render_template(self, name, context):\n    template = self.env.get_template(name)\n    return template.render(context)' },
  { name: 'render_html', qualname: 'render_html', body: 'def render_html(node):\n    return "<" + node.tag + ">" + node.text' },
  { name: 'draw', qualname: 'Canvas.draw', body: 'def draw(self, value):\n    self.render_template("canvas", value)' },
];
const ioFns = [
  { name: 'read_file', qualname: 'read_file', body: 'def read_file(path):\n    with open(path) as fh:\n        return fh.read()' },
  { name: 'write_file', qualname: 'write_file', body: 'def write_file(path, text):\n    with open(path, "w") as fh:\n        fh.write(text)' },
];

describe('c-TF-IDF cluster labels', () => {
  it("labels a cluster of parse_* functions 'parse'", () => {
    const fns = [...parseFns, ...renderFns, ...ioFns];
    const assignments = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 2, 2]);
    const terms = clusterTopTerms(fns.map(functionLabelText), assignments, 3, { topN: 5 });
    expect(terms[0][0].term).toBe('parse');
    expect(terms[1][0].term).toBe('render');
    expect(['file', 'path', 'fh']).toContain(terms[2][0].term);
    // Stop words (`self`, `return`, `def`) never appear.
    for (const list of terms) for (const t of list) expect(['self', 'return', 'def', 'with']).not.toContain(t.term);
  });

  it('computes tf / words-in-cluster * log(1 + A / f_t) on token lists', () => {
    // Cluster 0: a a b (3 words); cluster 1: b c c c d (5 words). A = 4.
    const docs = [['a', 'a'], ['b'], ['b', 'c'], ['c', 'c', 'd']];
    const t = clusterTopTerms(docs, Int32Array.from([0, 0, 1, 1]), 2, { topN: 10 });
    const score = (tf: number, w: number, f: number): number => (tf / w) * Math.log(1 + 4 / f);
    const c0 = Object.fromEntries(t[0].map((x) => [x.term, x.score]));
    const c1 = Object.fromEntries(t[1].map((x) => [x.term, x.score]));
    expect(c0.a).toBeCloseTo(score(2, 3, 2), 12);
    expect(c0.b).toBeCloseTo(score(1, 3, 2), 12);
    expect(c1.c).toBeCloseTo(score(3, 5, 3), 12);
    expect(c1.b).toBeCloseTo(score(1, 5, 2), 12);
    expect(c1.d).toBeCloseTo(score(1, 5, 1), 12);
    expect(t[0].map((x) => x.term)).toEqual(['a', 'b']);
    expect(t[1][0].term).toBe('c');
    // Unclustered rows (-1) are ignored.
    const t2 = clusterTopTerms([...docs, ['zzz']], Int32Array.from([0, 0, 1, 1, -1]), 2);
    expect(t2[0][0].score).toBeCloseTo(t[0][0].score, 12);
  });

  it('nearest-to-centroid lists match a full sort, and cards carry sizes and labels', () => {
    const b = gaussianBlobs(900, 3, 3, { seed: 5, std: 1, spread: 10, minSeparation: 8 });
    const cents = new Float32Array(9);
    const cnt = [0, 0, 0];
    for (let i = 0; i < b.n; i++) {
      cnt[b.truth[i]]++;
      for (let t = 0; t < 3; t++) cents[b.truth[i] * 3 + t] += b.data[i * 3 + t];
    }
    for (let j = 0; j < 9; j++) cents[j] /= cnt[Math.floor(j / 3)];
    const ids = Uint32Array.from({ length: b.n }, (_, i) => 1000 + i);
    const near = nearestToCentroid(b.data, b.n, 3, b.truth, cents, 3, 7, ids);
    for (let c = 0; c < 3; c++) {
      const members = [...Array(b.n).keys()].filter((i) => b.truth[i] === c);
      members.sort((x, y) => sqDist(b.data, x, cents, c, 3) - sqDist(b.data, y, cents, c, 3));
      expect(Array.from(near.ids[c])).toEqual(members.slice(0, 7).map((i) => 1000 + i));
    }
    const docs = Array.from({ length: b.n }, (_, i) => `f_${['alpha', 'beta', 'gamma'][b.truth[i]]}_${i % 5}`);
    const cards = clusterCards(b.data, b.n, 3, b.truth, cents, 3, docs, { nearest: 3, labelTerms: 1 });
    for (let c = 0; c < 3; c++) {
      expect(cards[c].size).toBe(cnt[c]);
      expect(cards[c].nearest.length).toBe(3);
      expect(cards[c].label).toBe(['alpha', 'beta', 'gamma'][c]);
    }
  });
});

describe('NMI', () => {
  it('matches hand-computed values', () => {
    // Identical partitions under renamed labels.
    expect(normalizedMutualInformation([0, 0, 1, 1, 2], [7, 7, 3, 3, 9])).toBeCloseTo(1, 12);
    // Independent: MI = 0.
    expect(normalizedMutualInformation([0, 0, 1, 1], [0, 1, 0, 1])).toBe(0);
    // a = [0,0,1,1], b = [0,0,0,1]: joint counts (0,0)=2, (1,0)=1, (1,1)=1 of 4.
    const mi = 0.5 * Math.log(4 / 3) + 0.25 * Math.log(2 / 3) + 0.25 * Math.log(2);
    const ha = Math.log(2);
    const hb = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
    expect(mutualInformation([0, 0, 1, 1], [0, 0, 0, 1])).toBeCloseTo(mi, 12);
    expect(normalizedMutualInformation([0, 0, 1, 1], [0, 0, 0, 1])).toBeCloseTo(mi / ((ha + hb) / 2), 12);
    // One cluster on both sides: a perfect (trivial) match.
    expect(normalizedMutualInformation([1, 1, 1], [4, 4, 4])).toBe(1);
    expect(() => normalizedMutualInformation([1], [1, 2])).toThrow(RangeError);
  });

  const noPy = sklearnUnavailable();
  it.skipIf(noPy !== null)(`agrees with scikit-learn normalized_mutual_info_score${noPy ? ` (skipped: ${noPy})` : ''}`, () => {
    const b = gaussianBlobs(5000, 2, 10, { seed: 3, std: 2, spread: 5 });
    const pred = Int32Array.from(b.data.filter((_, i) => i % 2 === 0), (v) => Math.floor(v));
    const py = runPython<{ nmi: number }>(
      String.raw`
import sys, json, numpy as np
from sklearn.metrics import normalized_mutual_info_score
p = sys.argv[1]
a = np.fromfile(p + '/a.i32', dtype=np.int32); b = np.fromfile(p + '/b.i32', dtype=np.int32)
print(json.dumps({'nmi': float(normalized_mutual_info_score(a, b))}))
`,
      { 'a.i32': b.truth, 'b.i32': pred },
    );
    expect(normalizedMutualInformation(b.truth, pred)).toBeCloseTo(py.nmi, 10);
  });
});
