// Tar and tar.gz reading for uploads: a streaming parser of 512-byte tar headers (v7, ustar, pax
// extended headers, GNU long names/link names, base-256 sizes) that keeps only the entries the
// Collector wants, so a .tar.gz is never decompressed into memory as a whole: fflate's streaming
// Gunzip is fed 16 KiB at a time and its output goes straight through the parser. Decompression
// stops at the total budget (every decompressed byte counts) and is refused as a bomb past the
// ratio limit.
import { Gunzip } from 'fflate';
import { ArchiveError, type Collector, decodeName, throttledProgress, type ProgressFn } from './entries.ts';
import { OVERALL_RATIO_FLOOR } from './zip.ts';

const BLOCK = 512;
/** Pax and GNU long-name records larger than this are refused (real ones are a few hundred bytes). */
const MAX_META_BYTES = 1024 * 1024;
const GZIP_CHUNK = 16 * 1024;

const UTF8 = new TextDecoder('utf-8');

function cString(b: Uint8Array, start: number, len: number): Uint8Array {
  let end = start;
  const stop = start + len;
  while (end < stop && b[end] !== 0) end++;
  return b.subarray(start, end);
}

/** Octal (NUL/space padded) or GNU base-256 numeric field; NaN when malformed. */
function numberField(b: Uint8Array, start: number, len: number): number {
  if (b[start] & 0x80) {
    if (b[start] === 0xff) return NaN; // negative
    let v = b[start] & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i];
    return v <= Number.MAX_SAFE_INTEGER ? v : NaN;
  }
  let i = start;
  const end = start + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i];
    if (c >= 0x30 && c <= 0x37) {
      v = v * 8 + (c - 0x30);
      digits++;
    } else if (c === 0 || c === 0x20) break;
    else return NaN;
  }
  return digits === 0 ? 0 : v;
}

