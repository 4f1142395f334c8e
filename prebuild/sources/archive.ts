// `archive:FILE` (.zip, .tar.gz/.tgz, .tar) — unpacked into the cache, keyed by the archive's sha256
// so reruns reuse it, then the dir rule applies. Archives are treated as hostile: entry paths are
// neutralised (absolute paths made relative, `..` entries skipped), links and special files are
// skipped, and entry count / total size / entry size / compression ratio are limited.
//
// Cache layout: <cacheDir>/archives/<sha256>/<name>/…, where <name> is the archive's single top-level
// folder when it has exactly one (stripped, as in GitHub tarballs `owner-repo-sha/`), otherwise the
// archive's file name without its extension.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { inflateSync } from 'fflate';
import { Parser, type ReadEntry } from 'tar';
import { isDir, reposFromDir, renameDirIntoPlace } from './dir.ts';
import { SourceError, type SourceContext, type SourceResolver } from './types.ts';

export interface ArchiveLimits {
  /** Most entries (files, folders, links) an archive may hold. */
  maxEntries: number;
  /** Most bytes all files may hold together once unpacked. */
  maxTotalBytes: number;
  /** Most bytes one file may hold once unpacked. */
  maxEntryBytes: number;
  /** Most unpacked bytes per archive byte (whole archive; and per zip entry). */
  maxRatio: number;
  /** The ratio limit applies only once this many bytes are unpacked (tiny archives have odd ratios). */
  ratioFloorBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 250_000,
  maxTotalBytes: 4 * 1024 ** 3,
  maxEntryBytes: 512 * 1024 ** 2,
  maxRatio: 200,
  ratioFloorBytes: 1024 ** 2,
};

export type ArchiveKind = 'zip' | 'tar.gz' | 'tar';

export interface UnpackOptions {
  limits?: Partial<ArchiveLimits>;
  /** Folder name used when the archive has no single top-level folder (default: file name sans extension). */
  nameHint?: string;
  /** Prefix of log lines and error messages (default `archive:FILE`). */
  label?: string;
}

export interface UnpackResult {
  /** Absolute path of the unpacked content (single top-level folder already stripped). */
  dir: string;
  /** Last path component of `dir`: the stripped top-level folder, or the name hint. */
  name: string;
  /** Whether a single top-level folder was stripped. */
  stripped: boolean;
  sha256: string;
  /** True when an earlier run's unpacked copy was reused. */
  reused: boolean;
  kind: ArchiveKind;
}

class LimitError extends SourceError {}

interface Counters {
  entries: number;
  files: number;
  bytes: number;
  unsafe: number;
  links: number;
  other: number;
  conflicts: number;
}

/** Strips archive extensions: `requests-2.31.0.tar.gz` -> `requests-2.31.0`. */
export function archiveBaseName(file: string): string {
  const b = basename(file);
  const m = /^(.*?)(\.tar\.gz|\.tgz|\.tar|\.zip)$/i.exec(b);
  return m && m[1] ? m[1] : b;
}

/**
 * A safe relative path for an archive entry name, or null when it must be skipped. Backslashes count
 * as separators, a leading `/` or drive letter is dropped (absolute -> relative), `.` and empty
 * segments vanish, and any `..` segment (or a NUL) rejects the entry.
 */
export function safeEntryPath(name: string): string | null {
  if (name.includes('\0')) return null;
  const p = name.replace(/\\/g, '/').replace(/^[a-zA-Z]:/, '');
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.length === 0 || parts.some((s) => s === '..')) return null;
  return parts.join('/');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Detects the archive kind from its first bytes (falls back to the extension). */
export async function detectArchiveKind(file: string): Promise<ArchiveKind | null> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    if (bytesRead >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6))
      return 'zip';
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  } finally {
    await fh.close();
  }
  const lower = file.toLowerCase();
  if (lower.endsWith('.zip')) return 'zip';
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.tar')) return 'tar';
  return null;
}

