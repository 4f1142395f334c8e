// IVF (inverted file) search: vectors are partitioned by their nearest k-means centroid; a query
// ranks the centroids and scans only the `nprobe` nearest partitions, exactly (knn.ts) within them.
// On the web this is what makes search over millions of vectors cheap: the prebuild writes shards
// sorted by partition, so a query range-reads only its partitions' rows. With nprobe = all
// partitions IVF visits every row and equals exact search.
//
// The partition index's binary forms are little-endian. Format 1 (older data sets):
//   magic "IVF1" | u32 dim | u32 nlist | u32 count | f32 centroids[nlist*dim] | u32 offsets[nlist+1] | u32 ids[count]
// Format 2 (written now) puts everything a query needs first, so a browser range-reads only that
// "head" and never the id list (a partition's ids are the `id` column of the partitioned shards):
//   magic "IVF2" | u32 dim | u32 nlist | u32 count | u32 centroid dtype (0 float32, 1 float16,
//   2 int8 with one float32 scale per centroid) | u32 flags (bit 0: ids follow) | u32 headBytes |
//   u32 0 | centroids (int8: f32 scales[nlist], then i8 codes[nlist*dim]; each part padded to 4
//   bytes) | u32 offsets[nlist+1] | (flag) u32 ids[count]
// headBytes is the byte length through the offsets: what a reader fetches (ivf-remote.ts).
//
// Clustering seam: kmeansIvf() below is a small seeded k-means (k-means++ on a sample, then Lloyd)
// so this module stands alone. Callers with better centroids (the cluster module's k-means, or
// clusters already computed for the map) pass them to assignToCentroids / buildIvfIndex instead.
import { assignNearest, DIRECT_MAX_DIM, NearestScratch, nearestTwo, rowSqNorms } from '../cluster/distance.ts';
import { decodeFloat16, encodeFloat16 } from '../util/float16.ts';
import { createRng } from '../util/random.ts';
import { KnnQuery, prepareQuery, rowScore, type KnnMetric, type KnnResult, type VectorBlock } from './knn.ts';

/** What a query needs of the index: the centroids to rank and where each partition's rows are. */
export interface IvfPartitions {
  dim: number;
  nlist: number;
  /** nlist x dim, row-major. */
  centroids: Float32Array;
  /** nlist + 1 offsets into the partition-sorted rows: partition p is rows [offsets[p], offsets[p+1]). */
  offsets: Uint32Array;
}

export interface IvfIndex extends IvfPartitions {
  /** Every id, grouped by partition, ascending within a partition (ids[offsets[p] .. offsets[p+1])). */
  ids: Uint32Array;
}

export interface KMeansOptions {
  /** Seed for the sample and k-means++ (default 0). */
  seed?: number;
  /** Lloyd iterations at most (default 20); stops early when no assignment changes. */
  iterations?: number;
  /** Rows k-means++ and Lloyd run on, a seeded uniform sample (default 20000; all rows when fewer). */
  sample?: number;
}

export interface KMeansResult {
  centroids: Float32Array;
  iterations: number;
}

function sqDist(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const d = a[ao + j] - b[bo + j];
    s += d * d;
  }
  return s;
}

/** Rows per chunk of assignToCentroids (dequantised into one float32 buffer). */
const ASSIGN_CHUNK_ROWS = 8192;

/**
 * Small seeded k-means (squared L2): k-means++ seeding and Lloyd iterations on a uniform sample of
 * the rows. A sample of ~20k rows places centroids as well as all rows do for partitioning, at a
 * fraction of the time. An empty cluster is re-seeded with the sample point farthest from its centroid.
 */
