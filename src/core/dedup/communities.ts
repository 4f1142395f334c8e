// Communities inside one component: graphology's Louvain on the component's weighted graph (edge
// weight = estimated similarity). Deterministic: nodes and edges are added in id order and Louvain's
// random choices come from a seeded generator. Community ids are dense, ordered by smallest member.
import Graph from 'graphology';
import louvain from 'graphology-communities-louvain';
import { createRng } from '../util/random.ts';

export interface CommunityResult {
  /** Community per member, aligned with `members`. */
  communityPerMember: Uint32Array;
  count: number;
  modularity: number;
}

/**
 * Louvain communities of the graph on `members` (ascending item ids) with edges (a[i], b[i], w[i]) —
 * item ids, all inside `members`.
 */
export function louvainCommunities(
  members: Uint32Array,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  w: ArrayLike<number>,
  seed: number,
  resolution = 1,
): CommunityResult {
  const graph = new Graph({ type: 'undirected', multi: false, allowSelfLoops: false });
  for (let i = 0; i < members.length; i++) graph.addNode(String(members[i]));
  for (let i = 0; i < a.length; i++) {
    const x = String(a[i]);
    const y = String(b[i]);
    if (x === y || graph.hasEdge(x, y)) continue;
    graph.addUndirectedEdge(x, y, { weight: w[i] });
  }
  const rng = createRng(seed);
  const out = louvain.detailed(graph, { getEdgeWeight: 'weight', resolution, rng: () => rng.next() });
  const communityPerMember = new Uint32Array(members.length);
  const dense = new Map<number, number>();
  for (let i = 0; i < members.length; i++) {
    const c = out.communities[String(members[i])];
    let d = dense.get(c);
    if (d === undefined) {
      d = dense.size;
      dense.set(c, d);
    }
    communityPerMember[i] = d;
  }
  return { communityPerMember, count: dense.size, modularity: out.modularity };
}
