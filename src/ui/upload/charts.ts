// The upload report's charts (Observable Plot): functions and docstring coverage per language,
// docstring conventions, and the distribution of function lengths with the outlier fence.
import * as Plot from '@observablehq/plot';
import type { UploadReport } from '../../core/upload/report.ts';

const font = 'system-ui, sans-serif';
const BLUE = '#4c78a8';
const ORANGE = '#f58518';

export function languagesChart(r: UploadReport, width: number): Element {
  const data = r.byLanguage.flatMap((l) => [
    { lang: l.lang, part: 'documented', n: l.documented },
    { lang: l.lang, part: 'undocumented', n: l.functions - l.documented },
  ]);
  return Plot.plot({
    width,
    height: 40 + 26 * Math.max(1, r.byLanguage.length),
    marginLeft: 90,
    style: { fontFamily: font, fontSize: '11px' },
    color: { domain: ['documented', 'undocumented'], range: [BLUE, '#c9d3e0'], legend: true },
    x: { label: 'functions →', grid: true },
    y: { label: null },
    marks: [Plot.barX(data, { x: 'n', y: 'lang', fill: 'part', sort: { y: '-x' }, title: (d: { lang: string; part: string; n: number }) => `${d.lang}: ${d.n} ${d.part}` }), Plot.ruleX([0])],
  });
}

export function stylesChart(r: UploadReport, width: number): Element {
  return Plot.plot({
    width,
    height: 40 + 22 * Math.max(1, r.docstrings.styles.length),
    marginLeft: 90,
    style: { fontFamily: font, fontSize: '11px' },
    x: { label: 'documented functions →', grid: true },
    y: { label: null },
    marks: [Plot.barX(r.docstrings.styles, { x: 'count', y: 'name', fill: ORANGE, sort: { y: '-x' } }), Plot.ruleX([0])],
  });
}

export function lengthsChart(lines: number[], fence: number, width: number): Element {
  // Binned on log10(lines): lengths span 1 to thousands of lines.
  return Plot.plot({
    width,
    height: 200,
    style: { fontFamily: font, fontSize: '11px' },
    x: { label: 'log10(lines) →' },
    y: { label: '↑ functions', grid: true },
    marks: [
      Plot.rectY(lines.map((n) => ({ v: Math.log10(Math.max(1, n)) })), { ...Plot.binX({ y: 'count' }, { x: 'v', thresholds: 30 }), fill: BLUE }),
      Plot.ruleX([Math.log10(Math.max(1, fence))], { stroke: '#a12', strokeDasharray: '4 3' }),
      Plot.ruleY([0]),
    ],
  });
}
