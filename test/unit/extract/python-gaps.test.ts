// Grammar gaps: valid Python that tree-sitter-python parses with errors, which the extractor works
// around (PythonExtractor.repair), next to real syntax errors around the same constructs that must
// stay refused. Every source is also checked against CPython's ast when python3 is on PATH.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtractedFunction } from '../../../src/core/data/schema.ts';
import { type PythonExtractor } from '../../../src/core/extract/python.ts';
import { loadPythonExtractor } from '../../../prebuild/grammars.ts';
import { AST_REFERENCE_SCRIPT, findPython, type RefFile, runPythonJson } from './cpython.ts';

let ex: PythonExtractor;
beforeAll(async () => {
  ex = await loadPythonExtractor();
});
afterAll(() => ex.delete());

/** Qualname@start-end of every function, or the error. */
function summary(src: string): string[] | { error: number } {
  const r = ex.extract(src);
  if (r.error) return { error: r.error.line };
  return r.functions.map((f) => `${f.qualname}@${f.start_line}-${f.end_line}`);
}

function fns(src: string): ExtractedFunction[] {
  const r = ex.extract(src);
  expect(r.error).toBeNull();
  return r.functions;
}

// The two files of the Debian corpus that tree-sitter-python could not parse, reduced to the line
// that trips it, with functions before, after and around it.
const MATPLOTLIB_AXIS = `import numpy as np


class Axis:
    def set_ticklabels(self, ticklabels, *, minor=False, **kwargs):
        """Set the text values of the tick labels."""
        try:
            ticklabels = [t.get_text() if hasattr(t, 'get_text') else t
                          for t in ticklabels]
        except TypeError:
            raise TypeError(f"{ticklabels:=} must be a sequence") from None
        return ticklabels

    def after(self):
        return f"{self:=^10}"


def module_level():
    pass
`;

const TORCH_RENDEZVOUS_UTILS = `def _try_parse_port(port_str):
    """Try to extract the port number from \`\`port_str\`\`."""
    if port_str and re.match(r"^[0-9]{1,5}$", port_str):
        return int(port_str)
    return None


def parse_rendezvous_endpoint(endpoint, default_port):
    """Extract the hostname and the port number from a rendezvous endpoint."""
    if endpoint is not None:
        endpoint = endpoint.strip()

    if not endpoint:
        return ("localhost", default_port)

    # An endpoint that starts and ends with brackets represents an IPv6 address.
    if endpoint[0] == "[" and endpoint[-1] == "]":
        host, *rest = endpoint, *[]
    else:
        host, *rest = endpoint.rsplit(":", 1)

    def nested(x):
        return x

    return host, nested(rest)


def _matches_machine_hostname(host):
    return host == "localhost"
`;

/** Valid for CPython 3.11 (ast.parse), parsed with errors by tree-sitter-python. */
const GAPS: Record<string, string> = {
  'matplotlib-axis': MATPLOTLIB_AXIS,
  'torch-rendezvous-utils': TORCH_RENDEZVOUS_UTILS,
  'fstring-specs':
    'def a(x):\n    return f"{x:=}", f"{x:=^10}", f"{x :=>5}", f"{x:==}"\n\n' +
    'def b(x, w):\n    s = f"""{x:={w}} {x:{w:=}}\n    {x:=<3}"""\n    return s\n\nclass C:\n    def m(self):\n        return f"{(y:=1)} {self:=}"\n',
  'star-elements':
    'def a(x):\n    y = *x, *[]\n    z = 1, *(x)\n    w = *-x, *"ab", *x.y\n    return 1, *[]\n\n' +
    'def b(x):\n    for i in x, *[]:\n        yield 1, *(i)\n    v = yield *(x), 2\n\n' +
    'async def c(x):\n    u = *await x, 1\n    u += *(x), 2\n    t: tuple = *[x], x\n    *[p], q = x\n    for *(r), s in x:\n        pass\n    return x[*(u)], x[1, *[t]]\n\n' +
    'x = *[]\n*[1], 2\nfor i in *[]:\n    def in_for(): pass\n',
  'continuation-dedent':
    'class A:\n    def f(self):\n        (bar.\n    baz)\n        (bar.\n    baz(\n    ))\n        return 1\n\n' +
    '    def g(self):\n        if self:\n            x = (self +   # comment with a quote \'\n    1)\n' +
    '            y = [a for\n      \n    # between\n  a in x]\n        return x, y\n\ndef after(): pass\n',
  rotations:
    'def f(a, b):\n    x = (a +\nb)\n    y = {a:\nb}\n    z = [a for\nb in a]\n    w = (a if\nb else a, (a.\nreal), f(a=\nb))\n' +
    '    v = (a *\n-b, a<\n~b, a and\n(b))\n    return x\n\nclass C:\n    def g(self): pass\n',
  'future-star': '"""This is a test"""\n\nfrom __future__ import *\n\ndef f(x):\n    def g(y):\n        return x + y\n    return g\n',
  'all-together':
    'from __future__ import *\n\n@decorator(f"{k:=}")\ndef a(k):\n    return *[k], (k.\n  real)\n\n' +
    'def b():\n    (b.\n  c)\n    return f"{b:=}", *(b)\n',
};

