// Python function extractor: web-tree-sitter (tree-sitter-python) -> ExtractedFunction[].
//
// Runs unchanged in Node and in browser workers. The hot path is built to cross the JS/WASM boundary
// as little as possible: one Parser and one Query are reused for every file; the Query finds the
// definitions inside WASM in a single pass, so no JS object is created for ordinary syntax nodes; names,
// async-ness, line spans, bodies and the docstring pre-check come from the source text; the tree is
// asked again only for parameters, docstring candidates and rare trailing-comment cases; each tree
// is deleted after use.
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
//     args_types/args_defaults are the annotation/default source text as written, null where none.
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
//     Python 2 constructs that tree-sitter-python accepts but CPython 3 rejects count as errors:
//     print and exec statements and tuple parameters. NUL characters are errors too.
import { Language, type Node, Parser, Query, type QueryMatch } from 'web-tree-sitter';
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

const QUERY_SOURCE = `
(decorated_definition) @dec
(class_definition name: (_) @cname) @cls
(function_definition name: (_) @fname parameters: (_) @params body: (_) @body) @fn
(print_statement) @py2
(exec_statement) @py2
(parameters (tuple_pattern) @py2)
(lambda_parameters (tuple_pattern) @py2)
(default_parameter name: (tuple_pattern) @py2)
`;

// Pattern indices in QUERY_SOURCE.
const P_DEC = 0;
const P_CLS = 1;
const P_FN = 2;

const ITEM_DEC = 0;
const ITEM_CLS = 1;
const ITEM_FN = 2;

interface Item {
  type: number;
  start: number;
  node: Node;
  a: Node | null; // name
  b: Node | null; // parameters
  c: Node | null; // body
}

interface Scope {
  end: number;
  isClass: boolean;
  qualname: string;
}

let initPromise: Promise<void> | null = null;

function initRuntime(runtimeWasmUrl?: string): Promise<void> {
  if (!initPromise) {
    initPromise = runtimeWasmUrl
      ? Parser.init({ locateFile: (path: string, prefix: string) => (path.endsWith('.wasm') ? runtimeWasmUrl : prefix + path) })
      : Parser.init();
  }
  return initPromise;
}

function isHorizontalSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 12;
}

function isQuote(c: number): boolean {
  return c === 34 || c === 39;
}

function isPrefixLetter(c: number): boolean {
  // r R u U b B f F
  return c === 114 || c === 82 || c === 117 || c === 85 || c === 98 || c === 66 || c === 102 || c === 70;
}

/** End of the identifier that starts at `i` (definitions' names are followed by `(`, `:`, `[` or space). */
function identifierEnd(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 40 || c === 58 || c === 91 || c === 92 || c === 35 || c === 44 || c === 41 || c === 61 || c <= 32) break;
    if (c >= 0x80 && /\s/.test(s[i])) break;
    i++;
  }
  return i;
}

export class PythonExtractor {
  private readonly parser: Parser;
  private readonly query: Query;
  private readonly typeNames: string[];

  private constructor(language: Language) {
    this.parser = new Parser();
    this.parser.setLanguage(language);
    this.query = new Query(language, QUERY_SOURCE);
    this.typeNames = [];
    for (let id = 0; id < language.nodeTypeCount; id++) this.typeNames.push(language.nodeTypeForId(id) ?? '');
  }

  /** Loads the runtime (once per thread) and the grammar; the extractor is then reusable. */
  static async create(opts: PythonExtractorOptions): Promise<PythonExtractor> {
    await initRuntime(opts.runtimeWasmUrl);
    const language = await Language.load(opts.grammarWasm);
    return new PythonExtractor(language);
  }

  /** Frees the parser and query (WASM memory). The extractor must not be used afterwards. */
  delete(): void {
    this.query.delete();
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
    const tree = this.parser.parse(source);
    if (!tree) return { functions: [], error: { line: 1, message: 'parser gave no tree' } };
    try {
      const root = tree.rootNode;
      if (root.hasError) return { functions: [], error: this.firstError(root) };
      const matches = this.query.matches(root);
      return this.collect(source, root, matches);
    } finally {
      tree.delete();
    }
  }

