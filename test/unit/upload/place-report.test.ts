// The upload report on real extracted functions (stdlib modules through the Python extractor):
// counts, coverage and conventions agree with a direct count, the outliers are exactly the functions
// above Tukey's fence, clusters and clone groups are summarised from the placement and the pairs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPythonExtractor } from '../../../prebuild/grammars.ts';
import { buildReport, MAX_OUTLIERS, type UploadFunction } from '../../../src/core/upload/report.ts';
import { findStdlib } from '../embed/stdlib-corpus.ts';

const FILES = ['textwrap.py', 'shlex.py', 'fnmatch.py', 'glob.py', 'bisect.py', 'colorsys.py', 'argparse.py', 'difflib.py'];

describe('upload report', async () => {
  const root = findStdlib();
  const ex = await loadPythonExtractor();
  const fns: UploadFunction[] = [];
  for (const f of FILES) {
    const r = ex.extract(readFileSync(join(root!, f), 'utf8'));
    for (const fn of r.functions) fns.push({ ...fn, path: `lib/${f}` });
  }
  ex.delete();

  it('extracted real functions', () => expect(fns.length).toBeGreaterThan(200));

  it('counts languages, kinds, documentation and conventions as a direct count does', () => {
    const clusters = Int32Array.from(fns, (_, i) => (i % 5 === 4 ? -1 : i % 3));
    const r = buildReport({ functions: fns, filesByLanguage: { python: FILES.length, go: 1 }, clusters, inside: null, corpus: null, skippedReasons: ['not-source', 'ratio', 'not-source'] });
    const documented = fns.filter((f) => f.docstring !== null && f.docstring.trim() !== '');
    expect(r.functions).toBe(fns.length);
    expect(r.files).toBe(FILES.length + 1);
    expect(r.byLanguage).toEqual([
      { lang: 'python', files: FILES.length, functions: fns.length, documented: documented.length },
      { lang: 'go', files: 1, functions: 0, documented: 0 },
    ]);
    expect(r.docstrings.documented).toBe(documented.length);
    expect(r.docstrings.coverage).toBeCloseTo(documented.length / fns.length, 12);
    expect(r.docstrings.styles.reduce((s, x) => s + x.count, 0)).toBe(documented.length);
    for (const k of ['function', 'method', 'nested']) expect(r.byKind.find((x) => x.name === k)?.count ?? 0).toBe(fns.filter((f) => f.kind === k).length);
    expect(r.clusters.reduce((s, c) => s + c.count, 0)).toBe(clusters.filter((c) => c >= 0).length);
    expect(r.clusters.map((c) => c.cluster).sort()).toEqual([0, 1, 2]);
    expect(r.skipped).toEqual([
      { name: 'not-source', count: 2 },
      { name: 'ratio', count: 1 },
    ]);
  });

  it('lists exactly the functions above Q3 + 1.5 IQR as outliers, longest first', () => {
    const r = buildReport({ functions: fns, filesByLanguage: {}, clusters: null, inside: null, corpus: null, skippedReasons: [] });
    const sorted = fns.map((f) => f.n_lines).sort((a, b) => a - b);
    expect(r.lines.median).toBeGreaterThanOrEqual(sorted[Math.floor((sorted.length - 1) / 2)]!);
    expect(r.lines.median).toBeLessThanOrEqual(sorted[Math.ceil((sorted.length - 1) / 2)]!);
    const above = fns.filter((f) => f.n_lines > r.lines.fence);
    expect(r.outliersTotal).toBe(above.length);
    expect(r.outliersTotal).toBeGreaterThan(0);
    expect(r.outliers.length).toBe(Math.min(MAX_OUTLIERS, above.length));
    for (let i = 1; i < r.outliers.length; i++) expect(r.outliers[i - 1]!.n_lines).toBeGreaterThanOrEqual(r.outliers[i]!.n_lines);
    expect(r.lines.max).toBe(sorted[sorted.length - 1]);
    expect(r.clusters).toEqual([]);
  });

  it('summarises clone groups inside the upload and pairs shared with the corpus', () => {
    const group = new Int32Array(fns.length).fill(-1);
    group[0] = 0;
    group[5] = 0;
    group[9] = 0;
    group[3] = 1; // alone in its group: not a duplicate
    const r = buildReport({
      functions: fns,
      filesByLanguage: {},
      clusters: null,
      inside: { threshold: 0.8, a: Uint32Array.of(0, 0), b: Uint32Array.of(5, 9), similarity: Float32Array.of(0.9, 0.85), group, method: 'every pair' },
      corpus: { threshold: 0.8, index: Uint32Array.of(2, 2, 7), corpusId: Uint32Array.of(10, 11, 12), similarity: Float32Array.of(1, 0.9, 0.8), compared: 40, method: 'LSH' },
      skippedReasons: [],
    });
    expect(r.inside?.groups).toEqual([{ members: [0, 5, 9] }]);
    expect(r.inside?.functions).toBe(3);
    expect(r.corpus).toMatchObject({ functions: 2, pairs: 3, compared: 40 });
  });
});
