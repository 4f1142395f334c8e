// The Python extractor on small written cases (one per rule) and on real stdlib files compared in
// full detail with CPython's ast.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExtractedFunction } from '../../../src/core/data/schema.ts';
import { type PythonExtractor } from '../../../src/core/extract/python.ts';
import { decodeSourceFile } from '../../../src/core/extract/source-file.ts';
import { contentHash } from '../../../src/core/util/hash.ts';
import { loadPythonExtractor } from '../../../prebuild/grammars.ts';
import { AST_REFERENCE_SCRIPT, findPython, type RefFile, runPythonJson } from './cpython.ts';

let ex: PythonExtractor;
beforeAll(async () => {
  ex = await loadPythonExtractor();
});

function fns(src: string): ExtractedFunction[] {
  const r = ex.extract(src);
  expect(r.error).toBeNull();
  return r.functions;
}

function byName(src: string): Map<string, ExtractedFunction> {
  return new Map(fns(src).map((f) => [f.qualname, f]));
}

const dedent = (s: string): string => s.replace(/^\n/, '');

describe('definitions, kinds and qualnames', () => {
  const src = dedent(`
import os

def top(a):
    def inner():
        def innermost(): pass
        return innermost
    class Local:
        def method(self):
            def helper(): pass
        class Deeper:
            async def deep(self): pass
    return inner

class C:
    def m(self): pass
    if True:
        def in_if(self): pass
    class D:
        def dm(self): pass

if os.name:
    def guarded(): pass
try:
    def in_try(): pass
except ImportError:
    pass
with open(__file__) as fh:
    def in_with(): pass
for i in range(1):
    def in_for(): pass
`);

  it('finds every def at every depth with CPython qualnames (no <locals>)', () => {
    expect(fns(src).map((f) => f.qualname)).toEqual([
      'top',
      'top.inner',
      'top.inner.innermost',
      'top.Local.method',
      'top.Local.method.helper',
      'top.Local.Deeper.deep',
      'C.m',
      'C.in_if',
      'C.D.dm',
      'guarded',
      'in_try',
      'in_with',
      'in_for',
    ]);
  });

  it('sets kind by the nearest enclosing scope', () => {
    const m = byName(src);
    const kind = (q: string) => m.get(q)?.kind;
    expect(kind('top')).toBe('function');
    expect(kind('top.inner')).toBe('nested');
    expect(kind('top.inner.innermost')).toBe('nested');
    expect(kind('top.Local.method')).toBe('method');
    expect(kind('top.Local.method.helper')).toBe('nested');
    expect(kind('top.Local.Deeper.deep')).toBe('method');
    expect(kind('C.in_if')).toBe('method');
    expect(kind('guarded')).toBe('function');
    expect(kind('in_with')).toBe('function');
    expect(m.get('top.Local.Deeper.deep')?.is_async).toBe(true);
    expect(m.get('top')?.is_async).toBe(false);
    expect(m.get('top')?.lang).toBe('python');
  });

  it('ignores lambdas, async for/with and keywords inside strings', () => {
    const got = fns(dedent(`
f = lambda x: x
g = [lambda: 1 for _ in range(2)]
text = """
def not_a_function():
    pass
class NotAClass:
    pass
"""
async def real():
    async with x as y:
        pass
    async for z in y:
        h = lambda q: q
    return lambda: (yield)
# def commented_out(): pass
`));
    expect(got.map((f) => f.qualname)).toEqual(['real']);
    expect(got[0].is_async).toBe(true);
  });
});

