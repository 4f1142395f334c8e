// Hides a Python function's docstring from a summariser: removes the string literal that is the
// first statement of the body (and its line, when nothing else is on it). Used to evaluate
// summarisers on documented functions, and to embed "the code" apart from its docstring. Lexical:
// the header is scanned with its brackets, strings and comments, so `def f(x=")"): ...` and
// decorators are handled; a body that is only a docstring becomes `pass`.

function skipString(src: string, i: number): number {
  // i at the opening quote; returns the index after the closing quote (or src.length).
  const q = src[i];
  const triple = src.startsWith(q.repeat(3), i);
  let j = i + (triple ? 3 : 1);
  while (j < src.length) {
    const c = src[j];
    if (c === '\\') {
      j += 2;
      continue;
    }
    if (triple) {
      if (src.startsWith(q.repeat(3), j)) return j + 3;
    } else if (c === q) return j + 1;
    else if (c === '\n') return j; // unterminated single-quoted string: stop at the line end
    j++;
  }
  return src.length;
}

/** Index of the `:` that ends the `def` header, or -1. */
function headerEnd(src: string): number {
  const m = /(^|\n)[ \t]*(?:async[ \t]+)?def[ \t]/.exec(src);
  if (!m) return -1;
  let depth = 0;
  for (let i = m.index + m[0].length; i < src.length; i++) {
    const c = src[i];
    if (c === '"' || c === "'") {
      i = skipString(src, i) - 1;
    } else if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ':' && depth === 0) return i;
  }
  return -1;
}

/** The function's source without its docstring, and whether there was one. */
export function hideDocstring(body: string): { code: string; removed: boolean } {
  const end = headerEnd(body);
  if (end < 0) return { code: body, removed: false };
  let i = end + 1;
  // Skip blanks, comments and line breaks up to the first statement.
  for (;;) {
    while (i < body.length && (body[i] === ' ' || body[i] === '\t' || body[i] === '\n' || body[i] === '\r' || body[i] === '\\')) i++;
    if (body[i] === '#') {
      while (i < body.length && body[i] !== '\n') i++;
      continue;
    }
    break;
  }
  const pm = /^[rRuU]?(?="|')/.exec(body.slice(i, i + 2));
  if (!pm) return { code: body, removed: false };
  const start = i;
  const close = skipString(body, i + pm[0].length);
  // Only a statement on its own: the literal followed by the end of line (or `;`/a comment).
  let after = close;
  while (after < body.length && (body[after] === ' ' || body[after] === '\t')) after++;
  if (after < body.length && body[after] !== '\n' && body[after] !== '\r' && body[after] !== ';' && body[after] !== '#') return { code: body, removed: false };
  if (body[after] === ';') after++;
  const lineStart = body.lastIndexOf('\n', start - 1) + 1;
  const ownLine = body.slice(lineStart, start).trim() === '';
  let nl = body.indexOf('\n', after);
  if (nl < 0) nl = body.length;
  const restOfLine = body.slice(after, nl);
  let code: string;
  if (ownLine && restOfLine.trim() === '') code = body.slice(0, lineStart) + body.slice(Math.min(body.length, nl + 1));
  else code = body.slice(0, start) + body.slice(after).replace(/^[ \t]*/, '');
  // Nothing left after the header: keep it a valid function.
  const rest = code.slice(end + 1);
  if (rest.replace(/#[^\n]*/g, '').trim() === '') {
    const indent = /\n([ \t]+)\S/.exec(body.slice(end))?.[1] ?? '    ';
    code = `${code.slice(0, end + 1).trimEnd()}\n${indent}pass\n`;
  }
  return { code, removed: true };
}
