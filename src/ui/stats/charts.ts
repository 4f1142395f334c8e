// The Statistics page's charts, drawn with Observable Plot. Each builder returns an SVG element.
import * as Plot from '@observablehq/plot';
import { hierarchy, pack } from 'd3';
import type { DatasetStats, LengthBin, RepoSize } from '../../core/data/stats.ts';
import { fmtBytes, fmtInt } from '../format.ts';

const BLUE = '#4c78a8';
const ORANGE = '#f58518';
const font = 'system-ui, sans-serif';

function maxLabel(names: string[]): number {
  return Math.min(220, 16 + 7 * Math.max(4, ...names.map((n) => n.length)));
}

function asElement(e: SVGSVGElement | HTMLElement): Element {
  return e;
}

export function reposBar(rows: RepoSize[], key: 'bytes' | 'functions', width: number): Element {
  const data = rows.slice(0, 25);
  return asElement(
    Plot.plot({
      width,
      height: 36 + 20 * data.length,
      marginLeft: maxLabel(data.map((d) => d.name)),
      style: { fontFamily: font, fontSize: '11px' },
      x: {
        label: key === 'bytes' ? 'source bytes →' : 'functions →',
        grid: true,
        tickFormat: key === 'bytes' ? fmtBytes : undefined,
      },
      y: { label: null },
      marks: [
        Plot.barX(data, {
          x: key,
          y: 'name',
          fill: key === 'bytes' ? BLUE : ORANGE,
          sort: { y: '-x' },
          title: (d: RepoSize) =>
            `${d.name}\n${fmtBytes(d.bytes)} · ${fmtInt(d.functions)} functions · ${fmtInt(d.files)} files`,
        }),
        Plot.ruleX([0]),
      ],
    }),
  );
}

export interface Bubble {
  tag: string;
  count: number;
  x: number;
  y: number;
  r: number;
}

/** Circle packing of tag frequencies (d3-hierarchy's pack), largest first. */
export function packTags(tags: { tag: string; count: number }[], width: number, height: number): Bubble[] {
  type Node = { tag: string; count: number; children?: Node[] };
  const root = hierarchy<Node>({ tag: '', count: 0, children: tags.map((t) => ({ ...t })) }, (d) => d.children)
    .sum((d) => (d.children ? 0 : d.count))
    .sort((a, b) => (b.value ?? 0) - (a.value ?? 0));
  const packed = pack<Node>().size([width, height]).padding(2)(root);
  return packed.leaves().map((n) => ({ tag: n.data.tag, count: n.data.count, x: n.x, y: n.y, r: n.r }));
}

export function tagBubbles(tags: { tag: string; count: number }[], width: number): Element {
  const height = Math.max(240, Math.min(440, Math.round(width * 0.5)));
  const top = tags.slice(0, 80);
  if (!top.length) {
    return asElement(
      Plot.plot({
        width,
        height: 80,
        axis: null,
        style: { fontFamily: font },
        marks: [Plot.text(['no tags or topics in this data set'], { frameAnchor: 'middle', fontSize: 13 })],
      }),
    );
  }
  const bubbles = packTags(top, width, height);
  const label = (b: Bubble) => {
    const short = b.tag.split(' :: ').pop() ?? b.tag;
    return short.length * 6.2 < 2 * b.r - 4 ? short : '';
  };
  return asElement(
    Plot.plot({
      width,
      height,
      margin: 0,
      axis: null,
      style: { fontFamily: font },
      x: { type: 'identity' },
      y: { type: 'identity' },
      r: { type: 'identity' },
      color: { type: 'linear', scheme: 'blues', domain: [0, Math.max(...bubbles.map((b) => b.count))] },
      marks: [
        Plot.dot(bubbles, {
          x: 'x',
          y: 'y',
          r: 'r',
          fill: 'count',
          stroke: '#355f8d',
          strokeWidth: 0.5,
          title: (b: Bubble) => `${b.tag}\n${fmtInt(b.count)} repositories`,
        }),
        Plot.text(bubbles, {
          x: 'x',
          y: 'y',
          text: label,
          fontSize: 10,
          fill: (b: Bubble) => (b.count > 0.6 * bubbles[0]!.count ? 'white' : '#1d2330'),
        }),
      ],
    }),
  );
}

