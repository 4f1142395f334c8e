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
  let end = 0;
  let lines = 0;
  while (end < bytes.length && end < 1024 && lines < 2) {
    if (bytes[end] === 0x0a) lines++;
    end++;
  }
  const head = String.fromCharCode(...bytes.subarray(0, end));
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
export function decodeSourceFile(bytes: Uint8Array, limits: SourceFileLimits = DEFAULT_SOURCE_FILE_LIMITS): DecodedSource {
  if (bytes.length > limits.maxBytes) {
    return { ok: false, reason: 'too-large', detail: `${bytes.length} bytes > limit ${limits.maxBytes}` };
  }
  if (looksBinary(bytes)) return { ok: false, reason: 'binary', detail: 'NUL byte in the first 8 KiB' };
  const cookie = codingCookie(bytes);
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
