// `pypi-top:N` — the study's scraper: PyPI's N most-downloaded projects (hugovk's top-pypi-packages
// list, `{rows: [{project, download_count}]}`) -> PyPI JSON API `/pypi/<name>/json` -> the GitHub
// repository named in project_urls / home_page -> GitHub REST API (topics, stars, licence, default
// branch) -> codeload tarball of the default branch -> archive unpack. Projects without a GitHub
// repository (or whose repository another, higher-ranked project already took) are skipped with a
// logged reason.
import { HttpError } from './http.ts';
import { httpGet } from './http.ts';
import { mapLimit } from './dir.ts';
import { fetchGithubRepoInfo, fetchGithubTarball, parseGithubUrl, type GithubRepoInfo, type GithubRepoRef } from './github.ts';
import { SourceError, type RepoCheckout, type SourceContext } from './types.ts';

export interface TopProject {
  project: string;
  downloadCount: number;
  /** 1-based rank in the list. */
  rank: number;
}

/** Parses the top-PyPI list: `{rows: [{project, download_count}]}` (a bare array of rows works too). */
export function parseTopList(json: unknown, label = 'pypi-top'): TopProject[] {
  const rows = Array.isArray(json) ? json : (json as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(rows)) throw new SourceError(`${label}: the top-projects list has no "rows" array`);
  const out: { project: string; downloadCount: number }[] = [];
  for (const r of rows) {
    const row = r as { project?: unknown; download_count?: unknown };
    if (typeof row?.project !== 'string' || row.project === '') continue;
    out.push({ project: row.project, downloadCount: typeof row.download_count === 'number' ? row.download_count : 0 });
  }
  // The list is sorted already; sort again (stable) so a reordered mirror gives the same ranks.
  out.sort((a, b) => b.downloadCount - a.downloadCount);
  return out.map((p, i) => ({ ...p, rank: i + 1 }));
}

export interface PypiInfo {
  name?: string;
  version?: string;
  home_page?: string | null;
  project_urls?: Record<string, string> | null;
  license?: string | null;
  license_expression?: string | null;
  classifiers?: string[];
}

/**
 * The GitHub repository a PyPI project names, or null. Source-like project_urls keys first
 * (Source, Code, Repository, GitHub…), then home_page, then Homepage-like keys, then any other URL
 * (an Issues or Changelog link on GitHub still names the repository).
 */
export function githubFromPypiInfo(info: PypiInfo): (GithubRepoRef & { from: string }) | null {
  const urls = info.project_urls && typeof info.project_urls === 'object' ? Object.entries(info.project_urls) : [];
  const score = (key: string): number =>
    /source|code|repo|github|git\b|vcs/i.test(key) ? 0 : /home/i.test(key) ? 2 : /doc|issue|bug|track|change|release|fund|donat|sponsor/i.test(key) ? 4 : 3;
  const candidates: { url: string; from: string; rank: number }[] = urls
    .filter(([, u]) => typeof u === 'string')
    .map(([k, u]) => ({ url: u, from: `project_urls.${k}`, rank: score(k) }));
  if (typeof info.home_page === 'string' && info.home_page) candidates.push({ url: info.home_page, from: 'home_page', rank: 1 });
  candidates.sort((a, b) => a.rank - b.rank);
  for (const c of candidates) {
    const ref = parseGithubUrl(c.url);
    if (ref) return { ...ref, from: c.from };
  }
  return null;
}

/** `Topic :: Software Development :: Libraries` -> `Software Development :: Libraries` (as packages.tsv). */
export function topicsFromClassifiers(classifiers: unknown): string[] {
  if (!Array.isArray(classifiers)) return [];
  return classifiers
    .filter((c): c is string => typeof c === 'string' && c.startsWith('Topic :: '))
    .map((c) => c.slice('Topic :: '.length));
}

export interface PypiTopOptions {
  /** Parallel metadata look-ups (default 4). */
  concurrency?: number;
  /** Parallel tarball downloads + unpacks (default 2). */
  downloadConcurrency?: number;
}

interface Resolved {
  top: TopProject;
  info: PypiInfo;
  gh: GithubRepoInfo;
}

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