  private firstError(root: Node): ExtractError {
    let node: Node = root;
    for (;;) {
      if (node.isMissing) return { line: node.startPosition.row + 1, message: `missing '${this.typeOf(node)}'` };
      if (node.isError) {
        const line = node.startPosition.row + 1;
        const text = node.text;
        const snippet = text.length > 40 ? `${text.slice(0, 40)}...` : text;
        return { line, message: `invalid syntax near ${JSON.stringify(snippet.split('\n')[0])}` };
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

  private collect(source: string, root: Node, matches: QueryMatch[]): ExtractResult {
    const items: Item[] = [];
    let py2: { line: number; message: string; start: number } | null = null;
    for (const m of matches) {
      const caps = m.captures;
      if (m.patternIndex === P_DEC) {
        const node = caps[0].node;
        items.push({ type: ITEM_DEC, start: node.startIndex, node, a: null, b: null, c: null });
      } else if (m.patternIndex === P_CLS) {
        let node: Node | null = null;
        let name: Node | null = null;
        for (const c of caps) {
          if (c.name === 'cls') node = c.node;
          else name = c.node;
        }
        if (node && name) items.push({ type: ITEM_CLS, start: node.startIndex, node, a: name, b: null, c: null });
      } else if (m.patternIndex === P_FN) {
        let node: Node | null = null;
        let name: Node | null = null;
        let params: Node | null = null;
        let body: Node | null = null;
        for (const c of caps) {
          switch (c.name) {
            case 'fn':
              node = c.node;
              break;
            case 'fname':
              name = c.node;
              break;
            case 'params':
              params = c.node;
              break;
            default:
              body = c.node;
          }
        }
        if (node && name && params && body) items.push({ type: ITEM_FN, start: node.startIndex, node, a: name, b: params, c: body });
      } else {
        const node = caps[0].node;
        if (!py2 || node.startIndex < py2.start) {
          const t = this.typeOf(node);
          const what = t === 'print_statement' ? 'print statement' : t === 'exec_statement' ? 'exec statement' : 'tuple parameter';
          py2 = { line: node.startPosition.row + 1, message: `Python 2 ${what}`, start: node.startIndex };
        }
      }
    }
    if (py2) return { functions: [], error: { line: py2.line, message: py2.message } };
    items.sort((x, y) => x.start - y.start);

    const functions: ExtractedFunction[] = [];
    const stack: Scope[] = [];
    let dec: Node | null = null;
    for (const it of items) {
      if (it.type === ITEM_DEC) {
        dec = it.node;
        continue;
      }
      const node = it.node;
      const start = it.start;
      while (stack.length > 0 && stack[stack.length - 1].end <= start) stack.pop();
      const parent = stack.length > 0 ? stack[stack.length - 1] : null;
      const nameNode = it.a as Node;
      const name = source.slice(nameNode.startIndex, identifierEnd(source, nameNode.startIndex));
      const qualname = parent ? `${parent.qualname}.${name}` : name;
      const end = node.endIndex;
      const first = dec ?? node;
      dec = null;
      stack.push({ end, isClass: it.type === ITEM_CLS, qualname });
      if (it.type === ITEM_CLS) continue;

      const kind: FunctionKind = parent === null ? 'function' : parent.isClass ? 'method' : 'nested';
      const startLine = first.startPosition.row + 1;
      const lineStart = first.startIndex - first.startPosition.column;
      const bodyEnd = this.trimTrailing(source, root, lineStart, end);
      const body = source.slice(lineStart, bodyEnd);
      const digest = digestText(body);
      const nLines = digest.newlines + 1;
      const docstring = this.docstring(source, it.c as Node);
      const params = this.parameters(source, it.b as Node);
      functions.push({
        qualname,
        name,
        kind,
        is_async: source.startsWith('async', start),
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
        if (source.charCodeAt(p) !== 35 /* # */) return end;
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

  /** The function's docstring (cleaned), or null. `block` is the function's body node. */
  private docstring(source: string, block: Node): string | null {
    // Text pre-check: most functions do not start with a string; decide those without the tree.
    let p = block.startIndex;
    const n = source.length;
    for (;;) {
      const c = source.charCodeAt(p);
      if (c === 32 || c === 9 || c === 12 || c === 10) p++;
      else if (c === 35) {
        const nl = source.indexOf('\n', p);
        if (nl < 0) return null;
        p = nl + 1;
      } else if (c === 92 && source.charCodeAt(p + 1) === 10) p += 2;
      else break;
      if (p >= n) return null;
    }
    const c0 = source.charCodeAt(p);
    if (!(isQuote(c0) || c0 === 40 || (isPrefixLetter(c0) && (isQuote(source.charCodeAt(p + 1)) || (isPrefixLetter(source.charCodeAt(p + 1)) && isQuote(source.charCodeAt(p + 2))))))) {
      return null;
    }
    // Ask the tree: the first statement must be an expression statement holding only a str constant.
    let stmt = block.firstNamedChild;
    while (stmt && this.typeOf(stmt) === 'comment') stmt = stmt.nextNamedSibling;
    if (!stmt || this.typeOf(stmt) !== 'expression_statement') return null;
    let expr = this.onlyChild(stmt);
    while (expr && this.typeOf(expr) === 'parenthesized_expression') {
      const kids = expr.namedChildren.filter((k) => this.typeOf(k) !== 'comment');
      expr = kids.length === 1 ? kids[0] : null;
    }
    if (!expr) return null;
    const t = this.typeOf(expr);
    let parts: string[];
    if (t === 'string') parts = [source.slice(expr.startIndex, expr.endIndex)];
    else if (t === 'concatenated_string') {
      parts = [];
      for (const k of expr.namedChildren) {
        if (this.typeOf(k) === 'string') parts.push(source.slice(k.startIndex, k.endIndex));
      }
    } else return null;
    const value = evaluateStrConcatenation(parts);
    return value === null ? null : cleandoc(value);
  }

  /** The single non-comment child of `node`, if it has exactly one and it is named. */
  private onlyChild(node: Node): Node | null {
    let only: Node | null = null;
    for (const k of node.children) {
      if (!k.isNamed) return null;
      if (this.typeOf(k) === 'comment') continue;
      if (only) return null;
      only = k;
    }
    return only;
  }

  private parameters(source: string, params: Node): { args: string[]; types: (string | null)[]; defaults: (string | null)[] } {
    const args: string[] = [];
    const types: (string | null)[] = [];
    const defaults: (string | null)[] = [];
    // `()` has no named children: skip the WASM call.
    if (source.charCodeAt(params.startIndex + 1) === 41 /* ) */) return { args, types, defaults };
    const text = (k: Node): string => source.slice(k.startIndex, k.endIndex);
    const ident = (k: Node): string => source.slice(k.startIndex, identifierEnd(source, k.startIndex));
    const starred = (k: Node): string => {
      // list_splat_pattern / dictionary_splat_pattern: stars, optional space, identifier.
      const t = this.typeOf(k);
      const id = k.namedChildren.find((x) => this.typeOf(x) !== 'comment');
      const prefix = t === 'dictionary_splat_pattern' ? '**' : '*';
      return prefix + (id ? ident(id) : '');
    };
    for (const p of params.namedChildren) {
      const t = this.typeOf(p);
      switch (t) {
        case 'identifier':
          args.push(ident(p));
          types.push(null);
          defaults.push(null);
          break;
        case 'list_splat_pattern':
        case 'dictionary_splat_pattern':
          args.push(starred(p));
          types.push(null);
          defaults.push(null);
          break;
        case 'typed_parameter': {
          let nm = '';
          let ty: string | null = null;
          for (const k of p.namedChildren) {
            const kt = this.typeOf(k);
            if (kt === 'type') ty = text(k);
            else if (kt === 'identifier') nm = ident(k);
            else if (kt === 'list_splat_pattern' || kt === 'dictionary_splat_pattern') nm = starred(k);
          }
          args.push(nm);
          types.push(ty);
          defaults.push(null);
          break;
        }
        case 'default_parameter':
        case 'typed_default_parameter': {
          const nm = p.childForFieldName('name');
          const ty = t === 'typed_default_parameter' ? p.childForFieldName('type') : null;
          const val = p.childForFieldName('value');
          args.push(nm ? ident(nm) : '');
          types.push(ty ? text(ty) : null);
          defaults.push(val ? text(val) : null);
          break;
        }
        default:
          // keyword_separator (`*`), positional_separator (`/`), comments: not parameters.
          break;
      }
    }
    return { args, types, defaults };
  }
}

function lineOf(source: string, index: number): number {
  let line = 1;
  for (let i = source.indexOf('\n'); i >= 0 && i < index; i = source.indexOf('\n', i + 1)) line++;
  return line;
}