function checksumOk(h: Uint8Array): boolean {
  const stored = numberField(h, 148, 8);
  if (Number.isNaN(stored)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i];
    unsigned += c;
    signed += c >= 0x80 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

function isZeroBlock(h: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** True when `b` starts with a tar header (valid checksum; a ustar magic is not required). */
export function looksLikeTar(b: Uint8Array): boolean {
  return b.length >= BLOCK && !isZeroBlock(b.subarray(0, BLOCK)) && checksumOk(b.subarray(0, BLOCK));
}

/** Pax extended header records: "<len> <key>=<value>\n", UTF-8. */
function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let p = 0;
  while (p < data.length) {
    let sp = p;
    let len = 0;
    while (sp < data.length && data[sp] >= 0x30 && data[sp] <= 0x39) len = len * 10 + (data[sp++] - 0x30);
    if (sp >= data.length || data[sp] !== 0x20 || len <= 0 || p + len > data.length) break;
    const rec = data.subarray(sp + 1, p + len - (data[p + len - 1] === 0x0a ? 1 : 0));
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(UTF8.decode(rec.subarray(0, eq)), UTF8.decode(rec.subarray(eq + 1)));
    p += len;
  }
  return out;
}

type State = 'header' | 'data' | 'done';

interface Current {
  /** 'file': an entry being kept; 'meta': a pax/GNU record being gathered; 'skip': discarded. */
  mode: 'file' | 'meta' | 'skip';
  path: string;
  size: number;
  filled: number;
  data: Uint8Array | null;
  metaType: number;
}

/**
 * Streaming tar parser. push() any chunking of the tar stream, then end(). Entries go through the
 * Collector; problems become skips and warnings.
 */
export class TarParser {
  private readonly c: Collector;
  private state: State = 'header';
  private readonly header = new Uint8Array(BLOCK);
  private headerFill = 0;
  /** Bytes still to consume for the current entry's data plus padding. */
  private remaining = 0;
  private cur: Current | null = null;
  private zeroBlocks = 0;
  private headers = 0;
  /** Offset in the tar stream of the next byte pushed. */
  offset = 0;
  /** Pending pax / GNU overrides for the next entry. */
  private pendingPath: string | null = null;
  private pendingSize: number | null = null;
  private globalPath = false;

  constructor(c: Collector) {
    this.c = c;
  }

  get finished(): boolean {
    return this.state === 'done';
  }

  push(chunk: Uint8Array): void {
    let p = 0;
    const n = chunk.length;
    while (p < n && this.state !== 'done') {
      if (this.state === 'header') {
        const take = Math.min(BLOCK - this.headerFill, n - p);
        this.header.set(chunk.subarray(p, p + take), this.headerFill);
        this.headerFill += take;
        p += take;
        this.offset += take;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.onHeader();
        }
      } else {
        const cur = this.cur;
        const take = Math.min(this.remaining, n - p);
        if (cur && cur.data && cur.filled < cur.size) {
          const k = Math.min(take, cur.size - cur.filled);
          cur.data.set(chunk.subarray(p, p + k), cur.filled);
          cur.filled += k;
        }
        p += take;
        this.offset += take;
        this.remaining -= take;
        if (this.remaining === 0) this.onEntryEnd();
      }
    }
  }

  /**
   * The stream ended: report an entry or header cut short. `why` says why the stream stopped early
   * (a decompression error, or the total budget: then `reason` is 'limit').
   */
  end(why?: string, reason: 'corrupt' | 'limit' = 'corrupt'): void {
    if (this.state === 'done') return;
    if (this.state === 'data' && this.cur) {
      const cur = this.cur;
      if (cur.mode === 'file') {
        this.c.skip(cur.path, reason, reason === 'limit' && why ? why : `truncated: ${cur.filled} of ${cur.size} bytes present`);
      }
      this.c.warn(why ?? `the archive is truncated inside an entry (at byte ${this.offset} of the tar stream)`);
    } else if (this.headerFill > 0) {
      this.c.warn(why ?? `the archive is truncated inside a header (at byte ${this.offset} of the tar stream)`);
    } else if (why) {
      this.c.warn(why);
    } else if (this.zeroBlocks === 0) {
      this.c.warn('no end-of-archive marker: the archive may be truncated');
    }
    this.state = 'done';
  }

  private onHeader(): void {
    const h = this.header;
    if (isZeroBlock(h)) {
      this.zeroBlocks++;
      if (this.zeroBlocks >= 2) this.state = 'done';
      return;
    }
    if (this.zeroBlocks > 0) this.zeroBlocks = 0;
    if (!checksumOk(h)) {
      if (this.headers === 0) throw new ArchiveError('not-an-archive', 'the first tar header has a bad checksum');
      this.c.warn(`tar header at byte ${this.offset - BLOCK} has a bad checksum: stopped reading there`);
      this.state = 'done';
      return;
    }
    this.headers++;
    const type = h[156];
    let size = numberField(h, 124, 12);
    if (Number.isNaN(size)) {
      this.c.warn(`tar header at byte ${this.offset - BLOCK} has an unreadable size: stopped reading there`);
      this.state = 'done';
      return;
    }
    // Metadata records that describe the next entry.
    if (type === 0x78 /* x */ || type === 0x67 /* g */ || type === 0x4c /* L */ || type === 0x4b /* K */) {
      if (size > MAX_META_BYTES) {
        this.c.warn(`a tar metadata record of ${size} bytes was refused (limit ${MAX_META_BYTES}): stopped reading there`);
        this.state = 'done';
        return;
      }
      this.startData({ mode: 'meta', path: '', size, filled: 0, data: new Uint8Array(size), metaType: type });
      return;
    }
    const magicUstar = h[257] === 0x75 && h[258] === 0x73 && h[259] === 0x74 && h[260] === 0x61 && h[261] === 0x72;
    const posix = magicUstar && h[262] === 0;
    let name: string;
    if (this.pendingPath !== null) name = this.pendingPath;
    else {
      const nameBytes = cString(h, 0, 100);
      const prefix = posix ? cString(h, 345, 155) : new Uint8Array(0);
      const full = prefix.length ? new Uint8Array(prefix.length + 1 + nameBytes.length) : nameBytes;
      if (prefix.length) {
        full.set(prefix);
        full[prefix.length] = 0x2f;
        full.set(nameBytes, prefix.length + 1);
      }
      name = decodeName(full, 'latin1', false).name;
    }
    if (this.pendingSize !== null) size = this.pendingSize;
    this.pendingPath = null;
    this.pendingSize = null;

    let kind: 'file' | 'directory' | 'symlink' | 'hardlink' | 'special' | 'none';
    let what: string | undefined;
    switch (type) {
      case 0:
      case 0x30:
      case 0x37:
        kind = name.endsWith('/') ? 'directory' : 'file';
        break;
      case 0x31:
        kind = 'hardlink';
        break;
      case 0x32:
        kind = 'symlink';
        break;
      case 0x35:
      case 0x44 /* D: GNU dumpdir */:
        kind = 'directory';
        break;
      case 0x33:
        (kind = 'special'), (what = 'character device');
        break;
      case 0x34:
        (kind = 'special'), (what = 'block device');
        break;
      case 0x36:
        (kind = 'special'), (what = 'FIFO');
        break;
      case 0x53:
        (kind = 'special'), (what = 'GNU sparse file');
        break;
      case 0x56 /* V: volume label */:
        kind = 'none';
        break;
      default:
        // POSIX: an unknown digit type is read as a regular file; other letters are vendor types.
        if (type >= 0x30 && type <= 0x39) kind = 'file';
        else (kind = 'special'), (what = `tar entry type '${String.fromCharCode(type)}'`);
    }
    // Links and directories carry no data in practice, but a size is honoured if given.
    const dataSize = kind === 'hardlink' || kind === 'symlink' || kind === 'directory' ? (type === 0x44 ? size : 0) : size;
    if (kind === 'none') {
      this.startData({ mode: 'skip', path: '', size: dataSize, filled: 0, data: null, metaType: 0 });
      return;
    }
    const verdict = this.c.consider({ name, kind, size: dataSize, compressedSize: null, what });
    if (verdict.read) {
      this.startData({ mode: 'file', path: verdict.path, size: dataSize, filled: 0, data: new Uint8Array(dataSize), metaType: 0 });
    } else {
      this.startData({ mode: 'skip', path: '', size: dataSize, filled: 0, data: null, metaType: 0 });
    }
  }

  private startData(cur: Current): void {
    const padded = Math.ceil(cur.size / BLOCK) * BLOCK;
    this.cur = cur;
    this.remaining = padded;
    if (padded === 0) this.onEntryEnd();
    else this.state = 'data';
  }

  private onEntryEnd(): void {
    const cur = this.cur;
    this.cur = null;
    this.state = 'header';
    if (!cur) return;
    if (cur.mode === 'meta' && cur.data) {
      if (cur.metaType === 0x78 /* x */) {
        const pax = parsePax(cur.data);
        const path = pax.get('path');
        if (path !== undefined) this.pendingPath = path;
        const size = pax.get('size');
        if (size !== undefined && /^\d+$/.test(size)) this.pendingSize = Number(size);
      } else if (cur.metaType === 0x67 /* g */) {
        if (!this.globalPath && parsePax(cur.data).has('path')) {
          this.globalPath = true;
          this.c.warn('a pax global header sets a path; it was ignored');
        }
      } else if (cur.metaType === 0x4c /* L */) {
        this.pendingPath = decodeName(cString(cur.data, 0, cur.data.length), 'latin1', false).name;
      }
      // 'K' (GNU long link name): links are skipped, the name is not needed.
    } else if (cur.mode === 'file' && cur.data) {
      this.c.bytesRead += cur.size;
      this.c.accept(cur.path, cur.data);
    }
  }
}

