// DuckDB for the relational stages: one in-process database per run, spilling to disk under the
// work folder so memory stays bounded however large the corpus grows.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdir } from 'node:fs/promises';
import type { SqlRunner } from '../src/core/data/stats.ts';

export interface Db {
  conn: DuckDBConnection;
  run: SqlRunner;
  exec(sql: string): Promise<void>;
  close(): void;
}

export async function openDb(opts: { tempDir: string; memoryLimit?: string; threads?: number }): Promise<Db> {
  await mkdir(opts.tempDir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', {
    temp_directory: opts.tempDir,
    memory_limit: opts.memoryLimit ?? '4GB',
    threads: String(opts.threads ?? 2),
    // Extensions must never be fetched from the network; parquet and json are built in.
    autoload_known_extensions: 'false',
    autoinstall_known_extensions: 'false',
  });
  const conn = await instance.connect();
  return {
    conn,
    run: async (sql) => {
      const reader = await conn.runAndReadAll(sql);
      return reader.getRowObjectsJS() as Record<string, unknown>[];
    },
    exec: async (sql) => {
      await conn.run(sql);
    },
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** Quotes a string as a SQL literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

export function sqlList(items: string[]): string {
  return `[${items.map(sqlString).join(', ')}]`;
}

/** Streams (id, body) of every function in the given Parquet shards, in id order, a chunk at a time. */
export async function* functionBodies(db: Db, paths: string[]): AsyncGenerator<{ ids: number[]; texts: string[] }> {
  for (const path of paths) {
    const result = await db.conn.stream(`SELECT id, body FROM read_parquet(${sqlString(path)}) ORDER BY id`);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      yield { ids: chunk.getColumnValues(0) as number[], texts: chunk.getColumnValues(1) as string[] };
    }
  }
}
