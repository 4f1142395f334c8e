// IEEE 754 binary16 <-> binary32 conversion without Float16Array (Node 20 and older browsers lack it).
// Encoding rounds to nearest, ties to even; overflow goes to ±Infinity; NaN stays NaN.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Bits of the binary16 nearest to `x` (round to nearest even). */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    // Subnormal half (or zero).
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    const up = rem > mid || (rem === mid && (half & 1) === 1) ? 1 : 0;
    return sign | (half + up);
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  const up = rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1) ? 1 : 0;
  return sign | (half + up); // a carry into the exponent is the correct rounding (up to Inf)
}

let table: Float32Array | null = null;

/** 65536-entry decode table (256 KiB), built on first use. */
function decodeTable(): Float32Array {
  if (table) return table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    let v: number;
    if (exp === 0) v = mant * 2 ** -24;
    else if (exp === 0x1f) v = mant === 0 ? Infinity : NaN;
    else v = (1 + mant / 1024) * 2 ** (exp - 15);
    t[h] = sign * v;
  }
  table = t;
  return t;
}

/** Value of the binary16 with bits `h`. */
export function fromFloat16Bits(h: number): number {
  return decodeTable()[h & 0xffff];
}

/** Encodes `src` as binary16 bit patterns. */
export function encodeFloat16(src: ArrayLike<number>, out = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) out[i] = toFloat16Bits(src[i]);
  return out;
}

/** Decodes binary16 bit patterns to float32. */
export function decodeFloat16(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const t = decodeTable();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}

/** Rounds every value of `a` in place to the nearest binary16 value (as float32). */
export function roundToFloat16InPlace(a: Float32Array | Float64Array): void {
  const t = decodeTable();
  for (let i = 0; i < a.length; i++) a[i] = t[toFloat16Bits(a[i])];
}
