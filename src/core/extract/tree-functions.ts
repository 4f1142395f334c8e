// The engine behind the non-Python extractors (JavaScript/TypeScript, Go, Java, Ruby, Rust): one
// web-tree-sitter parse per file, one `descendantsOfType` call (a walk inside WASM, not node by node
// from JS) for the language's function and scope node types, then a scope stack in document order.
// Each language's own file (javascript.ts, go.ts, java.ts, ruby.ts, rust.ts) says which node types
// are functions and scopes, how to name them, how to read parameters and which doc comments count.
//
// Choices shared by every language (documented for users of the data set):
//   - Source text: a leading BOM is dropped and line endings become '\n' before parsing.
//   - body: whole lines from the declaration's first line (its first decorator/annotation/attribute,
//     or `export`/`const x =` when the function is a value) to the function's last line, as written;
//     start_line/end_line are those lines (1-based). Doc comments above are not part of the body.
//   - kind: 'method' when the nearest enclosing scope is a class-like one (class, interface, enum,
//     record, object literal, impl, trait, Ruby class/module/singleton class) or a Go receiver;
//     'nested' when it is a function (anonymous ones included); else 'function'.
//   - qualname: the names of the enclosing named scopes (classes, modules, namespaces, impls,
//     traits, named functions) and the function's name, joined by '.'. Anonymous scopes add nothing.
//   - Anonymous functions (callbacks, closures, lambdas) are not extracted; they still make the
//     functions declared inside them 'nested'. Declarations without bodies (interface methods,
//     abstract methods, overload signatures, trait/extern signatures) are not extracted.
//   - docstring: the language's doc comment directly above the declaration (blank lines between
//     are allowed for JSDoc, Javadoc and Rust docs, as their tools allow them; not for Go and Ruby),
//     markers removed, then dedented and trimmed; null when there is none.
//   - error: the first ERROR or MISSING node, or null. Unlike Python (where a file with a syntax error
//     yields nothing, as CPython refuses it), the functions tree-sitter still recognised are returned
//     alongside the error: these grammars recover locally and lag behind new syntax.
import { type Language, type Node, Parser } from 'web-tree-sitter';
import type { ExtractedFunction, FunctionKind } from '../data/schema.ts';
import { classifyDocstring } from '../text/docstyle.ts';
import { digestText } from '../util/hash.ts';
import type { ExtractError, ExtractResult } from './python.ts';
import { cleandoc } from './python-strings.ts';

export interface Params {
  args: string[];
  types: (string | null)[];
  defaults: (string | null)[];
}

export const NO_PARAMS: Params = { args: [], types: [], defaults: [] };

export interface FunctionSite {
  /** null: an anonymous function; not extracted, but a scope that makes inner functions 'nested'. */
  name: string | null;
  /** Names put between the enclosing scopes and the name (a Go receiver type, `Foo` of Foo.prototype.bar). */
  qualPrefix?: string[];
  /** A kind decided by the language (Go methods, prototype assignments); else from the scope stack. */
  kind?: FunctionKind;
  isAsync: boolean;
  /** Parameters; computed only for named functions. */
  params: () => Params;
  /** The node where the declaration starts: first decorator/attribute, export or variable statement. */
  anchor: Node;
}

export interface ScopeSite {
  name: string | null;
  /** Class-like (functions inside are methods) rather than a module/namespace. */
  isClass: boolean;
}

export type DocCommentStyle =
  // JSDoc / Javadoc: `/** ... */`; blank lines may separate it from the declaration (as TypeScript
  // and javadoc attach it), but a file header (`@license`, `@file`, `@module`...) is not a doc.
  | { kind: 'block' }
  | {
      kind: 'lines';
      /** What each doc line starts with after indentation (`//`, `#`, `///`). */
      prefix: string;
      /** Lines that start with the prefix but are not doc lines (`////`, `#!`): they end the block. */
      exclude?: RegExp;
      /** A block comment with this opening (`/*` for Go, `/**` for Rust) ending on the line above also counts. */
      block?: string;
      /** Lines kept out of the text but not ending the block (Go's `//go:` directives). */
      directive?: RegExp;
      /** Remove only the first space after the prefix (Go) instead of dedenting (cleandoc). */
      keepIndent?: boolean;
      /** Blank lines may separate the doc from the declaration (Rust: `///` is an attribute). */
      blankLinesOk?: boolean;
    };

const FILE_HEADER_TAG = /@(license|preserve|file|fileoverview|overview|module|copyright)\b/;

export interface LanguageRules {
  /** The `lang` column value. */
  lang: string;
  functionTypes: readonly string[];
  scopeTypes: readonly string[];
  /** Functions and scopes only occur as children of the root (Go): no tree walk needed. */
  topLevelOnly?: boolean;
  /** A function node with a body, described; null when it is not one after all. */
  fn(node: Node): FunctionSite | null;
  /** A scope node, described; null when it is not a scope after all. */
  scope(node: Node): ScopeSite | null;
  doc: DocCommentStyle;
}

