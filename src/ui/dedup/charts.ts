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
 * The packages to draw: the `limit` with the most functions, largest first, each with the share of
 * its functions that are in a duplicate group at threshold index `t`. Sorting by size keeps small
 * vendored copies (100% duplicated, a few hundred functions) from crowding out the packages where
 * most of the corpus is; a large package made mostly of generated near-copies stands out.
 */
export function shareBars(rows: readonly ShareRow[], t: number, limit = 30): ShareBar[] {
  return [...rows]
    .sort((a, b) => b.functions - a.functions || (a.name < b.name ? -1 : 1))
    .slice(0, limit)
    .map((r) => ({ name: r.name, functions: r.functions, duplicated: r.duplicated[t], share: r.functions > 0 ? r.duplicated[t] / r.functions : 0 }));
}

export function duplicateShareChart(bars: readonly ShareBar[], width: number, thresholdLabel: string): Element {
  const longest = Math.max(4, ...bars.map((b) => b.name.length));
  return Plot.plot({
    // Bars in the order given (largest package first).
    width,
    height: 40 + 20 * bars.length,
    marginLeft: Math.min(240, 16 + 7 * longest),
    style: { fontFamily: font, fontSize: '11px' },
    x: { label: `share of functions in a duplicate group at ${thresholdLabel} →`, domain: [0, 1], percent: true, grid: true },
    y: { label: null, domain: bars.map((b) => b.name) },
    color: { type: 'linear', scheme: 'oranges', domain: [0, 1] },
    marks: [
      Plot.barX(bars, {
        x: 'share',
        y: 'name',
        fill: 'share',
        title: (d: ShareBar) => `${d.name}\n${d.duplicated} of ${d.functions} functions in duplicate groups (${(100 * d.share).toFixed(1)}%)`,
      }),
      Plot.ruleX([0]),
    ],
  });
}
