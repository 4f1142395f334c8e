// Scale mode's drawing helpers: the density pyramid's level as an image (one pixel per cell, log
// scale, tinted by the cell's most common cluster), and colourings of the loaded points computed here
// (the data worker holds no per-function columns in scale mode).
import type { Pyramid } from '../../core/map/tiles.ts';
import type { MergedPoints } from '../../core/map/points.ts';
import type { Categories, CategoryKind } from '../data/data-client.ts';
import { categoryColor } from './palette.ts';

export const DENSITY_NOTE = 'aggregated: cells coloured by how many functions they hold (log scale)';

const NONE = 0xffffffff;

/**
 * One level of the pyramid as a 2^level-square canvas, row r = cell ty r (the BitmapLayer puts row 0
 * at the extent's y0). Empty cells are transparent; a cell's opacity grows with log(count), its hue is
 * its most common cluster's colour when `byCluster`, else a single blue.
 */
export function densityCanvas(p: Pyramid, rows: { start: number; end: number }, level: number, byCluster: boolean): HTMLCanvasElement {
  const n = 2 ** level;
  const canvas = document.createElement('canvas');
  canvas.width = n;
  canvas.height = n;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2-D canvas context for the density layer');
  const img = ctx.createImageData(n, n);
  let max = 1;
  for (let i = rows.start; i < rows.end; i++) max = Math.max(max, p.count[i]!);
  const logMax = Math.log1p(max);
  for (let i = rows.start; i < rows.end; i++) {
    const t = Math.log1p(p.count[i]!) / logMax;
    const c = p.cluster[i]!;
    const rgb: readonly number[] = byCluster && c >= 0 ? categoryColor(c) : [36, 86, 168];
    const o = (p.ty[i]! * n + p.tx[i]!) * 4;
    img.data[o] = rgb[0]!;
    img.data[o + 1] = rgb[1]!;
    img.data[o + 2] = rgb[2]!;
    img.data[o + 3] = Math.round(255 * (0.18 + 0.82 * t));
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** A colouring of the loaded points (cluster, package or docstring style), with counts of the loaded ones. */
export function localCategories(by: CategoryKind, p: MergedPoints, repoNames: readonly string[], styleNames: readonly string[]): Categories {
  const n = p.length;
  const codes = new Uint32Array(n);
  if (by === 'cluster') {
    let k = 0;
    for (let i = 0; i < n; i++) k = Math.max(k, p.clusters[i]! + 1);
    const counts = new Array<number>(k).fill(0);
    let none = 0;
    for (let i = 0; i < n; i++) {
      const c = p.clusters[i]!;
      codes[i] = c < 0 ? NONE : c;
      if (c < 0) none++;
      else counts[c]!++;
    }
    return { by, codes, labels: counts.map((_, c) => `cluster ${c}`), counts, noneLabel: 'no cluster', noneCount: none };
  }
  if (by === 'package') {
    const counts = new Array<number>(repoNames.length).fill(0);
    for (let i = 0; i < n; i++) {
      codes[i] = p.repoIds[i]!;
      counts[p.repoIds[i]!] = (counts[p.repoIds[i]!] ?? 0) + 1;
    }
    return { by, codes, labels: [...repoNames], counts, noneLabel: 'unknown', noneCount: 0 };
  }
  if (by === 'docstyle') {
    const counts = new Array<number>(styleNames.length).fill(0);
    for (let i = 0; i < n; i++) {
      codes[i] = p.docstyles[i]!;
      counts[p.docstyles[i]!]!++;
    }
    return { by, codes, labels: [...styleNames], counts, noneLabel: 'unknown', noneCount: 0 };
  }
  throw new Error('colouring by clone group needs every function’s groups: not available on the map at this size');
}