/** `pypi-top:N` */
export async function pypiTopSource(n: number, ctx: SourceContext, opts: PypiTopOptions = {}): Promise<RepoCheckout[]> {
  const spec = `pypi-top:${n}`;
  const listRes = await httpGet(ctx.endpoints.pypiTop, ctx, {});
  const top = parseTopList(await listRes.json(), spec).slice(0, n);
  if (top.length < n) ctx.log(`${spec}: the list has only ${top.length} projects`);

  // 1. Metadata, concurrently; results keep rank order.
  const bar = ctx.progress({ label: 'pypi-top metadata', total: top.length, unit: 'projects' });
  const skippedBy: { rank: number; why: string }[] = [];
  const skip = (t: TopProject, why: string): void => void skippedBy.push({ rank: t.rank, why: `${t.project}: ${why}` });
  let resolved: (Resolved | null)[];
  try {
    resolved = await mapLimit(top, opts.concurrency ?? 4, async (t): Promise<Resolved | null> => {
      try {
        const res = await httpGet(`${base(ctx.endpoints.pypiJson)}/${encodeURIComponent(t.project)}/json`, ctx, { allowStatus: [404] });
        if (res.status === 404) {
          skip(t, 'not on PyPI');
          return null;
        }
        const info = (await res.json<{ info?: PypiInfo }>()).info ?? {};
        const ref = githubFromPypiInfo(info);
        if (!ref) {
          skip(t, 'no GitHub repository in project_urls/home_page');
          return null;
        }
        const gh = await fetchGithubRepoInfo(ref, ctx);
        if (!gh) {
          skip(t, `GitHub repository ${ref.owner}/${ref.repo} (from ${ref.from}) not found`);
          return null;
        }
        return { top: t, info, gh };
      } finally {
        bar.tick(1, t.project);
      }
    });
  } finally {
    bar.done();
  }

  // 2. One checkout per GitHub repository: the highest-ranked project keeps it.
  const taken = new Map<string, string>();
  const chosen: Resolved[] = [];
  for (const r of resolved) {
    if (!r) continue;
    const key = r.gh.fullName.toLowerCase();
    const owner = taken.get(key);
    if (owner) {
      skip(r.top, `same GitHub repository as ${owner} (${r.gh.fullName})`);
      continue;
    }
    taken.set(key, r.top.project);
    chosen.push(r);
  }

  // 3. Tarballs of the default branches.
  const dl = ctx.progress({ label: 'pypi-top tarballs', total: chosen.length, unit: 'repos' });
  let repos: (RepoCheckout | null)[];
  try {
    repos = await mapLimit(chosen, opts.downloadConcurrency ?? 2, async (r): Promise<RepoCheckout | null> => {
      try {
        const tar = await fetchGithubTarball(r.gh, r.gh.defaultBranch, ctx, { label: `${spec} ${r.top.project}` });
        const pypiLicense = r.info.license_expression || (r.info.license && r.info.license.length <= 40 ? r.info.license : null);
        return {
          name: r.top.project,
          root: tar.root,
          meta: {
            url: r.gh.htmlUrl,
            version: typeof r.info.version === 'string' ? r.info.version : null,
            license: r.gh.license ?? pypiLicense ?? null,
            topics: r.gh.topics.length > 0 ? r.gh.topics : topicsFromClassifiers(r.info.classifiers),
            stars: r.gh.stars,
            ref: tar.commit ? `${r.gh.defaultBranch}@${tar.commit}` : r.gh.defaultBranch,
          },
          source: spec,
          files: tar.files,
        };
      } catch (err) {
        // A bad or oversized tarball skips the project; a failing network (after retries) fails the source.
        if (err instanceof HttpError || !(err instanceof SourceError)) throw err;
        skip(r.top, err.message);
        return null;
      } finally {
        dl.tick(1, r.top.project);
      }
    });
  } finally {
    dl.done();
  }
  const skipped = skippedBy.sort((a, b) => a.rank - b.rank).map((s) => s.why);
  for (const s of skipped) ctx.log(`${spec}: skipped ${s}`);
  const out = repos.filter((r): r is RepoCheckout => r !== null);
  if (out.length === 0) throw new SourceError(`${spec}: no project could be fetched (${skipped.length} skipped)`);
  ctx.log(`${spec}: ${out.length} repositories, ${skipped.length} projects skipped`);
  return out;
}
