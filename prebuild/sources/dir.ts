// `dir:PATH` — local folders. PATH is one repository when it looks like one (it has .git,
// pyproject.toml, setup.py, setup.cfg, or .py files directly in it); otherwise each immediate
// subdirectory holding .py files is a repository. Also the walking helpers the other sources share.
import { lstat, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { SourceError, type RepoCheckout, type RepoMeta, type SourceContext, type SourceResolver } from './types.ts';

/**
 * Folder names never walked into. Virtual environments (any folder holding a `pyvenv.cfg`) are
 * skipped too; `venv` itself is not skipped by name because the standard library has a `venv` package.
 */
export const SKIP_DIRS: ReadonlySet<string> = new Set([
  '.git',
  '.hg',
  '.svn',
  '__pycache__',
  'node_modules',
  '.tox',
  '.nox',
  '.venv',
  '.mypy_cache',
  '.pytest_cache',
  '.ruff_cache',
  '.eggs',
]);

const REPO_MARKERS = ['.git', 'pyproject.toml', 'setup.py', 'setup.cfg'];

export interface WalkOptions {
  /** Extra folder names to skip anywhere (added to SKIP_DIRS). */
  skipDirs?: Iterable<string>;
  /** File name suffix to collect (default `.py`). */
  suffix?: string;
  /** Apply SKIP_DIRS and the virtual-environment rule (default true); false walks everything. */
  defaultSkips?: boolean;
}

/** Code-unit order: stable across locales and platforms. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Sorted relative paths (forward slashes) of the `*.py` files under `root`. Skips SKIP_DIRS and
 * virtual environments; symlinked folders are not followed; a symlinked file is kept only when its
 * target resolves inside `root`.
 */
export async function listPyFiles(root: string, opts: WalkOptions = {}): Promise<string[]> {
  const realRoot = await realpath(root);
  const defaults = opts.defaultSkips !== false;
  const skip = new Set([...(defaults ? SKIP_DIRS : []), ...(opts.skipDirs ?? [])]);
  const suffix = opts.suffix ?? '.py';
  const out: string[] = [];
  const stack: string[] = [''];
  while (stack.length > 0) {
    const rel = stack.pop() as string;
    const abs = rel ? join(realRoot, rel) : realRoot;
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch {
      continue; // unreadable folder: skip it rather than fail the whole walk
    }
    if (defaults && rel && entries.some((e) => e.name === 'pyvenv.cfg' && !e.isDirectory())) continue;
    for (const e of entries) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!skip.has(e.name)) stack.push(childRel);
      } else if (e.name.endsWith(suffix)) {
        if (e.isFile()) out.push(childRel);
        else if (e.isSymbolicLink()) {
          try {
            const target = await realpath(join(abs, e.name));
            if (isInside(realRoot, target) && (await stat(target)).isFile()) out.push(childRel);
          } catch {
            /* dangling link */
          }
        }
      }
    }
  }
  return out.sort(compareStrings);
}

/** True when `dir` itself is a repository by the dir rule. */
export async function looksLikeRepo(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.some((e) => REPO_MARKERS.includes(e.name) || (e.name.endsWith('.py') && (e.isFile() || e.isSymbolicLink())));
}

/** The `origin` remote of a git checkout, when cheap to read (`.git/config`). */
async function gitOriginUrl(dir: string): Promise<string | null> {
  try {
    const config = await readFile(join(dir, '.git', 'config'), 'utf8');
    const m = /\[remote "origin"\][^[]*?\burl\s*=\s*(\S+)/.exec(config);
    if (!m) return null;
    const url = m[1];
    // Never keep credentials embedded in a remote URL.
    return url.replace(/^(https?:\/\/)[^@/]+@/, '$1');
  } catch {
    return null;
  }
}

export function emptyMeta(overrides: Partial<RepoMeta> = {}): RepoMeta {
  return { url: null, version: null, license: null, topics: [], stars: null, ...overrides };
}

export interface DirRuleOptions {
  /** The `--source` spec recorded on each checkout. */
  source: string;
  /** Name of the single repository when `dir` itself is one (default: the folder's name). */
  name?: string;
  /** What to call the input in error messages (default: the spec). */
  label?: string;
}

/**
 * Applies the dir rule to an existing folder. Subdirectories without any `.py` file are skipped
 * (logged). Throws SourceError when no repository is found.
 */
export async function reposFromDir(dir: string, ctx: SourceContext, opts: DirRuleOptions): Promise<RepoCheckout[]> {
  const label = opts.label ?? opts.source;
  const root = await realpath(dir);
  const repoAt = async (path: string, name: string): Promise<RepoCheckout> => ({
    name,
    root: path,
    meta: emptyMeta({ url: await gitOriginUrl(path) }),
    source: opts.source,
    files: await listPyFiles(path),
  });
  if (await looksLikeRepo(root)) {
    const repo = await repoAt(root, opts.name ?? basename(root));
    if (repo.files?.length === 0) ctx.log(`${label}: ${repo.name} has no .py files`);
    return [repo];
  }
  const entries = (await readdir(root, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !SKIP_DIRS.has(e.name) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(compareStrings);
  const repos: RepoCheckout[] = [];
  const empty: string[] = [];
  for (const name of entries) {
    const repo = await repoAt(join(root, name), name);
    if (repo.files && repo.files.length > 0) repos.push(repo);
    else empty.push(name);
  }
  if (empty.length > 0) {
    const shownNames = empty.slice(0, 5).join(', ') + (empty.length > 5 ? `, … (${empty.length - 5} more)` : '');
    ctx.log(`${label}: skipped ${empty.length} folder(s) without .py files: ${shownNames}`);
  }
  if (repos.length === 0) {
    throw new SourceError(
      `${label}: no repositories found (no .git/pyproject.toml/setup.py/setup.cfg/.py at the top, and no subfolder holds .py files)`,
    );
  }
  return repos;
}

/** `dir:PATH` */
export const dirSource: SourceResolver = async (arg, ctx) => {
  const spec = `dir:${arg}`;
  if (!arg) throw new SourceError('dir: needs a path, e.g. dir:./my-projects');
  const path = resolve(arg);
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new SourceError(`${spec}: path does not exist (${path})`);
  }
  if (!st.isDirectory()) throw new SourceError(`${spec}: not a directory (${path})`);
  return reposFromDir(path, ctx, { source: spec });
};

/**
 * Moves a completed temporary folder to its final place. When the final folder already exists
 * (another run finished first), the temporary one is dropped and the existing one kept.
 */
export async function renameDirIntoPlace(tmp: string, final: string): Promise<void> {
  try {
    await rename(tmp, final);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await isDir(final))) {
      await rm(tmp, { recursive: true, force: true });
      return;
    }
    throw err;
  }
}

export async function isDir(p: string): Promise<boolean> {
  try {
    return (await lstat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** `relative()` with forward slashes. */
export function relPosix(from: string, to: string): string {
  return relative(from, to).split(sep).join('/');
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