/** Refused by CPython: real syntax errors near the same constructs. */
const ERRORS: Record<string, string> = {
  'fstring-empty-expression': 'def a(): pass\nx = f"{:=}"\ndef b(): pass\n',
  'fstring-empty-expression-spec': 'def a(): pass\nx = f"{:=^10}"\ndef b(): pass\n',
  'fstring-unclosed': 'def a():\n    return f"{x:="\n',
  'star-nothing': 'def a(): pass\na, *b = *\ndef b(): pass\n',
  'star-not': 'def a(): pass\nx = *not a, b\n',
  'star-lambda': 'x = *lambda: 1, b\ndef b(): pass\n',
  'star-conditional': 'x = 1, *(a) if b else c, *[]\n',
  'star-del': 'del *(a), b\ndef b(): pass\n',
  'star-comprehension': '[x for x in *(a), b]\ndef b(): pass\n',
  'star-annotation': 'x: *(a) = b\ndef b(): pass\n',
  'star-yield-from': 'def f():\n    yield from *(a), b\n',
  'star-lambda-body': 'f = lambda: *(a), b\ndef b(): pass\n',
  'star-keyword': 'f(x=*[])\ndef b(): pass\n',
  'continuation-unclosed': 'def f():\n    x = (a +\n  b\n    return x\n',
  'continuation-no-brackets': 'def f():\n    x = a + \n  b\n',
  'future-star-parenthesized': 'from __future__ import (*)\ndef f(): pass\n',
  'future-star-and-name': 'from __future__ import *, annotations\ndef f(): pass\n',
  'rotation-float': 'def f():\n    x = (1 + 1.\nreal)\n',
  'rotation-attribute-number': 'def f():\n    x = (a.\n5)\n',
  'rotation-power': 'def f():\n    x = (a *\n*b)\n',
  'rotation-floor-division': 'def f():\n    x = (a /\n/b)\n',
  'rotation-no-brackets': 'def f():\n    x = a +\nb\n',
  'python2-with-gap': 'def f(x):\n    print "a", x\n    return f"{x:=}", *[x]\n',
  'python2-except-with-gap': 'try:\n    x = 1, *[]\nexcept ValueError, e:\n    pass\n',
};

