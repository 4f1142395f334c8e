// `github:OWNER/REPO[@ref]` — one GitHub repository: metadata from the REST API
// (`/repos/{owner}/{repo}`: topics, stars, licence, default branch), code from the codeload tarball
// of the ref (default branch when none), unpacked through archive.ts. GITHUB_TOKEN, when set, is sent
// as `Authorization: Bearer` to the API and codeload (never to other hosts).
import { unpackArchive, type ArchiveLimits } from './archive.ts';
import { listPyFiles } from './dir.ts';
import { httpGet } from './http.ts';
import { SourceError, type RepoCheckout, type SourceContext } from './types.ts';

export interface GithubRepoRef {
  owner: string;
  repo: string;
}

export interface GithubRepoInfo extends GithubRepoRef {
  /** `owner/repo` as GitHub spells it now (follows renames). */
  fullName: string;
  htmlUrl: string;
  defaultBranch: string;
  stars: number | null;
  /** SPDX id; null when absent or NOASSERTION. */
  license: string | null;
  topics: string[];
  archived: boolean;
}

/** Owner names that are GitHub pages, not accounts. */
const RESERVED_OWNERS = new Set([
  'about',
  'apps',
  'collections',
  'customer-stories',
  'enterprise',
  'features',
  'login',
  'marketplace',
  'orgs',
  'pricing',
  'settings',
  'site',
  'sponsors',
  'topics',
  'users',
]);

const OWNER_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO_RE = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * The `owner/repo` a URL points at, or null. Accepts https/http/git/ssh forms, `git+https://…`,
 * `git@github.com:owner/repo.git`, `www.`, trailing `.git`, and deeper paths (`/tree/main`, `/issues`).
 */
