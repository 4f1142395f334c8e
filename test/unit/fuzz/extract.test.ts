// Fuzz: the Python extractor (decodeSourceFile -> PythonExtractor.extract) on 3,000 seeded cases made
// from real standard-library files: Python-aware text mutations (tokens that drive the repair
// paths, unbalanced brackets and strings, tabs, coding cookies, NULs), byte mutations through the
// decoder, and random bytes. Zero crashes: nothing throws; the decoder returns text or a skip
// reason with a detail; the extractor returns functions whose fields hold together, or an error
// with a line in range and a message; no case takes longer than the per-case bound.
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExtractedFunction } from '../../../src/core/data/schema.ts';
import type { PythonExtractor } from '../../../src/core/extract/python.ts';
import { decodeSourceFile } from '../../../src/core/extract/source-file.ts';
import { loadPythonExtractor } from '../../../prebuild/grammars.ts';
import { createRng } from './mutate.ts';
import { makeCase, pool, type SourceFile } from './extract-cases.ts';

const CASES = 3000;
const SEED = 9001;
/** A case that takes longer than this is a hang (the slowest real cases take ~50 ms here). */
const CASE_MS = 3000;
const SKIP_REASONS = new Set(['syntax-error', 'not-utf8', 'binary', 'too-large', 'unreadable']);
const KINDS = new Set(['function', 'method', 'nested']);

function checkFunction(f: ExtractedFunction, lines: number, where: string): void {
  const bad = (why: string) => {
    throw new Error(`${where}: ${f.qualname}: ${why}`);
  };
  if (typeof f.name !== 'string' || !f.name) bad('empty name');
  if (!f.qualname.endsWith(f.name)) bad('qualname does not end with the name');
  if (!KINDS.has(f.kind)) bad(`kind ${f.kind}`);
  if (!Number.isInteger(f.start_line) || f.start_line < 1 || f.end_line < f.start_line || f.end_line > lines) bad(`lines ${f.start_line}-${f.end_line} of ${lines}`);
  if (f.args.length !== f.args_types.length || f.args.length !== f.args_defaults.length) bad('args, types and defaults differ in length');
  if (typeof f.body !== 'string' || !f.body.includes(f.name)) bad('body does not hold the name');
  if (f.docstring !== null && typeof f.docstring !== 'string') bad('docstring is not text or null');
  if (!/^[0-9a-f]+$/.test(f.content_hash)) bad('content_hash is not hex');
  if (!Number.isInteger(f.n_chars) || !Number.isInteger(f.n_lines) || f.n_lines < 1) bad('n_chars/n_lines');
}

let extractor: PythonExtractor;
let files: SourceFile[];

beforeAll(async () => {
  extractor = await loadPythonExtractor();
  files = pool();
});

describe('fuzz: Python extraction', () => {
  // Found by this fuzz test: tree-sitter reads `def`/`class` and the name across a line break and the
  // extractor returned a function named ''; CPython refuses such a file, and so does the extractor now.
  it('refuses a def or class whose name is on the next line, as CPython does', () => {
    const sources = ['def\nget_selection(text):\n    pass\n', 'class\nC:\n    pass\n', 'class A:\n    def\n    m(self): pass\n', 'async def\nf():\n    pass\n'];
    const cpython = JSON.parse(
      execFileSync('python3', ['-c', 'import ast, json, sys\nout = []\nfor s in json.load(sys.stdin):\n    try:\n        ast.parse(s); out.append(None)\n    except SyntaxError as e:\n        out.append(e.lineno)\nprint(json.dumps(out))'], { input: JSON.stringify(sources), encoding: 'utf8' }),
    ) as (number | null)[];
    sources.forEach((src, i) => {
      const r = extractor.extract(src);
      expect(cpython[i], src).not.toBeNull();
      expect(r.functions, src).toEqual([]);
      expect(r.error?.line, src).toBe(cpython[i]);
    });
    // With a backslash continuation both accept it.
    expect(extractor.extract('def \\\nf():\n    pass\n').functions.map((f) => f.name)).toEqual(['f']);
  });

  it(`${CASES} mutated and random inputs: no throw, no hang, results that hold together`, () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
    const rng = createRng(SEED);
    const stats = { decoded: 0, skipped: new Map<string, number>(), extracted: 0, errors: 0, functions: 0, slowest: 0 };
    for (let i = 0; i < CASES; i++) {
      const { src, bytes, steps } = makeCase(rng, files);
      const where = `case ${i} (${src.path}: ${steps.join(', ')})`;
      const t0 = performance.now();
      const decoded = decodeSourceFile(bytes, { maxBytes: 64 * 1024 });
      if (!decoded.ok) {
        expect(SKIP_REASONS.has(decoded.reason), where).toBe(true);
        expect(decoded.detail.length, where).toBeGreaterThan(0);
        stats.skipped.set(decoded.reason, (stats.skipped.get(decoded.reason) ?? 0) + 1);
      } else {
        stats.decoded++;
        expect(typeof decoded.text, where).toBe('string');
        const r = extractor.extract(decoded.text);
        const lines = decoded.text.replace(/\r\n?/g, '\n').split('\n').length;
        if (r.error) {
          stats.errors++;
          expect(r.functions, where).toEqual([]);
          expect(Number.isInteger(r.error.line) && r.error.line >= 1 && r.error.line <= lines + 1, `${where}: error line ${r.error.line} of ${lines}`).toBe(true);
          expect(r.error.message.length, where).toBeGreaterThan(0);
        } else {
          stats.extracted++;
          stats.functions += r.functions.length;
          for (const f of r.functions) checkFunction(f, lines, where);
        }
      }
      const ms = performance.now() - t0;
      stats.slowest = Math.max(stats.slowest, ms);
      expect(ms, `${where} took ${ms.toFixed(0)} ms`).toBeLessThan(CASE_MS);
    }
    // The cases reached every outcome: decoded and extracted, refused by the parser, skipped by the decoder.
    expect(stats.extracted).toBeGreaterThan(CASES / 10);
    expect(stats.errors).toBeGreaterThan(CASES / 10);
    expect(stats.functions).toBeGreaterThan(CASES / 2);
    expect([...stats.skipped.keys()]).toEqual(expect.arrayContaining(['binary', 'not-utf8']));
    console.log(`extract fuzz: ${JSON.stringify({ ...stats, skipped: Object.fromEntries(stats.skipped), slowest: Math.round(stats.slowest) })}`);
  }, 120_000);
});
