// The points the map at scale has loaded (row-group chunks of `points-<layout>`): merged into one set
// sorted by id, filtered by the map's filters, and an LRU that keeps the chunks of recent views.
// Pure: typed arrays in, typed arrays out.

/** One row group's points, as the data worker sends them (x, y only: the scale map is 2-D). */
export interface ChunkColumns {
  key: string;
  ids: Uint32Array;
  /** x, y interleaved. */
  positions: Float32Array;
  clusters: Int32Array;
  repoIds: Uint32Array;
  /** Codes into the data worker's kind / docstyle name lists. */
  kinds: Uint8Array;
  docstyles: Uint8Array;
  nLines: Uint32Array;
  names: string[];
}

/** Loaded points merged and sorted by id (ids are unique across chunks): the chunks' columns, joined. */
export type MergedPoints = Omit<ChunkColumns, 'key'> & { length: number };

/** Merges chunks into one id-sorted set (binary search by id, as the map's layout arrays are). */
export function mergeChunks(chunks: readonly ChunkColumns[]): MergedPoints {
  const n = chunks.reduce((a, c) => a + c.ids.length, 0);
  // id * 2^21 + position: ids < 2^32 and n < 2^21 keep the key exact in a double.
  if (n >= 2 ** 21) throw new RangeError(`${n} points are more than the map merges at once`);
  const keys = new Float64Array(n);
  let at = 0;
  for (const c of chunks) for (let i = 0; i < c.ids.length; i++, at++) keys[at] = c.ids[i]! * 2 ** 21 + at;
  keys.sort();
  const src: { c: ChunkColumns; i: number }[] = new Array(n);
  at = 0;
  for (const c of chunks) for (let i = 0; i < c.ids.length; i++) src[at++] = { c, i };
  const out: MergedPoints = {
    length: n,
    ids: new Uint32Array(n),
    positions: new Float32Array(n * 2),
    clusters: new Int32Array(n),
    repoIds: new Uint32Array(n),
    kinds: new Uint8Array(n),
    docstyles: new Uint8Array(n),
    nLines: new Uint32Array(n),
    names: new Array<string>(n),
  };
  for (let r = 0; r < n; r++) {
    const k = keys[r]!;
    const { c, i } = src[k % 2 ** 21]!;
    out.ids[r] = c.ids[i]!;
    out.positions[2 * r] = c.positions[2 * i]!;
    out.positions[2 * r + 1] = c.positions[2 * i + 1]!;
    out.clusters[r] = c.clusters[i]!;
    out.repoIds[r] = c.repoIds[i]!;
    out.kinds[r] = c.kinds[i]!;
    out.docstyles[r] = c.docstyles[i]!;
    out.nLines[r] = c.nLines[i]!;
    out.names[r] = c.names[i]!;
  }
  for (let r = 1; r < n; r++) if (out.ids[r] === out.ids[r - 1]) throw new RangeError(`id ${out.ids[r]} is in two chunks`);
  return out;
}

export interface PointFilters {
  repos: string[];
  clusters: number[];
  kinds: string[];
  hasDocstring: boolean | null;
  minLines: number | null;
  maxLines: number | null;
}

/**
 * Indices of the merged points that pass the filters (the data worker's filterMask, over the loaded
 * points): repository names, clusters, kinds, docstring presence (docstyle other than 'none') and
 * line range. `kindNames` / `styleNames` decode the chunks' codes.
 */
export function filterPoints(p: MergedPoints, f: PointFilters, repoNames: readonly string[], kindNames: readonly string[], styleNames: readonly string[]): Uint32Array {
  const repoWanted = f.repos.length ? new Set(f.repos) : null;
  const clusterWanted = f.clusters.length ? new Set(f.clusters) : null;
  const kindWanted = f.kinds.length ? new Set(f.kinds) : null;
  const out: number[] = [];
  for (let i = 0; i < p.length; i++) {
    if (repoWanted && !repoWanted.has(repoNames[p.repoIds[i]!] ?? '')) continue;
    if (clusterWanted && !clusterWanted.has(p.clusters[i]!)) continue;
    if (kindWanted && !kindWanted.has(kindNames[p.kinds[i]!] ?? '')) continue;
    if (f.hasDocstring !== null && ((styleNames[p.docstyles[i]!] ?? 'none') !== 'none') !== f.hasDocstring) continue;
    const lines = p.nLines[i]!;
    if (f.minLines !== null && lines < f.minLines) continue;
    if (f.maxLines !== null && lines > f.maxLines) continue;
    out.push(i);
  }
  return Uint32Array.from(out);
}

/** Chunks by key, least recently used first out, bounded by total rows; `keep` keys are never evicted. */
export class ChunkCache<T extends { ids: ArrayLike<number> }> {
  private readonly map = new Map<string, T>();
  rows = 0;
  constructor(readonly maxRows: number) {}

  get(key: string): T | undefined {
    const v = this.map.get(key);
    if (v) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  keys(): string[] {
    return [...this.map.keys()];
  }

  set(key: string, v: T, keep: ReadonlySet<string>): void {
    const old = this.map.get(key);
    if (old) this.rows -= old.ids.length;
    this.map.delete(key);
    this.map.set(key, v);
    this.rows += v.ids.length;
    for (const [k, c] of this.map) {
      if (this.rows <= this.maxRows) break;
      if (keep.has(k)) continue;
      this.map.delete(k);
      this.rows -= c.ids.length;
    }
  }
}
