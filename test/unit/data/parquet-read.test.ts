// Round trip: DuckDB (Node) writes a functions shard with the schema's columns, ZSTD and row groups
// of FUNCTIONS_ROW_GROUP_ROWS; the browser's Parquet helpers read it back.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { FUNCTIONS_COLUMNS, FUNCTIONS_ROW_GROUP_ROWS, LAYOUT_COLUMNS } from '../../../src/core/data/schema.ts';
import {
  ParquetReadError,
  httpAsyncBuffer,
  memoryAsyncBuffer,
  parquetColumnNames,
  readParquetColumns,
  readParquetMetadata,
  readRowById,
  rowGroupOf,
  shardForId,
  toFloat32Array,
  toUint32Array,
  type RangeReadStats,
} from '../../../src/core/data/parquet-read.ts';

const N = 5000; // three row groups of 2048 rows
const ID0 = 70000; // a second shard: ids start past the first shard
let dir: string;
let fnPath: string;
let layoutPath: string;

const bodyOf = (i: number) => `def f${i}(x):\n    """Doc ${i}."""\n` + '    return x\n'.repeat(1 + (i % 7));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'parquet-read-'));
  fnPath = join(dir, 'functions-00001.parquet');
  layoutPath = join(dir, 'layout-default-00001.parquet');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  const cols = FUNCTIONS_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ');
  await con.run(`CREATE TABLE functions (${cols})`);
  await con.run(`INSERT INTO functions SELECT
      (${ID0} + i)::UINTEGER, (i % 3)::UINTEGER, (i // 10)::UINTEGER, 'pkg/mod' || (i // 10) || '.py',
      'Cls.f' || i, 'f' || i, CASE WHEN i % 3 = 0 THEN 'method' ELSE 'function' END, i % 11 = 0, 'python',
      (i * 3 + 1)::UINTEGER, (i * 3 + 3)::UINTEGER, ['x'], [NULL]::VARCHAR[], [NULL]::VARCHAR[],
      'def f' || i || '(x):' || chr(10) || '    """Doc ' || i || '."""' || chr(10) || repeat('    return x' || chr(10), 1 + i % 7),
      CASE WHEN i % 2 = 0 THEN 'Doc ' || i || '.' ELSE NULL END,
      CASE WHEN i % 2 = 0 THEN 'plain' ELSE 'none' END,
      (40 + i)::UINTEGER, (3 + i % 7)::UINTEGER, md5(i::VARCHAR)
    FROM range(${N}) t(i)`);
  await con.run(`COPY (SELECT * FROM functions ORDER BY id) TO '${fnPath}'
    (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${FUNCTIONS_ROW_GROUP_ROWS})`);
  const lcols = LAYOUT_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ');
  await con.run(`CREATE TABLE layout (${lcols})`);
  await con.run(`INSERT INTO layout SELECT (${ID0} + i)::UINTEGER, i / 10.0, -i / 4.0, NULL, NULL FROM range(${N}) t(i)`);
  await con.run(`COPY layout TO '${layoutPath}' (FORMAT parquet, COMPRESSION zstd)`);
  con.closeSync();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parquet-read', () => {
  it('reads projected light columns of a ZSTD functions shard', async () => {
    const file = memoryAsyncBuffer(readFileSync(fnPath));
    const meta = await readParquetMetadata(file, 'functions-00001.parquet');
    expect(meta.row_groups.length).toBe(Math.ceil(N / FUNCTIONS_ROW_GROUP_ROWS));
    expect(meta.row_groups[0]!.columns[0]!.meta_data!.codec).toBe('ZSTD');
    expect(parquetColumnNames(meta)).toEqual(FUNCTIONS_COLUMNS.map((c) => c.name));
    const light = ['id', 'repo_id', 'name', 'qualname', 'path', 'kind', 'is_async', 'docstyle', 'n_chars', 'n_lines'];
    const { columns, rows } = await readParquetColumns(file, 'functions-00001.parquet', light, { metadata: meta });
    expect(rows).toBe(N);
    const ids = toUint32Array(columns.id!);
    expect(ids).toBeInstanceOf(Uint32Array);
    expect(ids.length).toBe(N);
    for (let i = 0; i < N; i += 997) expect(ids[i]).toBe(ID0 + i);
    expect(toUint32Array(columns.repo_id!)[4]).toBe(1);
    expect(columns.name![2049]).toBe('f2049');
    expect(columns.kind![3]).toBe('method');
    expect(columns.is_async![22]).toBe(true);
    expect(columns.docstyle![1]).toBe('none');
    expect(toUint32Array(columns.n_chars!)[N - 1]).toBe(40 + N - 1);
    expect(Object.keys(columns)).not.toContain('body');
  });

  it('reads one row by id from the right shard and row group only, over HTTP range reads', async () => {
    const bytes = readFileSync(fnPath);
    const stats: RangeReadStats = { requests: 0, bytes: 0 };
    const ranges: string[] = [];
    const fakeFetch = (async (_url: string, init?: RequestInit) => {
      const range = new Headers(init?.headers).get('Range')!;
      ranges.push(range);
      const [a, b] = range.replace('bytes=', '').split('-').map(Number) as [number, number];
      return new Response(bytes.subarray(a, b + 1), { status: 206 });
    }) as unknown as typeof fetch;
    const shards = [
      { path: 'functions-00000.parquet', bytes: 1, sha256: '0'.repeat(64), rows: ID0, id_min: 0, id_max: ID0 - 1 },
      { path: 'functions-00001.parquet', bytes: bytes.length, sha256: '0'.repeat(64), rows: N, id_min: ID0, id_max: ID0 + N - 1 },
    ];
    const id = ID0 + 4321;
    const shard = shardForId(shards, id)!;
    expect(shard.path).toBe('functions-00001.parquet');
    expect(shardForId(shards, 5)!.path).toBe('functions-00000.parquet');
    expect(shardForId(shards, ID0 + N)).toBeUndefined();
    const file = httpAsyncBuffer('http://x/functions-00001.parquet', shard.bytes, { fetch: fakeFetch, stats });
    const meta = await readParquetMetadata(file, shard.path);
    expect(rowGroupOf(meta, 4321)).toEqual({ index: 2, rowStart: 4096, rowEnd: N });
    const before = stats.bytes;
    const row = await readRowById(file, shard.path, id, ['name', 'qualname', 'path', 'start_line', 'body', 'docstring'], {
      metadata: meta,
      idMin: shard.id_min!,
    });
    expect(row).toEqual({
      name: 'f4321',
      qualname: 'Cls.f4321',
      path: 'pkg/mod432.py',
      start_line: 4321 * 3 + 1,
      body: bodyOf(4321),
      docstring: null,
    });
    // Only the last row group's chunks were fetched: far less than the file.
    const rg = meta.row_groups[2]!;
    expect(stats.bytes - before).toBeLessThanOrEqual(Number(rg.total_byte_size) + 16384);
    expect(stats.bytes - before).toBeLessThan(bytes.length / 2);
    for (const r of ranges) expect(r).toMatch(/^bytes=\d+-\d+$/);
  });

  it('reads a layout table into typed arrays, nulls as NaN', async () => {
    const file = memoryAsyncBuffer(readFileSync(layoutPath));
    const { columns } = await readParquetColumns(file, 'layout-default-00001.parquet', ['id', 'x', 'y', 'z']);
    const x = toFloat32Array(columns.x!);
    expect(x).toBeInstanceOf(Float32Array);
    expect(x[10]).toBeCloseTo(1);
    expect(toFloat32Array(columns.y!)[8]).toBeCloseTo(-2);
    expect(Number.isNaN(toFloat32Array(columns.z!)[0]!)).toBe(true);
  });

  it('names the file when the bytes are not Parquet or a column is missing', async () => {
    const bytes = new Uint8Array(readFileSync(fnPath));
    const truncated = memoryAsyncBuffer(bytes.subarray(0, bytes.length - 3));
    await expect(readParquetMetadata(truncated, 'functions-00001.parquet')).rejects.toThrow(
      /functions-00001\.parquet is not a readable Parquet file/,
    );
    await expect(readParquetMetadata(truncated, 'functions-00001.parquet')).rejects.toBeInstanceOf(ParquetReadError);

    // Flip bytes inside the first column chunk's data: the footer is intact, decoding must fail.
    const meta = await readParquetMetadata(memoryAsyncBuffer(bytes), 'f.parquet');
    const chunk = meta.row_groups[0]!.columns.find((c) => c.meta_data!.path_in_schema[0] === 'name')!.meta_data!;
    const start = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset);
    const broken = bytes.slice();
    for (let i = start + 8; i < start + Number(chunk.total_compressed_size); i++) broken[i] = broken[i]! ^ 0x5a;
    const p = join(dir, 'broken.parquet');
    writeFileSync(p, broken);
    await expect(
      readParquetColumns(memoryAsyncBuffer(readFileSync(p)), 'broken.parquet', ['id', 'name']),
    ).rejects.toThrow(/broken\.parquet/);

    await expect(
      readParquetColumns(memoryAsyncBuffer(bytes), 'functions-00001.parquet', ['id', 'nope']),
    ).rejects.toThrow(/functions-00001\.parquet has no column nope/);
  });

  it('refuses an id outside the shard', async () => {
    const file = memoryAsyncBuffer(readFileSync(fnPath));
    await expect(readRowById(file, 'functions-00001.parquet', 3, ['name'], { idMin: ID0 })).rejects.toThrow(
      /id 3 is not in functions-00001\.parquet/,
    );
  });
});
