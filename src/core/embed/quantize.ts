// Vectors are stored as int8 with one float scale per vector (value ~ int8 * scale): a quarter of
// float32's bytes, and after L2 normalisation the rounding error is below 0.4% of each component's
// range, far under the differences that rank neighbours.

/** Quantises row-major `rows` (count x dim) to int8 codes and per-row scales. */
export function quantizeInt8(rows: Float32Array, dim: number): { codes: Int8Array; scales: Float32Array } {
  const count = Math.floor(rows.length / dim);
  const codes = new Int8Array(count * dim);
  const scales = new Float32Array(count);
  for (let r = 0; r < count; r++) {
    const o = r * dim;
    let maxAbs = 0;
    for (let j = 0; j < dim; j++) maxAbs = Math.max(maxAbs, Math.abs(rows[o + j]));
    const scale = maxAbs / 127;
    scales[r] = scale;
    if (scale === 0) continue;
    const inv = 1 / scale;
    for (let j = 0; j < dim; j++) codes[o + j] = Math.round(rows[o + j] * inv);
  }
  return { codes, scales };
}

/** Inverse of quantizeInt8 for one row, into `out` (dim values). */
export function dequantizeInt8Row(codes: Int8Array, scale: number, out: Float32Array = new Float32Array(codes.length)): Float32Array {
  for (let j = 0; j < codes.length; j++) out[j] = codes[j] * scale;
  return out;
}