export function parseGithubUrl(url: string | null | undefined): GithubRepoRef | null {
  if (!url) return null;
  const m = /^(?:git\+)?(?:(?:https?|git|ssh):\/\/)?(?:[^@/\s]+@)?(?:www\.)?github\.com[/:]([^/\s?#]+)\/([^/\s?#@]+)/i.exec(url.trim());
  if (!m) return null;
  const owner = m[1];
  const repo = m[2].replace(/\.git$/i, '');
  if (!OWNER_RE.test(owner) || RESERVED_OWNERS.has(owner.toLowerCase())) return null;
  if (!REPO_RE.test(repo) || repo === '.' || repo === '..') return null;
  return { owner, repo };
}

/** Parses `OWNER/REPO[@ref]` (or a github.com URL with an optional `@ref`). */
export function parseGithubSpec(arg: string): GithubRepoRef & { ref: string | null } {
  const at = arg.lastIndexOf('@');
  // `git@github.com:owner/repo` has an `@` before any `/`: that one is not a ref separator.
  const hasRef = at > 0 && arg.slice(0, at).includes('/') && !/github\.com/i.test(arg.slice(at));
  const target = hasRef ? arg.slice(0, at) : arg;
  const ref = hasRef ? arg.slice(at + 1) : null;
  if (ref !== null && (ref === '' || /[\s~^:?*[\\]|\.\.|^\/|\/$/.test(ref)))
    throw new SourceError(`github:${arg}: bad ref ${JSON.stringify(ref)}`);
  const fromUrl = /github\.com/i.test(target) ? parseGithubUrl(target) : null;
  if (fromUrl) return { ...fromUrl, ref };
  const parts = target.split('/');
  if (parts.length !== 2 || !OWNER_RE.test(parts[0]) || !REPO_RE.test(parts[1]) || parts[1] === '.' || parts[1] === '..')
    throw new SourceError(`github:${arg}: expected github:OWNER/REPO or github:OWNER/REPO@REF`);
  return { owner: parts[0], repo: parts[1], ref };
}

export function githubHeaders(ctx: SourceContext): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
  if (ctx.githubToken) h.authorization = `Bearer ${ctx.githubToken}`;
  return h;
}

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

interface RepoApiResponse {
  full_name?: string;
  name?: string;
  owner?: { login?: string };
  html_url?: string;
  default_branch?: string;
  stargazers_count?: number;
  license?: { spdx_id?: string | null } | null;
  topics?: string[];
  archived?: boolean;
}

/** `/repos/{owner}/{repo}`; null when GitHub says 404 (missing, or private without a token). */
export async function fetchGithubRepoInfo(ref: GithubRepoRef, ctx: SourceContext): Promise<GithubRepoInfo | null> {
  const url = `${base(ctx.endpoints.githubApi)}/repos/${encodeURIComponent(ref.owner)}/${encodeURIComponent(ref.repo)}`;
  const res = await httpGet(url, ctx, { headers: githubHeaders(ctx), allowStatus: [404] });
  if (res.status === 404) return null;
  const j = await res.json<RepoApiResponse>();
  const fullName = typeof j.full_name === 'string' && j.full_name.includes('/') ? j.full_name : `${ref.owner}/${ref.repo}`;
  const [owner, repo] = fullName.split('/');
  const spdx = j.license?.spdx_id ?? null;
  return {
    owner,
    repo,
    fullName,
    htmlUrl: typeof j.html_url === 'string' ? j.html_url : `https://github.com/${fullName}`,
    defaultBranch: typeof j.default_branch === 'string' && j.default_branch ? j.default_branch : 'main',
    stars: typeof j.stargazers_count === 'number' ? j.stargazers_count : null,
    license: spdx && spdx !== 'NOASSERTION' ? spdx : null,
    topics: Array.isArray(j.topics) ? j.topics.filter((t): t is string => typeof t === 'string') : [],
    archived: j.archived === true,
  };
}

export interface TarballCheckout {
  root: string;
  files: string[];
  /** Commit (short sha) from the tarball's top folder `owner-repo-<sha>`, when present. */
  commit: string | null;
}

/** Downloads `codeload/{owner}/{repo}/tar.gz/{ref}` (ETag-cached) and unpacks it (sha256-cached). */
export async function fetchGithubTarball(
  info: GithubRepoRef,
  ref: string,
  ctx: SourceContext,
  opts: { label: string; progress?: boolean; limits?: Partial<ArchiveLimits> },
): Promise<TarballCheckout> {
  const refPath = ref.split('/').map(encodeURIComponent).join('/');
  const url = `${base(ctx.endpoints.githubCodeload)}/${encodeURIComponent(info.owner)}/${encodeURIComponent(info.repo)}/tar.gz/${refPath}`;
  const headers: Record<string, string> = {};
  if (ctx.githubToken) headers.authorization = `Bearer ${ctx.githubToken}`;
  const res = await httpGet(url, ctx, {
    headers,
    allowStatus: [404],
    progressLabel: opts.progress ? `download ${info.owner}/${info.repo}@${ref}` : undefined,
  });
  if (res.status === 404) throw new SourceError(`${opts.label}: no tarball for ref ${JSON.stringify(ref)} (unknown branch, tag or commit?)`);
  const unpacked = await unpackArchive(res.bodyPath, ctx, { label: opts.label, nameHint: `${info.owner}-${info.repo}`, limits: opts.limits });
  const commit = unpacked.stripped ? (/-([0-9a-f]{7,40})$/.exec(unpacked.name)?.[1] ?? null) : null;
  return { root: unpacked.dir, files: await listPyFiles(unpacked.dir), commit };
}

/** `github:OWNER/REPO[@ref]` */
export async function githubSource(arg: string, ctx: SourceContext): Promise<RepoCheckout[]> {
  if (!arg) throw new SourceError('github: needs OWNER/REPO, e.g. github:psf/requests');
  const spec = `github:${arg}`;
  const parsed = parseGithubSpec(arg);
  const info = await fetchGithubRepoInfo(parsed, ctx);
  if (!info)
    throw new SourceError(`${spec}: repository not found${ctx.githubToken ? '' : ' (private repositories need GITHUB_TOKEN)'}`);
  const ref = parsed.ref ?? info.defaultBranch;
  const tar = await fetchGithubTarball(info, ref, ctx, { label: spec, progress: true });
  if (tar.files.length === 0) ctx.log(`${spec}: no .py files at ${ref}`);
  return [
    {
      name: info.fullName,
      root: tar.root,
      meta: {
        url: info.htmlUrl,
        version: parsed.ref ?? tar.commit ?? ref,
        license: info.license,
        topics: info.topics,
        stars: info.stars,
        ref: tar.commit ? `${ref}@${tar.commit}` : ref,
      },
      source: spec,
      files: tar.files,
    },
  ];
}