/** Reads an uncompressed tar held in memory. */
export function readTar(b: Uint8Array, c: Collector, onProgress?: ProgressFn): void {
  const parser = new TarParser(c);
  const progress = throttledProgress(onProgress, b.length, 4 * 1024 * 1024);
  const STEP = 1024 * 1024;
  for (let off = 0; off < b.length && !parser.finished; off += STEP) {
    parser.push(b.subarray(off, off + STEP));
    progress(Math.min(off + STEP, b.length));
  }
  parser.end();
  progress(b.length);
}

/** Reads a gzip-compressed tar, streaming; throws 'not-an-archive' when it holds no tar. */
export function readTarGz(b: Uint8Array, c: Collector, onProgress?: ProgressFn): void {
  const L = c.limits;
  // (No early refusal from the gzip trailer's ISIZE: in a truncated file those 4 bytes are data.
  // Decompression is streamed instead and refused as soon as it passes the ratio.)
  const parser = new TarParser(c);
  let produced = 0;
  let firstChecked = false;
  const head = new Uint8Array(BLOCK);
  let headFill = 0;
  let stop: 'budget' | null = null;
  const gz = new Gunzip((chunk) => {
    if (parser.finished) return;
    produced += chunk.length;
    if (!firstChecked) {
      const k = Math.min(BLOCK - headFill, chunk.length);
      head.set(chunk.subarray(0, k), headFill);
      headFill += k;
      if (headFill === BLOCK) {
        firstChecked = true;
        if (!looksLikeTar(head)) throw new ArchiveError('not-an-archive', 'a gzip stream that does not hold a tar archive');
      }
    }
    parser.push(chunk);
  });
  const progress = throttledProgress(onProgress, b.length, 1024 * 1024);
  let why: string | undefined;
  try {
    for (let off = 0; off < b.length; off += GZIP_CHUNK) {
      const last = off + GZIP_CHUNK >= b.length;
      gz.push(b.subarray(off, off + GZIP_CHUNK), last);
      progress(Math.min(off + GZIP_CHUNK, b.length));
      if (produced > OVERALL_RATIO_FLOOR && produced > L.maxRatio * b.length) {
        throw new ArchiveError('bomb', `the gzip stream inflates to more than ${L.maxRatio}x its ${b.length} bytes: refused as a bomb`);
      }
      if (parser.finished) break;
      if (produced > L.maxTotalBytes) {
        stop = 'budget';
        why = `stopped after ${produced} decompressed bytes (total size limit ${L.maxTotalBytes}): later entries were not read`;
        break;
      }
    }
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    why = `the gzip stream is corrupt after ${parser.offset} decompressed bytes (${(err as Error).message}): kept what was read before`;
  }
  if (!firstChecked) {
    if (produced === 0 && why) throw new ArchiveError('corrupt', `the gzip stream could not be decompressed (${why})`);
    if (!looksLikeTar(head.subarray(0, headFill))) throw new ArchiveError('not-an-archive', 'a gzip stream that does not hold a tar archive');
  }
  parser.end(why, stop === 'budget' ? 'limit' : 'corrupt');
  progress(b.length);
}