/** Writes one file under `root` (sync: keeps entry order simple). Returns false on a path conflict. */
function writeEntry(root: string, rel: string, data: Uint8Array | null, counters: Counters): boolean {
  const abs = join(root, rel);
  try {
    if (data === null) {
      mkdirSync(abs, { recursive: true });
    } else {
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, data, { mode: 0o644 });
    }
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'ENAMETOOLONG' || code === 'EINVAL') {
      counters.conflicts++;
      return false;
    }
    throw err;
  }
}

function checkTotals(c: Counters, limits: ArchiveLimits, archiveBytes: number, label: string): void {
  if (c.entries > limits.maxEntries) throw new LimitError(`${label}: too many entries (more than ${limits.maxEntries})`);
  if (c.bytes > limits.maxTotalBytes)
    throw new LimitError(`${label}: unpacked size exceeds the limit of ${formatBytes(limits.maxTotalBytes)}`);
  if (c.bytes > limits.ratioFloorBytes && c.bytes / Math.max(1, archiveBytes) > limits.maxRatio) {
    throw new LimitError(
      `${label}: compression ratio ${(c.bytes / Math.max(1, archiveBytes)).toFixed(0)}:1 exceeds the limit of ${limits.maxRatio}:1 (zip bomb?)`,
    );
  }
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${n} B`;
}

// ---- zip -------------------------------------------------------------------------------------

interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compSize: number;
  size: number;
  localOffset: number;
  externalAttr: number;
  madeBy: number;
}

class CorruptError extends Error {}

function u16(b: Buffer, o: number): number {
  if (o + 2 > b.length) throw new CorruptError('truncated');
  return b.readUInt16LE(o);
}
function u32(b: Buffer, o: number): number {
  if (o + 4 > b.length) throw new CorruptError('truncated');
  return b.readUInt32LE(o);
}
function u64(b: Buffer, o: number): number {
  if (o + 8 > b.length) throw new CorruptError('truncated');
  const v = b.readBigUInt64LE(o);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptError('64-bit field out of range');
  return Number(v);
}

/** Reads the central directory (zip64 aware). Throws CorruptError or LimitError. */
function readZipDirectory(buf: Buffer, limits: ArchiveLimits, label: string): ZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new CorruptError('no end-of-central-directory record');
  let count = u16(buf, eocd + 10);
  let cdOffset = u32(buf, eocd + 16);
  if (eocd >= 20 && buf.readUInt32LE(eocd - 20) === 0x07064b50) {
    const z64 = u64(buf, eocd - 12);
    if (u32(buf, z64) !== 0x06064b50) throw new CorruptError('bad zip64 end record');
    count = u64(buf, z64 + 32);
    cdOffset = u64(buf, z64 + 48);
  }
  if (count > limits.maxEntries) throw new LimitError(`${label}: too many entries (${count} > ${limits.maxEntries})`);
  const entries: ZipEntry[] = [];
  let o = cdOffset;
  const decoder = new TextDecoder('utf-8');
  for (let i = 0; i < count; i++) {
    if (u32(buf, o) !== 0x02014b50) throw new CorruptError(`bad central directory entry ${i}`);
    const madeBy = u16(buf, o + 4);
    const flags = u16(buf, o + 8);
    const method = u16(buf, o + 10);
    const crc = u32(buf, o + 16);
    let compSize = u32(buf, o + 20);
    let size = u32(buf, o + 24);
    const nameLen = u16(buf, o + 28);
    const extraLen = u16(buf, o + 30);
    const commentLen = u16(buf, o + 32);
    const externalAttr = u32(buf, o + 38);
    let localOffset = u32(buf, o + 42);
    if (o + 46 + nameLen + extraLen > buf.length) throw new CorruptError('truncated central directory');
    const name = decoder.decode(buf.subarray(o + 46, o + 46 + nameLen));
    // zip64 extra field: the 0xFFFFFFFF fields follow in order size, compSize, localOffset.
    let e = o + 46 + nameLen;
    const end = e + extraLen;
    while (e + 4 <= end) {
      const id = u16(buf, e);
      const len = u16(buf, e + 2);
      if (id === 0x0001) {
        let f = e + 4;
        if (size === 0xffffffff) (size = u64(buf, f)), (f += 8);
        if (compSize === 0xffffffff) (compSize = u64(buf, f)), (f += 8);
        if (localOffset === 0xffffffff) localOffset = u64(buf, f);
      }
      e += 4 + len;
    }
    entries.push({ name, flags, method, crc, compSize, size, localOffset, externalAttr, madeBy });
    o += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

async function unpackZip(file: string, dest: string, limits: ArchiveLimits, label: string, ctx: SourceContext): Promise<Counters> {
  const buf = await readFile(file);
  const c: Counters = { entries: 0, files: 0, bytes: 0, unsafe: 0, links: 0, other: 0, conflicts: 0 };
  let entries: ZipEntry[];
  try {
    entries = readZipDirectory(buf, limits, label);
  } catch (err) {
    if (err instanceof LimitError) throw err;
    throw new SourceError(`${label}: corrupt or unsupported zip (${(err as Error).message})`);
  }
  // Check every limit from the directory before writing anything.
  for (const en of entries) {
    c.entries++;
    if (en.name.endsWith('/')) continue;
    if (en.size > limits.maxEntryBytes)
      throw new LimitError(`${label}: entry ${JSON.stringify(en.name)} is ${formatBytes(en.size)}, over the limit of ${formatBytes(limits.maxEntryBytes)}`);
    if (en.size > limits.ratioFloorBytes && en.size / Math.max(1, en.compSize) > limits.maxRatio)
      throw new LimitError(
        `${label}: entry ${JSON.stringify(en.name)} has compression ratio ${(en.size / Math.max(1, en.compSize)).toFixed(0)}:1, over the limit of ${limits.maxRatio}:1 (zip bomb?)`,
      );
    c.bytes += en.size;
    checkTotals(c, limits, buf.length, label);
  }
  c.bytes = 0;
  const bar = ctx.progress({ label: `unpack ${basename(file)}`, total: entries.length, unit: 'entries' });
  try {
    for (const en of entries) {
      bar.tick();
      const rel = safeEntryPath(en.name);
      if (rel === null) {
        c.unsafe++;
        continue;
      }
      const unixMode = en.madeBy >> 8 === 3 ? en.externalAttr >>> 16 : 0;
      const fileType = unixMode & 0o170000;
      if (fileType === 0o120000) {
        c.links++;
        continue;
      }
      const isDirEntry = en.name.endsWith('/') || en.name.endsWith('\\') || fileType === 0o040000 || (en.externalAttr & 0x10) !== 0;
      if (isDirEntry) {
        writeEntry(dest, rel, null, c);
        continue;
      }
      if (fileType !== 0 && fileType !== 0o100000) {
        c.other++;
        continue;
      }
      if (en.flags & 1) {
        c.other++; // encrypted
        continue;
      }
      let data: Uint8Array;
      try {
        if (u32(buf, en.localOffset) !== 0x04034b50) throw new CorruptError(`bad local header for ${JSON.stringify(en.name)}`);
        const start = en.localOffset + 30 + u16(buf, en.localOffset + 26) + u16(buf, en.localOffset + 28);
        if (start + en.compSize > buf.length) throw new CorruptError(`data of ${JSON.stringify(en.name)} runs past the end`);
        const raw = buf.subarray(start, start + en.compSize);
        if (en.method === 0) data = raw;
        else if (en.method === 8) data = inflateSync(raw, { out: new Uint8Array(en.size) });
        else {
          c.other++; // compression method fflate does not know (bzip2, lzma, deflate64, …)
          continue;
        }
        if (data.length !== en.size) throw new CorruptError(`size mismatch for ${JSON.stringify(en.name)}`);
        if (crc32(data) !== en.crc) throw new CorruptError(`CRC mismatch for ${JSON.stringify(en.name)}`);
      } catch (err) {
        if (err instanceof SourceError) throw err;
        throw new SourceError(`${label}: corrupt zip (${(err as Error).message})`);
      }
      c.bytes += data.length;
      if (writeEntry(dest, rel, data, c)) c.files++;
    }
  } finally {
    bar.done();
  }
  return c;
}

// ---- tar / tar.gz -----------------------------------------------------------------------------

async function unpackTar(file: string, dest: string, limits: ArchiveLimits, label: string, ctx: SourceContext): Promise<Counters> {
  const archiveBytes = (await stat(file)).size;
  const c: Counters = { entries: 0, files: 0, bytes: 0, unsafe: 0, links: 0, other: 0, conflicts: 0 };
  const bar = ctx.progress({ label: `unpack ${basename(file)}`, total: archiveBytes, unit: 'B' });
  let failure: Error | null = null;
  const parser = new Parser({
    strict: true,
    maxDecompressionRatio: Infinity, // our own check below counts file bytes, not tar padding
    onReadEntry: (entry: ReadEntry) => {
      if (failure) {
        entry.resume();
        return;
      }
      try {
        c.entries++;
        const isFile = entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile';
        if (isFile) {
          if (entry.size > limits.maxEntryBytes)
            throw new LimitError(
              `${label}: entry ${JSON.stringify(entry.path)} is ${formatBytes(entry.size)}, over the limit of ${formatBytes(limits.maxEntryBytes)}`,
            );
          c.bytes += entry.size;
        }
        checkTotals(c, limits, archiveBytes, label);
        const rel = safeEntryPath(entry.path);
        if (rel === null) {
          c.unsafe++;
          entry.resume();
        } else if (entry.type === 'Directory') {
          writeEntry(dest, rel, null, c);
          entry.resume();
        } else if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
          c.links++;
          entry.resume();
        } else if (!isFile) {
          c.other++;
          entry.resume();
        } else {
          const chunks: Buffer[] = [];
          entry.on('data', (chunk: Buffer) => chunks.push(chunk));
          entry.on('end', () => {
            if (failure) return;
            try {
              if (writeEntry(dest, rel, Buffer.concat(chunks), c)) c.files++;
            } catch (err) {
              failure = err as Error;
            }
          });
        }
      } catch (err) {
        failure = err as Error;
        entry.resume();
      }
    },
  });
  let parserError: Error | null = null;
  let wake: (() => void) | null = null;
  const done = new Promise<void>((resolveDone, reject) => {
    parser.on('error', (err: Error) => {
      parserError ??= err;
      wake?.();
      reject(err);
    });
    parser.on('end', () => resolveDone());
  });
  done.catch(() => undefined); // handled below
  try {
    const input = createReadStream(file);
    for await (const chunk of input) {
      bar.tick((chunk as Buffer).length);
      if (failure || parserError) break;
      if (!parser.write(chunk as Buffer) && !failure && !parserError) {
        await new Promise<void>((r) => {
          wake = r;
          parser.once('drain', () => r());
        });
        wake = null;
      }
    }
    if (!failure && !parserError) parser.end();
    if (parserError) throw parserError;
    if (!failure) await done;
  } catch (err) {
    if (failure) throw failure;
    if (err instanceof SourceError) throw err;
    const msg = (err as Error).message.replace(/^TAR_[A-Z_]+: /, '');
    throw new SourceError(`${label}: corrupt or unsupported tar archive (${msg})`);
  } finally {
    bar.done();
  }
  if (failure) throw failure;
  return c;
}

// ---- unpack into the cache --------------------------------------------------------------------

function safeFolderName(name: string): string {
  const cleaned = name.replace(/[/\\\0]/g, '_').replace(/^\.+/, '');
  return cleaned || 'archive';
}

/**
 * Unpacks `file` into `<cacheDir>/archives/<sha256>/<name>/`, reusing an earlier unpack of the same
 * bytes. The unpack goes to a temporary folder that is renamed into place when complete.
 */
export async function unpackArchive(file: string, ctx: SourceContext, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const path = resolve(file);
  const label = opts.label ?? `archive:${file}`;
  const limits: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS, ...opts.limits };
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new SourceError(`${label}: file does not exist (${path})`);
  }
  if (!st.isFile()) throw new SourceError(`${label}: not a file (${path})`);
  const kind = await detectArchiveKind(path);
  if (!kind) throw new SourceError(`${label}: not a .zip, .tar.gz/.tgz or .tar archive`);
  const sha256 = await sha256OfFile(path);
  const archivesDir = join(ctx.cacheDir, 'archives');
  const final = join(archivesDir, sha256);

  const existing = await readExisting(final);
  if (existing) return { dir: join(final, existing.name), name: existing.name, stripped: existing.stripped, sha256, reused: true, kind };

  if (await isDir(final)) await rm(final, { recursive: true, force: true }); // incomplete or older layout
  await mkdir(archivesDir, { recursive: true });
  const tmpRoot = join(archivesDir, `.tmp-${sha256.slice(0, 16)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const work = join(tmpRoot, '.unpack');
  await mkdir(work, { recursive: true });
  try {
    const counters = kind === 'zip' ? await unpackZip(path, work, limits, label, ctx) : await unpackTar(path, work, limits, label, ctx);
    const skipped: string[] = [];
    if (counters.unsafe) skipped.push(`${counters.unsafe} unsafe path(s)`);
    if (counters.links) skipped.push(`${counters.links} link(s)`);
    if (counters.other) skipped.push(`${counters.other} special/encrypted/unsupported entr(ies)`);
    if (counters.conflicts) skipped.push(`${counters.conflicts} conflicting path(s)`);
    if (skipped.length) ctx.log(`${label}: skipped ${skipped.join(', ')}`);

    const top = await readdir(work, { withFileTypes: true });
    let name: string;
    let stripped = false;
    if (top.length === 1 && top[0].isDirectory()) {
      name = safeFolderName(top[0].name);
      await rename(join(work, top[0].name), join(tmpRoot, name));
      await rmdir(work);
      stripped = true;
    } else {
      name = safeFolderName(opts.nameHint ?? archiveBaseName(path));
      await rename(work, join(tmpRoot, name));
    }
    await writeMarker(tmpRoot, { name, stripped, kind, source: basename(path) });
    await renameDirIntoPlace(tmpRoot, final);
  } catch (err) {
    await rm(tmpRoot, { recursive: true, force: true });
    throw err;
  }
  const done = await readExisting(final);
  if (!done) throw new SourceError(`${label}: unpacked folder vanished (${final})`);
  return { dir: join(final, done.name), name: done.name, stripped: done.stripped, sha256, reused: false, kind };
}

const MARKER = '.code-atlas-archive.json';

async function writeMarker(dir: string, info: { name: string; stripped: boolean; kind: ArchiveKind; source: string }): Promise<void> {
  await writeFile(join(dir, MARKER), JSON.stringify(info));
}

async function readExisting(final: string): Promise<{ name: string; stripped: boolean } | null> {
  try {
    const info = JSON.parse(await readFile(join(final, MARKER), 'utf8')) as { name: string; stripped: boolean };
    if (typeof info.name === 'string' && (await isDir(join(final, info.name)))) return info;
  } catch {
    /* not unpacked yet (or an older layout): unpack again */
  }
  return null;
}

/** `archive:FILE` */
export const archiveSource: SourceResolver = async (arg, ctx) => {
  if (!arg) throw new SourceError('archive: needs a file, e.g. archive:./projects.zip');
  const spec = `archive:${arg}`;
  const result = await unpackArchive(arg, ctx, { label: spec });
  if (result.reused) ctx.log(`${spec}: reusing unpacked copy ${result.dir}`);
  return reposFromDir(result.dir, ctx, { source: spec, name: result.name, label: spec });
};
