// What every archive format shares: the limits, the result types, the error, path normalisation
// and the Collector that decides, entry by entry, what is kept and why the rest is skipped.
// The format readers (zip.ts, tar.ts) only find entries and their bytes; every policy lives here.
import { type SourceLanguage, languageOfPath } from '../extract/language-paths.ts';
import { decodeSourceFile } from '../extract/source-file.ts';

export interface ArchiveLimits {
  /** The archive file itself (default 512 MiB). */
  maxArchiveBytes: number;
  /** Sum of uncompressed sizes read (default 1 GiB). For .tar.gz every decompressed byte counts. */
  maxTotalBytes: number;
  /** Entries looked at (default 50,000); directories are not entries. */
  maxEntries: number;
  /** One source file (default 8 MiB). */
  maxFileBytes: number;
  /** Uncompressed/compressed, per entry and overall (default 200). */
  maxRatio: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxArchiveBytes: 512 * 1024 * 1024,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxEntries: 50_000,
  maxFileBytes: 8 * 1024 * 1024,
  maxRatio: 200,
};

/**
 * Entries whose declared size is at most this are exempt from the per-entry ratio check: a small
 * file of blanks compresses far beyond 200x and cannot blow anything up. (The overall check and
 * the running checks while inflating still apply to them.)
 */
export const RATIO_EXEMPT_BYTES = 64 * 1024;

export type ArchiveSkipReason =
  | 'path-traversal'
  | 'absolute-path'
  | 'symlink'
  | 'nested-archive'
  | 'too-large'
  | 'ratio'
  | 'binary'
  | 'not-utf8'
  | 'not-source'
  | 'limit'
  | 'corrupt'
  | 'duplicate-path';

export interface ArchiveFile {
  /** Normalised: forward slashes, relative, no '.', '..' or empty components. */
  path: string;
  bytes: Uint8Array;
}

export interface ArchiveSkip {
  path: string;
  reason: ArchiveSkipReason;
  detail: string;
}

export interface ArchiveReadResult {
  format: 'zip' | 'tar' | 'tar.gz';
  /** Source files of a known language (languageOfPath), in archive order. */
  files: ArchiveFile[];
  /** Every entry not returned, with why (see Collector for the one exception: far beyond maxEntries). */
  skipped: ArchiveSkip[];
  warnings: string[];
  /** Entries found (files, links and special files; directories and tar metadata records are not entries). */
  totalEntries: number;
}

export type ArchiveErrorCode = 'empty' | 'not-an-archive' | 'too-large' | 'bomb' | 'corrupt';

export class ArchiveError extends Error {
  readonly code: ArchiveErrorCode;
  constructor(code: ArchiveErrorCode, message: string) {
    super(message);
    this.name = 'ArchiveError';
    this.code = code;
  }
}

export type ProgressFn = (done: number, total: number) => void;

export function resolveLimits(limits?: Partial<ArchiveLimits>): ArchiveLimits {
  const out: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS };
  if (limits) {
    for (const key of Object.keys(DEFAULT_ARCHIVE_LIMITS) as (keyof ArchiveLimits)[]) {
      const v = limits[key];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !(v > 0)) throw new RangeError(`archive limit ${key} must be a positive number, got ${String(v)}`);
      out[key] = v;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Paths

export type NormalisedPath =
  | { ok: true; path: string }
  | { ok: false; reason: 'path-traversal' | 'absolute-path'; detail: string };

const CONTROL = /[\u0000-\u001f\u007f]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Makes an entry name safe to use as a relative path: backslashes become '/', '.' and empty
 * components go, C0 control characters become U+FFFD. Absolute names ('/x', '\\x', '//host/x',
 * 'C:x', 'C:\\x') and names with a '..' component are refused whatever they would resolve to, so
 * no later use of a path can leave the upload's root. '' means the archive root (a directory).
 */
export function normaliseEntryPath(raw: string): NormalisedPath {
  const name = raw.indexOf('\\') >= 0 ? raw.replaceAll('\\', '/') : raw;
  if (name.charCodeAt(0) === 47 /* / */) return { ok: false, reason: 'absolute-path', detail: 'name starts with a slash' };
  if (/^[A-Za-z]:/.test(name)) return { ok: false, reason: 'absolute-path', detail: 'name starts with a drive letter' };
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return { ok: false, reason: 'path-traversal', detail: "name has a '..' component" };
    parts.push(part);
  }
  const path = parts.join('/');
  return { ok: true, path: HAS_CONTROL.test(path) ? path.replace(CONTROL, '\uFFFD') : path };
}