export function lengthHistogram(stats: DatasetStats, width: number): Element {
  const bins = stats.length_histogram;
  const q = stats.length_quantiles;
  // Labels one below the other, so that close quantiles stay readable.
  const marks = [
    { v: q.p50, label: 'median', dy: 4 },
    { v: q.p90, label: 'p90', dy: 18 },
    { v: q.p99, label: 'p99', dy: 32 },
  ].filter((m) => m.v > 0);
  const lo = Math.max(1, Math.min(...bins.map((b) => b.lo)));
  const hi = Math.max(lo + 1, ...bins.map((b) => b.hi));
  const nearRight = (v: number) => Math.log(v / lo) / Math.log(hi / lo) > 0.7;
  return asElement(
    Plot.plot({
      width,
      height: 300,
      marginBottom: 40,
      style: { fontFamily: font, fontSize: '11px' },
      x: { type: 'log', label: 'function length (characters, log scale) →', grid: true },
      y: { label: '↑ functions', grid: true },
      marks: [
        Plot.rectY(bins, {
          x1: 'lo',
          x2: 'hi',
          y: 'count',
          fill: BLUE,
          insetLeft: 0.5,
          title: (b: LengthBin) => `${fmtInt(b.lo)}–${fmtInt(b.hi)} characters: ${fmtInt(b.count)} functions`,
        }),
        Plot.ruleY([0]),
        Plot.ruleX(marks, { x: 'v', stroke: ORANGE, strokeDasharray: '4,3' }),
        ...marks.map((m) =>
          Plot.text([m], {
            x: 'v',
            frameAnchor: 'top',
            dy: m.dy,
            // Near the right edge the label goes to the left of its rule.
            dx: nearRight(m.v) ? -4 : 4,
            textAnchor: nearRight(m.v) ? 'end' : 'start',
            text: (d: { v: number; label: string }) => `${d.label} ${fmtInt(d.v)}`,
            fill: ORANGE,
            stroke: 'white',
            strokeWidth: 3,
            paintOrder: 'stroke',
          }),
        ),
      ],
    }),
  );
}

const shareLabel = (d: { count: number; share: number }) => `${(100 * d.share).toFixed(1)}% (${fmtInt(d.count)})`;

export function shareBars(rows: { label: string; count: number }[], width: number, xLabel: string): Element {
  const total = rows.reduce((s, r) => s + r.count, 0) || 1;
  const data = rows.map((r) => ({ ...r, share: r.count / total }));
  return asElement(
    Plot.plot({
      width,
      height: 36 + 24 * data.length,
      marginLeft: maxLabel(data.map((d) => d.label)),
      marginRight: 20,
      style: { fontFamily: font, fontSize: '11px' },
      // Room on the right for the labels beside the longest bar (the domain is in percent).
      x: { label: xLabel, percent: true, grid: true, domain: [0, Math.min(100, 135 * Math.max(...data.map((d) => d.share)))] },
      y: { label: null },
      marks: [
        Plot.barX(data, { x: 'share', y: 'label', fill: BLUE, sort: { y: '-x' } }),
        // Labels beside short bars, inside long ones.
        Plot.text(
          data.filter((d) => d.share <= 0.5),
          { x: 'share', y: 'label', text: shareLabel, textAnchor: 'start', dx: 4 },
        ),
        Plot.text(
          data.filter((d) => d.share > 0.5),
          { x: 'share', y: 'label', text: shareLabel, textAnchor: 'end', dx: -4, fill: 'white' },
        ),
        Plot.ruleX([0]),
      ],
    }),
  );
}
