// The duplicates page's chart, drawn with Observable Plot: the share of each package's functions that
// are in a duplicate group (two or more members) at the chosen threshold.
import * as Plot from '@observablehq/plot';
import type { ShareRow } from './dedup-client.ts';

const font = 'system-ui, sans-serif';

export interface ShareBar {
  name: string;
  functions: number;
  duplicated: number;
  share: number;
}

/**
 * The packages to draw: those with at least `minFunctions` functions (all of them when none has
 * that many), by share of duplicated functions, largest first, at most `limit`.
 */
export function shareBars(rows: readonly ShareRow[], t: number, limit = 30, minFunctions = 20): ShareBar[] {
  const big = rows.filter((r) => r.functions >= minFunctions);
  const pool = big.length > 0 ? big : rows;
  return pool
    .map((r) => ({ name: r.name, functions: r.functions, duplicated: r.duplicated[t], share: r.functions > 0 ? r.duplicated[t] / r.functions : 0 }))
    .sort((a, b) => b.share - a.share || b.functions - a.functions || (a.name < b.name ? -1 : 1))
    .slice(0, limit);
}

export function duplicateShareChart(bars: readonly ShareBar[], width: number, thresholdLabel: string): Element {
  const longest = Math.max(4, ...bars.map((b) => b.name.length));
  return Plot.plot({
    width,
    height: 40 + 20 * bars.length,
    marginLeft: Math.min(240, 16 + 7 * longest),
    style: { fontFamily: font, fontSize: '11px' },
    x: { label: `share of functions in a duplicate group at ${thresholdLabel} →`, domain: [0, 1], percent: true, grid: true },
    y: { label: null },
    color: { type: 'linear', scheme: 'oranges', domain: [0, 1] },
    marks: [
      Plot.barX(bars, {
        x: 'share',
        y: 'name',
        fill: 'share',
        sort: { y: '-x' },
        title: (d: ShareBar) => `${d.name}\n${d.duplicated} of ${d.functions} functions in duplicate groups (${(100 * d.share).toFixed(1)}%)`,
      }),
      Plot.ruleX([0]),
    ],
  });
}
