// Seeded pseudo-random numbers for deterministic algorithms (randomized SVD, sampling, init).
// Pure TS: the same seed gives the same stream in Node and in the browser.
//
// Generator: xoshiro128** (Blackman & Vigna), 32-bit state words, seeded through splitmix32 so that
// any 32-bit seed (including 0) gives a well-mixed, non-zero state.

export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number;
  /** Uniform float in [0, 1) with 53 random bits. */
  next(): number;
  /** Uniform integer in [0, n) for 1 <= n <= 2^32 (unbiased, rejection sampling). */
  int(n: number): number;
  /** Standard normal deviate (Box–Muller, polar-free form; pairs are cached). */
  normal(): number;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Creates a deterministic generator from a seed (any number; non-integers are truncated). */
export function createRng(seed = 0): Rng {
  const sm = { s: (seed >>> 0) ^ 0x5bd1e995 };
  let a = splitmix32(sm);
  let b = splitmix32(sm);
  let c = splitmix32(sm);
  let d = splitmix32(sm);
  if ((a | b | c | d) === 0) a = 1;
  let spare = 0;
  let hasSpare = false;

  const nextU32 = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
  const next = (): number => {
    // 53 bits: 27 high bits of one draw, 26 of another.
    const hi = nextU32() >>> 5;
    const lo = nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  };
  const int = (n: number): number => {
    if (!(n >= 1) || n > 4294967296) throw new RangeError(`Rng.int: n out of range: ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = nextU32();
      if (r < limit) return r % n;
    }
  };
  const normal = (): number => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    const th = 2 * Math.PI * v;
    spare = r * Math.sin(th);
    hasSpare = true;
    return r * Math.cos(th);
  };
  return { nextU32, next, int, normal };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Fills `out` with standard normal deviates from `rng`. */
export function fillNormal(out: Float64Array | Float32Array, rng: Rng): void {
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
}
