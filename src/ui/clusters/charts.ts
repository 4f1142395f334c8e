// Charts of the Clusters page (Observable Plot): the silhouette sweep (the study's Figure 12), the
// PCA explained-variance curve (Figure 15), and the VAE's loss curves with KL per latent dimension.
import * as Plot from '@observablehq/plot';

const font = 'system-ui, sans-serif';
const style = { fontFamily: font, fontSize: '11px' };

export interface SweepPoint {
  k: number;
  silhouette: number;
}

export function sweepChart(points: SweepPoint[], chosen: number, width: number): Element {
  return Plot.plot({
    width,
    height: 240,
    style,
    x: { label: 'k (clusters) →', grid: true },
    y: { label: '↑ mean silhouette', grid: true },
    marks: [
      Plot.line(points, { x: 'k', y: 'silhouette', stroke: '#4c78a8' }),
      Plot.dot(points, { x: 'k', y: 'silhouette', fill: (d: SweepPoint) => (d.k === chosen ? '#e4575a' : '#4c78a8'), r: (d: SweepPoint) => (d.k === chosen ? 5 : 3), title: (d: SweepPoint) => `k = ${d.k}\nsilhouette ${d.silhouette.toFixed(3)}` }),
      Plot.text(points.filter((d) => d.k === chosen), { x: 'k', y: 'silhouette', text: (d: SweepPoint) => `k = ${d.k}`, dy: -10, fill: '#e4575a' }),
    ],
  });
}

export function varianceChart(ratios: number[], width: number): Element {
  let cum = 0;
  const rows = ratios.map((r, i) => ({ component: i + 1, ratio: r, cumulative: (cum += r) }));
  return Plot.plot({
    width,
    height: 240,
    style,
    x: { label: 'principal components →', grid: true },
    y: { label: '↑ explained variance', grid: true, domain: [0, 1], tickFormat: '%' },
    marks: [
      Plot.areaY(rows, { x: 'component', y: 'cumulative', fill: '#4c78a8', fillOpacity: 0.15 }),
      Plot.line(rows, { x: 'component', y: 'cumulative', stroke: '#4c78a8' }),
      Plot.rectY(rows, { x1: (d: { component: number }) => d.component - 0.45, x2: (d: { component: number }) => d.component + 0.45, y: 'ratio', fill: '#f58518' }),
      Plot.ruleY([0]),
    ],
  });
}

export interface EpochPoint {
  epoch: number;
  recon: number;
  kl: number;
}

export function lossChart(epochs: EpochPoint[], width: number): Element {
  const rows = epochs.flatMap((e) => [
    { epoch: e.epoch, term: 'reconstruction', value: e.recon },
    { epoch: e.epoch, term: 'KL', value: e.kl },
  ]);
  return Plot.plot({
    width,
    height: 220,
    style,
    x: { label: 'epoch →', grid: true },
    y: { label: '↑ loss per sample', grid: true, type: 'log' },
    color: { legend: true, domain: ['reconstruction', 'KL'], range: ['#4c78a8', '#e4575a'] },
    marks: [Plot.line(rows, { x: 'epoch', y: 'value', stroke: 'term' }), Plot.dot(rows, { x: 'epoch', y: 'value', fill: 'term', r: 2 })],
  });
}

export function klPerDimChart(kl: number[], width: number): Element {
  const rows = kl.map((v, i) => ({ dim: `z${i + 1}`, kl: v }));
  return Plot.plot({
    width,
    height: 40 + 26 * rows.length,
    marginLeft: 40,
    style,
    x: { label: 'KL (nats) →', grid: true },
    y: { label: null },
    marks: [Plot.barX(rows, { x: 'kl', y: 'dim', fill: '#72b7b2' }), Plot.ruleX([0])],
  });
}