export function kmeansIvf(rows: Float32Array, dim: number, k: number, opts: KMeansOptions = {}): KMeansResult {
  const n = Math.floor(rows.length / dim);
  if (!(k >= 1) || !Number.isInteger(k)) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (n === 0) throw new RangeError('k-means needs at least one row');
  const rng = createRng(opts.seed ?? 0);
  const want = Math.min(n, opts.sample ?? 20000);
  // Seeded sample without replacement (partial Fisher-Yates over positions).
  let sample: Float32Array;
  if (want === n) sample = rows.subarray(0, n * dim);
  else {
    const pos = new Uint32Array(n).map((_, i) => i);
    for (let i = 0; i < want; i++) {
      const j = i + rng.int(n - i);
      const t = pos[i];
      pos[i] = pos[j];
      pos[j] = t;
    }
    const chosen = pos.subarray(0, want).sort();
    sample = new Float32Array(want * dim);
    for (let i = 0; i < want; i++) sample.set(rows.subarray(chosen[i] * dim, (chosen[i] + 1) * dim), i * dim);
  }
  const m = want;
  const kk = Math.min(k, m);
  const centroids = new Float32Array(k * dim);
  // k-means++: first centre uniform, then each with probability proportional to D(x)^2.
  const d2 = new Float64Array(m).fill(Infinity);
  let first = rng.int(m);
  centroids.set(sample.subarray(first * dim, (first + 1) * dim), 0);
  for (let c = 1; c < kk; c++) {
    let total = 0;
    for (let i = 0; i < m; i++) {
      const d = sqDist(sample, i * dim, centroids, (c - 1) * dim, dim);
      if (d < d2[i]) d2[i] = d;
      total += d2[i];
    }
    let pick = m - 1;
    if (total > 0) {
      let t = rng.next() * total;
      for (let i = 0; i < m; i++) {
        t -= d2[i];
        if (t < 0) {
          pick = i;
          break;
        }
      }
    } else pick = rng.int(m);
    first = pick;
    centroids.set(sample.subarray(pick * dim, (pick + 1) * dim), c * dim);
  }
  // More clusters than sample rows: the extra centroids repeat existing ones (their partitions stay empty).
  for (let c = kk; c < k; c++) centroids.copyWithin(c * dim, (c % kk) * dim, (c % kk + 1) * dim);

  const assign = new Int32Array(m).fill(-1);
  const labels = new Int32Array(m);
  const dists = new Float64Array(m);
  const sums = new Float64Array(kk * dim);
  const counts = new Uint32Array(kk);
  const maxIter = opts.iterations ?? 20;
  let iter = 0;
  for (; iter < maxIter; iter++) {
    let changed = 0;
    sums.fill(0);
    counts.fill(0);
    let farthest = 0;
    let farthestD = -1;
    // Exact float64 argmin per row (ties to the lower index) through the SIMD search (see assignToCentroids).
    assignNearest(sample, m, dim, centroids.subarray(0, kk * dim), kk, labels, dists);
    for (let i = 0; i < m; i++) {
      const c = labels[i];
      const d = dists[i];
      if (assign[i] !== c) changed++;
      assign[i] = c;
      counts[c]++;
      if (d > farthestD) {
        farthestD = d;
        farthest = i;
      }
      for (let j = 0; j < dim; j++) sums[c * dim + j] += sample[i * dim + j];
    }
    for (let c = 0; c < kk; c++) {
      if (counts[c] === 0) {
        centroids.set(sample.subarray(farthest * dim, (farthest + 1) * dim), c * dim);
        changed++;
        continue;
      }
      for (let j = 0; j < dim; j++) centroids[c * dim + j] = sums[c * dim + j] / counts[c];
    }
    if (changed === 0) {
      iter++;
      break;
    }
  }
  return { centroids, iterations: iter };
}

