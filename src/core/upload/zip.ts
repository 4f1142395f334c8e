// Zip reading for uploads. The central directory is parsed here (not by fflate's unzipSync) so that
// every entry's declared sizes, attributes and offsets are checked BEFORE anything is inflated, and
// inflation itself is bounded: fflate's streaming Inflate is fed 16 KiB at a time and stopped as
// soon as an entry produces more than it declared (headers lie). When the central directory is
// missing or corrupt, the local file headers are scanned instead and the result says so.
//
// Supported: stored and deflated entries, zip64 sizes and offsets, data descriptors, the UTF-8 name
// flag and Info-ZIP's Unicode path extra field (0x7075), archives with data prepended (self-
// extracting stubs). Not supported (skipped with a reason): encryption, other compression methods.
import { Inflate, inflateSync } from 'fflate';
import { type Collector, RATIO_EXEMPT_BYTES, ArchiveError, crc32, decodeName, throttledProgress, type ProgressFn } from './entries.ts';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;

/** Compressed bytes handed to the inflater at a time; one push yields at most ~1032x this. */
const INFLATE_CHUNK = 16 * 1024;

/** Total declared size below which the overall ratio is not enforced (tiny archives of blanks). */
export const OVERALL_RATIO_FLOOR = 1024 * 1024;

interface RawEntry {
  name: string;
  /** A name flagged UTF-8 that was not valid UTF-8 (decoded with replacement characters). */
  lossyName: boolean;
  isDir: boolean;
  isSymlink: boolean;
  flags: number;
  method: number;
  crc: number;
  csize: number;
  usize: number;
  /** Offset of the local header (central directory path; prepended data already added). */
  localOffset: number;
  /** Local scan only: where the data starts and whether sizes and CRC are known. */
  dataStart?: number;
  sizesKnown?: boolean;
  /** Local scan only: the end of the data when it had to be searched for. */
  searchedEnd?: number;
}

const u16 = (b: Uint8Array, i: number): number => b[i] | (b[i + 1] << 8);
const u32 = (b: Uint8Array, i: number): number => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
/** Little-endian 64-bit as a double (exact below 2^53; larger values are out of every limit anyway). */
const u64 = (b: Uint8Array, i: number): number => u32(b, i) + u32(b, i + 4) * 4294967296;

/** Next offset >= from where the 4-byte little-endian signature `sig` starts, or -1. */
function indexOfSig(b: Uint8Array, sig: number, from: number): number {
  const b1 = (sig >>> 8) & 0xff;
  const b2 = (sig >>> 16) & 0xff;
  const b3 = sig >>> 24;
  let i = from;
  for (;;) {
    i = b.indexOf(0x50, i);
    if (i < 0 || i + 4 > b.length) return -1;
    if (b[i + 1] === b1 && b[i + 2] === b2 && b[i + 3] === b3) return i;
    i++;
  }
}

/** True when the buffer looks like a zip: a local header at 0, or an end-of-central-directory record. */
export function looksLikeZip(b: Uint8Array): boolean {
  if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5 || b[2] === 7)) return true;
  return findEocd(b) >= 0;
}

/** Offset of the end-of-central-directory record, or -1. */
function findEocd(b: Uint8Array): number {
  const last = b.length - 22;
  const first = Math.max(0, last - 65535);
  for (let i = last; i >= first; i--) {
    if (b[i] === 0x50 && u32(b, i) === SIG_EOCD && i + 22 + u16(b, i + 20) <= b.length) return i;
  }
  return -1;
}

function parseExtra(b: Uint8Array, start: number, end: number, e: { usize: number; csize: number; localOffset: number }, isCentral: boolean, nameBytes: Uint8Array): string | null {
  let unicodeName: string | null = null;
  let p = start;
  while (p + 4 <= end) {
    const id = u16(b, p);
    const size = u16(b, p + 2);
    const d = p + 4;
    if (d + size > end) break;
    if (id === 0x0001) {
      // zip64: only the fields whose 32-bit value is 0xFFFFFFFF, in this order.
      let q = d;
      if (e.usize === 0xffffffff && q + 8 <= d + size) (e.usize = u64(b, q)), (q += 8);
      if (e.csize === 0xffffffff && q + 8 <= d + size) (e.csize = u64(b, q)), (q += 8);
      if (isCentral && e.localOffset === 0xffffffff && q + 8 <= d + size) e.localOffset = u64(b, q);
    } else if (id === 0x7075 && size >= 5 && b[d] === 1) {
      // Info-ZIP Unicode path: valid only while the CRC of the stored name matches.
      if (u32(b, d + 1) === crc32(nameBytes)) {
        const dec = decodeName(b.subarray(d + 5, d + size), 'cp437', true);
        if (!dec.lossy) unicodeName = dec.name;
      }
    }
    p = d + size;
  }
  return unicodeName;
}

