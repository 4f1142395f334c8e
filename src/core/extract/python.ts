// Python function extractor: web-tree-sitter (tree-sitter-python) -> ExtractedFunction[].
//
// Runs unchanged in Node and in browser workers. Parsing is the cost that cannot be avoided; the rest
// is built to cross the JS/WASM boundary as rarely as possible and never to visit every syntax node:
//   - a `def`, `async def`, `class` or decorator can only start a logical line, so one linear text
//     scan finds the candidates (first token of a physical line) and the tree confirms each with one
//     `namedDescendantForIndex` (which also rejects candidates inside strings). A tree-sitter Query or
//     `descendantsOfType` walks all ~7.5M nodes of the stdlib and cost 3-5x more than this;
//   - per function a handful of WASM calls: its end, its children (parameters, block), the
//     parameters' children, and the children of parameters that carry an annotation or a default;
//     large modules and classes are searched by binary search over their children, so files with
//     tens of thousands of definitions stay linear;
//   - names, async-ness, line spans, bodies, docstrings (literal scanning + evaluation) come from the
//     source text. One Parser is reused; each tree is deleted after use.
//
// Choices (documented for users of the data set):
//   - Source text: a leading BOM is dropped and line endings are normalised to '\n' before parsing
//     (CPython reads source with universal newlines too), so bodies and hashes never contain '\r'.
//   - body: whole lines start_line..end_line as written, so the first line keeps its indentation and
//     every line is consistent with it; no trailing newline. start_line is the first decorator's
//     line (else the `def`/`async def` line); end_line is CPython's `end_lineno`: the last line of
//     the last statement. Comment-only and blank lines that trail the last statement are not part of
//     the function (tree-sitter puts such comments inside the block; CPython does not).
//   - args: every named parameter in order, `*args`/`**kwargs` with their stars; the bare `*`
//     keyword-only marker and the `/` positional-only marker are not parameters and are left out.
//     args_types/args_defaults are the annotation/default source text as written (grouping
//     parentheses dropped, as ast.get_source_segment gives it), null where none.
//   - docstring: CPython's rule (first statement an expression that is a str constant, including
//     implicit concatenation and parentheses; f-strings and bytes are not docstrings), evaluated and
//     then cleaned with `inspect.cleandoc`. `\N{NAME}` escapes are kept as written.
//   - n_chars counts Unicode code points; n_lines = end_line - start_line + 1.
//   - content_hash: FNV-1a-64 over the body's UTF-8 bytes (src/core/util/hash.ts).
//   - qualname: CPython's __qualname__ without `<locals>` (`outer.Inner.method.helper`); a nested
//     function declared `global` keeps the dotted path (CPython would drop it).
//   - kind: 'method' when the nearest enclosing scope is a class, 'nested' when it is a function,
//     'function' at module level (also inside if/try/with/for at module level).
//   - A file with any syntax error yields no functions and an error (CPython refuses whole files).
//     Beyond tree-sitter's own errors, these are refused as CPython 3.11's parser refuses them
//     (tree-sitter-python accepts them): Python 2 `print x`, `exec code`, `except E, e:`,
//     `raise E, V`, backquotes, `<>`, `0777`/`10L` literals, `ur''` strings and tuple parameters;
//     `async`/`await` as names; parameter order errors (non-default after default, bare `*` without
//     a named parameter, anything after `**kw`, a second `*`, misplaced `/`); TabError and
//     IndentationError in files that indent with both tabs and spaces; NUL characters.
//     Still accepted although CPython refuses them (rare, documented): an unindent to no enclosing
//     level in files indented with spaces only, `f(**a, *b)`, `del f()`, `[x for x in 1, 2]`,
//     `"a" b"b"`, and the other checks CPython makes after parsing proper.
//   - Grammar gaps: valid Python that tree-sitter-python parses with ERROR/MISSING nodes. When a tree
//     has errors, the extractor looks for these near the errors, edits the text without changing
//     its length or line count (one character for another), parses the edited text, and keeps each
//     edit only where the new tree shows that the original construct is one CPython's `ast.parse`
//     accepts; if the edited text then parses without errors, functions are taken from that tree
//     and bodies, names and docstrings from the original text (see `repair`). Tolerated:
//       * an f-string format spec that starts with '=' after a name (`f"{x:=}"`, `f"{x:=^10}"`;
//         tree-sitter reads a walrus): the '=' becomes '>';
//       * a starred element whose operand is not a plain name, attribute or subscript, outside
//         brackets or in a subscript (`a, *b = c, *[]`, `return 1, *(x)`, `for x in *a, *[]:`,
//         `x = *[]` — `ast.parse` accepts a lone star too, the compiler refuses it — `a[*(b)]`):
//         the star becomes a space (the operand must be a `bitwise_or`, as in CPython's grammar);
//       * a line inside brackets indented less than its block after a token that cannot close the
//         bracket (`(bar.` / `+` / `and` ... then a less indented line; tree-sitter's scanner emits a
//         dedent there): the line break gets a backslash continuation, written over trailing
//         blanks or the comment on that line or over the next line's first indentation character;
//         where there is none of these, the line's last token moves to the start of the next line
//         (`(a +\nb)` is read as `(a\n+b)`). Still refused: two such tokens in a row (`and not`),
//         `x[` at a line end, an empty line in between with nothing to spare;
//       * `from __future__ import *` (`ast.parse` accepts it, the compiler refuses it): the star
//         becomes a name.
//     Files without tree errors never take this path.
import { Language, type Node, Parser, type Tree } from 'web-tree-sitter';
import type { ExtractedFunction, FunctionKind } from '../data/schema.ts';
import { classifyDocstring } from '../text/docstyle.ts';
import { digestText } from '../util/hash.ts';
import { cleandoc, evaluateStrConcatenation } from './python-strings.ts';

export interface ExtractError {
  /** 1-based line of the first error. */
  line: number;
  message: string;
}

export interface ExtractResult {
  functions: ExtractedFunction[];
  error: ExtractError | null;
}

export interface PythonExtractorOptions {
  /** The tree-sitter-python grammar: the .wasm bytes, or a URL/path `Language.load` understands. */
  grammarWasm: Uint8Array | string;
  /** Where web-tree-sitter's own runtime .wasm lives (browser bundles); default: next to its JS. */
  runtimeWasmUrl?: string;
}

interface Scope {
  node: Node;
  /** The definition's block, once a candidate inside it needed it (null: none found). */
  block?: Node | null;
  /** The block's children when there are many (binary-searched), else null. */
  kids?: Node[] | null;
  end: number;
  isClass: boolean;
  qualname: string;
}

interface Params {
  args: string[];
  types: (string | null)[];
  defaults: (string | null)[];
  /** A parameter list CPython's parser refuses: where and why (errorAt -1: none). */
  errorAt: number;
  error: string;
}

let initPromise: Promise<void> | null = null;

function initRuntime(runtimeWasmUrl?: string): Promise<void> {
  if (!initPromise) {
    initPromise = runtimeWasmUrl
      ? Parser.init({ locateFile: (path: string, prefix = '') => (path.endsWith('.wasm') ? runtimeWasmUrl : prefix + path) })
      : Parser.init();
  }
  return initPromise;
}

/**
 * Loads web-tree-sitter's runtime once per thread. Every extractor in a thread must share this:
 * a second `Parser.init` replaces the WASM module and breaks languages loaded before it.
 */
export function initTreeSitter(runtimeWasmUrl?: string): Promise<void> {
  return initRuntime(runtimeWasmUrl);
}

