// `debian:LIST` — Debian binary packages named in a TSV list (the format of corpus/packages.tsv),
// fetched with `apt-get download` (no root, no install) and unpacked with `dpkg-deb -x`.
//
// Cache: <cacheDir>/debian/debs/<pkg>_<version>_<arch>.deb and <cacheDir>/debian/pkgs/<pkg>_<version>/
// (version with ':' written %3a, as apt writes .deb names). Both are written under temporary names
// and renamed when complete, so an interrupted run never leaves half a package behind.
//
// The listed version is fetched when the apt sources still have it; otherwise the current candidate
// (logged), and the version actually fetched is recorded. A package that cannot be fetched fails the
// whole source with a one-line reason naming it, unless `skipMissing` is set (spec: `?skip-missing`).
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { compareStrings, isDir, listPyFiles, mapLimit, renameDirIntoPlace } from './dir.ts';
import { SourceError, type RepoCheckout, type SourceContext } from './types.ts';

export interface DebianPackageRow {
  debianPackage: string;
  /** The version the list was made from (may be gone from the archive since). */
  version: string;
  pypiName: string;
  pypiRank: number | null;
  upstreamUrl: string | null;
  topics: string[];
  /** `.py` files the list's author counted in that version (null when the column is absent). */
  pyFiles: number | null;
  functions: number | null;
}

export interface DebianOptions {
  /** Skip packages that cannot be fetched (logged) instead of failing the source. */
  skipMissing?: boolean;
  /** Only these Debian package names (or PyPI names). */
  only?: string[];
  /** Only the first N rows (after `only`). */
  limit?: number;
  /** Parallel `dpkg-deb -x` processes (default 2). */
  concurrency?: number;
  /** Environment for apt-get/apt-cache/dpkg-deb (default process.env); tests pass a PATH without them. */
  env?: NodeJS.ProcessEnv;
}

const REQUIRED_COLUMNS = ['debian_package', 'version', 'pypi_name'] as const;

/** Parses the TSV list: `#` comment lines, one header row, tab-separated columns (any order). */
export function parsePackageList(text: string, label = 'debian'): DebianPackageRow[] {
  const lines = text.split(/\r?\n/);
  let header: string[] | null = null;
  const rows: DebianPackageRow[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '' || line.startsWith('#')) continue;
    const cells = line.split('\t');
    if (!header) {
      header = cells.map((c) => c.trim());
      const missing = REQUIRED_COLUMNS.filter((c) => !header?.includes(c));
      if (missing.length) throw new SourceError(`${label}: header row lacks column(s) ${missing.join(', ')} (line ${i + 1})`);
      continue;
    }
    const get = (col: string): string => {
      const idx = (header as string[]).indexOf(col);
      return idx >= 0 && idx < cells.length ? cells[idx].trim() : '';
    };
    const num = (col: string): number | null => {
      const v = get(col);
      if (v === '') return null;
      const n = Number(v);
      return Number.isFinite(n) ? n : null;
    };
    const debianPackage = get('debian_package');
    const version = get('version');
    const pypiName = get('pypi_name') || debianPackage;
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(debianPackage))
      throw new SourceError(`${label}: line ${i + 1}: bad Debian package name ${JSON.stringify(debianPackage)}`);
    if (version && !/^[A-Za-z0-9.+~:-]+$/.test(version))
      throw new SourceError(`${label}: line ${i + 1}: bad version ${JSON.stringify(version)}`);
    if (seen.has(debianPackage)) continue;
    seen.add(debianPackage);
    rows.push({
      debianPackage,
      version,
      pypiName,
      pypiRank: num('pypi_rank'),
      upstreamUrl: get('upstream_url') || null,
      topics: get('topics')
        .split(';')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
      pyFiles: num('py_files'),
      functions: num('functions'),
    });
  }
  if (!header) throw new SourceError(`${label}: no header row (expected columns ${REQUIRED_COLUMNS.join(', ')}, …)`);
  return rows;
}

