// Runs scikit-learn (Debian's /usr/bin/python3, not the pyenv one on PATH) as a reference in the
// cluster tests and benchmark. Arrays travel as raw little-endian files in a temporary folder.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PYTHON = '/usr/bin/python3';

let cached: string | null | undefined;

/** Null when scikit-learn is usable, else the reason it is not (for skip messages). */
export function sklearnUnavailable(): string | null {
  if (cached !== undefined) return cached;
  if (!existsSync(PYTHON)) cached = `${PYTHON} not found`;
  else {
    try {
      execFileSync(PYTHON, ['-c', 'import numpy, sklearn'], { stdio: 'ignore' });
      cached = null;
    } catch {
      cached = `${PYTHON} has no numpy/scikit-learn (apt-get install python3-sklearn)`;
    }
  }
  return cached;
}

/**
 * Writes `files` (name -> typed array bytes) into a temporary folder, runs `script` with that folder
 * as argv[1] and returns its stdout parsed as JSON.
 */
export function runPython<T>(script: string, files: Record<string, ArrayBufferView>, env: Record<string, string | undefined> = {}): T {
  const dir = mkdtempSync(join(tmpdir(), 'cluster-peer-'));
  try {
    for (const [name, arr] of Object.entries(files)) writeFileSync(join(dir, name), new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
    const e: Record<string, string | undefined> = { ...process.env, ...env };
    for (const [key, v] of Object.entries(env)) if (v === undefined) delete e[key];
    const out = execFileSync(PYTHON, ['-c', script, dir], { encoding: 'utf8', env: e, maxBuffer: 1 << 28 });
    return JSON.parse(out) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