// Character codes.
const C_TAB = 9;
const C_NL = 10;
const C_FF = 12;
const C_SPACE = 32;
const C_HASH = 35;
const C_LPAREN = 40;
const C_RPAREN = 41;
const C_STAR = 42;
const C_COMMA = 44;
const C_SLASH = 47;
const C_COLON = 58;
const C_SEMI = 59;
const C_EQ = 61;
const C_AT = 64;
const C_BACKSLASH = 92;

function isHorizontalSpace(c: number): boolean {
  return c === C_SPACE || c === C_TAB || c === C_FF;
}

function isQuote(c: number): boolean {
  return c === 34 || c === 39;
}

function isPrefixLetter(c: number): boolean {
  // r R u U b B f F
  return c === 114 || c === 82 || c === 117 || c === 85 || c === 98 || c === 66 || c === 102 || c === 70;
}

/** A comment or a line continuation (tree-sitter extras that can sit among a node's children). */
function isTriviaAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c === C_HASH || c === C_BACKSLASH;
}

/** ASCII identifier character, or any non-ASCII code unit (Python identifiers are Unicode). */
function isIdentChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c >= 0x80;
}

/** End of the identifier starting at `i`. */
function identifierEnd(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x80 ? !isIdentChar(c) : /\s/.test(s[i])) break;
    i++;
  }
  return i;
}

/**
 * Skips whitespace, comments and backslash continuations from `i`; newlines too when `newlines`
 * (inside brackets). Returns the index of the next significant character (or s.length).
 */
function skipTrivia(s: string, i: number, newlines: boolean): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isHorizontalSpace(c) || (newlines && c === C_NL)) i++;
    else if (c === C_HASH) {
      const nl = s.indexOf('\n', i);
      i = nl < 0 ? n : nl;
    } else if (c === C_BACKSLASH && s.charCodeAt(i + 1) === C_NL) i += 2;
    else break;
  }
  return i;
}

/** Whether a string literal (optional prefix of at most two letters, then a quote) starts at `i`. */
function literalStartsAt(s: string, i: number): boolean {
  const c0 = s.charCodeAt(i);
  if (isQuote(c0)) return true;
  if (!isPrefixLetter(c0)) return false;
  const c1 = s.charCodeAt(i + 1);
  if (isQuote(c1)) return true;
  return isPrefixLetter(c1) && isQuote(s.charCodeAt(i + 2));
}

/** End (exclusive) of the string literal starting at `i` (see literalStartsAt), or -1. */
function literalEnd(s: string, i: number): number {
  let j = i;
  while (!isQuote(s.charCodeAt(j))) j++;
  const q = s.charCodeAt(j);
  const triple = s.charCodeAt(j + 1) === q && s.charCodeAt(j + 2) === q;
  const n = s.length;
  if (triple) {
    j += 3;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === C_BACKSLASH) j += 2;
      else if (c === q && s.charCodeAt(j + 1) === q && s.charCodeAt(j + 2) === q) return j + 3;
      else j++;
    }
    return -1;
  }
  j += 1;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === C_BACKSLASH) j += 2;
    else if (c === q) return j + 1;
    else if (c === C_NL) return -1;
    else j++;
  }
  return -1;
}

/** Whether the literal starting at `i` has an f or b prefix (never part of a docstring). */
function isFOrBytes(s: string, i: number): boolean {
  for (let j = i; j < i + 2; j++) {
    const c = s.charCodeAt(j) | 0x20;
    if (c === 102 || c === 98) return true;
    if (isQuote(s.charCodeAt(j))) return false;
  }
  return false;
}

/**
 * The docstring of a block whose first significant character is at `p`: CPython takes the first
 * statement if it is an expression statement that is a str constant. Decided from the text: one or
 * more string literals (implicit concatenation), optionally parenthesised, followed by the end of
 * the statement. Returns the evaluated, cleaned text, or null.
 */
export function docstringAt(s: string, p: number): string | null {
  let i = p;
  let depth = 0;
  while (s.charCodeAt(i) === C_LPAREN) {
    depth++;
    i = skipTrivia(s, i + 1, true);
  }
  if (!literalStartsAt(s, i)) return null;
  const parts: string[] = [];
  for (;;) {
    if (isFOrBytes(s, i)) return null;
    const end = literalEnd(s, i);
    if (end < 0) return null;
    parts.push(s.slice(i, end));
    i = skipTrivia(s, end, depth > 0);
    if (!literalStartsAt(s, i)) break;
  }
  while (depth > 0) {
    if (s.charCodeAt(i) !== C_RPAREN) return null;
    depth--;
    i = skipTrivia(s, i + 1, depth > 0);
  }
  if (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== C_NL && c !== C_SEMI) return null;
  }
  const value = evaluateStrConcatenation(parts);
  return value === null ? null : cleandoc(value);
}

/** Strips trailing whitespace and backslash continuations from s[start, end). */
function trimmedEnd(s: string, start: number, end: number): number {
  while (end > start) {
    const c = s.charCodeAt(end - 1);
    if (isHorizontalSpace(c) || c === C_NL || c === C_BACKSLASH) end--;
    else break;
  }
  return end;
}

/** `*`/`**` prefix plus the identifier of a parameter's name part starting at `i`. */
function paramName(s: string, i: number): string {
  let stars = '';
  while (s.charCodeAt(i) === C_STAR) {
    stars += '*';
    i = skipTrivia(s, i + 1, true);
  }
  return stars + s.slice(i, identifierEnd(s, i));
}

const PY2_PRINT_OK_AFTER = new Set(['in', 'is', 'if', 'and', 'or', 'not']);

interface Py2Check {
  /** Skip the regular expression when the source lacks this. */
  substring: string;
  /**
   * Global (g) expressions scan the text; sticky (y) ones must start with `substring` and are only
   * tried where `indexOf` finds it (much faster than a regular expression scan of the whole text).
   */
  re: RegExp;
  /** Where to ask the tree, from the match. */
  at: (m: RegExpExecArray) => number;
  /** The smallest named node there must be one of these for the match to count. */
  types: string[];
  /** Rejects a match from its context in the source (cheaper than a `\b` or lookaround in `re`). */
  skip?: (m: RegExpExecArray, s: string) => boolean;
  message: string;
}

const offsetOf = (sub: string) => (m: RegExpExecArray): number => m.index + m[0].lastIndexOf(sub);

/** Whether the match is glued to a preceding identifier character (so not a keyword). */
const midWord = (m: RegExpExecArray, s: string): boolean => m.index > 0 && isIdentChar(s.charCodeAt(m.index - 1));

/** `async`/`await` used as a name: after `.`, `def` or `class`, or before `=` (not `==`). Else skipped. */
function keywordAsNameSkip(m: RegExpExecArray, s: string): boolean {
  if (midWord(m, s)) return true;
  let j = m.index + m[0].length;
  while (s.charCodeAt(j) === C_SPACE || s.charCodeAt(j) === C_TAB) j++;
  if (s.charCodeAt(j) === C_EQ && s.charCodeAt(j + 1) !== C_EQ) return false;
  let i = m.index - 1;
  while (i >= 0 && (s.charCodeAt(i) === C_SPACE || s.charCodeAt(i) === C_TAB)) i--;
  if (i < 0) return true;
  if (s.charCodeAt(i) === 46 /* . */) return false;
  let k = i;
  while (k >= 0 && isIdentChar(s.charCodeAt(k))) k--;
  const word = s.slice(k + 1, i + 1);
  return word !== 'def' && word !== 'class';
}