/** Nearest centroid (squared L2, the k-means objective) of every row of a block. */
export function assignToCentroids(block: VectorBlock, centroids: Float32Array): Uint32Array {
  const dim = block.dim;
  const n = block.ids.length;
  const k = Math.floor(centroids.length / dim);
  const out = new Uint32Array(n);
  // Rows go through the cluster module's nearest-centre search in chunks: float32 SIMD dot
  // products, then a float64 recheck of every centre within the rounding bound, so each label is
  // the exact float64 argmin (ties to the lower index), as the row-by-row loop gave, ~10x faster.
  const c64 = Float64Array.from(centroids.subarray(0, k * dim));
  const cn = rowSqNorms(c64, k, dim);
  const chunk = Math.max(1, Math.min(n, ASSIGN_CHUNK_ROWS));
  const rows = new Float32Array(chunk * dim);
  const labels = new Int32Array(chunk);
  const best = new Float64Array(chunk);
  const scratch = dim > DIRECT_MAX_DIM ? new NearestScratch(dim, k) : null;
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    if (block.kind === 'float32') rows.set(block.rows.subarray(s * dim, (s + m) * dim));
    else {
      for (let r = 0; r < m; r++) {
        const sc = block.scales[s + r];
        const o = (s + r) * dim;
        for (let j = 0; j < dim; j++) rows[r * dim + j] = block.codes[o + j] * sc;
      }
    }
    nearestTwo(rows, dim, null, 0, m, c64, cn, k, labels, best, null, scratch);
    for (let r = 0; r < m; r++) out[s + r] = labels[r];
  }
  return out;
}

/** Builds the partition index from ids and their partition (any order in, grouped and sorted out). */
export function buildIvfIndex(ids: Uint32Array, assignments: Uint32Array, centroids: Float32Array, dim: number): IvfIndex {
  if (ids.length !== assignments.length) throw new RangeError('ids and assignments differ in length');
  const nlist = Math.floor(centroids.length / dim);
  const offsets = new Uint32Array(nlist + 1);
  for (let i = 0; i < assignments.length; i++) {
    const a = assignments[i];
    if (a >= nlist) throw new RangeError(`assignment ${a} is not a partition (nlist ${nlist})`);
    offsets[a + 1]++;
  }
  for (let p = 0; p < nlist; p++) offsets[p + 1] += offsets[p];
  const order = partitionOrder(assignments, ids);
  const sorted = new Uint32Array(ids.length);
  for (let i = 0; i < order.length; i++) sorted[i] = ids[order[i]];
  return { dim, nlist, centroids, offsets, ids: sorted };
}

/**
 * The permutation that sorts rows by (partition, id): position i of the partition-sorted output is
 * input row order[i]. What the prebuild needs to write partition-sorted vector shards.
 */
export function partitionOrder(assignments: Uint32Array, ids?: Uint32Array): Uint32Array {
  const order = new Uint32Array(assignments.length).map((_, i) => i);
  const key = ids ?? order.slice();
  order.sort((a, b) => assignments[a] - assignments[b] || key[a] - key[b]);
  return order;
}

/** The rows of a partition: the contiguous range [rowStart, rowEnd) of partition-sorted shards. */
export function partitionRows(index: IvfPartitions, partition: number): { rowStart: number; rowEnd: number } {
  return { rowStart: index.offsets[partition], rowEnd: index.offsets[partition + 1] };
}

/**
 * The `nprobe` partitions to visit for a query, nearest first, by the query's own metric to the
 * centroids (cosine: against the centroid's direction). Empty partitions are skipped.
 */
export function probePartitions(index: IvfPartitions, query: ArrayLike<number>, nprobe: number, metric: KnnMetric): Uint32Array {
  const q = prepareQuery(query, metric);
  const dim = index.dim;
  const scores: { p: number; s: number }[] = [];
  const c = new Float64Array(dim);
  for (let p = 0; p < index.nlist; p++) {
    if (index.offsets[p + 1] === index.offsets[p]) continue;
    let ss = 0;
    for (let j = 0; j < dim; j++) {
      c[j] = index.centroids[p * dim + j];
      ss += c[j] * c[j];
    }
    if (metric.kind === 'cosine' && ss > 0) {
      const inv = 1 / Math.sqrt(ss);
      for (let j = 0; j < dim; j++) c[j] *= inv;
    }
    scores.push({ p, s: rowScore(q, c, metric) });
  }
  scores.sort((a, b) => a.s - b.s || a.p - b.p);
  return Uint32Array.from(scores.slice(0, Math.max(0, nprobe)), (x) => x.p);
}

export interface IvfSearchStats {
  partitions: number;
  rows: number;
  /** rows x bytesPerRow + the index's serialized size. */
  bytes: number;
}

