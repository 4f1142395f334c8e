// Types for the two d3-hierarchy functions the tag bubble chart uses. d3 comes with
// @observablehq/plot (its dependency) without type declarations.
declare module 'd3' {
  export interface HierarchyNode<T> {
    data: T;
    value?: number;
    children?: HierarchyNode<T>[];
    sum(value: (d: T) => number): this;
    sort(compare: (a: HierarchyNode<T>, b: HierarchyNode<T>) => number): this;
    leaves(): HierarchyCircularNode<T>[];
  }
  export interface HierarchyCircularNode<T> extends HierarchyNode<T> {
    x: number;
    y: number;
    r: number;
  }
  export interface PackLayout<T> {
    (root: HierarchyNode<T>): HierarchyCircularNode<T>;
    size(size: [number, number]): this;
    padding(padding: number): this;
  }
  export function hierarchy<T>(data: T, children?: (d: T) => Iterable<T> | null | undefined): HierarchyNode<T>;
  export function pack<T>(): PackLayout<T>;
}
