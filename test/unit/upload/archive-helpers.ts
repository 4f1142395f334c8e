// Builders for test archives: a hand-written zip writer (so tests control every header field: names
// without the UTF-8 flag, symlink attributes, lying sizes, data descriptors) and a hand-written tar
// header writer (GNU long names, links, devices). CRCs come from node:zlib, data from fflate.
import { crc32 as zlibCrc32 } from 'node:zlib';
import { deflateSync } from 'fflate';

export interface ZipEntrySpec {
  name: string | Uint8Array;
  data?: Uint8Array | string;
  /** 0 stored, 8 deflate (default 8). */
  method?: number;
  /** General purpose flags; bit 11 (UTF-8) is set automatically for non-ASCII string names. */
  flags?: number;
  /** Host OS in the high byte (3 = Unix). */
  madeBy?: number;
  externalAttrs?: number;
  /** Uncompressed size written in the headers (default: the real one). */
  declaredSize?: number;
  crc?: number;
  extra?: Uint8Array;
  /** Write sizes/CRC as zero in the local header and a signed data descriptor after the data. */
  dataDescriptor?: boolean;
  /** Raw compressed bytes to store instead of compressing `data`. */
  rawCompressed?: Uint8Array;
}

const enc = new TextEncoder();

function le16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}
function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

export function buildZip(entries: ZipEntrySpec[], comment = ''): Uint8Array {
  const parts: number[][] = [];
  const central: number[][] = [];
  let offset = 0;
  const push = (bytes: number[] | Uint8Array): void => {
    const arr = Array.from(bytes);
    parts.push(arr);
    offset += arr.length;
  };
  for (const e of entries) {
    const data = typeof e.data === 'string' ? enc.encode(e.data) : (e.data ?? new Uint8Array(0));
    const nameBytes = typeof e.name === 'string' ? enc.encode(e.name) : e.name;
    const nonAscii = typeof e.name === 'string' && /[^\x00-\x7f]/.test(e.name);
    const method = e.method ?? 8;
    const comp = e.rawCompressed ?? (method === 8 ? deflateSync(data) : data);
    const crc = e.crc ?? zlibCrc32(data);
    const usize = e.declaredSize ?? data.length;
    let flags = e.flags ?? (nonAscii ? 0x800 : 0);
    if (e.dataDescriptor) flags |= 0x8;
    const extra = e.extra ?? new Uint8Array(0);
    const localOffset = offset;
    const dd = e.dataDescriptor === true;
    push([
      ...le32(0x04034b50), ...le16(20), ...le16(flags), ...le16(method), ...le16(0), ...le16(0x21),
      ...le32(dd ? 0 : crc), ...le32(dd ? 0 : comp.length), ...le32(dd ? 0 : usize),
      ...le16(nameBytes.length), ...le16(extra.length),
    ]);
    push(nameBytes);
    push(extra);
    push(comp);
    if (dd) push([...le32(0x08074b50), ...le32(crc), ...le32(comp.length), ...le32(usize)]);
    central.push([
      ...le32(0x02014b50), ...le16(e.madeBy ?? 20), ...le16(20), ...le16(flags), ...le16(method), ...le16(0), ...le16(0x21),
      ...le32(crc), ...le32(comp.length), ...le32(usize), ...le16(nameBytes.length), ...le16(extra.length), ...le16(0),
      ...le16(0), ...le16(0), ...le32(e.externalAttrs ?? 0), ...le32(localOffset),
      ...Array.from(nameBytes), ...Array.from(extra),
    ]);
  }
  const cdStart = offset;
  for (const c of central) push(c);
  const cdSize = offset - cdStart;
  const commentBytes = enc.encode(comment);
  push([
    ...le32(0x06054b50), ...le16(0), ...le16(0), ...le16(entries.length), ...le16(entries.length),
    ...le32(cdSize), ...le32(cdStart), ...le16(commentBytes.length), ...Array.from(commentBytes),
  ]);
  const out = new Uint8Array(offset);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Offset of the central directory of a zip built by buildZip (from its EOCD). */
export function centralDirectoryOffset(zip: Uint8Array): number {
  const eocd = zip.length - 22;
  return zip[eocd + 16] | (zip[eocd + 17] << 8) | (zip[eocd + 18] << 16) | (zip[eocd + 19] << 24);
}

export interface TarEntrySpec {
  name: string | Uint8Array;
  data?: Uint8Array | string;
  /** '0' file, '1' hard link, '2' symlink, '5' directory, '6' FIFO, 'L' GNU long name, 'x' pax. */
  type?: string;
  linkname?: string;
  /** Size written in the header (default: the real one). */
  declaredSize?: number;
}

function octal(v: number, width: number): Uint8Array {
  const s = v.toString(8).padStart(width - 1, '0');
  return enc.encode(s + '\0');
}

export function tarHeader(e: TarEntrySpec): Uint8Array {
  const h = new Uint8Array(512);
  const data = typeof e.data === 'string' ? enc.encode(e.data) : (e.data ?? new Uint8Array(0));
  const name = typeof e.name === 'string' ? enc.encode(e.name) : e.name;
  h.set(name.subarray(0, 100), 0);
  h.set(octal(0o644, 8), 100);
  h.set(octal(0, 8), 108);
  h.set(octal(0, 8), 116);
  h.set(octal(e.declaredSize ?? data.length, 12), 124);
  h.set(octal(0, 12), 136);
  h.fill(0x20, 148, 156);
  h[156] = (e.type ?? '0').charCodeAt(0);
  if (e.linkname) h.set(enc.encode(e.linkname).subarray(0, 100), 157);
  h.set(enc.encode('ustar\0'), 257);
  h.set(enc.encode('00'), 263);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  h.set(enc.encode(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  return h;
}

/** A tar stream of the entries (each header + data padded to 512), ending with two zero blocks. */
export function buildTar(entries: TarEntrySpec[], endMarker = true): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? enc.encode(e.data) : (e.data ?? new Uint8Array(0));
    chunks.push(tarHeader(e));
    const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
    padded.set(data);
    chunks.push(padded);
  }
  if (endMarker) chunks.push(new Uint8Array(1024));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