describe('decorators and line spans', () => {
  it('starts at the first decorator, even multi-line and with comments between', () => {
    const src = dedent(`
x = 1

@decorator
@other(
    arg=1,
)
# a comment between decorators and def
def decorated(a):
    return a

class K:
    @property
    def p(self):
        return 1

    @staticmethod
    async def s():
        pass
`);
    const m = byName(src);
    const d = m.get('decorated')!;
    expect([d.start_line, d.end_line, d.n_lines]).toEqual([3, 9, 7]);
    expect(d.body.split('\n')[0]).toBe('@decorator');
    expect(d.body.endsWith('    return a')).toBe(true);
    const p = m.get('K.p')!;
    expect([p.start_line, p.end_line]).toEqual([12, 14]);
    expect(p.body).toBe('    @property\n    def p(self):\n        return 1');
    const s = m.get('K.s')!;
    expect([s.start_line, s.end_line, s.is_async, s.kind]).toEqual([16, 18, true, 'method']);
  });

  it('ends at the last statement: trailing comments and blank lines are not part of the body', () => {
    const src = dedent(`
def f():
    x = 1  # kept: same line
    # trailing comment

    # another

def g():
    s = """
#"""
    # gone
def h(): return 1
`);
    const m = byName(src);
    expect(m.get('f')!.body).toBe('def f():\n    x = 1  # kept: same line');
    expect(m.get('f')!.end_line).toBe(2);
    expect(m.get('g')!.body).toBe('def g():\n    s = """\n#"""');
    expect([m.get('h')!.start_line, m.get('h')!.end_line, m.get('h')!.body]).toEqual([11, 11, 'def h(): return 1']);
  });

  it('keeps the body as written: indentation, comments, docstring, blank lines inside', () => {
    const src = 'class A:\n    def m(self):\n        """Doc."""\n\n        # comment\n        return 1\n';
    const m = byName(src).get('A.m')!;
    expect(m.body).toBe('    def m(self):\n        """Doc."""\n\n        # comment\n        return 1');
    expect(m.n_chars).toBe(m.body.length);
    expect(m.content_hash).toBe(contentHash(m.body));
    expect(m.content_hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('normalises CRLF and CR line endings and drops a BOM', () => {
    const lf = 'def f(a):\n    """Doc\n    two."""\n    return a\n';
    const crlf = '\ufeff' + lf.replace(/\n/g, '\r\n');
    const a = fns(lf)[0];
    const b = fns(crlf)[0];
    const c = fns(lf.replace(/\n/g, '\r'))[0];
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a.docstring).toBe('Doc\ntwo.');
  });

  it('handles a file without a final newline and tab indentation', () => {
    const f = fns('def f():\n\tif x:\n\t\treturn 1\n\treturn 2')[0];
    expect([f.start_line, f.end_line, f.body]).toEqual([1, 4, 'def f():\n\tif x:\n\t\treturn 1\n\treturn 2']);
  });
});

describe('unicode', () => {
  it('reads identifiers, bodies and positions after astral characters correctly', () => {
    const src = '# 😀😀😀 astral characters before the function\nsmile = "😀"\n\ndef grüße(ä: "Ü" = "😀", *ñ):\n    """Ünïcödé 😀 docstring."""\n    return "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"\n';
    const f = fns(src)[0];
    expect(f.name).toBe('grüße');
    expect(f.args).toEqual(['ä', '*ñ']);
    expect(f.args_types).toEqual(['"Ü"', null]);
    expect(f.args_defaults).toEqual(['"😀"', null]);
    expect(f.docstring).toBe('Ünïcödé 😀 docstring.');
    expect([f.start_line, f.end_line]).toEqual([4, 6]);
    expect(f.body.startsWith('def grüße(')).toBe(true);
    expect(f.body.endsWith('return "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"')).toBe(true);
    // n_chars counts code points: each of the 7 fraktur letters and the emoji is one.
    expect(f.n_chars).toBe([...f.body].length);
    expect(f.n_chars).toBeLessThan(f.body.length);
  });
});

describe('parameters', () => {
  it('reads names with star prefixes, annotations and defaults as written', () => {
    const f = fns(dedent(`
def f(a, b: int, c=1, d: "str" = 'x', *args: Any, e, g: dict[str, int] = {'k': 1}, h=lambda y: y, **kw: object) -> None:
    pass
`))[0];
    expect(f.args).toEqual(['a', 'b', 'c', 'd', '*args', 'e', 'g', 'h', '**kw']);
    expect(f.args_types).toEqual([null, 'int', null, '"str"', 'Any', null, 'dict[str, int]', null, 'object']);
    expect(f.args_defaults).toEqual([null, null, '1', "'x'", null, null, "{'k': 1}", 'lambda y: y', null]);
  });

  it('leaves out the bare * and / markers', () => {
    const m = byName('def p(a, /, b, *, c=3): pass\ndef q(*, k): pass\ndef r(x, /): pass\n');
    expect(m.get('p')!.args).toEqual(['a', 'b', 'c']);
    expect(m.get('p')!.args_defaults).toEqual([null, null, '3']);
    expect(m.get('q')!.args).toEqual(['k']);
    expect(m.get('r')!.args).toEqual(['x']);
  });

  it('copes with comments, continuations and multi-line annotations', () => {
    const f = fns(dedent(`
def f(self,  # the instance
      a: Dict[
          str, int] = None,  # a mapping
      b=(1,
         2), \\
      * rest,
      **kw):
    pass
`))[0];
    expect(f.args).toEqual(['self', 'a', 'b', '*rest', '**kw']);
    expect(f.args_types).toEqual([null, 'Dict[\n          str, int]', null, null, null]);
    expect(f.args_defaults).toEqual([null, 'None', '(1,\n         2)', null, null]);
  });

  it('reads headers split by line continuations', () => {
    const m = byName('def \\\n    spaced(a, \\\n b=1): pass\nasync \\\n  def later(): pass\nclass \\\n  K: pass\n');
    expect([...m.keys()]).toEqual(['spaced', 'later']);
    expect(m.get('spaced')!.args).toEqual(['a', 'b']);
    expect(m.get('spaced')!.args_defaults).toEqual([null, '1']);
    expect(m.get('later')!.is_async).toBe(true);
  });

  it('drops grouping parentheses as ast.get_source_segment does, keeps tuples and generators', () => {
    const f = fns('def f(a: (int) = (1), b: ((str | None)) = ((2)), c=(1, 2), d=(x for x in y), e: (  # c\n        int) = (3)):\n    pass\n')[0];
    expect(f.args_types).toEqual(['int', 'str | None', null, null, 'int']);
    expect(f.args_defaults).toEqual(['1', '2', '(1, 2)', '(x for x in y)', '3']);
  });

  it('gives empty lists for no parameters', () => {
    const f = fns('def f(): pass')[0];
    expect([f.args, f.args_types, f.args_defaults]).toEqual([[], [], []]);
  });
});

describe('docstrings', () => {
  const cases: [string, string | null][] = [
    ['def f():\n    """Simple."""\n', 'Simple.'],
    ["def f():\n    'single'\n", 'single'],
    ['def f():\n    r"""Raw \\d+ kept."""\n', 'Raw \\d+ kept.'],
    ['def f():\n    "Tab\\there \\x41 \\u00e9"\n', 'Tab     here A é'], // cleandoc expands tabs
    ['def f():\n    u"""Unicode prefix."""\n', 'Unicode prefix.'],
    ['def f():\n    "implicit " \'concatenation\'\n', 'implicit concatenation'],
    ['def f():\n    ("parenthesised "\n     "and concatenated")\n', 'parenthesised and concatenated'],
    ['def f():\n    # a comment first\n    """After comment."""\n', 'After comment.'],
    ['def f(): "One-liner."\n', 'One-liner.'],
    ['def f():\n    "Then more"; x = 1\n', 'Then more'],
    ['def f():\n    """Doc."""  # trailing comment\n', 'Doc.'],
    ['def f():\n    """\n    Indented\n      body\n    """\n', 'Indented\n  body'],
    ['def f():\n    f"""Not a docstring {x}"""\n', null],
    ['def f():\n    b"""Not a docstring"""\n', null],
    ['def f():\n    """Not""".strip()\n', null],
    ['def f():\n    "a", "b"\n', null],
    ['def f():\n    "a" % x\n', null],
    ['def f():\n    x = "not"\n', null],
    ['def f():\n    pass\n    """Not first."""\n', null],
    ['def f():\n    ("a" \'b\' f"c")\n', null],
  ];
  it.each(cases)('%j', (src, doc) => {
    const f = fns(src)[0];
    expect(f.docstring).toBe(doc);
    expect(f.docstyle).toBe(doc === null ? 'none' : 'plain');
  });

  it('classifies the docstring style', () => {
    const f = fns('def f(x):\n    """Sum.\n\n    Args:\n        x: a value.\n    """\n')[0];
    expect(f.docstyle).toBe('google');
  });
});

describe('syntax errors', () => {
  it('returns the first error line and no functions', () => {
    const r = ex.extract('def ok():\n    pass\n\ndef broken(:\n    pass\n');
    expect(r.functions).toEqual([]);
    expect(r.error?.line).toBe(4);
  });

  it('reports a missing token', () => {
    const r = ex.extract('def f():\n    return (1,\n');
    expect(r.functions).toEqual([]);
    expect(r.error).not.toBeNull();
  });

  it('refuses Python 2 print, exec and tuple parameters that the grammar accepts', () => {
    expect(ex.extract('def f():\n    print "hello"\n').error).toEqual({ line: 2, message: 'Python 2 print statement' });
    expect(ex.extract('x = 1\nexec "code" in ns\n').error).toEqual({ line: 2, message: 'Python 2 exec statement' });
    expect(ex.extract('def f(a, (b, c)):\n    pass\n').error?.message).toBe('Python 2 tuple parameter');
    expect(ex.extract('f = lambda (a, b): a\n').error?.message).toBe('Python 2 tuple parameter');
  });

  it('accepts Python 3 code that looks like Python 2', () => {
    for (const src of ['print >> sys.stderr, "message"\n', 'print("x")\n', 'print ("x"), 1\n', 'print -1\n', 'exec("code")\n', 'x = "print \'hi\'"\n']) {
      expect(ex.extract(src).error, src).toBeNull();
    }
  });

  it('refuses NUL characters', () => {
    expect(ex.extract('x = 1\ny = "\0"\n').error?.line).toBe(2);
  });
});

// Sources CPython refuses or accepts, where tree-sitter-python alone would accept them all: the
// extractor must agree with CPython on every one (checked against python3 when it exists).
const AGREE_WITH_CPYTHON: string[] = [
  'try:\n    pass\nexcept ValueError, e:\n    pass\n',
  'try:\n    pass\nexcept (ValueError, TypeError):\n    pass\n',
  'raise ValueError, "msg"\n',
  'raise ValueError("a, b")\n',
  'x = `y`\n',
  'x = "`y`"  # `z`\n',
  'if a <> b: pass\n',
  'x = "<>"\n',
  'x = 10L\n',
  'x = 0777\n',
  'x = 0xFFL\n',
  'x = 00 + 0 + 0.777 + 0777.5 + 07e1 + 07j + 0o777 + 1_000\n',
  'x = "0777"  # mode 0777\n',
  'x = ur"abc"\n',
  'x = rb"abc" + Rb"x" + br"y" + u"z" + R"w"\n',
  'async = 1\n',
  'f(async=True)\n',
  'x = self.await\n',
  'async def f():\n    await g()\n    async with a as b:\n        pass\n',
  'def f(a=1, b): pass\n',
  'def f(a, b=1, *args, c, d=2, **kw): pass\n',
  'def f(*): pass\n',
  'def f(*, **kw): pass\n',
  'def f(*, a): pass\n',
  'def f(**k, a): pass\n',
  'def f(*a, *b): pass\n',
  'def f(/, a): pass\n',
  'def f(a, /, b, *, c): pass\n',
  'def f(a, *, b, /): pass\n',
  // Indentation with tabs and spaces (CPython: TabError / IndentationError or fine).
  'class A:\n    def f(self):\n\tpass\n',
  'def f():\n  if x:\n\treturn 1\n        return 2\n',
  'def f():\n\tif x:\n\t\treturn 1\n\treturn 2\n\ndef g():\n    return 3\n',
  'def f():\n\tx = call(a,\n\t         b)\n\t"""Doc\n    with spaces\n\t"""\n\treturn x\n y = 1\n',
  'def f():\n\tx = 1\n        y = 2\n',
  'def f():\n        x = 1\n\ty = 2\n',
  'if x:\n\tpass\nelse:\n\tpass\ndef g():\n    if y: z = 1\n    else: z = 2\n',
  'def f():\n\tif x:\n\t\tpass\n\t  y = 1\n  # comment\n',
  'class A:\n\tdef f(self):\n\t\tpass\n\n\t@property\n\tdef g(self):\n\t        return 1\n',
];

describe.skipIf(findPython() === null)('refuses what CPython refuses', () => {
  it('agrees with ast.parse on Python 2 syntax, parameter order and tab/space indentation', () => {
    const py = findPython()!;
    const script = 'import ast,json,sys\nout=[]\nfor s in json.load(sys.stdin):\n    try:\n        ast.parse(s); out.append(None)\n    except (SyntaxError, ValueError) as e:\n        out.append(type(e).__name__ + ": " + str(e.msg))\nprint(json.dumps(out))';
    const want = JSON.parse(execFileSync(py.exe, ['-c', script], { input: JSON.stringify(AGREE_WITH_CPYTHON), encoding: 'utf8' })) as (string | null)[];
    const got = AGREE_WITH_CPYTHON.map((src) => ex.extract(src).error);
    const disagreements = AGREE_WITH_CPYTHON.flatMap((src, i) => ((got[i] === null) === (want[i] === null) ? [] : [`${JSON.stringify(src)}: ours ${JSON.stringify(got[i])} CPython ${want[i]}`]));
    expect(disagreements).toEqual([]);
  });
});

describe('scale and reuse', () => {
  it('extracts an 800k-character function in linear time', () => {
    const lines = ['def huge(x):', '    """Generated."""'];
    let n = 0;
    while (n < 800_000) {
      const line = `    x = x + ${lines.length} * (x - 1) // 3  # some filler text to make the line longer`;
      lines.push(line);
      n += line.length + 1;
    }
    lines.push('    return x', '', 'def after(): pass');
    const src = lines.join('\n');
    const t0 = performance.now();
    const got = fns(src);
    const ms = performance.now() - t0;
    expect(got.map((f) => f.name)).toEqual(['huge', 'after']);
    expect(got[0].n_chars).toBeGreaterThan(800_000);
    expect(got[0].n_lines).toBe(lines.length - 2);
    expect(got[1].start_line).toBe(lines.length);
    expect(ms).toBeLessThan(20_000);
  });

  it('gives the same result when reused across files', () => {
    const src = 'def a():\n    def b(): pass\n';
    const first = ex.extract(src);
    ex.extract('def other(x): return x\n');
    ex.extract('def broken(:\n');
    expect(ex.extract(src)).toEqual(first);
  });
});

// Real files from the machine's stdlib, every field compared with CPython's ast.
const py = findPython();
const REAL_FILES = ['functools.py', 'dataclasses.py', 'asyncio/tasks.py', 'typing.py', 'inspect.py', 'email/_header_value_parser.py'];

describe.skipIf(py === null)('real stdlib files against CPython ast', () => {
  let ref: Record<string, RefFile> = {};
  const files = REAL_FILES.filter((f) => {
    try {
      return readFileSync(join(py!.stdlib, f)).length > 0;
    } catch {
      return false;
    }
  });
  beforeAll(async () => {
    ref = await runPythonJson<Record<string, RefFile>>(py!.exe, AST_REFERENCE_SCRIPT, [py!.stdlib, '1'], files.join('\n'));
  }, 120_000);

  it.each(files)('%s', (rel) => {
    const r = ref[rel];
    expect('functions' in r).toBe(true);
    if (!('functions' in r)) return;
    const decoded = decodeSourceFile(new Uint8Array(readFileSync(join(py!.stdlib, rel))));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const ours = fns(decoded.text);
    const want = r.functions.map((f) => ({
      qualname: f.qualname, start_line: f.start, end_line: f.end, kind: f.kind, is_async: f.async,
      args: f.args, args_types: f.types, args_defaults: f.defaults, docstring: f.doc,
    })).sort((a, b) => a.start_line - b.start_line);
    const got = ours.map((f) => ({
      qualname: f.qualname, start_line: f.start_line, end_line: f.end_line, kind: f.kind, is_async: f.is_async,
      args: f.args, args_types: f.args_types, args_defaults: f.args_defaults, docstring: f.docstring,
    }));
    expect(got).toEqual(want);
    // The body is exactly the source lines start_line..end_line.
    const lines = decoded.text.split('\n');
    for (const f of ours.slice(0, 50)) expect(f.body).toBe(lines.slice(f.start_line - 1, f.end_line).join('\n'));
  });
});
