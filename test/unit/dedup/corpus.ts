// Test helper (Node only): real Python functions from CPython's standard library, parsed with
// web-tree-sitter the way prebuild/grammars.ts loads it, and type-1 / type-2 clone generators.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Language, type Node, Parser } from 'web-tree-sitter';
import { loadPythonExtractor, pythonGrammarPath } from '../../../prebuild/grammars.ts';
import { createRng, type Rng } from '../../../src/core/util/random.ts';
import { findPython, listStdlibFiles } from '../extract/cpython.ts';

let parserPromise: Promise<Parser> | null = null;

/** A tree-sitter-python parser (the runtime is initialised by loadPythonExtractor). */
export function pythonParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    const ex = await loadPythonExtractor();
    ex.delete();
    const language = await Language.load(new Uint8Array(readFileSync(pythonGrammarPath())));
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return parserPromise;
}

/** Parses standalone function source and calls `fn` with its definition node (tree freed after). */
export function withFunctionNode<T>(parser: Parser, src: string, fn: (node: Node) => T): T {
  const tree = parser.parse(src);
  if (!tree) throw new Error('no tree');
  try {
    const root = tree.rootNode;
    if (root.hasError) throw new Error(`syntax error in:\n${src}`);
    const node = root.namedChildren.find((c) => c !== null && (c.type === 'function_definition' || c.type === 'decorated_definition'));
    if (!node) throw new Error('no function');
    return fn(node);
  } finally {
    tree.delete();
  }
}

function dedent(lines: string[]): string {
  const ind = /^[ \t]*/.exec(lines[0])?.[0].length ?? 0;
  return lines.map((l) => (l.slice(0, ind).trim() === '' ? l.slice(ind) : l)).join('\n');
}

/**
 * Up to `count` distinct stdlib functions (non-test modules, >= minLines lines), standalone and
 * dedented, chosen deterministically from `seed`. Null when there is no python3 here.
 */
export async function stdlibFunctions(count: number, minLines = 8, seed = 1): Promise<string[] | null> {
  const py = findPython();
  if (!py) return null;
  const parser = await pythonParser();
  const files = listStdlibFiles(py.stdlib).filter((f) => !/(^|\/)(test|tests|idle_test|lib2to3|__phello__|encodings)\//.test(f) && !f.includes('test_'));
  const rng = createRng(seed);
  const picked: string[] = [];
  const seen = new Set<string>();
  const tried = new Set<number>();
  while (picked.length < count && tried.size < files.length) {
    const fi = rng.int(files.length);
    if (tried.has(fi)) continue;
    tried.add(fi);
    let text: string;
    try {
      text = readFileSync(join(py.stdlib, files[fi]), 'utf8');
    } catch {
      continue;
    }
    const tree = parser.parse(text);
    if (!tree) continue;
    try {
      if (tree.rootNode.hasError) continue;
      const lines = text.split('\n');
      const defs = tree.rootNode.descendantsOfType('function_definition').filter((d) => d !== null);
      // At most 3 functions per file, spread over the file.
      let taken = 0;
      for (let k = 0; k < defs.length && taken < 3 && picked.length < count; k++) {
        const d = defs[(k * 7 + rng.int(defs.length)) % defs.length];
        if (!d) continue;
        const start = d.parent?.type === 'decorated_definition' ? d.parent.startPosition.row : d.startPosition.row;
        const end = d.endPosition.row;
        if (end - start + 1 < minLines || end - start > 80) continue;
        const src = dedent(lines.slice(start, end + 1));
        // Originals must not be clones of each other: one per token sequence with names and
        // literals abstracted (type-2 equality).
        const shape = abstractShape(d);
        if (seen.has(shape)) continue;
        const ok = parser.parse(src);
        const good = ok !== null && !ok.rootNode.hasError;
        ok?.delete();
        if (!good) continue;
        seen.add(shape);
        picked.push(src);
        taken++;
      }
    } finally {
      tree.delete();
    }
  }
  return picked;
}

/** Leaf tokens with identifiers and literals abstracted, comments dropped. */
function abstractShape(node: Node): string {
  const out: string[] = [];
  for (const leaf of leaves(node)) {
    if (leaf.type === 'comment') continue;
    if (leaf.type === 'identifier') out.push('I');
    else if (leaf.type === 'string' || leaf.type === 'integer' || leaf.type === 'float') out.push('L');
    else out.push(leaf.type);
  }
  return out.join(' ');
}

interface Edit {
  at: number;
  del: number;
  text: string;
}

function applyEdits(src: string, edits: Edit[]): string {
  edits.sort((a, b) => b.at - a.at);
  let out = src;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at + e.del);
  return out;
}

