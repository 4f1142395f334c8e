// The retrieval summariser on a small real corpus: functions of a few modules of Debian's Python
// 3.11 standard library, embedded with TF-IDF/SVD fitted on them (the offline embedder).
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitTfidfSvd, TfidfSvdEmbedder } from '../../../src/core/embed/tfidf-svd.ts';
import { firstSentence } from '../../../src/core/summarize/docstring-filter.ts';
import { cosine } from '../../../src/core/summarize/evaluate.ts';
import { hideDocstring } from '../../../src/core/summarize/hide-docstring.ts';
import { chooseRetrievalSummary, lendableSummary, type RetrievalCandidate } from '../../../src/core/summarize/retrieval.ts';
import { contentHash } from '../../../src/core/util/hash.ts';
import { splitDocstring, stdlibFunctions } from '../embed/stdlib-corpus.ts';

const ROOT = '/usr/lib/python3.11';
const MODULES = ['posixpath.py', 'ntpath.py', 'genericpath.py', 'shutil.py', 'tarfile.py', 'zipfile.py', 'gzip.py', 'textwrap.py', 'fnmatch.py', 'glob.py'];

interface Fn {
  id: number;
  where: string;
  text: string;
  docstring: string | null;
  hash: string;
}

let corpus: Fn[] = [];
let embedder: TfidfSvdEmbedder;
let vectors: Float32Array;

beforeAll(async () => {
  const all = stdlibFunctions(Infinity, ROOT).filter((f) => MODULES.includes(f.where.split('#')[0]));
  corpus = all.map((f, id) => ({ id, where: f.where, text: f.text, docstring: hideDocstring(f.text).removed ? (splitDocstring(f.text)?.docstring ?? null) : null, hash: contentHash(f.text) }));
  embedder = new TfidfSvdEmbedder(await fitTfidfSvd(corpus.map((f) => f.text), { dim: 64, seed: 1 }));
  vectors = embedder.embedSync(corpus.map((f) => f.text));
}, 60_000);

