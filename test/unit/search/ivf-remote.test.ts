// IVF over HTTP range reads, against a real Node HTTP server serving a real data set (the synthetic
// generator's, which the prebuild layout matches): the index's head is read by one checked Range
// request (never the ids), servers that ignore Range or refuse it or send short bodies are handled
// or named, the probed partitions' row groups are the only shard bytes a query reads (footers once),
// nprobe = all equals exact search, and the result list's names come from one batch of range reads.
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { validateManifest, type EmbeddingInfo, type Manifest, type ManifestFile } from '../../../src/core/data/manifest.ts';
import { httpAsyncBuffer, readParquetMetadata } from '../../../src/core/data/parquet-read.ts';
import { readVectorShard, searchVectorSource } from '../../../src/core/search/dataset-search.ts';
import { deserializeIvf, parseIvfHeader, serializeIvf } from '../../../src/core/search/ivf.ts';
import { readIvfHead, searchIvfShards, type OpenIvfShard } from '../../../src/core/search/ivf-remote.ts';
import { readResultRows } from '../../../src/core/search/result-rows.ts';
import type { KnnMetric } from '../../../src/core/search/knn.ts';
import { buildSynthetic } from '../../../prebuild/synthetic.ts';
import { rewriteIvfIndexes } from '../../../prebuild/stages/ivf.ts';
import { parquetList, query } from '../prebuild/cli-helpers.ts';

type Mode = 'range' | 'ignore-range' | '416' | 'short' | '404';

interface TestServer {
  url: string;
  mode: Mode;
  /** Bytes sent per path, and every request, since the last reset. */
  sent: Map<string, number>;
  requests: { path: string; range: string | null }[];
  reset(): void;
  close(): Promise<void>;
}

/** A static server of `root` with single-range support (206), and failure modes for the tests. */
function serve(root: string): Promise<TestServer> {
  const state: TestServer = {
    url: '',
    mode: 'range',
    sent: new Map(),
    requests: [],
    reset() {
      this.sent.clear();
      this.requests.length = 0;
    },
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const file = normalize(join(root, path));
    let size: number;
    try {
      if (!file.startsWith(normalize(root) + sep)) throw new Error('outside');
      size = statSync(file).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const range = req.headers.range ?? null;
    state.requests.push({ path, range });
    if (state.mode === '404') {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    let end = size - 1;
    const m = range ? /^bytes=(\d+)-(\d+)$/.exec(range) : null;
    if (m && state.mode !== 'ignore-range') {
      start = Number(m[1]);
      end = Math.min(size - 1, Number(m[2]));
      if (state.mode === '416' || start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      if (state.mode === 'short') end = Math.max(start, end - 1);
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) });
    } else res.writeHead(200, { 'content-length': String(size) });
    state.sent.set(path, (state.sent.get(path) ?? 0) + end - start + 1);
    createReadStream(file, { start, end }).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      state.close = () => new Promise<void>((r) => server.close(() => r()));
      resolve(state);
    });
  });
}

const N = 6000;
let work: string;
let dir: string;
let m: Manifest;
let info: EmbeddingInfo;
let srv: TestServer;
let indexFile: ManifestFile;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'atlas-ivf-remote-'));
  dir = join(work, 'd');
  await buildSynthetic({ n: N, seed: 11, outDir: dir, quiet: true });
  m = validateManifest(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  info = m.embeddings[0]!;
  indexFile = m.models[info.ivf!.index]![0]!;
  srv = await serve(dir);
}, 300_000);

afterAll(async () => {
  await srv?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  srv.mode = 'range';
  srv.reset();
});

const sentTo = (path: string) => srv.sent.get(`/${path}`) ?? 0;

