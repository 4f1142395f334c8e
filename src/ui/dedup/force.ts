// A static force layout of a group's graph (d3-force, run to rest before drawing): members as nodes,
// pairs above the threshold as links. d3-force starts from a fixed phyllotaxis and its own seeded
// random source, so the same graph always gets the same picture.
import { forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY, type SimulationNodeDatum } from 'd3';

export interface LaidOutNode extends SimulationNodeDatum {
  i: number;
  x: number;
  y: number;
}

export interface Extent {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

/** Positions of `n` nodes linked by `edges` (node indices), after `ticks` steps; and their extent. */
export function forceLayout(n: number, edges: readonly { a: number; b: number; sim: number }[], ticks = 300): { nodes: LaidOutNode[]; extent: Extent } {
  const nodes: LaidOutNode[] = Array.from({ length: n }, (_, i) => ({ i, x: 0, y: 0 }));
  const links = edges.map((e) => ({ source: e.a, target: e.b, sim: e.sim }));
  const sim = forceSimulation<LaidOutNode>(nodes)
    .force('link', forceLink<LaidOutNode, (typeof links)[number]>(links).distance((l) => 12 + 60 * (1 - l.sim)).strength(0.4))
    .force('charge', forceManyBody().strength(n > 150 ? -12 : -40))
    .force('collide', forceCollide(5))
    .force('x', forceX(0).strength(0.05))
    .force('y', forceY(0).strength(0.05))
    .stop();
  sim.tick(ticks);
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const d of nodes) {
    minX = Math.min(minX, d.x);
    maxX = Math.max(maxX, d.x);
    minY = Math.min(minY, d.y);
    maxY = Math.max(maxY, d.y);
  }
  if (!Number.isFinite(minX)) minX = maxX = minY = maxY = 0;
  return { nodes, extent: { minX, maxX, minY, maxY } };
}