/** Names of nested archives, skipped unread. */
const NESTED_ARCHIVE = /\.(zip|jar|war|ear|aar|apk|whl|egg|nupkg|gem|crate|tar|tgz|tbz2?|txz|tzst|gz|bz2|xz|zst|lz4|lzma|7z|rar)$/i;

export function isNestedArchiveName(path: string): boolean {
  return NESTED_ARCHIVE.test(path);
}

// ---------------------------------------------------------------------------------------------
// Text decoding of names

const UTF8_FATAL = new TextDecoder('utf-8', { fatal: true });
const UTF8_LOOSE = new TextDecoder('utf-8');

/** IBM code page 437, 0x80-0xFF: what zip names without the UTF-8 flag are, per the zip spec. */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return false;
  return true;
}

function asciiString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return s;
}

export function decodeCp437(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
  }
  return s;
}

export function decodeLatin1(bytes: Uint8Array): string {
  return asciiString(bytes);
}

/**
 * Decodes an entry name. ASCII as is; otherwise UTF-8 when it is valid UTF-8 (flagged or not: most
 * unflagged non-ASCII names written today are UTF-8), else the legacy code page (`fallback`: CP437
 * for zip, Latin-1 for tar). Never throws. `lossy` reports a flagged-UTF-8 name that was not UTF-8.
 */
export function decodeName(bytes: Uint8Array, fallback: 'cp437' | 'latin1', claimsUtf8: boolean): { name: string; lossy: boolean } {
  if (isAscii(bytes)) return { name: asciiString(bytes), lossy: false };
  try {
    return { name: UTF8_FATAL.decode(bytes), lossy: false };
  } catch {
    if (claimsUtf8) return { name: UTF8_LOOSE.decode(bytes), lossy: true };
    return { name: fallback === 'cp437' ? decodeCp437(bytes) : decodeLatin1(bytes), lossy: false };
  }
}

// ---------------------------------------------------------------------------------------------
// CRC-32 (zip, gzip): slicing-by-4 over a 4 x 256 table.