/** `1:1.24.2-1` -> `1%3a1.24.2-1`, as apt names .deb files. */
export function encodeDebVersion(version: string): string {
  return version.replace(/:/g, '%3a');
}

/** Parses `<pkg>_<version>_<arch>.deb` (apt's naming), decoding the version. */
export function parseDebFileName(file: string): { pkg: string; version: string; arch: string } | null {
  const m = /^([^_/]+)_([^_/]+)_([^_/]+)\.deb$/.exec(file);
  if (!m) return null;
  let version = m[2];
  try {
    version = decodeURIComponent(version);
  } catch {
    version = version.replace(/%3a/gi, ':');
  }
  return { pkg: m[1], version, arch: m[3] };
}

export interface AptPolicy {
  candidate: string | null;
  /** Versions apt can download (sources other than the dpkg status file). */
  downloadable: string[];
}

/** Parses `LC_ALL=C apt-cache policy p1 p2 …`. Packages apt does not know are absent from the map. */
export function parseAptPolicy(text: string): Map<string, AptPolicy> {
  const out = new Map<string, AptPolicy>();
  let current: AptPolicy | null = null;
  let version: string | null = null;
  for (const line of text.split('\n')) {
    const head = /^(\S[^:]*)(?::[a-z0-9-]+)?:$/.exec(line);
    if (head) {
      current = { candidate: null, downloadable: [] };
      out.set(head[1], current);
      version = null;
      continue;
    }
    if (!current) continue;
    const cand = /^ {2}Candidate: (.+)$/.exec(line);
    if (cand) {
      current.candidate = cand[1].trim() === '(none)' ? null : cand[1].trim();
      continue;
    }
    const ver = /^ (?:\*\*\*| {3}) (\S+) -?\d+$/.exec(line);
    if (ver) {
      version = ver[1];
      continue;
    }
    const src = /^ {8}-?\d+ (.+)$/.exec(line);
    if (src && version && src[1].trim() !== '/var/lib/dpkg/status' && !current.downloadable.includes(version)) {
      current.downloadable.push(version);
    }
  }
  return out;
}