/** Bytes a query fetches for one stored row: id (4) + codes (dim) + scale (4) for int8, id + 4 x dim for float32. */
export function bytesPerRow(dim: number, dtype: 'int8' | 'float32'): number {
  return dtype === 'int8' ? 4 + dim + 4 : 4 + 4 * dim;
}

/**
 * IVF query: probes the nearest `nprobe` partitions and searches their rows exactly. `fetch`
 * returns a partition's rows (from memory, or range reads of partition-sorted shards).
 */
export async function searchIvf(
  index: IvfIndex,
  query: ArrayLike<number>,
  k: number,
  metric: KnnMetric,
  nprobe: number,
  fetch: (partition: number) => VectorBlock | Promise<VectorBlock>,
): Promise<{ result: KnnResult; stats: IvfSearchStats }> {
  const probes = probePartitions(index, query, nprobe, metric);
  const s = new KnnQuery(query, k, metric);
  let bytes = ivfIndexBytes(index);
  for (const p of probes) {
    const block = await fetch(p);
    s.add(block);
    bytes += block.ids.length * bytesPerRow(block.dim, block.kind);
  }
  return { result: s.result(), stats: { partitions: probes.length, rows: s.rowsScanned, bytes } };
}

/** Fraction of the exact top-k ids that the approximate result found (recall@k). */
export function recallAtK(exact: Uint32Array, approx: Uint32Array, k = exact.length): number {
  const want = exact.subarray(0, Math.min(k, exact.length));
  if (want.length === 0) return 1;
  const got = new Set(approx.subarray(0, k));
  let hit = 0;
  for (const id of want) if (got.has(id)) hit++;
  return hit / want.length;
}

const MAGIC = 0x31465649; // "IVF1" little-endian
const MAGIC2 = 0x32465649; // "IVF2"
/** Bytes of format 2's fixed header. */
export const IVF2_HEADER_BYTES = 32;
/** Bytes of the largest fixed header, enough to tell a format and the head's length. */
export const IVF_HEADER_BYTES = IVF2_HEADER_BYTES;

/** How format 2 stores the centroids. */
export type CentroidDtype = 'float32' | 'float16' | 'int8';
const DTYPE_CODE: Record<CentroidDtype, number> = { float32: 0, float16: 1, int8: 2 };
const DTYPES: CentroidDtype[] = ['float32', 'float16', 'int8'];

