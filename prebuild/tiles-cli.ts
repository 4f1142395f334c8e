// Adds the tiles stage's outputs (prebuild/stages/tiles.ts) to a data set that is already built,
// e.g. a synthetic one made without them, and rewrites its manifest.json:
//
//   npx tsx prebuild/tiles-cli.ts --data DIR [--layout NAME]... [--levels 8] [--memory-limit 512MB] [--threads 2]
//
// Memory stays flat as the data set grows: the work is DuckDB SQL under a memory limit, spilling to
// a temporary folder beside the data set.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { validateManifest, type Manifest } from '../src/core/data/manifest.ts';
import { openDb } from './duckdb.ts';
import { writeFileAtomic } from './fsutil.ts';
import { pointsTable, runTilesForLayout } from './stages/tiles.ts';

export interface AddTilesOptions {
  /** Layouts to tile (default: every layout of the manifest). */
  layouts?: string[];
  levels?: number;
  memoryLimit?: string;
  threads?: number;
  tempDir?: string;
  shardRows?: number;
  rowGroupRows?: number;
  quiet?: boolean;
  log?: (line: string) => void;
}

/** Writes tiles for the data set in `dir` and its updated manifest; returns the manifest. */
export async function addTilesToDataSet(dir: string, opts: AddTilesOptions = {}): Promise<Manifest> {
  const root = resolve(dir);
  const m = validateManifest(JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8')));
  const names = opts.layouts?.length ? opts.layouts : m.layouts.map((l) => l.name);
  for (const n of names) if (!m.layouts.some((l) => l.name === n)) throw new Error(`the manifest lists no layout named ${n} (it has ${m.layouts.map((l) => l.name).join(', ') || 'none'})`);
  const tempDir = resolve(opts.tempDir ?? join(root, '..', `.tiles-tmp-${process.pid}`));
  const db = await openDb({ tempDir: join(tempDir, 'duckdb'), memoryLimit: opts.memoryLimit ?? '512MB', threads: opts.threads ?? 2 });
  try {
    for (const name of names) {
      const i = m.layouts.findIndex((l) => l.name === name);
      const r = await runTilesForLayout(db, root, m.layouts[i]!, m.tables, {
        tempDir,
        ...(opts.levels !== undefined ? { levels: opts.levels } : {}),
        ...(opts.shardRows !== undefined ? { shardRows: opts.shardRows } : {}),
        ...(opts.rowGroupRows !== undefined ? { rowGroupRows: opts.rowGroupRows } : {}),
        ...(opts.quiet !== undefined ? { quiet: opts.quiet } : {}),
        ...(opts.log ? { log: opts.log } : {}),
      });
      Object.assign(m.tables, r.outputs.tables);
      m.layouts[i] = { ...m.layouts[i]!, tiles: r.tiles };
      // Points shards of an earlier run that this one did not write again.
      const keep = new Set((m.tables[pointsTable(name)] ?? []).map((f) => f.path));
      const prefix = `${pointsTable(name)}-`;
      for (const f of await readdir(root)) {
        if (f.startsWith(prefix) && f.endsWith('.parquet') && !keep.has(f) && /^\d{5}\.parquet$/.test(f.slice(prefix.length))) await rm(join(root, f));
      }
    }
  } finally {
    db.close();
    await rm(tempDir, { recursive: true, force: true });
  }
  m.tables = Object.fromEntries(Object.entries(m.tables).sort(([a], [b]) => (a < b ? -1 : 1)));
  validateManifest(m);
  await writeFileAtomic(join(root, 'manifest.json'), `${JSON.stringify(m, null, 1)}\n`);
  return m;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      layout: { type: 'string', multiple: true },
      levels: { type: 'string' },
      'memory-limit': { type: 'string', default: '512MB' },
      threads: { type: 'string', default: '2' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help || !values.data) {
    process.stdout.write(
      'Usage: npx tsx prebuild/tiles-cli.ts --data DIR [--layout NAME]... [--levels 8] [--memory-limit 512MB] [--threads 2]\n' +
        "Writes the map's density pyramid (tiles-<layout>.parquet) and the points sorted by tile code (points-<layout>-NNNNN.parquet)\n" +
        'for a built data set, and adds them to its manifest.json.\n',
    );
    if (!values.help) process.exitCode = 1;
    return;
  }
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isInteger(x) || x < 0) throw new Error(`--${name} must be a whole number, got '${v}'`);
    return x;
  };
  if (!/^\d+(\.\d+)?\s*[KMGT]?i?B$/i.test(values['memory-limit']!)) throw new Error(`--memory-limit takes a size like 1GB, got '${values['memory-limit']}'`);
  const t0 = performance.now();
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
  try {
    const m = await addTilesToDataSet(values.data, {
      ...(values.layout ? { layouts: values.layout } : {}),
      ...(values.levels !== undefined ? { levels: int('levels', values.levels)! } : {}),
      memoryLimit: values['memory-limit'],
      threads: int('threads', values.threads) ?? 2,
      quiet: values.quiet,
    });
    const tiled = m.layouts.filter((l) => l.tiles).map((l) => l.name);
    process.stdout.write(
      `tiles: ${m.counts.functions} functions, layouts ${tiled.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ${Math.round(Math.max(peak, process.memoryUsage().rss) / 2 ** 20)} MiB (process max ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB)\n`,
    );
  } finally {
    clearInterval(timer);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`tiles: error: ${(err as Error).message.split('\n')[0]}\n`);
    if (process.env.PREBUILD_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    process.exit(1);
  });
}
