// Types for the few d3-force functions the group graph uses. d3 comes with @observablehq/plot (its
// dependency) without type declarations.
declare module 'd3' {
  export interface SimulationNodeDatum {
    index?: number;
    x?: number;
    y?: number;
    vx?: number;
    vy?: number;
    fx?: number | null;
    fy?: number | null;
  }
  export interface SimulationLinkDatum<N extends SimulationNodeDatum> {
    source: N | number;
    target: N | number;
  }
  export interface Force {
    (alpha: number): void;
  }
  export interface Simulation<N extends SimulationNodeDatum> {
    force(name: string, force: Force | null): this;
    stop(): this;
    tick(iterations?: number): this;
    nodes(): N[];
  }
  export interface ForceLink<N extends SimulationNodeDatum, L extends SimulationLinkDatum<N>> extends Force {
    distance(d: number | ((l: L) => number)): this;
    strength(s: number | ((l: L) => number)): this;
  }
  export interface ForceManyBody extends Force {
    strength(s: number): this;
  }
  export interface ForceCollide extends Force {
    radius(r: number): this;
  }
  export interface ForcePosition extends Force {
    strength(s: number): this;
  }
  export function forceSimulation<N extends SimulationNodeDatum>(nodes: N[]): Simulation<N>;
  export function forceLink<N extends SimulationNodeDatum, L extends SimulationLinkDatum<N>>(links: L[]): ForceLink<N, L>;
  export function forceManyBody(): ForceManyBody;
  export function forceCollide(radius?: number): ForceCollide;
  export function forceX(x?: number): ForcePosition;
  export function forceY(y?: number): ForcePosition;
}