describe('grammar gaps', () => {
  it('reads the matplotlib f-string `{ticklabels:=}` and keeps the functions around it', () => {
    expect(summary(MATPLOTLIB_AXIS)).toEqual(['Axis.set_ticklabels@5-12', 'Axis.after@14-15', 'module_level@18-19']);
    const [first] = fns(MATPLOTLIB_AXIS);
    // Bodies, arguments and docstrings come from the original text, not the edited one.
    expect(first.body).toContain('raise TypeError(f"{ticklabels:=} must be a sequence") from None');
    expect(first.args).toEqual(['self', 'ticklabels', 'minor', '**kwargs']);
    expect(first.docstring).toBe('Set the text values of the tick labels.');
  });

  it('reads the torch starred tuple `host, *rest = endpoint, *[]`', () => {
    expect(summary(TORCH_RENDEZVOUS_UTILS)).toEqual([
      '_try_parse_port@1-5',
      'parse_rendezvous_endpoint@8-25',
      'parse_rendezvous_endpoint.nested@22-23',
      '_matches_machine_hostname@28-29',
    ]);
    expect(fns(TORCH_RENDEZVOUS_UTILS)[1].body).toContain('        host, *rest = endpoint, *[]\n');
  });

  it('reads a continuation line indented less than its block, inside brackets', () => {
    const src = GAPS['continuation-dedent'];
    expect(summary(src)).toEqual(['A.f@2-8', 'A.g@10-18', 'after@20-20']);
    expect(fns(src)[1].body).toContain("x = (self +   # comment with a quote '\n    1)");
  });

  it('reads `from __future__ import *` as ast.parse does', () => {
    expect(summary(GAPS['future-star'])).toEqual(['f@5-8', 'f.g@6-7']);
  });

  it('accepts every gap and gives the same result when the extractor is reused', () => {
    for (const [name, src] of Object.entries(GAPS)) {
      const first = ex.extract(src);
      expect(first.error, name).toBeNull();
      ex.extract(ERRORS['star-nothing']);
      expect(ex.extract(src), name).toEqual(first);
    }
  });

  it('still refuses real syntax errors next to the same constructs', () => {
    for (const [name, src] of Object.entries(ERRORS)) {
      const r = ex.extract(src);
      expect(r.error, name).not.toBeNull();
      expect(r.functions, name).toEqual([]);
    }
  });

  it('moves a dangling token to a continuation line at column 0 when there is no room for a backslash', () => {
    // test_compile.py's test_weird_attribute_position_regressions, less indented still.
    expect(summary('def f():\n    (bar.\nbaz)\n    return 1\n\ndef g(): pass\n')).toEqual(['f@1-4', 'g@6-6']);
    expect(summary(GAPS['rotations'])).not.toHaveProperty('error');
    // Known limits (CPython accepts these): two dangling tokens in a row, a subscript opened at the
    // line end, an empty line in between.
    for (const src of ['def f():\n    x = (a and not\nb)\n', 'def f():\n    x = a[\n0]\n', 'def f():\n    x = (a +\n\nb)\n']) {
      expect(ex.extract(src).error, src).not.toBeNull();
    }
  });
});

describe('grammar gaps at scale', () => {
  it('repairs a file with thousands of gaps in a few parses', () => {
    const parts: string[] = [];
    for (let i = 0; i < 1500; i++) {
      parts.push(`def f${i}(x):\n    y = x, *[${i}]\n    z = (x +\n  y)\n    return f"{x:=}", *(z)\n`);
    }
    const src = parts.join('\n');
    const t0 = performance.now();
    const got = fns(src);
    expect(got.length).toBe(1500);
    expect(got[1499]).toMatchObject({ qualname: 'f1499', start_line: 1499 * 6 + 1, end_line: 1499 * 6 + 5 });
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});

const py = findPython();

describe.skipIf(py === null)('grammar gaps against CPython ast', () => {
  let dir = '';
  let ref: Record<string, RefFile> = {};
  const all: Record<string, string> = { ...GAPS, ...ERRORS };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gaps-'));
    for (const [name, src] of Object.entries(all)) writeFileSync(join(dir, `${name}.py`), src);
    ref = await runPythonJson<Record<string, RefFile>>(py!.exe, AST_REFERENCE_SCRIPT, [dir, '1'], Object.keys(all).map((n) => `${n}.py`).join('\n'));
  }, 60_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('CPython accepts every gap source and refuses every error source (the lists are right)', () => {
    for (const name of Object.keys(GAPS)) expect('functions' in ref[`${name}.py`], name).toBe(true);
    for (const name of Object.keys(ERRORS)) expect('error' in ref[`${name}.py`], name).toBe(true);
  });

  it.each(Object.keys(GAPS))('%s: every field as ast gives it', (name) => {
    const r = ref[`${name}.py`];
    if (!('functions' in r)) return;
    const want = r.functions
      .map((f) => ({
        qualname: f.qualname, start_line: f.start, end_line: f.end, kind: f.kind, is_async: f.async,
        args: f.args, args_types: f.types, args_defaults: f.defaults, docstring: f.doc,
      }))
      .sort((a, b) => a.start_line - b.start_line);
    const got = fns(GAPS[name]).map((f) => ({
      qualname: f.qualname, start_line: f.start_line, end_line: f.end_line, kind: f.kind, is_async: f.is_async,
      args: f.args, args_types: f.args_types, args_defaults: f.args_defaults, docstring: f.docstring,
    }));
    expect(got).toEqual(want);
    const lines = GAPS[name].split('\n');
    for (const f of fns(GAPS[name])) expect(f.body).toBe(lines.slice(f.start_line - 1, f.end_line).join('\n'));
  });
});