/**
 * Python 2 (and pre-3.7) syntax tree-sitter-python accepts. `print >>f, x`, `print(x)`, `print -x`
 * and `print in x` are valid Python 3 expressions and are not flagged.
 */
const PY2_CHECKS: Py2Check[] = [
  {
    substring: 'print',
    re: /print[ \t]+([A-Za-z_]+|["'0-9~{`]|[^\x00-\x7f])/y,
    at: (m) => m.index,
    types: ['print_statement'],
    skip: (m, s) => midWord(m, s) || PY2_PRINT_OK_AFTER.has(m[1]),
    message: 'Python 2 print statement',
  },
  { substring: 'exec', re: /exec[ \t]+[A-Za-z_"']/y, skip: midWord, at: (m) => m.index, types: ['exec_statement'], message: 'Python 2 exec statement' },
  { substring: 'lambda', re: /lambda[ \t]*\(/y, skip: midWord, at: offsetOf('('), types: ['tuple_pattern'], message: 'Python 2 tuple parameter' },
  { substring: 'except', re: /except[ \t]+[\w.]+[ \t]*,/y, skip: midWord, at: offsetOf(','), types: ['except_clause'], message: "Python 2 'except X, e'" },
  { substring: 'raise', re: /raise[ \t]+[\w.]+[ \t]*,/y, skip: midWord, at: offsetOf(','), types: ['expression_list'], message: "Python 2 'raise E, V'" },
  { substring: '`', re: /`/g, at: (m) => m.index, types: ['string_start', 'string'], message: 'Python 2 backquotes' },
  { substring: '<>', re: /<>/y, at: (m) => m.index, types: ['comparison_operator'], message: "Python 2 '<>' operator" },
  { substring: 'r', re: /[uU][rR]["']/g, skip: midWord, at: (m) => m.index, types: ['string_start', 'string'], message: "Python 2 'ur' string prefix" },
  {
    substring: '0',
    re: /0(?:[0-9_]*[1-9][0-9_]*|[xXoObB][0-9a-fA-F_]+[lL])(?![\w.])/g,
    skip: (m, s) => m.index > 0 && (isIdentChar(s.charCodeAt(m.index - 1)) || s.charCodeAt(m.index - 1) === 46),
    at: (m) => m.index,
    types: ['integer'],
    message: 'Python 2 integer literal (leading zeros or L suffix)',
  },
  {
    substring: 'L',
    re: /[1-9][0-9_]*[lL](?![\w.])/g,
    skip: (m, s) => m.index > 0 && (isIdentChar(s.charCodeAt(m.index - 1)) || s.charCodeAt(m.index - 1) === 46),
    at: (m) => m.index,
    types: ['integer'],
    message: "Python 2 long integer literal ('L' suffix)",
  },
  { substring: 'async', re: /async(?!\w)/y, skip: keywordAsNameSkip, at: (m) => m.index, types: ['identifier'], message: "'async' used as a name (a keyword since Python 3.7)" },
  { substring: 'await', re: /await(?!\w)/y, skip: keywordAsNameSkip, at: (m) => m.index, types: ['identifier'], message: "'await' used as a name (a keyword since Python 3.7)" },
];

export class PythonExtractor {
  private readonly parser: Parser;
  private readonly typeNames: string[];
  private readonly idFunction: Set<number>;
  private readonly idClass: Set<number>;
  private readonly idDecorator: Set<number>;
  private readonly named: boolean[];

  private constructor(language: Language) {
    this.parser = new Parser();
    this.parser.setLanguage(language);
    this.typeNames = [];
    this.idFunction = new Set();
    this.idClass = new Set();
    this.idDecorator = new Set();
    this.named = [];
    for (let id = 0; id < language.nodeTypeCount; id++) {
      const name = language.nodeTypeForId(id) ?? '';
      this.typeNames.push(name);
      this.named.push(language.nodeTypeIsNamed(id));
      if (!language.nodeTypeIsNamed(id)) continue;
      if (name === 'function_definition') this.idFunction.add(id);
      else if (name === 'class_definition') this.idClass.add(id);
      else if (name === 'decorator') this.idDecorator.add(id);
    }
  }

  /** Loads the runtime (once per thread) and the grammar; the extractor is then reusable. */
  static async create(opts: PythonExtractorOptions): Promise<PythonExtractor> {
    await initRuntime(opts.runtimeWasmUrl);
    const language = await Language.load(opts.grammarWasm);
    return new PythonExtractor(language);
  }

  /** Frees the parser (WASM memory). The extractor must not be used afterwards. */
  delete(): void {
    this.parser.delete();
  }

  private typeOf(node: Node): string {
    return this.typeNames[node.typeId] ?? '';
  }

  extract(input: string): ExtractResult {
    let source = input;
    if (source.charCodeAt(0) === 0xfeff) source = source.slice(1);
    if (source.indexOf('\r') >= 0) source = source.replace(/\r\n?/g, '\n');
    const nul = source.indexOf('\0');
    if (nul >= 0) {
      return { functions: [], error: { line: lineOf(source, nul), message: 'source code cannot contain null bytes' } };
    }
    let tree = this.parser.parse(source);
    if (!tree) return { functions: [], error: { line: 1, message: 'parser gave no tree' } };
    try {
      if (tree.rootNode.hasError) {
        const repaired = this.repair(source, tree);
        if (!repaired) return { functions: [], error: this.firstError(tree.rootNode) };
        tree.delete();
        tree = repaired;
      }
      const root = tree.rootNode;
      const py2 = this.python2Error(source, root);
      if (py2) return { functions: [], error: py2 };
      if (mixesTabsAndSpaces(source)) {
        const indent = this.indentationError(source, root);
        if (indent) return { functions: [], error: indent };
      }
      return this.collect(source, root);
    } finally {
      tree.delete();
    }
  }

  private firstError(root: Node): ExtractError {
    let node: Node = root;
    for (;;) {
      if (node.isMissing) return { line: node.startPosition.row + 1, message: `missing '${this.typeOf(node)}'` };
      if (node.isError) {
        const text = node.text.split('\n')[0];
        const snippet = text.length > 40 ? `${text.slice(0, 40)}...` : text;
        return { line: node.startPosition.row + 1, message: `invalid syntax near ${JSON.stringify(snippet)}` };
      }
      let next: Node | null = null;
      for (const child of node.children) {
        if (child.isError || child.isMissing || child.hasError) {
          next = child;
          break;
        }
      }
      if (!next) return { line: node.startPosition.row + 1, message: 'invalid syntax' };
      node = next;
    }
  }

  /**
   * Works around tree-sitter-python's grammar gaps (see the header): proposes same-length edits
   * near the tree's errors, parses the edited text and keeps an edit only where `verifyPatch`
   * confirms, in the new tree, that the original text there is what CPython's `ast.parse` accepts.
   * Repeats while new proposals come up (an edit can uncover further errors). Returns the tree of
   * the edited text once it has no errors, else null (the file is refused). The original text and
   * the edited one have the same length and the same line breaks before every statement, so the
   * tree's offsets and rows hold for the original text.
   */
  private repair(source: string, original: Tree): Tree | null {
    // A guess the tree did not confirm is proposed again only once other edits were kept since (an
    // error nearby, fixed by those, can hide that a guess was right).
    const rejectedAt = new Map<string, number>();
    let kept = 0;
    let active: Patch[] = [];
    let current = original;
    const swap = (next: Tree): void => {
      if (current !== original) current.delete();
      current = next;
    };
    const keyOf = (p: Patch): string => `${p.kind}:${p.at}`;
    try {
      for (let round = 0; round < MAX_REPAIR_ROUNDS; round++) {
        const text = active.length === 0 ? source : applyPatches(source, active);
        const activeKeys = new Set(active.map(keyOf));
        const proposed = this.gapCandidates(text, current.rootNode).filter((p) => {
          const key = keyOf(p);
          return !activeKeys.has(key) && (rejectedAt.get(key) ?? -1) < kept;
        });
        // Edits of one token first; line continuations only when none is left (fewer guesses at once).
        const local = proposed.filter((p) => p.kind !== 'continuation' && p.kind !== 'rotation');
        // An edit of a position another edit already changes differently is left out.
        const taken = new Map<number, string>();
        for (const p of active) for (const [at, ch] of p.edits) taken.set(at, ch);
        const fresh = (local.length > 0 ? local : proposed).filter((p) => {
          if (p.edits.some(([at, ch]) => (taken.get(at) ?? ch) !== ch)) return false;
          for (const [at, ch] of p.edits) taken.set(at, ch);
          return true;
        });
        if (fresh.length === 0) return null;
        const isFresh = new Set(fresh);
        active = active.concat(fresh);
        let edited = applyPatches(source, active);
        let next = this.parser.parse(edited);
        if (!next) return null;
        swap(next);
        // Drop the edits the new tree does not confirm (proposals are guesses) and parse again: the
        // new ones first, so that a wrong guess cannot take confirmed edits down with it.
        for (const onlyFresh of [true, false]) {
          // Line-break edits are checked on the text when proposed, and by the final tree.
          const confirmed = active.filter(
            (p) => (onlyFresh && !isFresh.has(p)) || p.kind === 'continuation' || p.kind === 'rotation' || this.verifyPatch(p, edited, current.rootNode),
          );
          if (confirmed.length === active.length) continue;
          const stays = new Set(confirmed);
          for (const p of active) if (!stays.has(p)) rejectedAt.set(keyOf(p), kept);
          active = confirmed;
          edited = applyPatches(source, active);
          next = this.parser.parse(edited);
          if (!next) return null;
          swap(next);
        }
        if (active.some((p) => isFresh.has(p))) kept++;
        if (!current.rootNode.hasError) {
          if (active.length === 0 || !active.every((p) => this.verifyPatch(p, edited, current.rootNode))) return null;
          const done = current;
          current = original;
          return done;
        }
      }
      return null;
    } finally {
      if (current !== original) current.delete();
    }
  }

  /**
   * ERROR and MISSING nodes in document order (at most MAX_REPAIR_ERRORS), each with the start of
   * the statement that holds it (the child of a module or block on its path; asking a node for its
   * parent walks down from the root, so this is tracked on the way down instead).
   */
  private errorNodes(root: Node): { node: Node; stmtStart: number }[] {
    const out: { node: Node; stmtStart: number }[] = [];
    const walk = (n: Node, stmtStart: number): void => {
      if (n.isError || n.isMissing) out.push({ node: n, stmtStart });
      if (n.isMissing) return;
      const t = this.typeOf(n);
      const container = t === 'module' || t === 'block';
      for (const c of n.children) {
        if (out.length >= MAX_REPAIR_ERRORS) return;
        if (c.hasError || c.isError || c.isMissing) walk(c, container ? c.startIndex : stmtStart);
      }
    };
    walk(root, 0);
    return out;
  }

  /**
   * Edits that might close a grammar gap, looked for in the statements that hold the tree's errors
   * (from the statement's start to the end of the error's last line).
   */
  private gapCandidates(s: string, root: Node): Patch[] {
    const out: Patch[] = [];
    const regions: [number, number][] = [];
    let scannedTo = 0;
    for (const { node: e, stmtStart } of this.errorNodes(root)) {
      let end = s.indexOf('\n', e.endIndex);
      if (end < 0) end = s.length;
      regions.push([Math.min(stmtStart, e.startIndex), end]);
      if (e.isError) {
        // Errors come in document order; a line inside a logical line already scanned is skipped.
        const line = s.lastIndexOf('\n', e.startIndex - 1) + 1;
        if (line >= scannedTo) scannedTo = Math.max(line + 1, this.continuationCandidates(s, line, out));
      }
    }
    regions.sort((a, b) => a[0] - b[0]);
    let covered = 0;
    // The next `:=` and `*` at or after the region's start (-1: none left), kept across regions so
    // that the text is searched once however many regions there are.
    let walrus = 0;
    let star = 0;
    for (const [a0, b] of regions) {
      const a = Math.max(a0, covered);
      if (a >= b) continue;
      covered = b;
      if (walrus >= 0 && walrus < a) walrus = s.indexOf(':=', a);
      if (star >= 0 && star < a) star = s.indexOf('*', a);
      // `:=` read as a walrus where CPython starts a format spec.
      for (let i = walrus; i >= 0 && i < b; i = walrus = s.indexOf(':=', i + 2)) {
        const tok = root.descendantForIndex(i, i + 2);
        if (!tok || this.typeOf(tok) !== ':=' || tok.startIndex !== i) continue;
        let inInterpolation = false;
        for (let n = tok.parent, k = 0; n && k < 4; n = n.parent, k++) {
          const t = this.typeOf(n);
          if (t === 'interpolation' || t === 'format_expression') {
            inInterpolation = true;
            break;
          }
        }
        if (inInterpolation) out.push({ kind: 'fstring-spec', at: i + 1, edits: [[i + 1, '>']] });
      }
      // A unary star: after `,`, `=` (not a comparison), `[`, a statement start, `return`, `yield`,
      // `in`, `for`; `import *` (of `from __future__`).
      for (let i = star; i >= 0 && i < b; i = star = s.indexOf('*', i + 1)) {
        if (s.charCodeAt(i + 1) === C_STAR || s.charCodeAt(i - 1) === C_STAR) continue;
        let j = i - 1;
        while (j >= 0 && isHorizontalSpace(s.charCodeAt(j))) j--;
        const c = j < 0 ? C_NL : s.charCodeAt(j);
        let kind: PatchKind | null = null;
        if (c === C_COMMA || c === C_NL || c === C_SEMI || c === 91 /* [ */) kind = 'star';
        else if (c === C_EQ) {
          const d = s.charCodeAt(j - 1);
          if (d !== C_EQ && d !== 60 && d !== 62 && d !== 33 && d !== C_COLON) kind = 'star';
        } else if (isIdentChar(c)) {
          let k = j;
          while (k >= 0 && isIdentChar(s.charCodeAt(k))) k--;
          const word = s.slice(k + 1, j + 1);
          if (word === 'return' || word === 'yield' || word === 'in' || word === 'for') kind = 'star';
          else if (word === 'import') kind = 'future-star';
        }
        if (kind === null) continue;
        const tok = root.descendantForIndex(i, i + 1); // a '*' token, not in a string or comment
        if (!tok || this.typeOf(tok) !== '*' || tok.startIndex !== i) continue;
        out.push({ kind, at: i, edits: [[i, kind === 'star' ? ' ' : '_']] });
      }
    }
    return out;
  }

  /**
   * Line breaks inside brackets in the logical line that starts on the line at `lineStart`, where
   * the next code line is indented less than that line: tree-sitter's scanner takes them for a
   * dedent after a token that cannot close the bracket (`(bar.`, `+`, `and`, ...). Brackets are
   * counted in the text (strings and comments skipped), so this works however broken the tree is;
   * the final tree confirms each edit (verifyPatch). CPython ignores line breaks inside brackets,
   * so the edits change nothing for it. Returns where the scan stopped.
   */
  private continuationCandidates(s: string, lineStart: number, out: Patch[]): number {
    let p = lineStart;
    while (isHorizontalSpace(s.charCodeAt(p))) p++;
    const indent = p - lineStart;
    if (indent === 0) return p; // nothing can be indented less
    const n = s.length;
    let depth = 0;
    let comment = -1; // start of the comment on the current line
    let i = p;
    for (let lines = 0; i < n && lines < 10_000; ) {
      const c = s.charCodeAt(i);
      if (c === C_NL) {
        if (depth === 0) break;
        const patch = this.lineBreakPatch(s, i, comment, indent);
        if (patch) out.push(patch);
        comment = -1;
        lines++;
        i++;
      } else if (c === C_HASH) {
        comment = i;
        i = s.indexOf('\n', i);
        if (i < 0) return n;
      } else if (c === C_BACKSLASH) {
        i += 2;
      } else if (isQuote(c) || (isPrefixLetter(c) && literalStartsAt(s, i))) {
        i = literalEnd(s, i);
        if (i < 0) return n;
      } else if (isIdentChar(c)) {
        while (i < n && isIdentChar(s.charCodeAt(i))) i++;
      } else {
        if (c === C_LPAREN || c === 91 || c === 123) depth++;
        else if (c === C_RPAREN || c === 93 || c === 125) {
          if (depth === 0) break;
          depth--;
        }
        i++;
      }
    }
    return i;
  }

  /**
   * For the line break at `nl` (inside brackets; `comment`: where that line's comment starts, or
   * -1): when the next code line is indented less than `indent`, a backslash before every line
   * break up to it, written over a trailing blank, over the line's comment (blanked), or over the
   * following line's first indentation character (the line break moves one to the right); with
   * no room for that, `rotationCandidate`. Null when nothing is needed or possible.
   */
  private lineBreakPatch(s: string, nl: number, comment: number, indent: number): Patch | null {
    const edits: [number, string][] = [];
    let at = nl; // the line break being handled
    let lineComment = comment;
    for (let lines = 0; lines < 64; lines++) {
      const next = at + 1;
      let m = next;
      while (isHorizontalSpace(s.charCodeAt(m))) m++;
      const c = s.charCodeAt(m);
      const code = m < s.length && c !== C_NL && c !== C_HASH;
      if (code && m - next >= indent) return null; // not less indented: no dedent
      if (lineComment >= 0) {
        for (let k = lineComment; k < at - 1; k++) edits.push([k, ' ']);
        edits.push([at - 1, '\\']);
      } else if (at > 0 && isHorizontalSpace(s.charCodeAt(at - 1))) {
        edits.push([at - 1, '\\']);
      } else if (m > next) {
        edits.push([at, '\\'], [next, '\n']);
      } else {
        return lines === 0 && code ? this.rotationCandidate(s, nl) : null;
      }
      if (code) return { kind: 'continuation', at: nl, edits };
      if (m >= s.length) return null;
      // A blank or comment-only line: its line break needs the same.
      lineComment = c === C_HASH ? m : -1;
      at = c === C_HASH ? s.indexOf('\n', m) : m;
      if (at < 0) return null;
    }
    return null;
  }

  /**
   * `X ws T\nR` becomes `X\nT ws R` (same length, same line count): the line break then follows X,
   * after which a bracket may close, so the scanner emits no dedent. T, the last token before the
   * line break, is a keyword or a run of operator characters; it must not run into R as a longer
   * token (`*` + `*b`, `.` + `5`, `and` + `x` without a blank between), nor have been part of a
   * token with X (`1.`).
   */
  private rotationCandidate(s: string, nl: number): Patch | null {
    let t = nl;
    const last = s.charCodeAt(nl - 1);
    const word = isIdentChar(last);
    if (word) {
      while (t > 0 && isIdentChar(s.charCodeAt(t - 1))) t--;
    } else {
      while (t > 0 && ROTATABLE_OPERATOR.includes(s[t - 1])) t--;
    }
    if (t === nl) return null;
    let a = t;
    while (a > 0 && isHorizontalSpace(s.charCodeAt(a - 1))) a--;
    if (a === t && word) return null; // `xand`: T is not a token of its own
    const before = s.charCodeAt(a - 1);
    if (a === t && s.charCodeAt(t) === 46 && before >= 48 && before <= 57) return null; // `1.` is a float
    if (a <= s.lastIndexOf('\n', nl - 1) + 1) return null; // T starts the line
    const r = s.charCodeAt(nl + 1);
    const rWord = isIdentChar(r) || isQuote(r);
    // After an operator: a name, number, string, bracket or unary operator (none of which joins an
    // operator character into a longer token), but no digit after '.'.
    const rOk = rWord || r === C_LPAREN || r === 91 || r === 123 || r === 45 || r === 43 || r === 126;
    if (word ? rWord && a === t : !rOk || (last === 46 && r >= 48 && r <= 57)) return null;
    const moved = `\n${s.slice(t, nl)}${s.slice(a, t)}`;
    const edits: [number, string][] = [];
    for (let k = 0; k < moved.length; k++) edits.push([a + k, moved[k]]);
    return { kind: 'rotation', at: nl, edits };
  }

  /** Whether the edited text's tree confirms that the original construct is valid for CPython. */
  private verifyPatch(p: Patch, s: string, root: Node): boolean {
    switch (p.kind) {
      case 'fstring-spec': {
        // The '=' is now the first character of a format spec of an interpolation with an expression.
        const q = p.at;
        for (let n = root.descendantForIndex(q, q + 1), k = 0; n && k < 3; n = n.parent, k++) {
          if (this.typeOf(n) !== 'format_specifier') continue;
          const holder = n.parent;
          if (n.startIndex !== q - 1 || !holder) return false;
          const t = this.typeOf(holder);
          if (t !== 'interpolation' && t !== 'format_expression') return false;
          const expr = holder.namedChildren[0];
          return !!expr && expr.endIndex <= q - 1 && this.typeOf(expr) !== 'format_specifier';
        }
        return false;
      }
      case 'star':
        return this.starIsValid(s, root, p.at);
      case 'future-star': {
        const name = root.namedDescendantForIndex(p.at);
        const dotted = name?.parent;
        const stmt = dotted?.parent;
        if (!name || !dotted || !stmt || this.typeOf(stmt) !== 'future_import_statement') return false;
        if (dotted.startIndex !== p.at || dotted.endIndex !== p.at + 1) return false;
        // `import *` alone: the name is the statement's last child, right after `import`.
        const kids = stmt.children;
        const last = kids[kids.length - 1];
        const before = kids[kids.length - 2];
        return last.startIndex === p.at && !!before && this.typeOf(before) === 'import';
      }
      case 'rotation': {
        // The moved line break (the first edit) lies between brackets.
        const at = p.edits[0][0];
        const n = root.descendantForIndex(at, at + 1);
        return !!n && this.insideBrackets(n, at, true);
      }
      case 'continuation':
        for (const [at, ch] of p.edits) {
          if (ch !== '\\') continue;
          const n = root.descendantForIndex(at, at + 1);
          if (!n || this.typeOf(n) !== 'line_continuation' || n.startIndex !== at || !this.insideBrackets(n, at)) return false;
        }
        return true;
    }
  }

  /** Whether position `at` lies between the brackets of one of `n`'s ancestors (or of `n`, with `self`), not in an f-string. */
  private insideBrackets(n: Node, at: number, self = false): boolean {
    for (let a = self ? n : n.parent; a; a = a.parent) {
      const t = this.typeOf(a);
      if (t === 'module' || t === 'block' || t === 'interpolation' || t === 'format_expression' || t === 'string') return false;
      let open = false;
      for (const k of a.children) {
        const kt = this.typeOf(k);
        if (!open) {
          if (k.endIndex <= at && (kt === '(' || kt === '[' || kt === '{')) open = true;
        } else if (k.startIndex > at && (kt === ')' || kt === ']' || kt === '}')) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * A star at `at` (now a blank) that CPython's grammar accepts: `'*' bitwise_or` as an element of
   * an unparenthesized tuple or on its own in an assignment (either side), augmented assignment
   * value, return, yield (not `yield from`), expression statement or for header; in a bracketed
   * tuple, list or set; or in a subscript's index.
   */
  private starIsValid(s: string, root: Node, at: number): boolean {
    const o = skipTrivia(s, at + 1, true);
    let e = root.namedDescendantForIndex(o);
    if (!e || e.startIndex !== o) return false;
    for (let p = e.parent; p && p.startIndex === o && !STAR_HOLDERS.has(this.typeOf(p)); p = p.parent) e = p;
    if (NOT_BITWISE_OR.has(this.typeOf(e))) return false;
    const parent = e.parent;
    if (!parent) return false;
    const pt = this.typeOf(parent);
    if (pt === 'expression_list' || pt === 'pattern_list') {
      return !!parent.parent && this.starContextAccepts(parent.parent, parent);
    }
    if (pt === 'tuple' || pt === 'list' || pt === 'set' || pt === 'tuple_pattern' || pt === 'list_pattern') return true;
    if (pt === 'subscript') {
      const value = parent.childForFieldName('value');
      return !!value && e.startIndex >= value.endIndex;
    }
    return this.starContextAccepts(parent, e);
  }

  /** Whether `holder` takes star expressions (CPython's `star_expressions` / `star_targets`) where `x` is. */
  private starContextAccepts(holder: Node, x: Node): boolean {
    const same = (f: Node | null): boolean => !!f && f.startIndex === x.startIndex && f.endIndex === x.endIndex;
    switch (this.typeOf(holder)) {
      case 'assignment':
      case 'for_statement':
        return same(holder.childForFieldName('left')) || same(holder.childForFieldName('right'));
      case 'augmented_assignment':
        return same(holder.childForFieldName('right'));
      case 'return_statement':
      case 'expression_statement':
        return true;
      case 'yield':
        return !holder.children.some((k) => this.typeOf(k) === 'from');
      default:
        return false;
    }
  }

  /**
   * Python 2 (and pre-3.7) syntax that tree-sitter-python accepts but CPython 3 refuses. Each check
   * finds candidates in the text (after a cheap substring test) and confirms them with one tree
   * lookup, which also rules out strings and comments. Returns the earliest confirmed one.
   */
  private python2Error(s: string, root: Node): ExtractError | null {
    let first: ExtractError | null = null;
    let firstAt = Infinity;
    for (const check of PY2_CHECKS) {
      let from = s.indexOf(check.substring);
      if (from < 0 || from >= firstAt) continue;
      const re = check.re;
      const sticky = re.sticky;
      re.lastIndex = 0;
      for (;;) {
        let m: RegExpExecArray | null;
        if (sticky) {
          if (from < 0 || from >= firstAt) break;
          re.lastIndex = from;
          m = re.exec(s);
          from = s.indexOf(check.substring, from + 1);
          if (!m) continue;
        } else {
          m = re.exec(s);
          if (!m || m.index >= firstAt) break;
        }
        if (check.skip && check.skip(m, s)) continue;
        const node = root.namedDescendantForIndex(check.at(m));
        if (node && check.types.includes(this.typeOf(node))) {
          first = { line: node.startPosition.row + 1, message: check.message };
          firstAt = m.index;
          break;
        }
      }
    }
    return first;
  }

  /**
   * CPython's tokenizer checks that tabs and spaces are used consistently (TabError) and that a
   * dedent returns to an enclosing level (IndentationError); tree-sitter's scanner does neither.
   * Run for files that indent with both tabs and spaces: the logical lines are the starts of
   * statements, clauses and decorators, found with a cursor walk over statement-level nodes only.
   */
  private indentationError(s: string, root: Node): ExtractError | null {
    const starts: number[] = [];
    const cursor = root.walk();
    const visit = (containerType: string): void => {
      if (!cursor.gotoFirstChild()) return;
      const statements = containerType === 'module' || containerType === 'block' || containerType === 'decorated_definition';
      do {
        const id = cursor.nodeTypeId;
        if (!this.named[id]) continue;
        const t = this.typeNames[id];
        if (t === 'comment' || t === 'line_continuation') continue;
        if (statements || CLAUSES.has(t)) starts.push(cursor.startIndex);
        if (t === 'block' || STATEMENT_CONTAINERS.has(t)) visit(t);
      } while (cursor.gotoNextSibling());
      cursor.gotoParent();
    };
    try {
      visit('module');
    } finally {
      cursor.delete();
    }
    // CPython: col counts tabs to multiples of 8, altcol counts a tab as 1; both must order alike.
    const cols = [0];
    const alts = [0];
    for (const p of starts) {
      const ls = s.lastIndexOf('\n', p - 1) + 1;
      let col = 0;
      let alt = 0;
      let onlySpace = true;
      for (let i = ls; i < p; i++) {
        const c = s.charCodeAt(i);
        if (c === C_SPACE) {
          col++;
          alt++;
        } else if (c === C_TAB) {
          col = (Math.floor(col / 8) + 1) * 8;
          alt++;
        } else if (c === C_FF) {
          col = 0;
          alt = 0;
        } else {
          onlySpace = false;
          break;
        }
      }
      if (!onlySpace) continue; // not the first token of its line (after ';' or an inline block)
      const top = cols.length - 1;
      const line = lineOf(s, p);
      if (col === cols[top]) {
        if (alt !== alts[top]) return { line, message: 'TabError: inconsistent use of tabs and spaces in indentation' };
      } else if (col > cols[top]) {
        if (alt <= alts[top]) return { line, message: 'TabError: inconsistent use of tabs and spaces in indentation' };
        cols.push(col);
        alts.push(alt);
      } else {
        while (cols.length > 1 && col < cols[cols.length - 1]) {
          cols.pop();
          alts.pop();
        }
        if (col !== cols[cols.length - 1]) return { line, message: 'IndentationError: unindent does not match any outer indentation level' };
        if (alt !== alts[alts.length - 1]) return { line, message: 'TabError: inconsistent use of tabs and spaces in indentation' };
      }
    }
    return null;
  }

  private collect(source: string, root: Node): ExtractResult {
    const functions: ExtractedFunction[] = [];
    const stack: Scope[] = [];
    const n = source.length;
    let decorated: Node | null = null;
    let topLevel: Node[] | null | undefined;
    // Candidates: the first token of every physical line.
    for (let ls = 0; ls < n; ) {
      let nl = source.indexOf('\n', ls);
      if (nl < 0) nl = n;
      let p = ls;
      while (p < nl && isHorizontalSpace(source.charCodeAt(p))) p++;
      const lineStart = ls;
      ls = nl + 1;
      if (p >= nl) continue;
      const c = source.charCodeAt(p);
      let isDef = false;
      let isClass = false;
      if (c === 100 /* d */) {
        isDef = source.startsWith('def', p) && !isIdentChar(source.charCodeAt(p + 3));
      } else if (c === 97 /* a */) {
        isDef = source.startsWith('async', p) && !isIdentChar(source.charCodeAt(p + 5));
      } else if (c === 99 /* c */) {
        isClass = source.startsWith('class', p) && !isIdentChar(source.charCodeAt(p + 5));
      } else if (c !== C_AT) continue;
      if (!isDef && !isClass && c !== C_AT) continue;

      while (stack.length > 0 && stack[stack.length - 1].end <= p) stack.pop();
      const parent = stack.length > 0 ? stack[stack.length - 1] : null;
      // Find the node at p, searching from the innermost enclosing definition; at module level,
      // from the top-level statement that holds p (a binary search when the module is large, so
      // files with tens of thousands of top-level defs stay linear).
      let node: Node | null;
      if (parent) {
        if (parent.block === undefined) parent.block = lastNonTrivia(source, parent.node.children);
        if (parent.kids === undefined) parent.kids = parent.block && parent.block.childCount > BIG_BLOCK ? parent.block.children : null;
        node = parent.kids ? containing(parent.kids, p).namedDescendantForIndex(p) : parent.node.namedDescendantForIndex(p);
      } else {
        if (topLevel === undefined) topLevel = root.childCount > BIG_BLOCK ? root.children : null;
        node = topLevel ? containing(topLevel, p).namedDescendantForIndex(p) : root.namedDescendantForIndex(p);
      }
      if (!node || node.startIndex !== p) continue;
      const typeId = node.typeId;
      if (c === C_AT) {
        if (this.idDecorator.has(typeId) && decorated === null) decorated = node;
        continue;
      }
      if (isDef ? !this.idFunction.has(typeId) : !this.idClass.has(typeId)) continue;

      const end = node.endIndex;
      const first = decorated ?? node;
      decorated = null;

      if (isClass) {
        const nameAt = skipTrivia(source, p + 5, false);
        const name = source.slice(nameAt, identifierEnd(source, nameAt));
        // tree-sitter reads `class` and its name across a line break; CPython refuses that.
        if (!name) return { functions: [], error: { line: lineOf(source, nameAt), message: "invalid syntax: 'class' without a name on its line" } };
        stack.push({ node, end, isClass: true, qualname: parent ? `${parent.qualname}.${name}` : name });
        continue;
      }

      const isAsync = c === 97;
      // Children: [async] def name [type_parameters] parameters [-> type] : [comment] block.
      const kids = node.children;
      // The name, read from the text after `def` (line continuations may sit in between).
      let q = p;
      if (isAsync) q = skipTrivia(source, q + 5, false);
      // tree-sitter reads `async`, `def` and the name across line breaks; CPython refuses that.
      if (isAsync && !(source.startsWith('def', q) && !isIdentChar(source.charCodeAt(q + 3)))) {
        return { functions: [], error: { line: lineOf(source, q), message: "invalid syntax: 'async' and 'def' not on one line" } };
      }
      q = skipTrivia(source, q + 3, false);
      const name = source.slice(q, identifierEnd(source, q));
      if (!name) return { functions: [], error: { line: lineOf(source, q), message: "invalid syntax: 'def' without a name on its line" } };
      let paramsNode: Node | null = null;
      for (let k = 1; k < kids.length; k++) {
        if (source.charCodeAt(kids[k].startIndex) === C_LPAREN) {
          paramsNode = kids[k];
          break;
        }
      }
      const blockNode = lastNonTrivia(source, kids);
      const params = paramsNode ? this.parameters(source, paramsNode) : { args: [], types: [], defaults: [], errorAt: -1, error: '' };
      if (params.errorAt >= 0) {
        return { functions: [], error: { line: lineOf(source, params.errorAt), message: params.error } };
      }
      const qualname = parent ? `${parent.qualname}.${name}` : name;
      const kind: FunctionKind = parent === null ? 'function' : parent.isClass ? 'method' : 'nested';
      stack.push({ node, block: blockNode, end, isClass: false, qualname });

      const startLine = first.startPosition.row + 1;
      const bodyStart = first === node ? lineStart : first.startIndex - first.startPosition.column;
      const bodyEnd = this.trimTrailing(source, root, bodyStart, end);
      const body = source.slice(bodyStart, bodyEnd);
      const digest = digestText(body);
      const nLines = digest.newlines + 1;
      const docstring = blockNode ? docstringAt(source, skipTrivia(source, blockNode.startIndex, true)) : null;
      functions.push({
        qualname,
        name,
        kind,
        is_async: isAsync,
        lang: 'python',
        start_line: startLine,
        end_line: startLine + nLines - 1,
        args: params.args,
        args_types: params.types,
        args_defaults: params.defaults,
        body,
        docstring,
        docstyle: classifyDocstring(docstring),
        n_chars: digest.codePoints,
        n_lines: nLines,
        content_hash: digest.hash,
      });
    }
    return { functions, error: null };
  }

  /**
   * End (exclusive, before the '\n') of the function's last line: the line where tree-sitter's node
   * ends, minus trailing blank and comment-only lines (tree-sitter keeps comments that follow the
   * last statement inside the block; CPython's end_lineno does not count them).
   */
  private trimTrailing(source: string, root: Node, lineStart: number, nodeEnd: number): number {
    let end = source.indexOf('\n', nodeEnd);
    if (end < 0) end = source.length;
    for (;;) {
      const ls = source.lastIndexOf('\n', end - 1) + 1;
      if (ls <= lineStart) return end;
      let p = ls;
      while (p < end && isHorizontalSpace(source.charCodeAt(p))) p++;
      if (p < end) {
        if (source.charCodeAt(p) !== C_HASH) return end;
        // A '#' line with a quote on it might close a multi-line string: ask the tree.
        const line = source.slice(p, end);
        if (line.indexOf('"') >= 0 || line.indexOf("'") >= 0) {
          const at = root.descendantForIndex(p, p + 1);
          if (!at || this.typeOf(at) !== 'comment') return end;
        }
      }
      end = ls - 1;
    }
  }

  /**
   * Parameters from the `parameters` node's children. A parameter's extent runs to the next child
   * (`,`, `)` or a comment); plain names and star parameters are read from the text, annotated or
   * defaulted ones ask the tree for their parts.
   */
  /**
   * The source of an annotation or default that starts with '(': without grouping parentheses, as
   * CPython's ast.get_source_segment gives it (`(a | b)` -> `a | b`); tuples and generator
   * expressions keep theirs.
   */
  private unparenthesized(s: string, node: Node): string {
    let n = node;
    for (;;) {
      const t = this.typeOf(n);
      if (t !== 'type' && t !== 'parenthesized_expression') break;
      const inner = n.namedChildren.filter((k) => !isTriviaAt(s, k.startIndex));
      if (inner.length !== 1) break;
      n = inner[0];
    }
    return s.slice(n.startIndex, n.endIndex);
  }

  private parameters(s: string, paramsNode: Node): Params {
    const out: Params = { args: [], types: [], defaults: [], errorAt: -1, error: '' };
    const open = paramsNode.startIndex;
    // `()` has no parameters: skip the WASM call.
    if (s.charCodeAt(skipTrivia(s, open + 1, true)) === C_RPAREN) return out;
    const fail = (at: number, why: string): Params => {
      out.errorAt = at;
      out.error = why;
      return out;
    };
    // The order rules CPython's parser enforces (tree-sitter's grammar does not).
    let star = false; // after `*` or `*args`
    let bareStar = -1; // a bare `*` not yet followed by a named parameter
    let kwargs = false;
    let defaulted = false; // a positional parameter with a default was seen
    let count = 0;
    const kids = paramsNode.children;
    for (let k = 1; k < kids.length - 1; k++) {
      const kid = kids[k];
      const a = kid.startIndex;
      const c = s.charCodeAt(a);
      if (c === C_COMMA || c === C_HASH || c === C_BACKSLASH) continue; // `,`, comment, line continuation
      const b = trimmedEnd(s, a, kids[k + 1].startIndex);
      if (c === C_LPAREN) return fail(a, 'Python 2 tuple parameter');
      if (kwargs) return fail(a, 'arguments cannot follow var-keyword argument');
      if (b === a + 1 && c === C_SLASH) {
        if (star || count === 0) return fail(a, "'/' must come after at least one positional parameter and before '*'");
        continue;
      }
      if (b === a + 1 && c === C_STAR) {
        if (star) return fail(a, "'*' argument may appear only once");
        star = true;
        bareStar = a;
        continue;
      }
      count++;
      // Plain `name`, `*args`, `**kw`: no ':' or '=' in the text.
      let simple = true;
      for (let i = a; i < b; i++) {
        const ch = s.charCodeAt(i);
        if (ch === C_COLON || ch === C_EQ) {
          simple = false;
          break;
        }
      }
      let name: string;
      let type: string | null = null;
      let value: string | null = null;
      if (simple) {
        name = paramName(s, a);
      } else {
        // name [: type] [= value]
        const parts = kid.children;
        if (parts.length > 0 && s.charCodeAt(parts[0].startIndex) === C_LPAREN) return fail(parts[0].startIndex, 'Python 2 tuple parameter');
        name = parts.length > 0 ? paramName(s, parts[0].startIndex) : '';
        for (let j = 1; j < parts.length; j++) {
          const t = s.charCodeAt(parts[j].startIndex);
          if ((t === C_COLON || t === C_EQ) && j + 1 < parts.length) {
            let v = j + 1;
            while (v < parts.length && isTriviaAt(s, parts[v].startIndex)) v++;
            if (v >= parts.length) break;
            const vs = parts[v].startIndex;
            let ve = b;
            for (let w = v + 1; w < parts.length; w++) {
              const ws = parts[w].startIndex;
              const wc = s.charCodeAt(ws);
              if (wc === C_HASH || wc === C_BACKSLASH || wc === C_EQ) {
                ve = ws;
                break;
              }
            }
            const text = s.charCodeAt(vs) === C_LPAREN ? this.unparenthesized(s, parts[v]) : s.slice(vs, trimmedEnd(s, vs, ve));
            if (t === C_COLON) type = text;
            else value = text;
            j = v;
          }
        }
      }
      if (name.startsWith('**')) {
        if (bareStar >= 0) return fail(bareStar, 'named arguments must follow bare *');
        kwargs = true;
      } else if (name.startsWith('*')) {
        if (star) return fail(a, "'*' argument may appear only once");
        star = true;
      } else if (star) {
        bareStar = -1;
      } else if (value !== null) {
        defaulted = true;
      } else if (defaulted) {
        return fail(a, 'non-default argument follows default argument');
      }
      out.args.push(name);
      out.types.push(type);
      out.defaults.push(value);
    }
    if (bareStar >= 0) return fail(bareStar, 'named arguments must follow bare *');
    return out;
  }

}

type PatchKind = 'fstring-spec' | 'star' | 'future-star' | 'continuation' | 'rotation';

/** A same-length edit of the source that works around a grammar gap (see PythonExtractor.repair). */
interface Patch {
  kind: PatchKind;
  /** The position that names it (the '=', the '*', the line break). */
  at: number;
  /** One UTF-16 code unit replaced by one ASCII character each: [index, replacement]. */
  edits: [number, string][];
}

/** Operator characters a dangling token at a line end may be made of (see rotationCandidate). */
const ROTATABLE_OPERATOR = '+-*/%@&|^~<>=!.:';

/** Rounds of edit-and-parse before a file with tree errors is given up. */
const MAX_REPAIR_ROUNDS = 12;

/** Errors looked at per round (a file with many gaps is repaired in one round). */
const MAX_REPAIR_ERRORS = 20_000;

/** The source with the patches' edits applied (same length). */
function applyPatches(source: string, patches: Patch[]): string {
  const edits = patches.flatMap((p) => p.edits).sort((a, b) => a[0] - b[0]);
  let out = '';
  let from = 0;
  for (const [at, ch] of edits) {
    if (at < from) continue; // the same position edited twice (always to the same character)
    out += source.slice(from, at) + ch;
    from = at + 1;
  }
  return out + source.slice(from);
}

/** Nodes a starred element sits in directly (see starIsValid). */
const STAR_HOLDERS = new Set([
  'expression_list', 'pattern_list', 'tuple', 'list', 'set', 'tuple_pattern', 'list_pattern', 'subscript',
  'assignment', 'augmented_assignment', 'return_statement', 'expression_statement', 'yield', 'for_statement',
]);

/** Expressions above `bitwise_or` in CPython's grammar: `*` cannot take them without parentheses. */
const NOT_BITWISE_OR = new Set([
  'not_operator', 'boolean_operator', 'comparison_operator', 'lambda', 'conditional_expression', 'named_expression', 'yield',
]);

/** Statement-level nodes whose children hold further logical lines (blocks and clauses). */
const STATEMENT_CONTAINERS = new Set([
  'if_statement', 'for_statement', 'while_statement', 'try_statement', 'with_statement', 'match_statement',
  'function_definition', 'class_definition', 'decorated_definition', 'elif_clause', 'else_clause',
  'except_clause', 'except_group_clause', 'finally_clause', 'case_clause',
]);

/** Clauses that start their own logical line. */
const CLAUSES = new Set(['elif_clause', 'else_clause', 'except_clause', 'except_group_clause', 'finally_clause', 'case_clause']);

/** Whether some lines are indented with a tab and others with a space (the only files that can raise TabError). */
function mixesTabsAndSpaces(s: string): boolean {
  const tab = s.charCodeAt(0) === C_TAB || s.indexOf('\n\t') >= 0;
  return tab && (s.charCodeAt(0) === C_SPACE || s.indexOf('\n ') >= 0);
}

/** Containers with more children than this are binary-searched instead of scanned by tree-sitter. */
const BIG_BLOCK = 64;

/** The last child that is not a comment or line continuation (a definition's block). */
function lastNonTrivia(source: string, kids: Node[]): Node | null {
  for (let k = kids.length - 1; k >= 0; k--) {
    if (!isTriviaAt(source, kids[k].startIndex)) return kids[k];
  }
  return null;
}

/** The last of `nodes` (sorted, disjoint) that starts at or before `p`. */
function containing(nodes: Node[], p: number): Node {
  let lo = 0;
  let hi = nodes.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (nodes[mid].startIndex <= p) lo = mid;
    else hi = mid - 1;
  }
  return nodes[lo];
}

function lineOf(source: string, index: number): number {
  let line = 1;
  for (let i = source.indexOf('\n'); i >= 0 && i < index; i = source.indexOf('\n', i + 1)) line++;
  return line;
}
