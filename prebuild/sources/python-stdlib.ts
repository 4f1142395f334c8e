// `python-stdlib` — the local python3's standard library as one repository (the demo corpus).
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listPyFiles } from './dir.ts';
import { SourceError, type RepoCheckout, type SourceContext } from './types.ts';

const execFileAsync = promisify(execFile);

const PROBE =
  'import sysconfig, sys, json; print(json.dumps({"stdlib": sysconfig.get_paths()["stdlib"], "version": sys.version.split()[0]}))';

export interface PythonStdlibOptions {
  /** Interpreter to ask (default `python3`, looked up on PATH). */
  python?: string;
  /** Environment for the lookup and the probe (default process.env); tests pass a PATH without python3. */
  env?: NodeJS.ProcessEnv;
}

/** Where the interpreter's standard library lives and its version. */
export async function findPythonStdlib(opts: PythonStdlibOptions = {}): Promise<{ stdlib: string; version: string }> {
  const python = opts.python ?? 'python3';
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(python, ['-c', PROBE], { env: opts.env ?? process.env, timeout: 30_000 }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new SourceError(`python-stdlib: ${python} not found on PATH (install Python 3 or use another --source)`);
    const detail = (e.stderr ?? e.message).trim().split('\n').pop() ?? '';
    throw new SourceError(`python-stdlib: ${python} failed to report its standard library (${detail})`);
  }
  let info: { stdlib?: unknown; version?: unknown };
  try {
    info = JSON.parse(stdout.trim().split('\n').pop() ?? '') as typeof info;
  } catch {
    throw new SourceError(`python-stdlib: unexpected output from ${python}: ${stdout.trim().slice(0, 120)}`);
  }
  if (typeof info.stdlib !== 'string' || typeof info.version !== 'string')
    throw new SourceError(`python-stdlib: unexpected output from ${python}: ${stdout.trim().slice(0, 120)}`);
  return { stdlib: info.stdlib, version: info.version };
}

export async function pythonStdlibSource(ctx: SourceContext, opts: PythonStdlibOptions = {}): Promise<RepoCheckout[]> {
  const { stdlib, version } = await findPythonStdlib(opts);
  try {
    if (!(await stat(stdlib)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new SourceError(`python-stdlib: standard library folder ${stdlib} is missing`);
  }
  const files = await listPyFiles(stdlib, { skipDirs: ['site-packages', 'dist-packages'] });
  if (files.length === 0) throw new SourceError(`python-stdlib: no .py files under ${stdlib}`);
  ctx.log(`python-stdlib: Python ${version}, ${files.length} files under ${stdlib}`);
  return splitStdlib(stdlib, version, files);

}

/**
 * Coarse areas of the standard library, used as topics so the demo's tag chart has something to
 * show. Packages not named here get only the 'Python standard library' topic.
 */
const STDLIB_AREAS: Record<string, string> = {
  asyncio: 'Concurrency', concurrent: 'Concurrency', multiprocessing: 'Concurrency',
  email: 'Internet', http: 'Internet', urllib: 'Internet', xmlrpc: 'Internet', wsgiref: 'Internet', html: 'Internet',
  xml: 'Data formats', json: 'Data formats', sqlite3: 'Data formats', dbm: 'Data formats', tomllib: 'Data formats', encodings: 'Text',
  test: 'Testing', unittest: 'Testing', lib2to3: 'Developer tools', idlelib: 'Developer tools', pydoc_data: 'Developer tools',
  ensurepip: 'Developer tools', venv: 'Developer tools', distutils: 'Developer tools', importlib: 'Import system',
  tkinter: 'GUI', turtledemo: 'GUI', curses: 'Terminal', ctypes: 'Foreign functions', logging: 'Logging',
  collections: 'Data structures', re: 'Text', zoneinfo: 'Dates and times', zipfile: 'Archives',
};

/**
 * One repository per top-level package (`stdlib/asyncio`, `stdlib/email`, ...) and one for the
 * top-level modules (`stdlib/modules`): the demo map and charts then have packages to compare,
 * as the real corpus has repositories. Paths stay relative to each repository's root.
 */
function splitStdlib(stdlib: string, version: string, files: string[]): RepoCheckout[] {
  const groups = new Map<string, string[]>();
  for (const f of files) {
    const slash = f.indexOf('/');
    const key = slash < 0 ? '' : f.slice(0, slash);
    const rel = slash < 0 ? f : f.slice(slash + 1);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(rel);
  }
  return [...groups.entries()]
    .map(([pkg, rels]): RepoCheckout => {
      const area = STDLIB_AREAS[pkg];
      return {
        name: `stdlib/${pkg || 'modules'}`,
        root: pkg ? join(stdlib, pkg) : stdlib,
        meta: {
          url: `https://github.com/python/cpython/tree/v${version}/Lib${pkg ? `/${pkg}` : ''}`,
          version,
          license: 'PSF-2.0',
          topics: area ? ['Python standard library', area] : ['Python standard library'],
          stars: null,
        },
        source: 'python-stdlib',
        files: rels,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
