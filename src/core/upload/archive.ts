// Reading an uploaded archive (.zip, .tar, .tar.gz) safely, in memory, with no file system: what
// comes out is a list of source files with normalised relative paths, and a reason for every entry
// left out. Runs in the parse worker (and in Node for tests and benchmarks); nothing is written or
// sent anywhere.
//
// Safety, in the order things happen:
//   - the archive itself: at most maxArchiveBytes; the format is recognised by its bytes, not its
//     name (a misnamed file still reads; random bytes are 'not-an-archive');
//   - zip: the whole central directory is read first; the declared total is checked against
//     maxRatio x the archive size (bomb: refused before anything is inflated), entries whose data
//     overlaps another's are refused; each entry is checked by its declared sizes (per-file limit,
//     ratio, total budget) and only then inflated, 16 KiB of input at a time, stopping as soon as
//     the output passes what it declared; its CRC-32 must match;
//   - tar.gz: decompressed as a stream through the tar parser (only kept files are held), refused
//     as a bomb past maxRatio, stopped at maxTotalBytes of decompressed data;
//   - names: '..' components and absolute or drive-letter paths are skipped, never rewritten;
//     symlinks, hard links, devices, nested archives and files of unknown languages are skipped
//     unread; binary and non-UTF-8 files are skipped after reading (decodeSourceFile);
//   - a broken archive (corrupt central directory, truncated data, damaged tar header) yields what
//     could be read, with warnings saying what was lost.
import { ArchiveError, type ArchiveLimits, type ArchiveReadResult, Collector, type ProgressFn, resolveLimits } from './entries.ts';
import { looksLikeTar, readTar, readTarGz } from './tar.ts';
import { looksLikeZip, readZip } from './zip.ts';

export {
  ArchiveError,
  type ArchiveErrorCode,
  type ArchiveFile,
  type ArchiveLimits,
  type ArchiveReadResult,
  type ArchiveSkip,
  type ArchiveSkipReason,
  DEFAULT_ARCHIVE_LIMITS,
  crc32,
  normaliseEntryPath,
} from './entries.ts';

function isGzip(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 8;
}

function hexHead(b: Uint8Array): string {
  return Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Reads what it can; throws ArchiveError only when nothing usable can be read or a limit makes
 * reading unsafe: 'empty' (0 bytes, or an archive without entries), 'too-large' (over
 * maxArchiveBytes), 'not-an-archive', 'bomb' (over maxRatio overall), 'corrupt' (nothing readable).
 * `onProgress(done, total)`: entries for zip, bytes of the archive for tar and tar.gz.
 */
export function readArchive(bytes: Uint8Array, fileName: string, limits?: Partial<ArchiveLimits>, onProgress?: ProgressFn): ArchiveReadResult {
  const L = resolveLimits(limits);
  const label = fileName || 'the archive';
  if (bytes.length === 0) throw new ArchiveError('empty', `${label} is empty (0 bytes)`);
  if (bytes.length > L.maxArchiveBytes) {
    throw new ArchiveError('too-large', `${label} is ${bytes.length} bytes; the limit for an upload is ${L.maxArchiveBytes} bytes`);
  }
  const c = new Collector(L);
  const wrap = (err: unknown): never => {
    if (err instanceof ArchiveError) throw new ArchiveError(err.code, `${label}: ${err.message}`);
    throw err;
  };
  if (isGzip(bytes)) {
    try {
      readTarGz(bytes, c, onProgress);
    } catch (err) {
      wrap(err);
    }
    return checkEmpty(c.finish('tar.gz'), label);
  }
  if (looksLikeTar(bytes)) {
    try {
      readTar(bytes, c, onProgress);
    } catch (err) {
      wrap(err);
    }
    return checkEmpty(c.finish('tar'), label);
  }
  if (looksLikeZip(bytes)) {
    try {
      readZip(bytes, c, onProgress);
    } catch (err) {
      wrap(err);
    }
    return checkEmpty(c.finish('zip'), label);
  }
  if (bytes.length >= 1024 && bytes.subarray(0, 1024).every((x) => x === 0)) {
    throw new ArchiveError('empty', `${label} holds only zero bytes (an empty tar archive?)`);
  }
  throw new ArchiveError('not-an-archive', `${label} is not a zip, tar or tar.gz archive (it starts with ${hexHead(bytes)})`);
}

function checkEmpty(r: ArchiveReadResult, label: string): ArchiveReadResult {
  if (r.totalEntries === 0 && r.files.length === 0 && r.warnings.length === 0) {
    throw new ArchiveError('empty', `${label} has no files (no entries, or only directories)`);
  }
  return r;
}
