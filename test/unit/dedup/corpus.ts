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

// ---------------------------------------------------------------------------------------------------
// Type-3 clones: one statement inserted, deleted, or two adjacent independent statements swapped.

export type Type3Kind = 'insert' | 'delete' | 'reorder';

export interface Type3Clone {
  src: string;
  kind: Type3Kind;
}

/** Statements that hold blocks: deleting or moving one of these is more than a one-statement edit. */
const COMPOUND = new Set([
  'if_statement',
  'for_statement',
  'while_statement',
  'try_statement',
  'with_statement',
  'match_statement',
  'function_definition',
  'class_definition',
  'decorated_definition',
]);
const CONTROL = new Set(['return_statement', 'raise_statement', 'break_statement', 'continue_statement', 'pass_statement', 'yield']);

/** Statements of every block of the function (comments left out), block by block. */
function blocks(fn: Node): Node[][] {
  const out: Node[][] = [];
  const walk = (n: Node): void => {
    if (n.type === 'block') out.push(n.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment'));
    for (const c of n.namedChildren) if (c) walk(c);
  };
  walk(fn);
  return out;
}

/** Start of the line holding `at`. */
function lineStart(src: string, at: number): number {
  return src.lastIndexOf('\n', at - 1) + 1;
}

/** True when `stmt` starts its line (only indentation before it) and nothing but a comment follows it. */
function ownLines(src: string, stmt: Node): boolean {
  const ls = lineStart(src, stmt.startIndex);
  if (src.slice(ls, stmt.startIndex).trim() !== '') return false;
  const nl = src.indexOf('\n', stmt.endIndex);
  const rest = src.slice(stmt.endIndex, nl < 0 ? src.length : nl).trim();
  return rest === '' || rest.startsWith('#');
}

function isDocstring(stmt: Node, block: Node[], index: number): boolean {
  return index === 0 && stmt.type === 'expression_statement' && stmt.namedChildren[0]?.type === 'string' && block[0].parent?.parent?.type === 'function_definition';
}

/** Identifier texts under `n`, not counting attribute names or keyword-argument names. */
function names(n: Node, out = new Set<string>()): Set<string> {
  for (const leaf of leaves(n)) {
    if (leaf.type !== 'identifier') continue;
    const p = leaf.parent;
    if (p?.type === 'attribute' && p.childForFieldName('attribute')?.id === leaf.id) continue;
    if (p?.type === 'keyword_argument' && p.childForFieldName('name')?.id === leaf.id) continue;
    out.add(leaf.text);
  }
  return out;
}

/** Names a simple statement binds (assignment targets), and every name it mentions. */
function defsUses(stmt: Node): { defs: Set<string>; uses: Set<string> } {
  const defs = new Set<string>();
  const e = stmt.type === 'expression_statement' ? stmt.namedChildren[0] : null;
  if (e && (e.type === 'assignment' || e.type === 'augmented_assignment')) {
    const left = e.childForFieldName('left');
    if (left) names(left, defs);
  }
  return { defs, uses: names(stmt) };
}

function hasCall(n: Node): boolean {
  return n.type === 'call' || n.namedChildren.some((c) => c !== null && hasCall(c));
}

/**
 * Two statements are independent (conservatively) when both are assignments, neither binds a name
 * the other mentions (`self.x = ...` binds `self`), and at most one of them calls anything (two calls
 * may share state through side effects).
 */
function independent(a: Node, b: Node): boolean {
  if (a.type !== 'expression_statement' || b.type !== 'expression_statement') return false;
  const x = defsUses(a);
  const y = defsUses(b);
  if (x.defs.size === 0 || y.defs.size === 0) return false;
  if (hasCall(a) && hasCall(b)) return false;
  for (const d of x.defs) if (y.uses.has(d)) return false;
  for (const d of y.defs) if (x.uses.has(d)) return false;
  return true;
}

function tryInsert(src: string, fn: Node, rng: Rng): string | null {
  const spots: Node[] = [];
  for (const b of blocks(fn)) {
    for (let i = 0; i < b.length; i++) {
      if (isDocstring(b[i], b, i)) continue;
      if (ownLines(src, b[i])) spots.push(b[i]);
    }
  }
  if (spots.length === 0) return null;
  const at = spots[rng.int(spots.length)];
  const ls = lineStart(src, at.startIndex);
  const indent = src.slice(ls, at.startIndex);
  const params = fn.childForFieldName('parameters');
  const pnames = params ? [...names(params)].filter((p) => p !== 'self' && p !== 'cls') : [];
  const r = rng.next();
  let line: string;
  if (r < 0.4) line = `logger.debug('checkpoint %d', ${rng.int(100)})`;
  else if (r < 0.7 && pnames.length > 0) line = `assert ${pnames[rng.int(pnames.length)]} is not None`;
  else line = `print('debug', ${rng.int(100)})`;
  return src.slice(0, ls) + indent + line + '\n' + src.slice(ls);
}

function tryDelete(src: string, fn: Node, rng: Rng): string | null {
  const spots: Node[] = [];
  for (const b of blocks(fn)) {
    if (b.length < 2) continue;
    for (let i = 0; i < b.length; i++) {
      if (isDocstring(b[i], b, i) || COMPOUND.has(b[i].type)) continue;
      // The block keeps a statement that is not just its docstring.
      if (b.length === 2 && isDocstring(b[0], b, 0)) continue;
      if (ownLines(src, b[i])) spots.push(b[i]);
    }
  }
  if (spots.length === 0) return null;
  const s = spots[rng.int(spots.length)];
  const ls = lineStart(src, s.startIndex);
  const nl = src.indexOf('\n', s.endIndex);
  return src.slice(0, ls) + (nl < 0 ? '' : src.slice(nl + 1));
}

function tryReorder(src: string, fn: Node, rng: Rng): string | null {
  const spots: [Node, Node][] = [];
  for (const b of blocks(fn)) {
    for (let i = 0; i + 1 < b.length; i++) {
      const [x, y] = [b[i], b[i + 1]];
      if (isDocstring(x, b, i) || CONTROL.has(x.type) || CONTROL.has(y.type)) continue;
      if (x.endPosition.row >= y.startPosition.row || !ownLines(src, x) || !ownLines(src, y)) continue;
      if (x.text === y.text || !independent(x, y)) continue;
      spots.push([x, y]);
    }
  }
  if (spots.length === 0) return null;
  const [x, y] = spots[rng.int(spots.length)];
  return src.slice(0, x.startIndex) + y.text + src.slice(x.endIndex, y.startIndex) + x.text + src.slice(y.endIndex);
}

/**
 * Type-3 clone of `src`: a statement inserted (a logging, assert or print line), one simple statement
 * of a multi-statement block deleted, or two adjacent independent simple statements swapped. The
 * kind is drawn at random; when it does not apply the others are tried. Null when none applies.
 */
export function type3Clone(parser: Parser, src: string, rng: Rng): Type3Clone | null {
  const kinds: Type3Kind[] = ['insert', 'delete', 'reorder'];
  const first = rng.int(3);
  return withFunctionNode(parser, src, (fn) => {
    for (let k = 0; k < 3; k++) {
      const kind = kinds[(first + k) % 3];
      const out = kind === 'insert' ? tryInsert(src, fn, rng) : kind === 'delete' ? tryDelete(src, fn, rng) : tryReorder(src, fn, rng);
      if (out !== null && out !== src) return { src: out, kind };
    }
    return null;
  });
}
