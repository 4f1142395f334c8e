// Categorical colours for the map: a fixed palette for the first repositories, then golden-angle
// hues, so any number of repositories gets distinguishable, stable colours.
const BASE: [number, number, number][] = [
  [76, 120, 168],
  [245, 133, 24],
  [84, 162, 75],
  [228, 87, 86],
  [114, 183, 178],
  [238, 202, 59],
  [178, 121, 162],
  [255, 157, 166],
  [157, 117, 93],
  [186, 176, 172],
];

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(255 * f(0)), Math.round(255 * f(8)), Math.round(255 * f(4))];
}

export function categoryColor(i: number): [number, number, number] {
  if (i < BASE.length) return BASE[i]!;
  const h = (i * 137.508) % 360;
  const l = 0.42 + 0.12 * ((i >> 1) % 3);
  return hslToRgb(h, 0.62, l);
}

/** Points without a category (a unique function, no cluster): a quiet grey. */
export const NONE_COLOR: [number, number, number] = [200, 204, 212];

/** RGB per point (3 bytes each) from a category per point; 0xffffffff is "none". */
export function colorsByCategory(categories: Uint32Array): Uint8Array {
  const out = new Uint8Array(categories.length * 3);
  const cache = new Map<number, [number, number, number]>();
  for (let i = 0; i < categories.length; i++) {
    const c = categories[i]!;
    let rgb = cache.get(c);
    if (!rgb) {
      rgb = c === 0xffffffff ? NONE_COLOR : categoryColor(c);
      cache.set(c, rgb);
    }
    out[3 * i] = rgb[0];
    out[3 * i + 1] = rgb[1];
    out[3 * i + 2] = rgb[2];
  }
  return out;
}

/** The view that shows a data-space box in a canvas of the given size, with a margin. */
export function fitBounds(
  bounds: { min: number[]; max: number[] },
  width: number,
  height: number,
  margin = 0.08,
): { target: [number, number, number]; zoom: number } {
  const [x0 = 0, y0 = 0] = bounds.min;
  const [x1 = 1, y1 = 1] = bounds.max;
  const dx = Math.max(x1 - x0, 1e-9);
  const dy = Math.max(y1 - y0, 1e-9);
  const scale = Math.min(width / dx, height / dy) * (1 - 2 * margin);
  return { target: [(x0 + x1) / 2, (y0 + y1) / 2, 0], zoom: Math.log2(Math.max(scale, 1e-9)) };
}