const CRC_TABLE = ((): Uint32Array => {
  const t = new Uint32Array(1024);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 4; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

/** CRC-32 (IEEE, as zip and gzip use it) of `bytes`, continuing from `crc` (default: a fresh one). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const t = CRC_TABLE;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  const n4 = n - (n & 3);
  for (; i < n4; i += 4) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c = t[768 + (c & 0xff)] ^ t[512 + ((c >>> 8) & 0xff)] ^ t[256 + ((c >>> 16) & 0xff)] ^ t[c >>> 24];
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------------------------
// The Collector

export type EntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'special';

export interface EntryInfo {
  /** The decoded name as stored. */
  name: string;
  kind: EntryKind;
  /** Declared uncompressed size (bytes), or -1 when the format does not say before reading. */
  size: number;
  /** Compressed size when the entry is compressed on its own (zip), else null. */
  compressedSize: number | null;
  /** Extra words for a 'special' entry (e.g. 'FIFO'). */
  what?: string;
}

/** The verdict on an entry before its data is read: read it as `path`, or pass over it. */
export type Verdict = { read: true; path: string; lang: SourceLanguage } | { read: false };

/**
 * Collects the result. Order of checks per entry: entry limit, name (absolute, '..'), directory,
 * link or special file, nested archive, not a source file, duplicate path, declared size over the
 * per-file limit, declared ratio, the total budget; then, once read: binary or not UTF-8.
 * Entries beyond maxEntries are listed as 'limit' skips up to another maxEntries of them, then only
 * counted in a warning (so a hostile archive cannot make the skip list itself huge).
 */
export class Collector {
  readonly limits: ArchiveLimits;
  readonly files: ArchiveFile[] = [];
  readonly skipped: ArchiveSkip[] = [];
  readonly warnings: string[] = [];
  totalEntries = 0;
  /** Bytes of entries read (kept or not), counted against maxTotalBytes. */
  bytesRead = 0;
  private readonly taken = new Set<string>();
  private unlisted = 0;

  constructor(limits: ArchiveLimits) {
    this.limits = limits;
  }

  skip(path: string, reason: ArchiveSkipReason, detail: string): void {
    this.skipped.push({ path, reason, detail });
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  /** Decides whether to read an entry's data. Records the skip when not. */
  consider(e: EntryInfo): Verdict {
    const norm = normaliseEntryPath(e.name);
    if (e.kind === 'directory' || (norm.ok && norm.path === '')) return { read: false };
    this.totalEntries++;
    const shown = norm.ok ? norm.path : e.name.replace(CONTROL, '\uFFFD');
    const L = this.limits;
    if (this.totalEntries > L.maxEntries) {
      if (this.totalEntries <= 2 * L.maxEntries) this.skip(shown, 'limit', `entry limit ${L.maxEntries} reached`);
      else this.unlisted++;
      return { read: false };
    }
    if (!norm.ok) {
      this.skip(shown, norm.reason, norm.detail);
      return { read: false };
    }
    const path = norm.path;
    if (e.kind === 'symlink' || e.kind === 'hardlink') {
      this.skip(path, 'symlink', e.kind === 'symlink' ? 'symbolic link' : 'hard link');
      return { read: false };
    }
    if (e.kind === 'special') {
      this.skip(path, 'not-source', `special file${e.what ? ` (${e.what})` : ''}`);
      return { read: false };
    }
    if (isNestedArchiveName(path)) {
      this.skip(path, 'nested-archive', 'archives inside the archive are not opened');
      return { read: false };
    }
    const lang = languageOfPath(path);
    if (lang === null) {
      this.skip(path, 'not-source', 'not a source file of a supported language');
      return { read: false };
    }
    if (this.taken.has(path)) {
      this.skip(path, 'duplicate-path', 'an earlier entry has the same path');
      return { read: false };
    }
    if (e.size > L.maxFileBytes) {
      this.skip(path, 'too-large', `${e.size} bytes > per-file limit ${L.maxFileBytes}`);
      return { read: false };
    }
    if (e.compressedSize !== null && e.size > RATIO_EXEMPT_BYTES && e.size > L.maxRatio * Math.max(e.compressedSize, 1)) {
      this.skip(path, 'ratio', `declares ${e.size} bytes from ${e.compressedSize} compressed (ratio limit ${L.maxRatio})`);
      return { read: false };
    }
    if (e.size >= 0 && this.bytesRead + e.size > L.maxTotalBytes) {
      this.skip(path, 'limit', `total size limit ${L.maxTotalBytes} bytes reached`);
      return { read: false };
    }
    return { read: true, path, lang };
  }

  /** Entries a format reader did not even list (past 2 x maxEntries): counted in the warning. */
  addUnlisted(n: number): void {
    if (n > 0) this.unlisted += n;
  }

  /** Room left in the total budget (bytes). */
  budget(): number {
    return this.limits.maxTotalBytes - this.bytesRead;
  }

  /** Takes a read entry's bytes (already checked against its declared size and CRC by the format). */
  accept(path: string, bytes: Uint8Array): void {
    const decoded = decodeSourceFile(bytes, { maxBytes: this.limits.maxFileBytes });
    if (!decoded.ok && (decoded.reason === 'binary' || decoded.reason === 'not-utf8' || decoded.reason === 'too-large')) {
      this.skip(path, decoded.reason, decoded.detail);
      return;
    }
    this.taken.add(path);
    this.files.push({ path, bytes });
  }

  finish(format: ArchiveReadResult['format']): ArchiveReadResult {
    if (this.unlisted > 0) {
      this.warn(`entry limit ${this.limits.maxEntries} reached: ${this.unlisted} further entries were not listed`);
    }
    return { format, files: this.files, skipped: this.skipped, warnings: this.warnings, totalEntries: this.totalEntries };
  }
}

/** Calls `fn` at most every `every` units and always for the last one. */
export function throttledProgress(fn: ProgressFn | undefined, total: number, every: number): (done: number) => void {
  if (!fn) return () => {};
  let last = -Infinity;
  return (done: number) => {
    if (done >= total || done - last >= every) {
      last = done;
      fn(done, total);
    }
  };
}
