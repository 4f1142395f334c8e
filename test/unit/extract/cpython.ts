// Node-only test helper: CPython as the reference for the Python extractor. Finds `python3`, lists
// its standard library the way the tests do, and runs reference scripts (ast, inspect.cleandoc).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

export interface PythonInfo {
  exe: string;
  version: string;
  stdlib: string;
}

let cached: PythonInfo | null | undefined;

/** `python3` on PATH and its stdlib directory, or null when there is none. */
export function findPython(exe = 'python3'): PythonInfo | null {
  if (exe === 'python3' && cached !== undefined) return cached;
  let info: PythonInfo | null = null;
  try {
    const out = execFileSync(exe, ['-c', 'import sys,sysconfig;print(sys.version.split()[0]);print(sysconfig.get_paths()["stdlib"])'], {
      encoding: 'utf8',
    });
    const [version, stdlib] = out.trim().split('\n');
    if (statSync(join(stdlib, 'os.py')).isFile()) info = { exe, version, stdlib };
  } catch {
    info = null;
  }
  if (exe === 'python3') cached = info;
  return info;
}

/** Every .py file under `root` (relative paths, '/' separated, sorted), without site-/dist-packages. */
export function listStdlibFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      if (e === 'site-packages' || e === 'dist-packages' || e === '__pycache__') continue;
      const p = join(dir, e);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (e.endsWith('.py') && st.isFile()) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

/**
 * Runs a Python script with arguments; the script writes JSON to the path given as its last argument
 * (a file, not a pipe: the caller may block its event loop meanwhile). Resolves with the parsed JSON.
 */
export function runPythonJson<T>(exe: string, script: string, args: string[], input?: string): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'cpython-ref-'));
  const scriptPath = join(dir, 'ref.py');
  const outPath = join(dir, 'out.json');
  const inPath = join(dir, 'in.txt');
  writeFileSync(scriptPath, script);
  writeFileSync(inPath, input ?? '');
  return new Promise<T>((resolve, reject) => {
    const child = spawn(exe, [scriptPath, ...args, inPath, outPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`${exe} exited with ${code}: ${err.slice(-2000)}`);
        resolve(JSON.parse(readFileSync(outPath, 'utf8')) as T);
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** One function as CPython's ast sees it (same conventions as ExtractedFunction). */
export interface RefFunction {
  qualname: string;
  start: number;
  end: number;
  kind: 'function' | 'method' | 'nested';
  async: boolean;
  args: string[];
  doc: string | null;
  /** Only for files in the detailed sample: annotation and default source segments. */
  types?: (string | null)[];
  defaults?: (string | null)[];
}

export type RefFile = { error: string; line: number | null } | { functions: RefFunction[] };

/**
 * Reference extraction with `ast`: args `root sampleEvery listFile outFile`. Files are read as bytes
 * (ast.parse honours coding cookies and BOMs, as CPython does). For every `sampleEvery`-th file the
 * annotation and default texts are added (ast.get_source_segment is slow, so only for a sample).
 */
export const AST_REFERENCE_SCRIPT = String.raw`
import ast, io, json, sys, tokenize
root, sample_every, list_file, out_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
paths = [p for p in open(list_file, encoding='utf-8').read().split('\n') if p]

def params(fn, src, detailed):
    a = fn.args
    names, types, defaults = [], [], []
    pos = a.posonlyargs + a.args
    pd = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    seg = (lambda n: None if n is None else ast.get_source_segment(src, n)) if detailed else (lambda n: None)
    for p, d in zip(pos, pd):
        names.append(p.arg); types.append(seg(p.annotation)); defaults.append(seg(d))
    if a.vararg:
        names.append('*' + a.vararg.arg); types.append(seg(a.vararg.annotation)); defaults.append(None)
    for p, d in zip(a.kwonlyargs, a.kw_defaults):
        names.append(p.arg); types.append(seg(p.annotation)); defaults.append(seg(d))
    if a.kwarg:
        names.append('**' + a.kwarg.arg); types.append(seg(a.kwarg.annotation)); defaults.append(None)
    return names, types, defaults

def visit(node, qual, scope, out, src, detailed):
    for ch in ast.iter_child_nodes(node):
        if isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef)):
            q = qual + [ch.name]
            n, t, d = params(ch, src, detailed)
            f = {'qualname': '.'.join(q),
                 'start': ch.decorator_list[0].lineno if ch.decorator_list else ch.lineno,
                 'end': ch.end_lineno,
                 'kind': 'function' if scope is None else ('method' if scope == 'class' else 'nested'),
                 'async': isinstance(ch, ast.AsyncFunctionDef),
                 'args': n,
                 'doc': ast.get_docstring(ch)}
            if detailed:
                f['types'] = t; f['defaults'] = d
            out.append(f)
            visit(ch, q, 'function', out, src, detailed)
        elif isinstance(ch, ast.ClassDef):
            visit(ch, qual + [ch.name], 'class', out, src, detailed)
        else:
            visit(ch, qual, scope, out, src, detailed)

res = {}
for i, rel in enumerate(paths):
    with open(root + '/' + rel, 'rb') as fh:
        data = fh.read()
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError) as e:
        res[rel] = {'error': type(e).__name__ + ': ' + str(e), 'line': getattr(e, 'lineno', None)}
        continue
    detailed = sample_every > 0 and i % sample_every == 0
    src = None
    if detailed:
        enc, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        src = data.decode(enc)
        if src.startswith('\ufeff'):
            src = src[1:]
    out = []
    visit(tree, [], None, out, src, detailed)
    res[rel] = {'functions': out}
with open(out_file, 'w', encoding='utf-8') as fh:
    json.dump(res, fh, ensure_ascii=True)
`;

/** `inspect.cleandoc` over a JSON list of strings: args `listFile outFile`. */
export const CLEANDOC_SCRIPT = String.raw`
import inspect, json, sys
docs = json.load(open(sys.argv[1], encoding='utf-8'))
json.dump([inspect.cleandoc(d) for d in docs], open(sys.argv[2], 'w', encoding='utf-8'))
`;

/** `ast.literal_eval` of each source literal (or list of literals to concatenate): args `listFile outFile`. */
export const LITERAL_SCRIPT = String.raw`
import ast, json, sys
items = json.load(open(sys.argv[1], encoding='utf-8'))
out = []
for it in items:
    src = it if isinstance(it, str) else ' '.join(it)
    try:
        v = ast.literal_eval(src)
        out.append(v if isinstance(v, str) else None)
    except Exception:
        out.append(None)
json.dump(out, open(sys.argv[2], 'w', encoding='utf-8'))
`;
