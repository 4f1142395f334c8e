// IVF (inverted file) search: vectors are partitioned by their nearest k-means centroid; a query
// ranks the centroids and scans only the `nprobe` nearest partitions, exactly (knn.ts) within them.
// On the web this is what makes search over hundreds of thousands of vectors cheap: the prebuild
// writes shards sorted by partition, so a query range-reads only its partitions' rows. With nprobe
// = all partitions IVF visits every row and equals exact search.
//
// The partition index (centroids + which ids sit in which partition) is small: nlist x dim float32
// plus 4 bytes per id. Its binary form is little-endian:
//   magic "IVF1" | u32 dim | u32 nlist | u32 count | f32 centroids[nlist*dim] | u32 offsets[nlist+1] | u32 ids[count]
//
// Clustering seam: kmeansIvf() below is a small seeded k-means (k-means++ on a sample, then Lloyd)
// so this module stands alone. Callers with better centroids (the cluster module's k-means, or
// clusters already computed for the map) pass them to assignToCentroids / buildIvfIndex instead.
import { createRng } from '../util/random.ts';
import { KnnQuery, prepareQuery, rowScore, type KnnMetric, type KnnResult, type VectorBlock } from './knn.ts';

export interface IvfIndex {
  dim: number;
  nlist: number;
  /** nlist x dim, row-major. */
  centroids: Float32Array;
  /** nlist + 1 offsets into ids: partition p holds ids[offsets[p] .. offsets[p+1]). */
  offsets: Uint32Array;
  /** Every id, grouped by partition, ascending within a partition. */
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

/** Index of the centroid nearest (squared L2) to row r of rows, and that distance. */
function nearest(rows: Float32Array, r: number, centroids: Float32Array, k: number, dim: number): [number, number] {
  let best = 0;
  let bestD = Infinity;
  for (let c = 0; c < k; c++) {
    const d = sqDist(rows, r * dim, centroids, c * dim, dim);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return [best, bestD];
}

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
    for (let i = 0; i < m; i++) {
      const [c, d] = nearest(sample, i, centroids, kk, dim);
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
  const row = new Float32Array(dim);
  for (let r = 0; r < n; r++) {
    if (block.kind === 'float32') row.set(block.rows.subarray(r * dim, (r + 1) * dim));
    else {
      const s = block.scales[r];
      for (let j = 0; j < dim; j++) row[j] = block.codes[r * dim + j] * s;
    }
    out[r] = nearest(row, 0, centroids, k, dim)[0];
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
export function partitionRows(index: IvfIndex, partition: number): { rowStart: number; rowEnd: number } {
  return { rowStart: index.offsets[partition], rowEnd: index.offsets[partition + 1] };
}

/**
 * The `nprobe` partitions to visit for a query, nearest first, by the query's own metric to the
 * centroids (cosine: against the centroid's direction). Empty partitions are skipped.
 */
export function probePartitions(index: IvfIndex, query: ArrayLike<number>, nprobe: number, metric: KnnMetric): Uint32Array {
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

export function ivfIndexBytes(index: IvfIndex): number {
  return 16 + 4 * (index.centroids.length + index.offsets.length + index.ids.length);
}

export function serializeIvf(index: IvfIndex): Uint8Array {
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

export function deserializeIvf(bytes: Uint8Array): IvfIndex {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 16 || v.getUint32(0, true) !== MAGIC) throw new Error('not an IVF index (bad magic)');
  const dim = v.getUint32(4, true);
  const nlist = v.getUint32(8, true);
  const count = v.getUint32(12, true);
  const need = 16 + 4 * (nlist * dim + nlist + 1 + count);
  if (bytes.byteLength !== need) throw new Error(`IVF index is ${bytes.byteLength} bytes, its header says ${need}`);
  let o = 16;
  const centroids = new Float32Array(nlist * dim);
  for (let i = 0; i < centroids.length; i++, o += 4) centroids[i] = v.getFloat32(o, true);
  const offsets = new Uint32Array(nlist + 1);
  for (let i = 0; i < offsets.length; i++, o += 4) offsets[i] = v.getUint32(o, true);
  const ids = new Uint32Array(count);
  for (let i = 0; i < count; i++, o += 4) ids[i] = v.getUint32(o, true);
  if (offsets[nlist] !== count) throw new Error('IVF index offsets do not cover its ids');
  return { dim, nlist, centroids, offsets, ids };
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
