// Connected components of the verified-pair graph by union-find (union by size, path halving).
// Component ids are dense and ordered by each component's smallest member id; items with no pair
// get -1 (they are nobody's duplicate).

export class UnionFind {
  readonly parent: Uint32Array;
  readonly size: Uint32Array;
  constructor(n: number) {
    this.parent = new Uint32Array(n);
    this.size = new Uint32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }
  union(a: number, b: number): boolean {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return false;
    if (this.size[ra] < this.size[rb]) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra] += this.size[rb];
    return true;
  }
}

export interface Components {
  /** Component id per item, -1 for items in no pair. */
  idPerItem: Int32Array;
  /** Size of each component. */
  sizes: Uint32Array;
  count: number;
}

/** Components of the graph on `n` items with edges (a[i], b[i]). */
export function connectedComponents(n: number, a: ArrayLike<number>, b: ArrayLike<number>): Components {
  const uf = new UnionFind(n);
  const linked = new Uint8Array(n);
  for (let i = 0; i < a.length; i++) {
    uf.union(a[i], b[i]);
    linked[a[i]] = 1;
    linked[b[i]] = 1;
  }
  return labelComponents(uf, linked);
}

/** Dense labels (by smallest member) of a union-find's sets among items with linked[i] = 1. */
export function labelComponents(uf: UnionFind, linked: Uint8Array): Components {
  const n = linked.length;
  const idPerItem = new Int32Array(n).fill(-1);
  const rootId = new Int32Array(n).fill(-1);
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!linked[i]) continue;
    const r = uf.find(i);
    if (rootId[r] < 0) {
      rootId[r] = sizes.length;
      sizes.push(0);
    }
    idPerItem[i] = rootId[r];
    sizes[rootId[r]]++;
  }
  return { idPerItem, sizes: Uint32Array.from(sizes), count: sizes.length };
}
