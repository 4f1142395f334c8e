// Lasso selection: which points of a layout fall inside a polygon (even-odd rule), in data
// coordinates, so the same polygon selects the same functions at any zoom and in a permalink.

/** Indices i (of `count` points, `stride` floats each, x then y first) inside the polygon. */
export function pointsInPolygon(positions: Float32Array, count: number, stride: number, polygon: readonly (readonly [number, number])[]): Uint32Array {
  const m = polygon.length;
  if (m < 3) return new Uint32Array(0);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const px = new Float64Array(m);
  const py = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    px[j] = polygon[j]![0];
    py[j] = polygon[j]![1];
    minX = Math.min(minX, px[j]!);
    maxX = Math.max(maxX, px[j]!);
    minY = Math.min(minY, py[j]!);
    maxY = Math.max(maxY, py[j]!);
  }
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const x = positions[i * stride]!;
    const y = positions[i * stride + 1]!;
    // The bounding box rejects most points before the edge loop.
    if (x < minX || x > maxX || y < minY || y > maxY) continue;
    let inside = false;
    for (let a = 0, b = m - 1; a < m; b = a++) {
      const ya = py[a]!;
      const yb = py[b]!;
      if (ya > y !== yb > y && x < ((px[b]! - px[a]!) * (y - ya)) / (yb - ya) + px[a]!) inside = !inside;
    }
    if (inside) out.push(i);
  }
  return Uint32Array.from(out);
}
