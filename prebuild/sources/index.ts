// `--source <spec>` -> local repository folders with metadata. Specs:
//   dir:PATH                      a folder: one repository, or one per subfolder (see dir.ts)
//   archive:FILE                  a .zip / .tar.gz / .tgz / .tar, unpacked into the cache, then as dir:
//   debian:LIST[?options]         Debian packages from a TSV list (corpus/packages.tsv format);
//                                 options: skip-missing, only=pkg1,pkg2, limit=N, concurrency=N
//   github:OWNER/REPO[@REF]       one GitHub repository (default branch when no ref)
//   pypi-top:N[?options]          PyPI's N most-downloaded projects with a GitHub repository;
//                                 options: concurrency=N, downloads=N
//   python-stdlib                 the local python3's standard library (the demo corpus)
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProgress } from '../progress.ts';
import { archiveSource } from './archive.ts';
import { debianSource } from './debian.ts';
import { dirSource } from './dir.ts';
import { githubSource } from './github.ts';
import { pypiTopSource } from './pypi.ts';
import { pythonStdlibSource } from './python-stdlib.ts';
import { SourceError, type HttpSettings, type RepoCheckout, type SourceContext } from './types.ts';

export { SourceError } from './types.ts';
export type { RepoCheckout, RepoMeta, SourceContext, SourceResolver, HttpSettings } from './types.ts';