interface Frame {
  end: number;
  name: string | null;
  type: 'class' | 'module' | 'function';
}

/** Offsets where each line starts. */
function lineStarts(s: string): number[] {
  const out = [0];
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

function lineEnd(s: string, starts: number[], row: number): number {
  return row + 1 < starts.length ? starts[row + 1] - 1 : s.length;
}

/** Cuts a type's generic arguments, references and paths down to its name (`&'a mut foo::Bar<T>` -> `Bar`). */
export function bareTypeName(text: string): string {
  let t = text.trim().replace(/^(&\s*('\w+\s*)?(mut\s+)?|\*+|dyn\s+|impl\s+)+/, '');
  const lt = t.indexOf('<');
  if (lt > 0) t = t.slice(0, lt);
  const br = t.indexOf('[');
  if (br > 0) t = t.slice(0, br);
  const parts = t.split(/::|\./);
  return parts[parts.length - 1].trim() || text.trim();
}

/** Text of a type annotation node without its leading ':' (TypeScript) . */
export function annotationText(node: Node | null): string | null {
  if (!node) return null;
  const t = node.text;
  return t.startsWith(':') ? t.slice(1).trim() : t.trim();
}

function firstError(root: Node): ExtractError {
  let node = root;
  for (let depth = 0; depth < 10_000; depth++) {
    let next: Node | null = null;
    for (const child of node.children) {
      if (!child) continue;
      if (child.isMissing) return { line: child.startPosition.row + 1, message: `missing ${child.type}` };
      if (child.isError) {
        const text = child.text.split('\n')[0].slice(0, 40);
        return { line: child.startPosition.row + 1, message: `syntax error at '${text}'` };
      }
      if (child.hasError) {
        next = child;
        break;
      }
    }
    if (!next) break;
    node = next;
  }
  return { line: root.startPosition.row + 1, message: 'syntax error' };
}

/** Trims blank lines at both ends; dedents (cleandoc) unless told to keep indentation. */
function tidy(lines: string[], keepIndent: boolean): string | null {
  const trimmed = lines.map((l) => l.trimEnd());
  const text = keepIndent ? trimmed.join('\n') : cleandoc(trimmed.join('\n'));
  const out = keepIndent ? text.replace(/^\n+/, '').replace(/\n+$/, '') : text;
  return out.trim() === '' ? null : out;
}

/** Cleans the inside of a `/** ... *\/` comment: the leading `*` of each line goes. */
export function cleanBlockComment(comment: string): string | null {
  let body = comment.replace(/^\/\*+/, '').replace(/\*+\/$/, '');
  const lines = body.split('\n').map((line, i) => {
    const m = /^\s*\*(?!\/)\s?/.exec(line);
    if (m && (i > 0 || line.trimStart().startsWith('*'))) return line.slice(m[0].length);
    return i === 0 ? line.trimStart() : line;
  });
  body = lines.join('\n');
  return tidy(body.split('\n'), false);
}

export class TreeFunctionExtractor {
  private readonly parser: Parser;
  private readonly rules: LanguageRules;
  private readonly types: string[];
  private readonly functionTypes: Set<string>;
  private readonly scopeTypes: Set<string>;

  constructor(language: Language, rules: LanguageRules) {
    this.parser = new Parser();
    this.parser.setLanguage(language);
    this.rules = rules;
    this.functionTypes = new Set(rules.functionTypes);
    this.scopeTypes = new Set(rules.scopeTypes);
    this.types = [...rules.functionTypes, ...rules.scopeTypes];
  }

  delete(): void {
    this.parser.delete();
  }

  extract(input: string): ExtractResult {
    let source = input;
    if (source.charCodeAt(0) === 0xfeff) source = source.slice(1);
    if (source.indexOf('\r') >= 0) source = source.replace(/\r\n?/g, '\n');
    const tree = this.parser.parse(source);
    if (!tree) return { functions: [], error: { line: 1, message: 'parser gave no tree' } };
    try {
      const root = tree.rootNode;
      const error = root.hasError ? firstError(root) : null;
      const nodes = this.rules.topLevelOnly ? root.namedChildren : root.descendantsOfType(this.types);
      const starts = lineStarts(source);
      const stack: Frame[] = [];
      const functions: ExtractedFunction[] = [];
      for (const node of nodes) {
        if (!node) continue;
        const begin = node.startIndex;
        while (stack.length > 0 && stack[stack.length - 1].end <= begin) stack.pop();
        const type = node.type;
        if (this.scopeTypes.has(type)) {
          const s = this.rules.scope(node);
          if (s) stack.push({ end: node.endIndex, name: s.name, type: s.isClass ? 'class' : 'module' });
          continue;
        }
        if (!this.functionTypes.has(type)) continue;
        const site = this.rules.fn(node);
        if (!site) continue;
        const parent = stack.length > 0 ? stack[stack.length - 1] : null;
        const names: string[] = [];
        for (const f of stack) if (f.name !== null) names.push(f.name);
        if (site.qualPrefix) names.push(...site.qualPrefix);
        stack.push({ end: node.endIndex, name: site.name, type: 'function' });
        if (site.name === null) continue;
        names.push(site.name);
        const kind: FunctionKind = site.kind ?? (parent === null ? 'function' : parent.type === 'function' ? 'nested' : parent.type === 'class' ? 'method' : 'function');
        const startRow = Math.min(site.anchor.startPosition.row, node.startPosition.row);
        let endRow = node.endPosition.row;
        if (node.endPosition.column === 0 && endRow > startRow) endRow--;
        const body = source.slice(starts[startRow], lineEnd(source, starts, endRow));
        const digest = digestText(body);
        // A doc comment belongs to a declaration that starts its line (not `m() { const g = ...`).
        const anchorStart = Math.min(site.anchor.startIndex, begin);
        const startsLine = source.slice(starts[startRow], anchorStart).trim() === '';
        const docstring = startsLine ? this.docComment(source, root, starts, startRow) : null;
        const params = site.params();
        functions.push({
          qualname: names.join('.'),
          name: site.name,
          kind,
          is_async: site.isAsync,
          lang: this.rules.lang,
          start_line: startRow + 1,
          end_line: endRow + 1,
          args: params.args,
          args_types: params.types,
          args_defaults: params.defaults,
          body,
          docstring,
          docstyle: classifyDocstring(docstring),
          n_chars: digest.codePoints,
          n_lines: endRow - startRow + 1,
          content_hash: digest.hash,
        });
      }
      return { functions, error };
    } finally {
      tree.delete();
    }
  }

  /** Whether offset `at` lies in a comment node (not in a string or heredoc that looks like one). */
  /** The comment node covering offset `at`, if any (not a string or heredoc that looks like one). */
  private commentAt(root: Node, at: number): Node | null {
    let n = root.descendantForIndex(at, at);
    // The smallest node there may be a marker token inside the comment (Rust's `//` of `///`).
    for (let k = 0; n !== null && k < 3; k++, n = n.parent) if (n.type.includes('comment')) return n;
    return null;
  }

  private isComment(root: Node, at: number): boolean {
    return this.commentAt(root, at) !== null;
  }

  /** The doc comment directly above the line `row` (the declaration's first line), cleaned. */
  private docComment(s: string, root: Node, starts: number[], row: number): string | null {
    if (row === 0) return null;
    const style = this.rules.doc;
    let above = row - 1;
    if (style.kind === 'block' || style.blankLinesOk) {
      while (above > 0 && s.slice(starts[above], lineEnd(s, starts, above)).trim() === '') above--;
    }
    const aboveText = s.slice(starts[above], lineEnd(s, starts, above));
    const blockOpen = style.kind === 'block' ? '/**' : style.block;
    if (blockOpen) {
      const trimmed = aboveText.trimEnd();
      if (trimmed.endsWith('*/')) {
        const endAt = starts[above] + trimmed.length;
        // The comment's start from the tree: its text may itself contain '/*' (`glob('a/*')`).
        const node = this.commentAt(root, endAt - 1);
        if (!node || node.endIndex !== endAt) return null;
        const open = node.startIndex;
        const comment = s.slice(open, endAt);
        // The comment must start its own line and be one comment (not `/* a */ x /* b */`).
        const lineBegin = s.lastIndexOf('\n', open - 1) + 1;
        if (s.slice(lineBegin, open).trim() !== '') return null;
        if (!comment.startsWith(blockOpen) || comment.startsWith('/**/')) return null;
        if (style.kind === 'block' && FILE_HEADER_TAG.test(comment)) return null;
        return cleanBlockComment(comment);
      }
      if (style.kind === 'block') return null;
    }
    if (style.kind !== 'lines') return null;
    const lines: string[] = [];
    let first = -1;
    for (let r = above; r >= 0; r--) {
      const text = s.slice(starts[r], lineEnd(s, starts, r));
      const lead = text.length - text.trimStart().length;
      const rest = text.slice(lead);
      if (!rest.startsWith(style.prefix) || (style.exclude && style.exclude.test(rest))) break;
      first = starts[r] + lead;
      if (style.directive && style.directive.test(rest)) continue;
      let line = rest.slice(style.prefix.length);
      if (style.keepIndent && line.startsWith(' ')) line = line.slice(1);
      lines.push(line);
    }
    if (first < 0 || !this.isComment(root, first)) return null;
    lines.reverse();
    return tidy(lines, style.keepIndent === true);
  }
}
