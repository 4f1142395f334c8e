// Python string literals as CPython evaluates them, and `inspect.cleandoc`: what a docstring's text
// is. Pure functions over source text; no tree-sitter here.
//
// Evaluation follows the language reference (3.11): prefixes r/u/b/f in any case and order, single or
// triple quotes, and for non-raw literals the escapes \<newline> \\ \' \" \a \b \f \n \r \t \v \ooo
// \xhh and, in str literals, \uXXXX \UXXXXXXXX \N{NAME}. JavaScript has no Unicode name table, so
// \N{NAME} is kept as written (the only escape not resolved). Unknown escapes keep their backslash,
// as CPython does (with a DeprecationWarning).

/** What a single literal is, once its prefix is read. */
export type LiteralKind = 'str' | 'bytes' | 'fstring';

export interface EvaluatedLiteral {
  kind: LiteralKind;
  /** The value for str literals; for bytes and f-strings the raw body (they are never docstrings). */
  value: string;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

function isOctal(c: number): boolean {
  return c >= 48 && c <= 55;
}

function hexRun(s: string, at: number, n: number): number {
  if (at + n > s.length) return -1;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(at + k);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Resolves backslash escapes in the body of a non-raw str literal. */
export function unescapeStr(body: string): string {
  let i = body.indexOf('\\');
  if (i < 0) return body;
  let out = body.slice(0, i);
  const n = body.length;
  while (i < n) {
    if (body.charCodeAt(i) !== 92 /* \\ */) {
      // Copy a run of ordinary characters at once.
      const next = body.indexOf('\\', i);
      const end = next < 0 ? n : next;
      out += body.slice(i, end);
      i = end;
      continue;
    }
    if (i + 1 >= n) {
      out += '\\';
      break;
    }
    const e = body[i + 1];
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    if (e === '\n') {
      i += 2;
      continue;
    }
    const ec = body.charCodeAt(i + 1);
    if (isOctal(ec)) {
      let v = ec - 48;
      let j = i + 2;
      while (j < n && j < i + 4 && isOctal(body.charCodeAt(j))) {
        v = v * 8 + (body.charCodeAt(j) - 48);
        j++;
      }
      out += String.fromCodePoint(v);
      i = j;
      continue;
    }
    if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const v = hexRun(body, i + 2, len);
      if (v >= 0 && v <= 0x10ffff) {
        out += String.fromCodePoint(v);
        i += 2 + len;
        continue;
      }
      // Invalid (CPython raises SyntaxError); keep the text.
      out += body.slice(i, i + 2);
      i += 2;
      continue;
    }
    // \N{NAME} is kept as written; so is any unknown escape.
    out += '\\' + e;
    i += 2;
  }
  return out;
}

/**
 * Evaluates one literal as written in source (`r'''x'''`, `"a\tb"`, `f"{x}"` ...). Returns null when
 * the text is not a string literal.
 */
export function evaluateLiteral(text: string): EvaluatedLiteral | null {
  let i = 0;
  let raw = false;
  let bytes = false;
  let fstr = false;
  while (i < text.length && i < 3) {
    const c = text[i];
    if (c === 'r' || c === 'R') raw = true;
    else if (c === 'b' || c === 'B') bytes = true;
    else if (c === 'f' || c === 'F') fstr = true;
    else if (c !== 'u' && c !== 'U') break;
    i++;
  }
  const q = text[i];
  if (q !== '"' && q !== "'") return null;
  const triple = text.length - i >= 6 && text[i + 1] === q && text[i + 2] === q;
  const ql = triple ? 3 : 1;
  if (text.length - i < 2 * ql) return null;
  const body = text.slice(i + ql, text.length - ql);
  const kind: LiteralKind = fstr ? 'fstring' : bytes ? 'bytes' : 'str';
  if (kind !== 'str') return { kind, value: body };
  return { kind, value: raw ? body : unescapeStr(body) };
}

/**
 * The value of an implicitly concatenated sequence of literals, if it is a str constant (what
 * CPython accepts as a docstring); null if any part is an f-string or bytes, or not a literal.
 */
export function evaluateStrConcatenation(parts: readonly string[]): string | null {
  let out = '';
  for (const p of parts) {
    const lit = evaluateLiteral(p);
    if (!lit || lit.kind !== 'str') return null;
    out += lit.value;
  }
  return out;
}

/** Python's `str.isspace` for one UTF-16 code unit (every Python whitespace character is in the BMP). */
export function isPySpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Python's `str.expandtabs(8)`: columns count code points and restart after '\n' and '\r'. */
export function expandTabs(s: string, tabsize = 8): string {
  if (s.indexOf('\t') < 0) return s;
  let out = '';
  let col = 0;
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 9) {
      out += s.slice(runStart, i);
      const pad = tabsize > 0 ? tabsize - (col % tabsize) : 0;
      out += ' '.repeat(pad);
      col += pad;
      runStart = i + 1;
    } else if (c === 10 || c === 13) {
      col = 0;
    } else if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (!(p >= 0xd800 && p <= 0xdbff)) col++; // a lone low surrogate is one code point
    } else {
      col++;
    }
  }
  return out + s.slice(runStart);
}

function leadingSpace(line: string): number {
  let k = 0;
  while (k < line.length && isPySpace(line.charCodeAt(k))) k++;
  return k;
}

/**
 * `inspect.cleandoc` (Python 3.11): expand tabs, strip the first line's leading whitespace, remove
 * the common indentation of the later non-blank lines, drop leading and trailing empty lines.
 */
export function cleandoc(doc: string): string {
  const lines = expandTabs(doc).split('\n');
  let margin = Infinity;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const lead = leadingSpace(line);
    if (lead < line.length && lead < margin) margin = lead;
  }
  if (lines.length > 0) lines[0] = lines[0].slice(leadingSpace(lines[0]));
  if (margin !== Infinity) {
    for (let i = 1; i < lines.length; i++) lines[i] = lines[i].slice(margin);
  }
  let end = lines.length;
  while (end > 0 && lines[end - 1] === '') end--;
  let start = 0;
  while (start < end && lines[start] === '') start++;
  return lines.slice(start, end).join('\n');
}