/** Format-1 size (header, float32 centroids, offsets, ids). */
export function ivfIndexBytes(index: IvfIndex): number {
  return 16 + 4 * (index.centroids.length + index.offsets.length + index.ids.length);
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** Bytes the centroids take in format 2. */
function centroidBytes(nlist: number, dim: number, dtype: CentroidDtype): number {
  if (dtype === 'float32') return 4 * nlist * dim;
  if (dtype === 'float16') return pad4(2 * nlist * dim);
  return 4 * nlist + pad4(nlist * dim);
}

/** Bytes of a format-2 head (header + centroids + offsets): what a query reads of the index. */
export function ivfHeadBytes(nlist: number, dim: number, dtype: CentroidDtype): number {
  return IVF2_HEADER_BYTES + centroidBytes(nlist, dim, dtype) + 4 * (nlist + 1);
}

export interface SerializeIvfOptions {
  /** 1: the original layout (float32 centroids, ids always). 2 (default 1): head first, centroids in `centroids`, ids optional. */
  format?: 1 | 2;
  /** Format 2: how the centroids are stored (default float16). */
  centroids?: CentroidDtype;
  /** Format 2: append the id list (default true; the browser never reads it). */
  ids?: boolean;
}

/** One centroid row as int8 codes with one scale (value ~ code x scale), max-abs scaling. */
function quantizeRow(src: Float32Array, o: number, dim: number, codes: Int8Array): number {
  let maxAbs = 0;
  for (let j = 0; j < dim; j++) maxAbs = Math.max(maxAbs, Math.abs(src[o + j]!));
  const scale = maxAbs / 127;
  if (scale === 0) return 0;
  const inv = 1 / scale;
  for (let j = 0; j < dim; j++) codes[o + j] = Math.round(src[o + j]! * inv);
  return scale;
}

/** The centroids as the reader will see them after storing them as `dtype` (for recall checks). */
export function storedCentroids(centroids: Float32Array, dim: number, dtype: CentroidDtype): Float32Array {
  if (dtype === 'float32') return centroids.slice();
  if (dtype === 'float16') return decodeFloat16(encodeFloat16(centroids));
  const nlist = Math.floor(centroids.length / dim);
  const codes = new Int8Array(nlist * dim);
  const out = new Float32Array(nlist * dim);
  for (let c = 0; c < nlist; c++) {
    const s = Math.fround(quantizeRow(centroids, c * dim, dim, codes));
    for (let j = 0; j < dim; j++) out[c * dim + j] = codes[c * dim + j]! * s;
  }
  return out;
}

/**
 * Format-2 header and head (header + centroids + offsets) for an index whose ids a writer streams
 * after it (the synthetic generator appends 20 million ids from disk). `count` = offsets[nlist].
 */
export function serializeIvfHead(parts: IvfPartitions, dtype: CentroidDtype = 'float16', withIds = true): Uint8Array {
  const { dim, nlist } = parts;
  if (parts.centroids.length !== nlist * dim) throw new RangeError(`IVF index: ${parts.centroids.length} centroid values, expected ${nlist} x ${dim}`);
  if (parts.offsets.length !== nlist + 1) throw new RangeError(`IVF index: ${parts.offsets.length} offsets, expected ${nlist + 1}`);
  const headBytes = ivfHeadBytes(nlist, dim, dtype);
  const bytes = new Uint8Array(headBytes);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, MAGIC2, true);
  v.setUint32(4, dim, true);
  v.setUint32(8, nlist, true);
  v.setUint32(12, parts.offsets[nlist]!, true);
  v.setUint32(16, DTYPE_CODE[dtype], true);
  v.setUint32(20, withIds ? 1 : 0, true);
  v.setUint32(24, headBytes, true);
  let o = IVF2_HEADER_BYTES;
  if (dtype === 'float32') {
    for (const x of parts.centroids) { v.setFloat32(o, x, true); o += 4; }
  } else if (dtype === 'float16') {
    for (const h of encodeFloat16(parts.centroids)) { v.setUint16(o, h, true); o += 2; }
    o = pad4(o);
  } else {
    const codes = new Int8Array(nlist * dim);
    for (let c = 0; c < nlist; c++) { v.setFloat32(o, quantizeRow(parts.centroids, c * dim, dim, codes), true); o += 4; }
    bytes.set(new Uint8Array(codes.buffer), o);
    o = pad4(o + codes.length);
  }
  for (const x of parts.offsets) { v.setUint32(o, x, true); o += 4; }
  if (o !== headBytes) throw new Error(`IVF head: wrote ${o} bytes, expected ${headBytes}`);
  return bytes;
}

export function serializeIvf(index: IvfIndex, opts: SerializeIvfOptions = {}): Uint8Array {
  if ((opts.format ?? 1) === 2) {
    const withIds = opts.ids ?? true;
    const head = serializeIvfHead(index, opts.centroids ?? 'float16', withIds);
    if (!withIds) return head;
    const out = new Uint8Array(head.length + 4 * index.ids.length);
    out.set(head);
    const v = new DataView(out.buffer);
    let o = head.length;
    for (const x of index.ids) { v.setUint32(o, x, true); o += 4; }
    return out;
  }
  const bytes = new Uint8Array(ivfIndexBytes(index));
  const v = new DataView(bytes.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, index.dim, true);
  v.setUint32(8, index.nlist, true);
  v.setUint32(12, index.ids.length, true);
  let o = 16;
  for (const x of index.centroids) { v.setFloat32(o, x, true); o += 4; }
  for (const x of index.offsets) { v.setUint32(o, x, true); o += 4; }
  for (const x of index.ids) { v.setUint32(o, x, true); o += 4; }
  return bytes;
}