export const SOURCE_KINDS = ['dir', 'archive', 'debian', 'github', 'pypi-top', 'python-stdlib'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export interface SourceSpec {
  kind: SourceKind;
  /** Everything after `kind:` (without the `?options` part); empty for python-stdlib. */
  arg: string;
  /** `?a&b=c` options (only kinds that take options parse them; a flag without value is `true`). */
  options: Record<string, string | true>;
}

/** Options each kind accepts after `?` (kinds absent here take none, and their argument may hold `?`). */
const KIND_OPTIONS: Partial<Record<SourceKind, readonly string[]>> = {
  debian: ['skip-missing', 'only', 'limit', 'concurrency'],
  'pypi-top': ['concurrency', 'downloads'],
};

const USAGE = 'dir:PATH, archive:FILE, debian:LIST, github:OWNER/REPO[@REF], pypi-top:N or python-stdlib';

/** Splits and checks a `--source` spec. Throws a one-line SourceError for anything it cannot use. */
export function parseSourceSpec(spec: string): SourceSpec {
  const s = spec.trim();
  if (s === '') throw new SourceError(`empty --source; expected ${USAGE}`);
  const colon = s.indexOf(':');
  const kindText = colon < 0 ? s : s.slice(0, colon);
  let arg = colon < 0 ? '' : s.slice(colon + 1);
  if (!(SOURCE_KINDS as readonly string[]).includes(kindText)) {
    const hint = colon < 0 && /[/.\\]/.test(s) ? ` (did you mean dir:${s} or archive:${s}?)` : '';
    throw new SourceError(`unknown source ${JSON.stringify(kindText)} in ${JSON.stringify(spec)}${hint}; expected ${USAGE}`);
  }
  const kind = kindText as SourceKind;
  const options: Record<string, string | true> = {};
  const allowed = KIND_OPTIONS[kind];
  if (allowed) {
    const q = arg.lastIndexOf('?');
    if (q >= 0) {
      for (const part of arg.slice(q + 1).split('&')) {
        if (part === '') continue;
        const eq = part.indexOf('=');
        const key = eq < 0 ? part : part.slice(0, eq);
        if (!allowed.includes(key))
          throw new SourceError(`${kind}: unknown option ${JSON.stringify(key)} in ${JSON.stringify(spec)}; known: ${allowed.join(', ')}`);
        options[key] = eq < 0 ? true : decodeURIComponent(part.slice(eq + 1));
      }
      arg = arg.slice(0, q);
    }
  }
  switch (kind) {
    case 'python-stdlib':
      if (colon >= 0) throw new SourceError(`python-stdlib takes no argument (got ${JSON.stringify(spec)})`);
      break;
    case 'pypi-top':
      if (!/^[1-9]\d{0,4}$/.test(arg)) throw new SourceError(`pypi-top:N needs a whole number N from 1 to 99999 (got ${JSON.stringify(arg)})`);
      break;
    default:
      if (arg === '') throw new SourceError(`${kind}: missing argument; expected ${USAGE}`);
  }
  return { kind, arg, options };
}

function intOption(spec: SourceSpec, key: string, min: number, max: number): number | undefined {
  const v = spec.options[key];
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new SourceError(`${spec.kind}: option ${key} needs a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
  return n;
}

/** Resolves a `--source` spec to local repositories. */
export async function resolveSource(spec: string, ctx: SourceContext): Promise<RepoCheckout[]> {
  const parsed = parseSourceSpec(spec);
  switch (parsed.kind) {
    case 'dir':
      return dirSource(parsed.arg, ctx);
    case 'archive':
      return archiveSource(parsed.arg, ctx);
    case 'debian': {
      const only = parsed.options.only;
      if (only === true) throw new SourceError('debian: option only needs a value, e.g. only=python3-six,python3-idna');
      return debianSource(parsed.arg, ctx, {
        skipMissing: parsed.options['skip-missing'] !== undefined && parsed.options['skip-missing'] !== 'false',
        only: only ? only.split(',').map((x) => x.trim()).filter(Boolean) : undefined,
        limit: intOption(parsed, 'limit', 1, 1_000_000),
        concurrency: intOption(parsed, 'concurrency', 1, 64),
      });
    }
    case 'github':
      return githubSource(parsed.arg, ctx);
    case 'pypi-top':
      return pypiTopSource(Number(parsed.arg), ctx, {
        concurrency: intOption(parsed, 'concurrency', 1, 64),
        downloadConcurrency: intOption(parsed, 'downloads', 1, 64),
      });
    case 'python-stdlib':
      return pythonStdlibSource(ctx);
  }
}

export const DEFAULT_ENDPOINTS: SourceContext['endpoints'] = {
  githubApi: 'https://api.github.com',
  githubCodeload: 'https://codeload.github.com',
  pypiTop: 'https://hugovk.github.io/top-pypi-packages/top-pypi-packages-30-days.min.json',
  pypiJson: 'https://pypi.org/pypi',
};

/** The project root (two folders above this file). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CreateSourceContextOptions {
  /** Default `<projectRoot>/.cache/prebuild`. */
  cacheDir?: string;
  projectRoot?: string;
  log?: (message: string) => void;
  progress?: SourceContext['progress'];
  /** Silence progress bars (log lines still go to `log`). */
  quiet?: boolean;
  fetch?: typeof fetch;
  endpoints?: Partial<SourceContext['endpoints']>;
  /** Default: env.GITHUB_TOKEN (empty counts as unset). */
  githubToken?: string | null;
  http?: HttpSettings;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export function createSourceContext(opts: CreateSourceContextOptions = {}): SourceContext {
  const env = opts.env ?? process.env;
  const root = opts.projectRoot ?? PROJECT_ROOT;
  const quiet = opts.quiet === true;
  const progress: SourceContext['progress'] = opts.progress ?? (quiet ? (o) => createProgress({ ...o, quiet: true }) : createProgress);
  const token = opts.githubToken !== undefined ? opts.githubToken : env.GITHUB_TOKEN?.trim() || null;
  return {
    cacheDir: resolve(opts.cacheDir ?? join(root, '.cache', 'prebuild')),
    log: opts.log ?? ((m: string) => process.stderr.write(`${m}\n`)),
    progress,
    fetch: opts.fetch ?? globalThis.fetch.bind(globalThis),
    endpoints: { ...DEFAULT_ENDPOINTS, ...opts.endpoints },
    githubToken: token || null,
    http: opts.http,
  };
}