interface CentralDirectory {
  entries: RawEntry[];
  /** Why the central directory could not be used (null: it was). */
  problem: string | null;
  declaredCount: number;
}

function readCentralDirectory(b: Uint8Array, maxListed: number): CentralDirectory {
  const eocd = findEocd(b);
  if (eocd < 0) return { entries: [], problem: 'no end-of-central-directory record', declaredCount: 0 };
  let count = u16(b, eocd + 10);
  let cdSize = u32(b, eocd + 12);
  let cdOffset = u32(b, eocd + 16);
  let cdEnd = eocd;
  if ((count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && eocd >= 20 && u32(b, eocd - 20) === SIG_EOCD64_LOCATOR) {
    const at = u64(b, eocd - 12);
    // The record may sit at its declared offset or, with prepended data, right before the locator.
    const candidates = [at, eocd - 20 - 56];
    for (const c of candidates) {
      if (c >= 0 && c + 56 <= b.length && u32(b, c) === SIG_EOCD64) {
        count = u64(b, c + 32);
        cdSize = u64(b, c + 40);
        cdOffset = u64(b, c + 48);
        cdEnd = c;
        break;
      }
    }
  }
  // Data prepended to the archive shifts every offset by the same amount.
  const shift = cdEnd - cdSize - cdOffset;
  const cdStart = cdOffset + shift;
  if (shift < 0 || cdStart < 0 || cdStart + cdSize > b.length) {
    return { entries: [], problem: `central directory offset ${cdOffset} and size ${cdSize} do not fit the file`, declaredCount: count };
  }
  if (count * 46 > cdSize) {
    return { entries: [], problem: `central directory of ${cdSize} bytes cannot hold ${count} entries`, declaredCount: count };
  }
  const entries: RawEntry[] = [];
  let p = cdStart;
  const end = cdStart + cdSize;
  const n = Math.min(count, maxListed);
  for (let k = 0; k < n; k++) {
    if (p + 46 > end || u32(b, p) !== SIG_CENTRAL) {
      return { entries, problem: `central directory entry ${k + 1} of ${count} is damaged`, declaredCount: count };
    }
    const madeBy = u16(b, p + 4);
    const flags = u16(b, p + 8);
    const method = u16(b, p + 10);
    const crc = u32(b, p + 16);
    const nameLen = u16(b, p + 28);
    const extraLen = u16(b, p + 30);
    const commentLen = u16(b, p + 32);
    const extAttr = u32(b, p + 38);
    const nameStart = p + 46;
    const next = nameStart + nameLen + extraLen + commentLen;
    if (next > end) return { entries, problem: `central directory entry ${k + 1} of ${count} runs past its end`, declaredCount: count };
    const nameBytes = b.subarray(nameStart, nameStart + nameLen);
    const sizes = { csize: u32(b, p + 20), usize: u32(b, p + 24), localOffset: u32(b, p + 42) };
    const unicode = parseExtra(b, nameStart + nameLen, nameStart + nameLen + extraLen, sizes, true, nameBytes);
    const dec = unicode !== null ? { name: unicode, lossy: false } : decodeName(nameBytes, 'cp437', (flags & 0x800) !== 0);
    const host = madeBy >>> 8;
    const unixMode = host === 3 || host === 19 ? extAttr >>> 16 : 0;
    entries.push({
      name: dec.name,
      lossyName: dec.lossy,
      isDir: dec.name.endsWith('/') || dec.name.endsWith('\\') || (unixMode & 0xf000) === 0x4000 || (host === 0 && (extAttr & 0x10) !== 0),
      isSymlink: (unixMode & 0xf000) === 0xa000,
      flags,
      method,
      crc,
      csize: sizes.csize,
      usize: sizes.usize,
      localOffset: sizes.localOffset + shift,
    });
    p = next;
  }
  return { entries, problem: null, declaredCount: count };
}

/** Finds the end of data of unknown length (data descriptor entries) by its signed descriptor. */
function findDescriptor(b: Uint8Array, dataStart: number): { end: number; crc: number; csize: number; usize: number; next: number } | null {
  let p = dataStart;
  for (;;) {
    p = indexOfSig(b, SIG_DESCRIPTOR, p);
    if (p < 0) return null;
    const len = p - dataStart;
    if (p + 16 <= b.length && u32(b, p + 8) === len) return { end: p, crc: u32(b, p + 4), csize: len, usize: u32(b, p + 12), next: p + 16 };
    if (p + 24 <= b.length && u64(b, p + 8) === len) return { end: p, crc: u32(b, p + 4), csize: len, usize: u64(b, p + 16), next: p + 24 };
    p++;
  }
}

/** Reads local headers from the start of the file: the fallback when the central directory is unusable. */
function scanLocalHeaders(b: Uint8Array, maxListed: number, warn: (m: string) => void): RawEntry[] {
  const entries: RawEntry[] = [];
  let p = indexOfSig(b, SIG_LOCAL, 0);
  if (p > 0) warn(`${p} bytes before the first local header were ignored`);
  while (p >= 0 && p + 30 <= b.length && entries.length < maxListed) {
    const flags = u16(b, p + 6);
    const method = u16(b, p + 8);
    const nameLen = u16(b, p + 26);
    const extraLen = u16(b, p + 28);
    const nameStart = p + 30;
    const dataStart = nameStart + nameLen + extraLen;
    if (dataStart > b.length) {
      warn(`the archive ends inside the local header at byte ${p}`);
      break;
    }
    const nameBytes = b.subarray(nameStart, nameStart + nameLen);
    const sizes = { csize: u32(b, p + 18), usize: u32(b, p + 22), localOffset: p };
    const unicode = parseExtra(b, nameStart + nameLen, dataStart, sizes, false, nameBytes);
    const dec = unicode !== null ? { name: unicode, lossy: false } : decodeName(nameBytes, 'cp437', (flags & 0x800) !== 0);
    const entry: RawEntry = {
      name: dec.name,
      lossyName: dec.lossy,
      isDir: dec.name.endsWith('/') || dec.name.endsWith('\\'),
      isSymlink: false,
      flags,
      method,
      crc: u32(b, p + 14),
      csize: sizes.csize,
      usize: sizes.usize,
      localOffset: p,
      dataStart,
      sizesKnown: true,
    };
    let next: number;
    if ((flags & 0x8) !== 0 || sizes.csize === 0xffffffff) {
      const d = findDescriptor(b, dataStart);
      if (d) {
        entry.crc = d.crc;
        entry.csize = d.csize;
        entry.usize = d.usize;
        next = d.next;
      } else {
        // Unsigned or missing descriptor: the data runs at most to the next header; sizes unknown.
        const nextLocal = indexOfSig(b, SIG_LOCAL, dataStart);
        const nextCentral = indexOfSig(b, SIG_CENTRAL, dataStart);
        const bound = [nextLocal, nextCentral].filter((x) => x >= 0);
        const end = bound.length ? Math.min(...bound) : b.length;
        entry.sizesKnown = false;
        entry.searchedEnd = end;
        entry.csize = end - dataStart;
        next = end;
      }
    } else {
      next = dataStart + sizes.csize;
    }
    entries.push(entry);
    if (next > b.length) break;
    if (next + 4 <= b.length && u32(b, next) === SIG_LOCAL) {
      p = next;
      continue;
    }
    if (next + 4 <= b.length && (u32(b, next) === SIG_CENTRAL || u32(b, next) === SIG_EOCD)) break;
    const resync = indexOfSig(b, SIG_LOCAL, next);
    if (resync > next) warn(`skipped ${resync - next} unreadable bytes at byte ${next} to the next local header`);
    p = resync;
  }
  return entries;
}

type Inflated = { ok: true; bytes: Uint8Array } | { ok: false; detail: string; produced: number };

/**
 * Inflates raw deflate data, stopping as soon as the output passes `cap` bytes. Memory and time are
 * bounded by cap + ~1032 x INFLATE_CHUNK whatever the data claims.
 */
export function inflateBounded(data: Uint8Array, cap: number): Inflated {
  if (data.length <= INFLATE_CHUNK && cap <= 1024 * 1024) {
    // One call into a buffer of cap + 1 bytes: fflate then never grows its output (growing it
    // costs a 128 KiB allocation per entry), and writes past the end are dropped, so a full
    // buffer means "more than cap". The work is bounded by ~1032 x INFLATE_CHUNK.
    let out: Uint8Array;
    try {
      out = inflateSync(data, { out: new Uint8Array(cap + 1) });
    } catch (err) {
      if (err instanceof RangeError) return { ok: false, detail: `inflates to more than ${cap} bytes`, produced: cap + 1 };
      return { ok: false, detail: `deflate data is corrupt (${(err as Error).message})`, produced: 0 };
    }
    if (out.length > cap) return { ok: false, detail: `inflates to more than ${cap} bytes`, produced: out.length };
    return { ok: true, bytes: out };
  }
  const chunks: Uint8Array[] = [];
  let produced = 0;
  let done = false;
  const inf = new Inflate((chunk, final) => {
    if (chunk.length) chunks.push(chunk);
    produced += chunk.length;
    if (final) done = true;
  });
  try {
    for (let off = 0; off < data.length && !done; off += INFLATE_CHUNK) {
      const last = off + INFLATE_CHUNK >= data.length;
      inf.push(data.subarray(off, off + INFLATE_CHUNK), last);
      if (produced > cap) return { ok: false, detail: `inflates to more than ${cap} bytes`, produced };
    }
  } catch (err) {
    return { ok: false, detail: `deflate data is corrupt (${(err as Error).message})`, produced };
  }
  const out = new Uint8Array(produced);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return { ok: true, bytes: out };
}

/** Reads the zip in `b` into the collector. Throws ArchiveError for empty archives and bombs. */
export function readZip(b: Uint8Array, c: Collector, onProgress?: ProgressFn): void {
  const L = c.limits;
  const maxListed = 2 * L.maxEntries + 1;
  const cd = readCentralDirectory(b, maxListed);
  let entries = cd.entries;
  let fromLocal = false;
  if (cd.problem !== null) {
    const local = scanLocalHeaders(b, maxListed, (m) => c.warn(m));
    if (local.length === 0) {
      if (indexOfSig(b, SIG_LOCAL, 0) < 0 && findEocd(b) < 0) throw new ArchiveError('not-an-archive', 'no zip structures found (no local file header and no end of central directory)');
      throw new ArchiveError('corrupt', `the zip's central directory is unusable (${cd.problem}) and no entry could be read from local headers`);
    }
    c.warn(`central directory is corrupt (${cd.problem}): read ${local.length} entries from local headers; symbolic links cannot be recognised this way`);
    entries = local;
    fromLocal = true;
  } else if (cd.declaredCount === 0) {
    throw new ArchiveError('empty', 'the zip archive has no entries');
  }

  // Overall ratio from the declared sizes, before anything is inflated.
  let declared = 0;
  for (const e of entries) if (!e.isDir && e.sizesKnown !== false) declared += e.usize;
  if (declared > OVERALL_RATIO_FLOOR && declared > L.maxRatio * b.length) {
    throw new ArchiveError('bomb', `the archive declares ${declared} bytes of content in ${b.length} bytes (over ${L.maxRatio}x): refused as a zip bomb`);
  }

  // Entries whose data overlaps an earlier entry's (the overlapping-file bomb construction).
  const overlapping = new Set<RawEntry>();
  if (!fromLocal) {
    const byOffset = entries.filter((e) => !e.isDir).sort((x, y) => x.localOffset - y.localOffset);
    let prevEnd = -1;
    for (const e of byOffset) {
      if (e.localOffset < prevEnd) overlapping.add(e);
      prevEnd = Math.max(prevEnd, e.localOffset + 30 + e.csize);
    }
  }

  const progress = throttledProgress(onProgress, entries.length, 256);
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k];
    progress(k);
    const verdict = c.consider({
      name: e.name,
      kind: e.isDir ? 'directory' : e.isSymlink ? 'symlink' : 'file',
      size: e.sizesKnown === false ? -1 : e.usize,
      compressedSize: e.csize,
    });
    if (!verdict.read) continue;
    const path = verdict.path;
    if (e.lossyName) c.warn(`some entry names are flagged UTF-8 but are not; they were decoded with replacement characters`);
    if (overlapping.has(e)) {
      c.skip(path, 'corrupt', "its data overlaps another entry's (a zip-bomb construction)");
      continue;
    }
    if ((e.flags & 0x1) !== 0) {
      c.skip(path, 'corrupt', 'encrypted entries are not supported');
      continue;
    }
    if (e.method !== 0 && e.method !== 8) {
      c.skip(path, 'corrupt', `compression method ${e.method} is not supported (only stored and deflate)`);
      continue;
    }
    let dataStart: number;
    if (e.dataStart !== undefined) dataStart = e.dataStart;
    else {
      const lo = e.localOffset;
      if (lo + 30 > b.length || u32(b, lo) !== SIG_LOCAL) {
        c.skip(path, 'corrupt', `no local header at byte ${lo}`);
        continue;
      }
      dataStart = lo + 30 + u16(b, lo + 26) + u16(b, lo + 28);
    }
    const dataEnd = dataStart + e.csize;
    if (dataEnd > b.length) {
      c.skip(path, 'corrupt', `truncated: ${Math.max(0, b.length - dataStart)} of ${e.csize} compressed bytes present`);
      c.warn('the archive is truncated');
      continue;
    }
    const raw = b.subarray(dataStart, dataEnd);
    const sizesKnown = e.sizesKnown !== false;
    // The most an entry may produce: what it declared (or, unknown, the per-file limit), never more
    // than the ratio allows for its compressed size, never more than the total budget left.
    let cap = sizesKnown ? e.usize : L.maxFileBytes;
    let capWhy: 'declared' | 'file' | 'ratio' | 'budget' = sizesKnown ? 'declared' : 'file';
    const ratioCap = Math.max(RATIO_EXEMPT_BYTES, L.maxRatio * Math.max(e.csize, 1));
    if (ratioCap < cap) (cap = ratioCap), (capWhy = 'ratio');
    if (c.budget() < cap) (cap = c.budget()), (capWhy = 'budget');
    let bytes: Uint8Array;
    if (e.method === 0) {
      if (sizesKnown && e.csize !== e.usize) {
        c.skip(path, 'corrupt', `stored entry declares ${e.usize} bytes but holds ${e.csize}`);
        continue;
      }
      bytes = raw.slice();
    } else {
      const r = inflateBounded(raw, cap);
      if (!r.ok) {
        c.bytesRead += Math.min(r.produced, cap);
        if (r.produced <= cap) c.skip(path, 'corrupt', r.detail);
        else if (capWhy === 'declared') c.skip(path, 'corrupt', `inflates to more than its declared ${e.usize} bytes`);
        else if (capWhy === 'file') c.skip(path, 'too-large', `inflates to more than the per-file limit ${L.maxFileBytes}`);
        else if (capWhy === 'ratio') c.skip(path, 'ratio', `inflates to more than ${L.maxRatio}x its ${e.csize} compressed bytes`);
        else {
          c.skip(path, 'limit', `total size limit ${L.maxTotalBytes} bytes reached`);
          c.warn(`total size limit ${L.maxTotalBytes} bytes reached`);
        }
        continue;
      }
      bytes = r.bytes;
    }
    c.bytesRead += bytes.length;
    if (sizesKnown && bytes.length !== e.usize) {
      c.skip(path, 'corrupt', `inflates to ${bytes.length} bytes, declared ${e.usize}`);
      continue;
    }
    if (sizesKnown && crc32(bytes) !== e.crc) {
      c.skip(path, 'corrupt', 'CRC-32 mismatch');
      continue;
    }
    if (!sizesKnown) c.warn('some entries had no readable sizes or checksum; their data was read up to the next header');
    c.accept(path, bytes);
  }
  // Entries the central directory declares beyond those listed (2 x maxEntries + 1).
  if (!fromLocal) c.addUnlisted(cd.declaredCount - entries.length);
  progress(entries.length);
}