/** What the fixed header of an index file says. */
export interface IvfHeader {
  format: 1 | 2;
  dim: number;
  nlist: number;
  /** Rows (ids) the partitions hold. */
  count: number;
  centroidDtype: CentroidDtype;
  /** Whether the file holds the id list after the head. */
  hasIds: boolean;
  /** Bytes from the file's start through the offsets: all a query needs. */
  headBytes: number;
  /** The whole file's size as the header implies it. */
  totalBytes: number;
}

/** Thrown for bytes that are not an IVF index or disagree with themselves. */
export class IvfFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IvfFormatError';
  }
}

const MAX_DIM = 1 << 16;
const MAX_NLIST = 1 << 22;

/** Parses the fixed header (the first 16 bytes for format 1, 32 for format 2). */
export function parseIvfHeader(bytes: Uint8Array): IvfHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 16) throw new IvfFormatError(`not an IVF index: ${bytes.byteLength} bytes is shorter than any header`);
  const magic = v.getUint32(0, true);
  if (magic !== MAGIC && magic !== MAGIC2) throw new IvfFormatError('not an IVF index (bad magic)');
  const dim = v.getUint32(4, true);
  const nlist = v.getUint32(8, true);
  const count = v.getUint32(12, true);
  if (dim < 1 || dim > MAX_DIM) throw new IvfFormatError(`IVF index header: dim ${dim} is out of range`);
  if (nlist < 1 || nlist > MAX_NLIST) throw new IvfFormatError(`IVF index header: nlist ${nlist} is out of range`);
  if (magic === MAGIC) {
    const headBytes = 16 + 4 * (nlist * dim + nlist + 1);
    return { format: 1, dim, nlist, count, centroidDtype: 'float32', hasIds: true, headBytes, totalBytes: headBytes + 4 * count };
  }
  if (bytes.byteLength < IVF2_HEADER_BYTES) throw new IvfFormatError(`IVF index (format 2): ${bytes.byteLength} bytes is shorter than its ${IVF2_HEADER_BYTES}-byte header`);
  const code = v.getUint32(16, true);
  const centroidDtype = DTYPES[code];
  if (!centroidDtype) throw new IvfFormatError(`IVF index header: unknown centroid dtype ${code}`);
  const flags = v.getUint32(20, true);
  if (flags > 1) throw new IvfFormatError(`IVF index header: unknown flags ${flags}`);
  const headBytes = v.getUint32(24, true);
  const want = ivfHeadBytes(nlist, dim, centroidDtype);
  if (headBytes !== want) throw new IvfFormatError(`IVF index header: head of ${headBytes} bytes, its dim/nlist/dtype imply ${want}`);
  const hasIds = (flags & 1) === 1;
  return { format: 2, dim, nlist, count, centroidDtype, hasIds, headBytes, totalBytes: headBytes + (hasIds ? 4 * count : 0) };
}

/**
 * The centroids and offsets from the first `headBytes` bytes of an index file (more may follow;
 * they are not read). Offsets must rise from 0 to count.
 */