/** The `License:` of the `Files: *` stanza of a DEP-5 copyright file, or null. */
export function parseCopyrightLicense(text: string): string | null {
  const stanzas = text.replace(/\r\n/g, '\n').split(/\n[ \t]*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let last: string | null = null;
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
      if (m) {
        last = m[1].toLowerCase();
        fields.set(last, m[2]);
      } else if (last && /^\s/.test(line)) {
        fields.set(last, `${fields.get(last) ?? ''}\n${line}`);
      }
    }
    const files = fields.get('files');
    if (files === undefined) continue;
    if (!files.split(/\s+/).includes('*')) continue;
    const license = (fields.get('license') ?? '').split('\n')[0].trim();
    return license || null;
  }
  return null;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; ENOENT becomes a one-line SourceError naming the tool. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; label: string; onLine?: (line: string) => void },
): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...(opts.env ?? process.env), LC_ALL: 'C', LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      if (opts.onLine) {
        partial += d;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) opts.onLine(l);
      }
    });
    child.stderr.on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        const why = cmd === 'dpkg-deb' ? "Debian's dpkg" : "Debian/Ubuntu's apt";
        reject(new SourceError(`${opts.label}: ${cmd} not found on PATH (this source needs ${why})`));
      } else reject(new SourceError(`${opts.label}: cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code) => resolveRun({ code: code ?? 1, stdout, stderr }));
  });
}

function firstError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  return lines.find((l) => l.startsWith('E:')) ?? lines.find((l) => l !== '') ?? 'unknown error';
}

/** Reads the DEP-5 licence of an unpacked package, staying inside its folder. */
async function readLicense(root: string, pkg: string): Promise<string | null> {
  try {
    const realRoot = await realpath(root);
    const path = await realpath(join(root, 'usr', 'share', 'doc', pkg, 'copyright'));
    if (!path.startsWith(realRoot + sep)) return null;
    const st = await stat(path);
    if (st.size > 4 * 1024 * 1024) return null;
    return parseCopyrightLicense(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

async function findDeb(debsDir: string, pkg: string, version: string): Promise<string | null> {
  const prefix = `${pkg}_${encodeDebVersion(version)}_`;
  try {
    const hit = (await readdir(debsDir)).filter((f) => f.startsWith(prefix) && f.endsWith('.deb')).sort(compareStrings)[0];
    return hit ? join(debsDir, hit) : null;
  } catch {
    return null;
  }
}

interface Planned {
  row: DebianPackageRow;
  /** Version to use (listed, or the fallback candidate). */
  version: string;
  pkgDir: string;
  deb: string | null;
}

export async function debianSource(listFile: string, ctx: SourceContext, opts: DebianOptions = {}): Promise<RepoCheckout[]> {
  const spec = `debian:${listFile}`;
  const path = resolve(listFile);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new SourceError(`${spec}: cannot read the package list (${path})`);
  }
  let rows = parsePackageList(text, spec);
  if (opts.only?.length) {
    const wanted = new Set(opts.only);
    const unknown = opts.only.filter((n) => !rows.some((r) => r.debianPackage === n || r.pypiName === n));
    if (unknown.length) throw new SourceError(`${spec}: not in the list: ${unknown.join(', ')}`);
    rows = rows.filter((r) => wanted.has(r.debianPackage) || wanted.has(r.pypiName));
  }
  if (opts.limit !== undefined) rows = rows.slice(0, opts.limit);
  if (rows.length === 0) throw new SourceError(`${spec}: the list names no packages`);

  const debsDir = join(ctx.cacheDir, 'debian', 'debs');
  const pkgsDir = join(ctx.cacheDir, 'debian', 'pkgs');
  await mkdir(debsDir, { recursive: true });
  await mkdir(pkgsDir, { recursive: true });
  const pkgDirFor = (pkg: string, version: string): string => join(pkgsDir, `${pkg}_${encodeDebVersion(version)}`);

  // 1. Already unpacked at the listed version? Otherwise ask apt which versions it can fetch.
  const planned: Planned[] = [];
  const unresolved: DebianPackageRow[] = [];
  for (const row of rows) {
    if (row.version && (await isDir(pkgDirFor(row.debianPackage, row.version))))
      planned.push({ row, version: row.version, pkgDir: pkgDirFor(row.debianPackage, row.version), deb: null });
    else unresolved.push(row);
  }
  const missing: string[] = [];
  if (unresolved.length > 0) {
    const policyRun = await run('apt-cache', ['policy', ...unresolved.map((r) => r.debianPackage)], { env: opts.env, label: spec });
    if (policyRun.code !== 0) throw new SourceError(`${spec}: apt-cache policy failed: ${firstError(policyRun.stderr)}`);
    const policy = parseAptPolicy(policyRun.stdout);
    for (const row of unresolved) {
      const p = policy.get(row.debianPackage);
      let version: string | null = null;
      if (p && row.version && p.downloadable.includes(row.version)) version = row.version;
      else if (p?.candidate && p.downloadable.includes(p.candidate)) version = p.candidate;
      else if (p && p.downloadable.length > 0) version = p.downloadable[0];
      if (!version) {
        missing.push(`${row.debianPackage} (not in the apt sources${p ? '' : '; try apt-get update'})`);
        continue;
      }
      if (row.version && version !== row.version) ctx.log(`${spec}: ${row.debianPackage} ${row.version} is gone from the apt sources; using ${version}`);
      const pkgDir = pkgDirFor(row.debianPackage, version);
      planned.push({ row, version, pkgDir, deb: (await isDir(pkgDir)) ? null : await findDeb(debsDir, row.debianPackage, version) });
    }
  }

  // 2. Download the missing .debs in as few apt-get calls as possible, into a temporary folder.
  const needDownload: Planned[] = [];
  for (const p of planned) if (!p.deb && !(await isDir(p.pkgDir))) needDownload.push(p);
  if (needDownload.length > 0) {
    const tmp = join(debsDir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    await mkdir(tmp, { recursive: true });
    const bar = ctx.progress({ label: 'apt-get download', total: needDownload.length, unit: 'debs' });
    try {
      for (let i = 0; i < needDownload.length; i += 200) {
        const batch = needDownload.slice(i, i + 200);
        const res = await run('apt-get', ['download', ...batch.map((p) => `${p.row.debianPackage}=${p.version}`)], {
          cwd: tmp,
          env: opts.env,
          label: spec,
          onLine: (l) => {
            // `Get:3 http://… bookworm/main amd64 python3-six all 1.16.0-4 [17.5 kB]`
            if (l.startsWith('Get:')) bar.tick(1, l.split(' ').slice(-5, -4).join(''));
          },
        });
        if (res.code !== 0) ctx.log(`${spec}: apt-get download: ${firstError(res.stderr)}`);
        for (const p of batch) {
          const name = (await readdir(tmp)).find((f) => f.startsWith(`${p.row.debianPackage}_${encodeDebVersion(p.version)}_`) && f.endsWith('.deb'));
          const parsed = name ? parseDebFileName(name) : null;
          if (name && parsed) {
            await rename(join(tmp, name), join(debsDir, name));
            p.deb = join(debsDir, name);
            p.version = parsed.version; // the version actually downloaded
          } else {
            missing.push(`${p.row.debianPackage}=${p.version} (${res.code !== 0 ? firstError(res.stderr) : 'apt-get download produced no file'})`);
          }
        }
      }
    } finally {
      bar.done();
      await rm(tmp, { recursive: true, force: true });
    }
  }
  if (missing.length > 0) {
    if (!opts.skipMissing) {
      const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
      throw new SourceError(`${spec}: cannot download ${missing[0]}${more}; add ?skip-missing to skip such packages`);
    }
    ctx.log(`${spec}: skipping ${missing.length} package(s): ${missing.join('; ')}`);
  }

  // 3. Unpack with limited parallelism.
  const toUnpack: Planned[] = [];
  for (const p of planned) if (!(await isDir(p.pkgDir)) && p.deb) toUnpack.push(p);
  if (toUnpack.length > 0) {
    const bar = ctx.progress({ label: 'dpkg-deb -x', total: toUnpack.length, unit: 'pkgs' });
    try {
      await mapLimit(toUnpack, opts.concurrency ?? 2, async (p) => {
        const tmp = `${p.pkgDir}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
        try {
          const res = await run('dpkg-deb', ['-x', p.deb as string, tmp], { env: opts.env, label: spec });
          if (res.code !== 0) throw new SourceError(`${spec}: dpkg-deb -x ${p.deb} failed: ${firstError(res.stderr)}`);
          await renameDirIntoPlace(tmp, p.pkgDir);
        } catch (err) {
          await rm(tmp, { recursive: true, force: true });
          throw err;
        }
        bar.tick(1, p.row.debianPackage);
      });
    } finally {
      bar.done();
    }
  }

  // 4. Checkouts in list order.
  const order = new Map(rows.map((r, i) => [r.debianPackage, i]));
  planned.sort((a, b) => (order.get(a.row.debianPackage) ?? 0) - (order.get(b.row.debianPackage) ?? 0));
  const repos: RepoCheckout[] = [];
  for (const p of planned) {
    if (!(await isDir(p.pkgDir))) continue; // skipped above
    const files = await listPyFiles(p.pkgDir, { defaultSkips: false });
    repos.push({
      name: p.row.pypiName,
      root: p.pkgDir,
      meta: {
        url: p.row.upstreamUrl,
        version: p.version,
        license: await readLicense(p.pkgDir, p.row.debianPackage),
        topics: p.row.topics,
        stars: null,
      },
      source: spec,
      files,
    });
  }
  if (repos.length === 0) throw new SourceError(`${spec}: no package could be fetched`);
  return repos;
}