describe('the partition index head, by range', () => {
  test('format 2 with the manifest head: one Range request of exactly the head, checked; the ids are never read', async () => {
    expect(info.ivf!.head).toBeDefined();
    const bytes = new Uint8Array(await readFile(join(dir, indexFile.path)));
    const h = parseIvfHeader(bytes);
    expect(h).toMatchObject({ format: 2, centroidDtype: 'float16', hasIds: true, count: N, headBytes: info.ivf!.head!.bytes });
    const r = await readIvfHead(srv.url + indexFile.path, indexFile, info.ivf!.head);
    expect(r).toMatchObject({ requests: 1, bytes: h.headBytes, wholeFile: false, verified: true });
    expect(srv.requests).toEqual([{ path: `/${indexFile.path}`, range: `bytes=0-${h.headBytes - 1}` }]);
    expect(sentTo(indexFile.path)).toBe(h.headBytes);
    expect(h.totalBytes - h.headBytes).toBe(4 * N); // the id list stays on the server
    const whole = deserializeIvf(bytes);
    expect(Array.from(r.head.offsets)).toEqual(Array.from(whole.offsets));
    expect(Array.from(r.head.centroids)).toEqual(Array.from(whole.centroids));
  });

  test('without the manifest head (older data sets): a 64 KiB probe, then the rest of the head; format 1 too', async () => {
    const r = await readIvfHead(srv.url + indexFile.path, indexFile, undefined, { probeBytes: 4096 });
    expect(r.requests).toBe(2);
    expect(r.verified).toBe(false);
    expect(r.bytes).toBe(info.ivf!.head!.bytes);
    // A format-1 file of the same index, served from the same folder.
    const v1 = serializeIvf(deserializeIvf(new Uint8Array(await readFile(join(dir, indexFile.path)))));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'v1.bin'), v1);
    const { sha256Hex } = await import('../../../src/core/data/manifest.ts');
    const ref = { path: 'v1.bin', bytes: v1.byteLength, sha256: await sha256Hex(v1) };
    srv.reset();
    const r1 = await readIvfHead(srv.url + 'v1.bin', ref, undefined);
    const h1 = parseIvfHeader(v1);
    expect(r1.head.format).toBe(1);
    expect(r1.bytes).toBe(h1.headBytes);
    expect(sentTo('v1.bin')).toBe(h1.headBytes);
    expect(sentTo('v1.bin')).toBeLessThan(v1.byteLength);
    expect(Array.from(r1.head.offsets)).toEqual(Array.from(r.head.offsets));
  });

  test('a server that ignores Range: the whole file is used and checked against its sha256', async () => {
    srv.mode = 'ignore-range';
    const r = await readIvfHead(srv.url + indexFile.path, indexFile, info.ivf!.head);
    expect(r).toMatchObject({ wholeFile: true, verified: true, bytes: indexFile.bytes, requests: 1 });
    await expect(readIvfHead(srv.url + indexFile.path, { ...indexFile, sha256: '0'.repeat(64) }, info.ivf!.head)).rejects.toThrow(/corrupt: its sha256 is/);
  });

  test('the manifest\u2019s ivf.head is optional and validated when present', () => {
    const withHead = (head: unknown) => {
      const c = JSON.parse(JSON.stringify(m)) as Record<string, unknown> & { embeddings: { ivf: Record<string, unknown> }[] };
      if (head === undefined) delete c.embeddings[0]!.ivf.head;
      else c.embeddings[0]!.ivf.head = head;
      return () => validateManifest(c);
    };
    expect(withHead(undefined)).not.toThrow();
    expect(withHead(info.ivf!.head)).not.toThrow();
    for (const bad of [null, 5, { bytes: 8, sha256: info.ivf!.head!.sha256 }, { bytes: 100.5, sha256: info.ivf!.head!.sha256 }, { bytes: 100, sha256: 'xyz' }, { sha256: info.ivf!.head!.sha256 }]) {
      expect(withHead(bad), JSON.stringify(bad)).toThrow(/ivf\.head is malformed/);
    }
  });

  test('416, short bodies, a wrong head digest, a missing file and a stale size are clear errors', async () => {
    srv.mode = '416';
    await expect(readIvfHead(srv.url + indexFile.path, indexFile, info.ivf!.head)).rejects.toThrow(/HTTP 416 Range Not Satisfiable.*shorter than the manifest/);
    srv.mode = 'short';
    await expect(readIvfHead(srv.url + indexFile.path, indexFile, info.ivf!.head)).rejects.toThrow(/short read: bytes 0-\d+ of .* came back as \d+ bytes/);
    srv.mode = '404';
    await expect(readIvfHead(srv.url + indexFile.path, indexFile, info.ivf!.head)).rejects.toThrow(/missing on the server \(HTTP 404\)/);
    srv.mode = 'range';
    await expect(readIvfHead(srv.url + indexFile.path, indexFile, { ...info.ivf!.head!, sha256: 'f'.repeat(64) })).rejects.toThrow(/first \d+ bytes hash to/);
    await expect(readIvfHead(srv.url + indexFile.path, { ...indexFile, bytes: indexFile.bytes + 8 }, info.ivf!.head)).rejects.toThrow(/the manifest says \d+: the data set is out of date/);
  });
});