/** Leaves (strings as atoms) in order; indices are UTF-16 offsets in `src` (the test sources are parsed from JS strings). */
function leaves(node: Node, out: Node[] = []): Node[] {
  if (node.type === 'string' || node.childCount === 0) {
    out.push(node);
    return out;
  }
  for (const c of node.children) if (c) leaves(c, out);
  return out;
}

/** Type-1 clone: extra spaces after commas, trailing comments, blank lines. Same tokens. */
export function type1Clone(parser: Parser, src: string, rng: Rng): string {
  return withFunctionNode(parser, src, (fn) => {
    const edits: Edit[] = [];
    const ls = leaves(fn);
    for (let i = 0; i < ls.length; i++) {
      const leaf = ls[i];
      if (leaf.type === ',' && rng.next() < 0.5) edits.push({ at: leaf.endIndex, del: 0, text: ' ' });
      const next = ls[i + 1];
      const endsLine = !next || next.startPosition.row > leaf.endPosition.row;
      if (endsLine && leaf.type !== 'comment' && leaf.type !== 'line_continuation' && leaf.type !== 'string') {
        const r = rng.next();
        if (r < 0.3) edits.push({ at: leaf.endIndex, del: 0, text: `  # note ${rng.int(1000)}` });
        else if (r < 0.4 && next) edits.push({ at: leaf.endIndex, del: 0, text: '\n' });
      }
    }
    return applyEdits(src, edits);
  });
}

const KEEP = new Set(['self', 'cls', 'super', 'print', 'len', 'isinstance', 'range', 'None', 'True', 'False']);

function word(rng: Rng): string {
  const a = 'abcdefghijklmnopqrstuvwxyz';
  let s = '';
  const n = 4 + rng.int(5);
  for (let i = 0; i < n; i++) s += a[rng.int(26)];
  return rng.next() < 0.5 ? s : `${s}_${a[rng.int(26)]}${a[rng.int(26)]}${a[rng.int(26)]}`;
}

/** Type-2 clone: consistent renaming of identifiers (not attribute names or keyword-argument names), changed literals. */
export function type2Clone(parser: Parser, src: string, rng: Rng): string {
  return withFunctionNode(parser, src, (fn) => {
    const edits: Edit[] = [];
    const rename = new Map<string, string>();
    let firstString = true;
    for (const leaf of leaves(fn)) {
      const p = leaf.parent;
      if (leaf.type === 'identifier') {
        if (KEEP.has(leaf.text)) continue;
        if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === leaf.id) continue;
        if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === leaf.id) continue;
        let to = rename.get(leaf.text);
        if (!to) {
          to = word(rng);
          rename.set(leaf.text, to);
        }
        edits.push({ at: leaf.startIndex, del: leaf.endIndex - leaf.startIndex, text: to });
      } else if (leaf.type === 'integer' && rng.next() < 0.7) {
        edits.push({ at: leaf.startIndex, del: leaf.endIndex - leaf.startIndex, text: String(rng.int(100000)) });
      } else if (leaf.type === 'string') {
        const isDoc = firstString && p?.type === 'expression_statement';
        firstString = false;
        if (isDoc) continue;
        if (/^['"]/.test(leaf.text) && !leaf.text.startsWith('"""') && !leaf.text.startsWith("'''") && rng.next() < 0.7) {
          edits.push({ at: leaf.startIndex, del: leaf.endIndex - leaf.startIndex, text: `'${word(rng)}'` });
        }
      }
    }
    return applyEdits(src, edits);
  });
}
