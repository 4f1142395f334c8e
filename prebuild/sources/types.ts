// What every source hands to the extract stage: local folders, one per repository, with metadata.
import type { createProgress } from '../progress.ts';

export interface RepoMeta {
  url: string | null;
  version: string | null;
  license: string | null;
  /** GitHub topics or PyPI/Debian classifier tags. */
  topics: string[];
  stars: number | null;
  /**
   * What was actually checked out when it differs from `version` (e.g. `main@1a2b3c4` for a PyPI
   * project whose code came from its GitHub default branch). Optional.
   */
  ref?: string | null;
}

export interface RepoCheckout {
  /** Unique, human-readable repository name (`requests`, `psf/requests`, `python-stdlib`). */
  name: string;
  /** Absolute path of a local folder holding the repository's files. */
  root: string;
  meta: RepoMeta;
  /** The `--source` spec this repository came from. */
  source: string;
  /**
   * Relative paths (forward slashes) of the files to extract, in sorted order. When absent the
   * extract stage walks `root` for `*.py` itself.
   */
  files?: string[];
}

export interface SourceContext {
  /** Persistent cache folder for downloads and unpacked archives (reused across runs). */
  cacheDir: string;
  log: (message: string) => void;
  progress: typeof createProgress;
  /** Injected for tests against a local server; defaults to globalThis.fetch. */
  fetch: typeof fetch;
  /** Base URLs, overridable so tests can point them at 127.0.0.1. */
  endpoints: { githubApi: string; githubCodeload: string; pypiTop: string; pypiJson: string };
  /** GitHub token from GITHUB_TOKEN, when set. */
  githubToken: string | null;
  /** Retry/backoff settings of the HTTP layer (optional; tests shorten the waits). */
  http?: HttpSettings;
}

export interface HttpSettings {
  /** Attempts per request, the first included (default 5). */
  maxAttempts?: number;
  /** First backoff wait in ms, doubled per attempt, with jitter (default 1000). */
  baseDelayMs?: number;
  /** Cap on any single wait, including Retry-After / X-RateLimit-Reset (default 60000). */
  maxDelayMs?: number;
  /** Abort an attempt when no data arrives for this long (default 60000). */
  idleTimeoutMs?: number;
}

/** Thrown for bad specs and unusable inputs; the CLI prints `message` as its one-line reason. */
export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

export type SourceResolver = (arg: string, ctx: SourceContext) => Promise<RepoCheckout[]>;
