// Turns a file's bytes into source text, or says why it cannot be read as source. Shared by the
// prebuild and the upload worker so both skip the same files for the same reasons.
import type { SkipReason } from '../data/schema.ts';

export interface SourceFileLimits {
  /** Files larger than this are skipped as 'too-large'. */
  maxBytes: number;
}

export const DEFAULT_SOURCE_FILE_LIMITS: SourceFileLimits = { maxBytes: 8 * 1024 * 1024 };

export type DecodedSource = { ok: true; text: string; encoding: string } | { ok: false; reason: SkipReason; detail: string };

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** PEP 263: `coding[:=]\s*([-\w.]+)` in a comment on line 1 or 2. */
const CODING_COOKIE = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;

function codingCookie(bytes: Uint8Array): string | null {
  // The cookie is ASCII by definition; look at the first two lines only.
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let end = start;
  let lines = 0;
  while (end < bytes.length && end < 1024 && lines < 2) {
    if (bytes[end] === 0x0a) lines++;
    end++;
  }
  const head = String.fromCharCode(...bytes.subarray(start, end));
  for (const line of head.split('\n').slice(0, 2)) {
    const m = CODING_COOKIE.exec(line);
    if (m) return m[1].toLowerCase();
    // Only a comment or blank first line lets the cookie sit on line 2.
    if (!/^[ \t\f]*(#.*)?\r?$/.test(line)) break;
  }
  return null;
}

function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8192);
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true;
  return false;
}

/**
 * Decodes Python source as CPython would: UTF-8 (BOM stripped) unless a PEP 263 coding cookie names
 * another encoding the platform's TextDecoder knows.
 */
/** CPython's tokenizer normalises these spellings to 'iso-8859-1' (tokenizer.c get_normal_name). */
const LATIN1 = /^(latin-1|iso-8859-1|iso-latin-1)([-_].*)?$/;

/** True Latin-1: WHATWG's TextDecoder maps the 'latin1' label to windows-1252, which differs at 0x80-0x9F. */
function decodeLatin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

// windows-1252's 0x80-0x9F (0 = undefined, which Python's cp1252 codec refuses). Decoded by hand
// because Node's TextDecoder treats the windows-1252 label as Latin-1 (browsers do not).
const CP1252_HIGH = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
  0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
];
const CP1252 = /^(cp1252|windows[-_]1252)$/;

function decodeCp1252(bytes: Uint8Array): string | null {
  const codes = new Uint16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b >= 0x80 && b < 0xa0) {
      const c = CP1252_HIGH[b - 0x80];
      if (c === 0) return null;
      codes[i] = c;
    } else codes[i] = b;
  }
  let out = '';
  for (let i = 0; i < codes.length; i += 8192) out += String.fromCharCode(...codes.subarray(i, i + 8192));
  return out;
}

export function decodeSourceFile(bytes: Uint8Array, limits: SourceFileLimits = DEFAULT_SOURCE_FILE_LIMITS): DecodedSource {
  if (bytes.length > limits.maxBytes) {
    return { ok: false, reason: 'too-large', detail: `${bytes.length} bytes > limit ${limits.maxBytes}` };
  }
  if (looksBinary(bytes)) return { ok: false, reason: 'binary', detail: 'NUL byte in the first 8 KiB' };
  const cookie = codingCookie(bytes);
  const hasBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  // CPython accepts a BOM only with no cookie or one that normalises to exactly 'utf-8'.
  if (hasBom && cookie && !/^utf[-_]8([-_].*)?$/.test(cookie)) {
    return { ok: false, reason: 'syntax-error', detail: `encoding problem: ${cookie} with BOM` };
  }
  if (cookie && LATIN1.test(cookie.replaceAll('_', '-'))) {
    return { ok: true, text: decodeLatin1(bytes), encoding: 'iso-8859-1' };
  }
  if (cookie && CP1252.test(cookie)) {
    const text = decodeCp1252(bytes);
    return text === null
      ? { ok: false, reason: 'not-utf8', detail: `bytes invalid in declared encoding '${cookie}'` }
      : { ok: true, text, encoding: 'windows-1252' };
  }
  if (cookie && !/^(utf-?8|utf_8)(-sig)?$/.test(cookie)) {
    let decoder: TextDecoder;
    try {
      decoder = new TextDecoder(cookie, { fatal: true });
    } catch {
      return { ok: false, reason: 'not-utf8', detail: `unknown source encoding '${cookie}'` };
    }
    try {
      return { ok: true, text: decoder.decode(bytes), encoding: decoder.encoding };
    } catch {
      return { ok: false, reason: 'not-utf8', detail: `bytes invalid in declared encoding '${cookie}'` };
    }
  }
  try {
    return { ok: true, text: UTF8.decode(bytes), encoding: 'utf-8' };
  } catch {
    return { ok: false, reason: 'not-utf8', detail: 'invalid UTF-8 and no coding declaration' };
  }
}