export function parseIvfHead(bytes: Uint8Array): IvfHeader & IvfPartitions {
  const h = parseIvfHeader(bytes);
  if (bytes.byteLength < h.headBytes) throw new IvfFormatError(`IVF index head is ${h.headBytes} bytes, got ${bytes.byteLength}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { dim, nlist } = h;
  const centroids = new Float32Array(nlist * dim);
  let o = h.format === 1 ? 16 : IVF2_HEADER_BYTES;
  if (h.centroidDtype === 'float32') {
    for (let i = 0; i < centroids.length; i++, o += 4) centroids[i] = v.getFloat32(o, true);
  } else if (h.centroidDtype === 'float16') {
    const half = new Uint16Array(centroids.length);
    for (let i = 0; i < half.length; i++, o += 2) half[i] = v.getUint16(o, true);
    decodeFloat16(half, centroids);
    o = pad4(o);
  } else {
    const codesAt = o + 4 * nlist;
    for (let c = 0; c < nlist; c++) {
      const s = v.getFloat32(o + 4 * c, true);
      for (let j = 0; j < dim; j++) centroids[c * dim + j] = v.getInt8(codesAt + c * dim + j) * s;
    }
    o = pad4(codesAt + nlist * dim);
  }
  const offsets = new Uint32Array(nlist + 1);
  for (let i = 0; i <= nlist; i++, o += 4) offsets[i] = v.getUint32(o, true);
  if (offsets[0] !== 0 || offsets[nlist] !== h.count) throw new IvfFormatError(`IVF index offsets run from ${offsets[0]} to ${offsets[nlist]}, expected 0 to ${h.count}`);
  for (let p = 0; p < nlist; p++) if (offsets[p + 1]! < offsets[p]!) throw new IvfFormatError(`IVF index offsets fall at partition ${p}`);
  return { ...h, centroids, offsets };
}

/** A whole index file (either format) with its id list. */
export function deserializeIvf(bytes: Uint8Array): IvfIndex {
  const h = parseIvfHeader(bytes);
  if (!h.hasIds) throw new IvfFormatError('this IVF index holds no id list (format 2 without ids): a partition\'s ids are the id column of the partitioned shards');
  if (bytes.byteLength !== h.totalBytes) throw new IvfFormatError(`IVF index is ${bytes.byteLength} bytes, its header says ${h.totalBytes}`);
  const head = parseIvfHead(bytes);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ids = new Uint32Array(h.count);
  for (let i = 0, o = h.headBytes; i < h.count; i++, o += 4) ids[i] = v.getUint32(o, true);
  return { dim: h.dim, nlist: h.nlist, centroids: head.centroids, offsets: head.offsets, ids };
}

/**
 * In-memory IVF over one float32 or int8 block: index + a fetch that slices a partition's rows
 * out of a partition-sorted copy. For tests, benchmarks and uploaded data held in a worker.
 */
export function buildInMemoryIvf(block: VectorBlock, nlist: number, opts: KMeansOptions = {}): { index: IvfIndex; fetch: (p: number) => VectorBlock } {
  const dim = block.dim;
  const rows = block.kind === 'float32' ? block.rows : dequantize(block);
  const { centroids } = kmeansIvf(rows, dim, nlist, opts);
  const assignments = assignToCentroids(block, centroids);
  const index = buildIvfIndex(block.ids, assignments, centroids, dim);
  const order = partitionOrder(assignments, block.ids);
  let sorted: VectorBlock;
  if (block.kind === 'float32') {
    const r = new Float32Array(order.length * dim);
    for (let i = 0; i < order.length; i++) r.set(block.rows.subarray(order[i] * dim, (order[i] + 1) * dim), i * dim);
    sorted = { kind: 'float32', ids: index.ids, rows: r, dim };
  } else {
    const c = new Int8Array(order.length * dim);
    const s = new Float32Array(order.length);
    for (let i = 0; i < order.length; i++) {
      c.set(block.codes.subarray(order[i] * dim, (order[i] + 1) * dim), i * dim);
      s[i] = block.scales[order[i]];
    }
    sorted = { kind: 'int8', ids: index.ids, codes: c, scales: s, dim };
  }
  const fetch = (p: number): VectorBlock => {
    const a = index.offsets[p];
    const b = index.offsets[p + 1];
    return sorted.kind === 'float32'
      ? { kind: 'float32', ids: sorted.ids.subarray(a, b), rows: sorted.rows.subarray(a * dim, b * dim), dim }
      : { kind: 'int8', ids: sorted.ids.subarray(a, b), codes: sorted.codes.subarray(a * dim, b * dim), scales: sorted.scales.subarray(a, b), dim };
  };
  return { index, fetch };
}

function dequantize(block: Extract<VectorBlock, { kind: 'int8' }>): Float32Array {
  const out = new Float32Array(block.codes.length);
  for (let r = 0; r < block.ids.length; r++) {
    const s = block.scales[r];
    for (let j = 0; j < block.dim; j++) out[r * block.dim + j] = block.codes[r * block.dim + j] * s;
  }
  return out;
}
