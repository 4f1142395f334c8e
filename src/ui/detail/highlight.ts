// A small Python highlighter that returns tokens, not markup: the view renders each token as a
// text node inside a <span class=…>, so code from the data set (or an upload) can never become
// HTML. Good enough for reading: keywords, strings (incl. triple-quoted and prefixed), comments,
// numbers, decorators, definitions' names.

export type TokenKind = 'kw' | 'str' | 'com' | 'num' | 'deco' | 'def' | 'builtin' | 'text';

export interface Token {
  kind: TokenKind;
  text: string;
}

const KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case'.split(
    ' ',
  ),
);
const BUILTINS = new Set('self cls print len range isinstance super str int float list dict set tuple bool type object Exception ValueError TypeError KeyError'.split(' '));

const STRING = /^(?:[rRbBuUfF]{0,2})(?:'''[\s\S]*?(?:'''|$)|"""[\s\S]*?(?:"""|$)|'(?:\\.|[^'\\\n])*(?:'|$)|"(?:\\.|[^"\\\n])*(?:"|$))/;
const NUMBER = /^(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)/;
const NAME = /^[A-Za-z_\u00c0-\uffff][\w\u00c0-\uffff]*/;

/** Splits code into tokens; concatenating their text gives the input back exactly. */
export function highlightPython(code: string, maxChars = 200_000): Token[] {
  const src = code.length > maxChars ? code.slice(0, maxChars) : code;
  const out: Token[] = [];
  let i = 0;
  let plain = '';
  let afterDef = false;
  const flush = () => {
    if (plain) out.push({ kind: 'text', text: plain });
    plain = '';
  };
  const emit = (kind: TokenKind, text: string) => {
    flush();
    out.push({ kind, text });
  };
  while (i < src.length) {
    const c = src[i]!;
    const rest = src.slice(i, i + 4096);
    if (c === '#') {
      const end = src.indexOf('\n', i);
      const text = src.slice(i, end < 0 ? src.length : end);
      emit('com', text);
      i += text.length;
      continue;
    }
    if (c === '@' && (i === 0 || /\n\s*$/.test(src.slice(Math.max(0, i - 200), i)))) {
      const m = /^@[\w.]*/.exec(rest)!;
      emit('deco', m[0]);
      i += m[0].length;
      continue;
    }
    const s = c === "'" || c === '"' || /[rRbBuUfF]/.test(c) ? STRING.exec(src.slice(i)) : null;
    if (s && s[0].length > 0 && /['"]/.test(s[0])) {
      emit('str', s[0]);
      i += s[0].length;
      afterDef = false;
      continue;
    }
    const name = NAME.exec(rest);
    if (name) {
      const w = name[0];
      if (afterDef) emit('def', w);
      else if (KEYWORDS.has(w)) emit('kw', w);
      else if (BUILTINS.has(w)) emit('builtin', w);
      else plain += w;
      afterDef = w === 'def' || w === 'class';
      i += w.length;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      const m = NUMBER.exec(rest);
      if (m && m[0] !== '.' && m[0].length > 0) {
        emit('num', m[0]);
        i += m[0].length;
        continue;
      }
    }
    if (!/\s/.test(c)) afterDef = false;
    plain += c;
    i++;
  }
  flush();
  if (src.length < code.length) out.push({ kind: 'com', text: `\n# … ${code.length - src.length} more characters not shown` });
  return out;
}
