// Real Python functions for tests and benchmarks, cut crudely from the machine's Python stdlib
// (split before every `def` line). Node-only helper (not a core module).
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listStdlibFiles } from '../extract/cpython.ts';

export interface CutFunction {
  /** File path relative to the stdlib root, and the def line's index in the file. */
  where: string;
  /** The function source as cut (def line .. next def line). */
  text: string;
}

let stdlibRoot: string | null | undefined;

/** The stdlib directory of `python3` (or /usr/lib/python3.11), or null when neither exists. */
export function findStdlib(): string | null {
  if (stdlibRoot !== undefined) return stdlibRoot;
  const candidates: string[] = [];
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      const out = execFileSync(py, ['-c', 'import sysconfig;print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' });
      candidates.push(out.trim());
    } catch {
      // not available
    }
  }
  candidates.push('/usr/lib/python3.11');
  stdlibRoot = candidates.find((c) => {
    try {
      return statSync(join(c, 'os.py')).isFile();
    } catch {
      return false;
    }
  }) ?? null;
  return stdlibRoot;
}

const DEF_SPLIT = /\n(?=[ \t]*(?:async[ \t]+)?def[ \t])/;

/** Up to `limit` functions from the stdlib, in sorted file order (deterministic). */
export function stdlibFunctions(limit = Infinity, root = findStdlib()): CutFunction[] {
  if (!root) return [];
  const files = listStdlibFiles(root).map((rel) => join(root, rel));
  const out: CutFunction[] = [];
  for (const f of files) {
    let src: string;
    try {
      src = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const pieces = src.split(DEF_SPLIT);
    for (let i = 0; i < pieces.length; i++) {
      const text = pieces[i];
      if (!/^[ \t]*(?:async[ \t]+)?def[ \t]/.test(text)) continue;
      out.push({ where: `${f.slice(root.length + 1)}#${i}`, text });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** Splits a cut function into its docstring (first string after the signature) and the rest. */
export function splitDocstring(fn: string): { docstring: string; code: string } | null {
  const m = /^([\s\S]*?\):[^\n]*\n[ \t]*)[rRuU]?("""|''')([\s\S]*?)\2/.exec(fn);
  if (!m || m[1].length > 400) return null;
  return { docstring: m[3], code: fn.slice(0, m[1].length) + fn.slice(m[0].length) };
}