function candidatesFor(query: Float32Array, k = 20): RetrievalCandidate[] {
  const dim = embedder.dim;
  return corpus
    .map((f) => ({ id: f.id, distance: 1 - cosine(query, vectors.subarray(f.id * dim, (f.id + 1) * dim)), docstring: f.docstring, contentHash: f.hash }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, k);
}

describe.skipIf(!existsSync(`${ROOT}/os.py`))('chooseRetrievalSummary on real stdlib functions', () => {
  it('has a real corpus', () => {
    expect(corpus.length).toBeGreaterThan(300);
    expect(corpus.filter((f) => f.docstring).length).toBeGreaterThan(100);
  });

  it('an undocumented copy of a documented function gets that function\'s first docstring sentence', () => {
    // Documented functions with a substantial body, from several modules.
    const targets = corpus.filter((f) => f.docstring && lendableSummary(f.docstring) && hideDocstring(f.text).code.length > 250).filter((_, i) => i % 7 === 0).slice(0, 12);
    expect(targets.length).toBeGreaterThanOrEqual(8);
    let right = 0;
    for (const t of targets) {
      const { code, removed } = hideDocstring(t.text);
      expect(removed).toBe(true);
      const q = embedder.embedSync([code]);
      const r = chooseRetrievalSummary({ id: null, contentHash: contentHash(code) }, candidatesFor(q));
      if (r?.sourceId === t.id) {
        right++;
        expect(r.text).toBe(firstSentence(t.docstring!));
      }
    }
    // TF-IDF of the code without its docstring still finds the function itself almost always.
    expect(right / targets.length).toBeGreaterThanOrEqual(0.75);
  });

  it('never lends a function its own docstring: itself and exact duplicates are skipped', () => {
    const t = corpus.find((f) => f.where.startsWith('posixpath.py') && f.docstring && lendableSummary(f.docstring) && f.text.length > 300)!;
    expect(t).toBeDefined();
    const q = vectors.subarray(t.id * embedder.dim, (t.id + 1) * embedder.dim);
    const cands = candidatesFor(q);
    expect(cands[0].id).toBe(t.id); // its own vector is nearest
    // By id.
    const byId = chooseRetrievalSummary({ id: t.id, contentHash: 'none' }, cands)!;
    expect(byId.sourceId).not.toBe(t.id);
    expect(byId.skipped).toBeGreaterThanOrEqual(1);
    // By content hash: an exact duplicate elsewhere (same text, another id) is skipped too.
    const dup: RetrievalCandidate = { id: 999_999, distance: 0, docstring: t.docstring, contentHash: t.hash };
    const byHash = chooseRetrievalSummary({ id: null, contentHash: t.hash }, [dup, ...cands])!;
    expect([t.id, 999_999]).not.toContain(byHash.sourceId);
    // And the choice is the nearest remaining documented function with a usable docstring.
    const expected = cands.find((c) => c.id !== t.id && c.contentHash !== t.hash && lendableSummary(c.docstring))!;
    expect(byHash.sourceId).toBe(expected.id);
    expect(byHash.text).toBe(firstSentence(expected.docstring!));
  });

  it('skips undocumented and garbage-docstring neighbours, honours exclude, returns null when none qualifies', () => {
    const c: RetrievalCandidate[] = [
      { id: 3, distance: 0.1, docstring: null, contentHash: 'a' },
      { id: 4, distance: 0.2, docstring: 'TODO', contentHash: 'b' },
      { id: 5, distance: 0.3, docstring: 'Return the value of x. More detail follows here.', contentHash: 'c' },
      { id: 6, distance: 0.3, docstring: 'Compute the checksum of a block.', contentHash: 'd' },
    ];
    expect(chooseRetrievalSummary({ id: 1, contentHash: 'z' }, c)).toEqual({ text: 'Return the value of x.', sourceId: 5, distance: 0.3, skipped: 2 });
    expect(chooseRetrievalSummary({ id: 1, contentHash: 'z' }, c, { exclude: (id) => id === 5 })?.sourceId).toBe(6);
    expect(chooseRetrievalSummary({ id: 1, contentHash: 'z' }, c.slice(0, 2))).toBeNull();
    expect(chooseRetrievalSummary({ id: 1, contentHash: 'z' }, [])).toBeNull();
  });
});

describe('hideDocstring', () => {
  it('removes the docstring statement and keeps the code', () => {
    expect(hideDocstring('def f(x):\n    """Doc."""\n    return x\n')).toEqual({ code: 'def f(x):\n    return x\n', removed: true });
    expect(hideDocstring("@deco(')')\ndef f(a=')', *, b: 'str' = \"\"):\n    r'''Multi\n    line.'''\n    return a\n").code).toBe(
      "@deco(')')\ndef f(a=')', *, b: 'str' = \"\"):\n    return a\n",
    );
    expect(hideDocstring('def f(): "doc"; return 1\n')).toEqual({ code: 'def f(): return 1\n', removed: true });
    expect(hideDocstring('def f():\n    """Only a docstring."""\n')).toEqual({ code: 'def f():\n    pass\n', removed: true });
    expect(hideDocstring('def f():\n    x = "not a docstring"\n')).toEqual({ code: 'def f():\n    x = "not a docstring"\n', removed: false });
    expect(hideDocstring('def f():\n    "a" + b\n').removed).toBe(false);
    expect(hideDocstring('def f():  # comment\n    # another\n    """Doc."""\n    pass\n').code).toBe('def f():  # comment\n    # another\n    pass\n');
  });
  it('matches the docstring the corpus splitter finds on real functions', () => {
    let checked = 0;
    for (const f of corpus.slice(0, 300)) {
      // Only where the crude splitter's string is the first statement (a single-line header).
      if (!/^[^\n]*\)(?:\s*->[^\n]*)?:[ \t]*\n[ \t]*[rRuU]?(\"\"\"|''')/.test(f.text)) continue;
      const s = splitDocstring(f.text);
      if (!s) continue;
      const h = hideDocstring(f.text);
      expect(h.removed).toBe(true);
      expect(h.code).not.toContain(s.docstring.trim().split('\n')[0]);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });
});