describe('IVF search over the partition-sorted shards, by range', () => {
  const shards = () => m.tables[info.ivf!.table]!;
  const queries = [7, 901, 2222, 4100, 5999];
  let exactVectors: { q: Float32Array; ids: number[] }[];

  beforeAll(async () => {
    // Query vectors: stored vectors (dequantised) from the exact table; exact top-100 by the same core.
    const rows = await query<{ id: number; embedding: Uint8Array; scale: number }>(`SELECT id::INT AS id, embedding, scale::DOUBLE AS scale FROM read_parquet(${parquetList(dir, m, info.table)}) WHERE id IN (${queries.join(',')}) ORDER BY id`);
    exactVectors = [];
    for (const r of rows) {
      const codes = new Int8Array(r.embedding.buffer, r.embedding.byteOffset, info.dim);
      const q = Float32Array.from(codes, (c) => c * r.scale);
      const source = async function* () {
        for (const f of m.tables[info.table]!) yield* readVectorShard(httpAsyncBuffer(srv.url + f.path, f.bytes), f.path, info.dim, 'int8');
      };
      const { result } = await searchVectorSource(q, source(), 100, { kind: 'cosine' });
      exactVectors.push({ q, ids: Array.from(result.ids) });
    }
  });

  function opener() {
    const cache = new Map<string, Promise<OpenIvfShard>>();
    return (f: ManifestFile) => {
      let p = cache.get(f.path);
      if (!p) {
        p = (async () => {
          const file = httpAsyncBuffer(srv.url + f.path, f.bytes);
          return { file, metadata: await readParquetMetadata(file, f.path) };
        })();
        cache.set(f.path, p);
      }
      return p;
    };
  }

  test('nprobe = all partitions equals exact search, id for id', async () => {
    const { head } = await readIvfHead(srv.url + indexFile.path, indexFile, info.ivf!.head);
    const open = opener();
    for (const { q, ids } of exactVectors) {
      const r = await searchIvfShards(head, shards(), open, q, 100, { kind: 'cosine' }, head.nlist);
      expect(r.rows).toBe(N);
      expect(Array.from(r.ids)).toEqual(ids);
    }
  });

  test('nprobe 1/4: only the probed partitions\u2019 row groups are read, footers once, nothing twice', async () => {
    const { head } = await readIvfHead(srv.url + indexFile.path, indexFile, info.ivf!.head);
    const open = opener();
    const metric: KnnMetric = { kind: 'cosine' };
    const f = shards()[0]!;
    const md = await open(f);
    const groupBytes = md.metadata.row_groups.map((g) => g.columns.reduce((s, c) => s + Number(c.meta_data!.total_compressed_size), 0));
    const rowsPerGroup = md.metadata.row_groups.map((g) => Number(g.num_rows));
    for (const nprobe of [1, 4]) {
      for (const { q, ids } of exactVectors) {
        srv.reset();
        const r = await searchIvfShards(head, shards(), open, q, 10, metric, nprobe);
        expect(r.nprobe).toBe(nprobe);
        // Its own vector is its nearest neighbour, and its partition is probed first.
        expect(r.ids[0]).toBe(ids[0]);
        // The server sent exactly the column chunks of the row groups holding probed rows.
        const probed = new Set<number>();
        const { probePartitions, partitionRows } = await import('../../../src/core/search/ivf.ts');
        for (const p of probePartitions(head, q, nprobe, metric)) {
          const { rowStart, rowEnd } = partitionRows(head, p);
          let acc = 0;
          rowsPerGroup.forEach((n, g) => {
            if (acc < rowEnd && acc + n > rowStart) probed.add(g);
            acc += n;
          });
        }
        expect(r.groups).toBe(probed.size);
        const want = [...probed].reduce((s, g) => s + groupBytes[g]!, 0);
        expect(sentTo(f.path)).toBe(want);
        const keys = srv.requests.map((x) => `${x.path} ${x.range}`);
        expect(new Set(keys).size).toBe(keys.length);
      }
    }
  });

  test('the listed results\u2019 names: one batch of range reads of the functions shards, the same as the table', async () => {
    const ids = Uint32Array.from([5, 2047, 2048, 3, 5999, 4000, 123456]);
    const fns = m.tables.functions!;
    const open = opener();
    srv.reset();
    const { rows, stats } = await readResultRows(ids, fns, open, (r) => `repo-${r}`);
    expect(rows[6]).toBeNull(); // no such id
    const want = await query<{ id: number; qualname: string; path: string; repo_id: number }>(
      `SELECT id::INT AS id, qualname, path, repo_id::INT AS repo_id FROM read_parquet(${parquetList(dir, m, 'functions')}) WHERE id IN (${Array.from(ids).join(',')})`,
    );
    for (const [i, id] of Array.from(ids).entries()) {
      const w = want.find((x) => x.id === id);
      if (!w) continue;
      expect(rows[i]).toEqual({ id, qualname: w.qualname, path: w.path, repo: `repo-${w.repo_id}` });
    }
    // ids 3 and 5 share the first 2,048-row group: three groups, one footer; no body bytes.
    expect(stats).toEqual({ groups: 3, shards: 1 });
    const f = fns[0]!;
    const fileRequests = srv.requests.filter((r) => r.path === `/${f.path}`);
    expect(fileRequests.length).toBeGreaterThanOrEqual(4); // footer + 3 groups (a large footer may take two)
    const md = (await open(f)).metadata;
    const bodyBytes = md.row_groups.reduce((s, g) => s + Number(g.columns.find((c) => c.meta_data!.path_in_schema[0] === 'body')!.meta_data!.total_compressed_size), 0);
    expect(sentTo(f.path)).toBeLessThan(bodyBytes / 4);
    // Where the manifest does not say the ids are dense, the id column is read too and checked.
    srv.reset();
    await readResultRows(ids, fns, open, (r) => `repo-${r}`); // footer cached: the groups only
    const denseBytes = sentTo(f.path);
    srv.reset();
    const unsure = fns.map(({ rows: _rows, ...rest }) => rest);
    const again = await readResultRows(ids, unsure, open, (r) => `repo-${r}`);
    expect(again.rows).toEqual(rows);
    expect(sentTo(f.path)).toBeGreaterThan(denseBytes);
  });
});

