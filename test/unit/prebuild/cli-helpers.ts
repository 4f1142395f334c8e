// Shared by the prebuild CLI tests: run the real CLI in a child process, query Parquet outputs with
// DuckDB, and copy real stdlib packages as a small corpus.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { validateManifest, type Manifest } from '../../../src/core/data/manifest.ts';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const STDLIB = spawnSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' }).stdout.trim();

/** Starts `prebuild/cli.ts` with the given arguments (and extra environment). */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'prebuild/cli.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = cli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

export async function readManifest(dir: string): Promise<Manifest> {
  return validateManifest(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
}

/** Runs one SQL statement in a fresh in-memory DuckDB and returns the rows as JS objects. */
export async function query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJS() as T[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** A SQL list literal of the table's shard paths, for read_parquet. */
export const parquetList = (dir: string, m: Manifest, table: string): string =>
  `[${m.tables[table].map((f) => `'${join(dir, f.path)}'`).join(', ')}]`;
