// String literal evaluation and inspect.cleandoc, checked against CPython itself where python3 exists.
import { describe, expect, it } from 'vitest';
import { cleandoc, evaluateLiteral, evaluateStrConcatenation, expandTabs, isPySpace } from '../../../src/core/extract/python-strings.ts';
import { CLEANDOC_SCRIPT, findPython, LITERAL_SCRIPT, runPythonJson } from './cpython.ts';

const py = findPython();

// Literals as they appear in source (no \N{...}: JavaScript has no Unicode name table).
const LITERALS: (string | string[])[] = [
  `"plain"`,
  `'single'`,
  `"""triple "quoted" text"""`,
  `'''triple 'single' text'''`,
  String.raw`"tab\there\nnewline"`,
  String.raw`"\a\b\f\v\r\0\\"`,
  String.raw`"octal \101\102\1\12\377 \400"`,
  String.raw`"hex \x41\x7e\xe9"`,
  String.raw`"bmp \u00e9\u20ac\uFFFD"`,
  String.raw`"astral \U0001F600\U00010348"`,
  String.raw`"unknown \q\d\w \8\9 escapes"`,
  String.raw`"quotes \' \" ok"`,
  '"line \\\ncontinued"',
  '"""multi\nline\\\ncontinued\n  indented"""',
  String.raw`r"raw \n \t \x41 \" kept"`,
  String.raw`R'''raw triple \'x'''`,
  String.raw`u"unicode prefix \u00e9"`,
  String.raw`U'U prefix'`,
  `""`,
  `''''''`,
  `"é€😀 text"`,
  ['"implicit "', "'concat'", '"""enation"""'],
  [String.raw`r"\d+"`, String.raw`"\t"`],
  // Not str constants: bytes and f-strings.
  `b"bytes"`,
  `f"fstring {1}"`,
  ['"a"', 'f"b"'],
];

describe('evaluateLiteral', () => {
  it('reads prefixes, quotes and kinds', () => {
    expect(evaluateLiteral(`"x"`)).toEqual({ kind: 'str', value: 'x' });
    expect(evaluateLiteral(`rb'x'`)?.kind).toBe('bytes');
    expect(evaluateLiteral(`Rb'x'`)?.kind).toBe('bytes');
    expect(evaluateLiteral(`fr"{x}"`)?.kind).toBe('fstring');
    expect(evaluateLiteral(`"""a"b"""`)).toEqual({ kind: 'str', value: 'a"b' });
    expect(evaluateLiteral('not a literal')).toBeNull();
  });

  it('keeps \\N{NAME} as written (no Unicode name table in JS)', () => {
    expect(evaluateLiteral(String.raw`"\N{BULLET} x"`)?.value).toBe(String.raw`\N{BULLET} x`);
  });

  it('evaluates escapes by hand-checked examples', () => {
    expect(evaluateLiteral(String.raw`"\x41\101\u00e9\U0001F600"`)?.value).toBe('AAé😀');
    expect(evaluateLiteral(String.raw`"\q"`)?.value).toBe('\\q');
    expect(evaluateLiteral('"a\\\nb"')?.value).toBe('ab');
    expect(evaluateLiteral(String.raw`r"a\nb"`)?.value).toBe('a\\nb');
  });

  it.skipIf(py === null)('matches ast.literal_eval on tricky literals', async () => {
    const want = await runPythonJson<(string | null)[]>(py!.exe, LITERAL_SCRIPT, [], JSON.stringify(LITERALS));
    const got = LITERALS.map((l) => (typeof l === 'string' ? evaluateStrConcatenation([l]) : evaluateStrConcatenation(l)));
    expect(got).toEqual(want);
  });
});

const DOCS: string[] = [
  'One line.',
  '   Leading spaces on the first line.   ',
  'Summary.\n\n    Body indented by four.\n      Deeper.\n    Back.\n    ',
  '\n    Starts on the second line.\n\n    More.\n',
  'Tabs.\n\tTabbed line\n\t    tab and spaces\n        eight spaces',
  'Mixed\n  \t  x\n    y',
  'Whitespace-only lines.\n    a\n        \n    b\n      \n',
  'Trailing whitespace-only line longer than the margin\n  a\n      ',
  '\n\n\n',
  '',
  '   ',
  'Unicode whitespace\n\u3000\u3000x\n\u3000\u3000y',
  'Odd spaces\n\x1c\x1dx\n\x1c\x1dy',
  'NEL\n\x85a\n\x85b',
  'No-break\n\u00a0a\n\u00a0\u00a0b',
  'Astral 😀\n    😀 x\n      y',
  'Tab after text\tend\n    a\tb\n    c',
  'CR inside\r\n    a\r\n    b',
  'first\n  second\n\n\n',
];

describe('cleandoc', () => {
  it('follows inspect.cleandoc on hand-checked cases', () => {
    expect(cleandoc('  Summary.\n\n    Body.\n      More.\n  ')).toBe('Summary.\n\nBody.\n  More.');
    expect(cleandoc('\n\n  x\n\n')).toBe('x');
    expect(cleandoc('')).toBe('');
  });

  it('expands tabs like str.expandtabs', () => {
    expect(expandTabs('a\tb')).toBe('a       b');
    expect(expandTabs('abcdefgh\tx')).toBe('abcdefgh        x');
    expect(expandTabs('x\n\ty')).toBe('x\n        y');
    expect(expandTabs('😀\tx')).toBe('😀       x');
  });

  it('knows Python whitespace', () => {
    for (const c of [' ', '\t', '\n', '\v', '\f', '\r', '\x1c', '\x1f', '\x85', '\xa0', '\u2000', '\u3000']) expect(isPySpace(c.charCodeAt(0))).toBe(true);
    for (const c of ['a', '\ufeff', '\u200b', '_']) expect(isPySpace(c.charCodeAt(0))).toBe(false);
  });

  it.skipIf(py === null)('matches inspect.cleandoc', async () => {
    const want = await runPythonJson<string[]>(py!.exe, CLEANDOC_SCRIPT, [], JSON.stringify(DOCS));
    expect(DOCS.map(cleandoc)).toEqual(want);
  });
});