describe('rewriting an existing data set\u2019s index', () => {
  test('format 1 -> format 2 in place: shards untouched, manifest gets the head, search reads it', async () => {
    const copy = join(work, 'copy');
    const { cp, writeFile } = await import('node:fs/promises');
    await cp(dir, copy, { recursive: true });
    // Make it an old data set: format-1 index, no head in the manifest.
    const mm = JSON.parse(await readFile(join(copy, 'manifest.json'), 'utf8')) as Manifest;
    const v1 = serializeIvf(deserializeIvf(new Uint8Array(await readFile(join(copy, indexFile.path)))));
    await writeFile(join(copy, indexFile.path), v1);
    const { sha256Hex } = await import('../../../src/core/data/manifest.ts');
    mm.models[info.ivf!.index]![0] = { ...indexFile, bytes: v1.byteLength, sha256: await sha256Hex(v1) };
    delete mm.embeddings[0]!.ivf!.head;
    await writeFile(join(copy, 'manifest.json'), `${JSON.stringify(mm, null, 1)}\n`);
    const out = await rewriteIvfIndexes(copy, 'int8');
    expect(out).toHaveLength(1);
    expect(out[0]!.before).toBe(v1.byteLength);
    const after = validateManifest(JSON.parse(await readFile(join(copy, 'manifest.json'), 'utf8')));
    const e = after.embeddings[0]!;
    expect(e.ivf!.head!.bytes).toBe(out[0]!.head);
    const bytes = new Uint8Array(await readFile(join(copy, indexFile.path)));
    expect(parseIvfHeader(bytes)).toMatchObject({ format: 2, centroidDtype: 'int8', headBytes: out[0]!.head });
    expect(await sha256Hex(bytes)).toBe(after.models[e.ivf!.index]![0]!.sha256);
    expect(await sha256Hex(bytes.subarray(0, out[0]!.head))).toBe(e.ivf!.head!.sha256);
    expect(after.tables).toEqual(m.tables);
    // A file that no longer matches its manifest is refused.
    await writeFile(join(copy, indexFile.path), bytes.subarray(0, bytes.length - 4));
    await expect(rewriteIvfIndexes(copy)).rejects.toThrow(/does not match the manifest/);
  });
});
