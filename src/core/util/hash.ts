// Content hashing for function bodies: 64-bit FNV-1a over the text's UTF-8 bytes, returned as 16
// lowercase hex digits. FNV-1a-64 of UTF-8 is a standard, easy to reproduce anywhere (Python:
// `fnv1a64(body.encode('utf-8'))`), needs no WASM or crypto API, and is fast enough for the hot path:
// the UTF-8 bytes are produced on the fly from UTF-16 code units, never materialised. The 64-bit state
// is kept as two 32-bit halves; the multiply by the FNV prime 2^40 + 0x1b3 splits into a small
// product per half (exact in doubles) plus a shift of the low half into the high half.
//
// Not a cryptographic hash: it is for exact-duplicate detection and cache keys.

const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;
const TWO_32 = 4294967296;

/** Statistics gathered in the same pass as the hash. */
export interface TextDigest {
  /** FNV-1a-64 of the UTF-8 encoding, 16 lowercase hex digits. */
  hash: string;
  /** Unicode code points (a surrogate pair counts once; a lone surrogate counts once). */
  codePoints: number;
  /** Number of '\n' characters. */
  newlines: number;
}

function hex32(n: number): string {
  const s = (n >>> 0).toString(16);
  return s.length === 8 ? s : '00000000'.slice(s.length) + s;
}

/**
 * Hashes `text` (FNV-1a-64 over UTF-8; lone surrogates are encoded as U+FFFD like TextEncoder does)
 * and counts its code points and newlines in one pass.
 */
export function digestText(text: string): TextDigest {
  let hi = FNV_OFFSET_HI;
  let lo = FNV_OFFSET_LO;
  let codePoints = 0;
  let newlines = 0;
  const n = text.length;
  // One byte into the state: lo ^= b; (hi:lo) *= 2^40 + 435 (mod 2^64).
  // lo * 435 < 2^41 and hi * 435 + carry + (lo << 8) < 2^42: all exact in doubles.
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    codePoints++;
    if (c < 0x80) {
      if (c === 10) newlines++;
      lo = (lo ^ c) >>> 0;
      const p = lo * 435;
      hi = (hi * 435 + Math.floor(p / TWO_32) + ((lo << 8) >>> 0)) >>> 0;
      lo = p >>> 0;
      continue;
    }
    // Multi-byte: work out the UTF-8 bytes of this code point.
    let b0: number;
    let b1 = -1;
    let b2 = -1;
    let b3 = -1;
    if (c < 0x800) {
      b0 = 0xc0 | (c >> 6);
      b1 = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < n ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        } else {
          c = 0xfffd;
        }
      }
      if (c < 0x10000) {
        b0 = 0xe0 | (c >> 12);
        b1 = 0x80 | ((c >> 6) & 63);
        b2 = 0x80 | (c & 63);
      } else {
        b0 = 0xf0 | (c >> 18);
        b1 = 0x80 | ((c >> 12) & 63);
        b2 = 0x80 | ((c >> 6) & 63);
        b3 = 0x80 | (c & 63);
      }
    }
    for (let k = 0; k < 4; k++) {
      const b = k === 0 ? b0 : k === 1 ? b1 : k === 2 ? b2 : b3;
      if (b < 0) break;
      lo = (lo ^ b) >>> 0;
      const p = lo * 435;
      hi = (hi * 435 + Math.floor(p / TWO_32) + ((lo << 8) >>> 0)) >>> 0;
      lo = p >>> 0;
    }
  }
  return { hash: hex32(hi) + hex32(lo), codePoints, newlines };
}

/** FNV-1a-64 of the UTF-8 encoding of `text`, as 16 lowercase hex digits. */
export function contentHash(text: string): string {
  return digestText(text).hash;
}

/** FNV-1a-64 of raw bytes, as 16 lowercase hex digits. */
export function fnv1a64Bytes(bytes: Uint8Array): string {
  let hi = FNV_OFFSET_HI;
  let lo = FNV_OFFSET_LO;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]) >>> 0;
    const p = lo * 435;
    hi = (hi * 435 + Math.floor(p / TWO_32) + ((lo << 8) >>> 0)) >>> 0;
    lo = p >>> 0;
  }
  return hex32(hi) + hex32(lo);
}
