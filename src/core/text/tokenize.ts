// Identifier-aware code tokenizer for lexical (TF-IDF) embeddings.
//
// A *word* is a maximal run of identifier characters: ASCII letters, digits, `_`, and non-ASCII
// letters/digits/marks (Python 3 identifiers are Unicode). From each word we emit:
//   - its *parts*: the word split at `_`, at lower->Upper (`parseJson` -> parse|Json), at
//     Upper->Upper+lower (`HTTPServer` -> HTTP|Server) and at letter<->digit (`sha256` -> sha|256);
//   - the *whole* word (leading/trailing `_` stripped) when it has two or more parts, so
//     `get_user_name` gives `get_user_name get user name` and `name` gives just `name`.
// Every token is lower-cased (ASCII only: non-ASCII letters are kept as written) and is a
// contiguous substring of the input, so the hot path never allocates: it reports (start, end) ranges
// plus a hash of the lower-cased characters, and a TermTable resolves them to ids.
//
// Dropped, by design (documented choices):
//   - tokens shorter than 2 characters (`i`, `x`, `n`, string prefixes, `\n` escapes);
//   - words that start with a digit: number literals (`0x1f`, `1e10`, `404`) add a huge, useless
//     vocabulary on generated code; digits *inside* identifiers are kept (`sha256`, `utf8`);
//   - words longer than `maxWordLength` (default 80): base64/hex blobs and similar data;
//   - stop words (`STOP_WORDS`): Python keywords (lower-cased), `self`/`cls`, and a short list of
//     English function words. They are structure, not meaning, appear in most documents (idf ~ 1)
//     and cost ~20-30% of all tokens. Stop words are matched per token, so `is_valid` still yields
//     `is_valid` and `valid` (only the part `is` is dropped).
// The scan is one linear pass over a character-class table (ASCII prefilled; other code units are
// classified once, lazily, then cached): no regular expression per character, each character is
// classified once and hashed incrementally, so an 800k-character function costs the same per
// character as a short one (~60 M characters/s here).

/** Python keywords (lower-cased) and a few English function words. */
export const STOP_WORDS: readonly string[] = [
  // Python keywords (3.11), lower-cased; soft keywords match/case/type are kept (common identifiers).
  'false', 'none', 'true', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue',
  'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in',
  'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
  'self', 'cls',
  // English function words frequent in docstrings and comments.
  'the', 'an', 'to', 'of', 'on', 'at', 'by', 'be', 'it', 'its', 'this', 'that', 'these', 'those',
  'are', 'was', 'were', 'been', 'has', 'have', 'had', 'do', 'does', 'can', 'will', 'would', 'should',
  'may', 'we', 'you', 'which', 'there', 'then', 'than', 'so', 'such', 'into', 'also',
];

export interface TokenizeOptions {
  /** Shortest token kept (default 2). */
  minTokenLength?: number;
  /** Words (identifier runs) longer than this are skipped entirely (default 80). */
  maxWordLength?: number;
}

export const DEFAULT_MIN_TOKEN_LENGTH = 2;
export const DEFAULT_MAX_WORD_LENGTH = 80;

// Character classes.
const OTHER = 0;
const LOWER = 1; // also non-ASCII letters/marks (no case boundaries for them)
const UPPER = 2;
const DIGIT = 3;
const UNDER = 4;
const UNKNOWN = 255;

const classes = new Uint8Array(65536).fill(UNKNOWN);
for (let c = 0; c < 128; c++) {
  classes[c] =
    c >= 97 && c <= 122 ? LOWER : c >= 65 && c <= 90 ? UPPER : c >= 48 && c <= 57 ? DIGIT : c === 95 ? UNDER : OTHER;
}
const unicodeWordChar = /[\p{L}\p{N}\p{M}]/u;

function classOf(c: number): number {
  const k = classes[c];
  if (k !== UNKNOWN) return k;
  // Surrogates (astral characters) are treated as separators; they are rare in code.
  const r = c >= 0xd800 && c <= 0xdfff ? OTHER : unicodeWordChar.test(String.fromCharCode(c)) ? LOWER : OTHER;
  classes[c] = r;
  return r;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FNV-1a hash (int32) of the ASCII-lower-cased characters text[start, end). */
export function hashRange(text: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) c |= 32;
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return h;
}

/**
 * Reusable scanner: `scan(text)` fills `starts`, `ends` and `hashes` with the token ranges of `text`
 * (lower-casing is implied) and returns how many there are. Stop words are *not* removed here: a
 * TermTable seeded with them does that (see TfidfSvdFitter) or `tokenize()` below.
 */
export class TokenScanner {
  starts = new Int32Array(1024);
  ends = new Int32Array(1024);
  hashes = new Int32Array(1024);
  count = 0;
  private readonly minLen: number;
  private readonly maxWord: number;

  constructor(opts: TokenizeOptions = {}) {
    this.minLen = Math.max(1, opts.minTokenLength ?? DEFAULT_MIN_TOKEN_LENGTH);
    this.maxWord = opts.maxWordLength ?? DEFAULT_MAX_WORD_LENGTH;
  }

  private grow(): void {
    const cap = this.starts.length * 2;
    const s = new Int32Array(cap);
    s.set(this.starts);
    this.starts = s;
    const e = new Int32Array(cap);
    e.set(this.ends);
    this.ends = e;
    const h = new Int32Array(cap);
    h.set(this.hashes);
    this.hashes = h;
  }

  private emit(start: number, end: number, hash: number): void {
    const n = this.count;
    if (n === this.starts.length) this.grow();
    this.starts[n] = start;
    this.ends[n] = end;
    this.hashes[n] = hash;
    this.count = n + 1;
  }

  /** Inserts a token at position `at`, shifting the later ones (used to put a whole word first). */
  private insertAt(at: number, start: number, end: number, hash: number): void {
    if (this.count === this.starts.length) this.grow();
    const { starts, ends, hashes } = this;
    for (let k = this.count; k > at; k--) {
      starts[k] = starts[k - 1];
      ends[k] = ends[k - 1];
      hashes[k] = hashes[k - 1];
    }
    starts[at] = start;
    ends[at] = end;
    hashes[at] = hash;
    this.count++;
  }

  /**
   * One pass per word: classifies each character once and carries the FNV hashes of the current
   * part and of the whole word along, so no character is read twice here.
   */
  scan(text: string): number {
    this.count = 0;
    const len = text.length;
    const minLen = this.minLen;
    const maxWord = this.maxWord;
    let i = 0;
    while (i < len) {
      let c = text.charCodeAt(i);
      let cls = c < 128 ? classes[c] : classOf(c);
      if (cls === OTHER) {
        i++;
        continue;
      }
      if (cls === DIGIT) {
        // A number literal (or another digit-led run): skip it whole.
        for (i++; i < len; i++) {
          c = text.charCodeAt(i);
          if ((c < 128 ? classes[c] : classOf(c)) === OTHER) break;
        }
        continue;
      }
      const wordStart = i;
      const firstToken = this.count;
      let parts = 0;
      let partStart = -1;
      let partHash = FNV_OFFSET;
      let partHashBefore = FNV_OFFSET; // hash of the current part without its last character
      let s = -1; // first character that is not `_`
      let last = -1; // last character that is not `_`
      let wholeHash = FNV_OFFSET;
      let wholeHashAtLast = FNV_OFFSET;
      let prev = OTHER;
      for (; i < len; i++) {
        c = text.charCodeAt(i);
        cls = c < 128 ? classes[c] : classOf(c);
        if (cls === OTHER) break;
        if (cls === UNDER) {
          if (partStart >= 0) {
            parts++;
            if (i - partStart >= minLen) this.emit(partStart, i, partHash);
            partStart = -1;
          }
          if (s >= 0) wholeHash = Math.imul(wholeHash ^ 95, FNV_PRIME);
          prev = UNDER;
          continue;
        }
        const lc = cls === UPPER ? c | 32 : c;
        if (s < 0) s = i;
        wholeHash = Math.imul(wholeHash ^ lc, FNV_PRIME);
        wholeHashAtLast = wholeHash;
        last = i;
        if (partStart < 0) {
          partStart = i;
          partHashBefore = FNV_OFFSET;
          partHash = Math.imul(FNV_OFFSET ^ lc, FNV_PRIME);
        } else if (cls === LOWER && prev === UPPER && i - partStart >= 2) {
          // `HTTPServer`: the last upper-case letter before a lower-case one starts the new part.
          parts++;
          if (i - 1 - partStart >= minLen) this.emit(partStart, i - 1, partHashBefore);
          partStart = i - 1;
          partHashBefore = Math.imul(FNV_OFFSET ^ (text.charCodeAt(i - 1) | 32), FNV_PRIME);
          partHash = Math.imul(partHashBefore ^ lc, FNV_PRIME);
        } else if (
          cls === UPPER ? prev === LOWER || prev === DIGIT : cls === DIGIT ? prev !== DIGIT : cls === LOWER && prev === DIGIT
        ) {
          parts++;
          if (i - partStart >= minLen) this.emit(partStart, i, partHash);
          partStart = i;
          partHashBefore = FNV_OFFSET;
          partHash = Math.imul(FNV_OFFSET ^ lc, FNV_PRIME);
        } else {
          partHashBefore = partHash;
          partHash = Math.imul(partHash ^ lc, FNV_PRIME);
        }
        prev = cls;
      }
      if (i - wordStart > maxWord) {
        this.count = firstToken; // a data blob: drop what it emitted
        continue;
      }
      if (partStart >= 0) {
        parts++;
        if (i - partStart >= minLen) this.emit(partStart, i, partHash);
      }
      if (parts >= 2 && last + 1 - s >= minLen) this.insertAt(firstToken, s, last + 1, wholeHashAtLast | 0);
    }
    // Hashes are stored as int32 (FNV state is kept as int32 by Math.imul already).
    return this.count;
  }
}

/**
 * Open-addressing hash table of lower-cased terms -> dense ids (0, 1, 2, ... in insertion order).
 * Terms are kept as UTF-16 code units in one growing pool, so millions of distinct terms cost no
 * per-term objects. Lookups take a range of a source string and compare ASCII-lower-cased.
 */
export class TermTable {
  private slots: Int32Array;
  private mask: number;
  private termHash = new Int32Array(1024);
  private termStart = new Int32Array(1024);
  private termLen = new Int32Array(1024);
  private pool = new Uint16Array(16384);
  private poolUsed = 0;
  size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  /** Id of the term text[start, end) (lower-cased), or -1. */
  find(text: string, start: number, end: number, hash: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let pos = (hash ^ (hash >>> 15)) & mask;
    for (;;) {
      const id = slots[pos];
      if (id < 0) return -1;
      if (this.termHash[id] === hash && this.equals(id, text, start, end)) return id;
      pos = (pos + 1) & mask;
    }
  }

  /** Id of the term text[start, end) (lower-cased), inserting it when new. */
  intern(text: string, start: number, end: number, hash: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let pos = (hash ^ (hash >>> 15)) & mask;
    for (;;) {
      const id = slots[pos];
      if (id < 0) break;
      if (this.termHash[id] === hash && this.equals(id, text, start, end)) return id;
      pos = (pos + 1) & mask;
    }
    const id = this.size;
    if (id === this.termHash.length) this.growTerms();
    const len = end - start;
    if (this.poolUsed + len > this.pool.length) {
      let cap = this.pool.length * 2;
      while (cap < this.poolUsed + len) cap *= 2;
      const p = new Uint16Array(cap);
      p.set(this.pool.subarray(0, this.poolUsed));
      this.pool = p;
    }
    const pool = this.pool;
    let o = this.poolUsed;
    for (let i = start; i < end; i++) {
      let c = text.charCodeAt(i);
      if (c >= 65 && c <= 90) c |= 32;
      pool[o++] = c;
    }
    this.termHash[id] = hash;
    this.termStart[id] = this.poolUsed;
    this.termLen[id] = len;
    this.poolUsed = o;
    slots[pos] = id;
    this.size = id + 1;
    if (this.size * 2 > slots.length) this.rehash(slots.length * 2);
    return id;
  }

  /** Inserts a whole string (lower-cased); returns its id. */
  add(term: string): number {
    return this.intern(term, 0, term.length, hashRange(term, 0, term.length));
  }

  /** Id of a whole string (lower-cased), or -1. */
  get(term: string): number {
    return this.find(term, 0, term.length, hashRange(term, 0, term.length));
  }

  /** The term with this id. */
  term(id: number): string {
    const s = this.termStart[id];
    const n = this.termLen[id];
    let out = '';
    // Chunked to stay clear of argument-count limits for long terms.
    for (let i = 0; i < n; i += 4096) {
      out += String.fromCharCode.apply(null, Array.from(this.pool.subarray(s + i, s + Math.min(n, i + 4096))));
    }
    return out;
  }

  /** Approximate bytes held by the table. */
  get byteSize(): number {
    return this.slots.byteLength + this.termHash.byteLength * 3 + this.pool.byteLength;
  }

  private equals(id: number, text: string, start: number, end: number): boolean {
    const len = end - start;
    if (this.termLen[id] !== len) return false;
    const pool = this.pool;
    let o = this.termStart[id];
    for (let i = start; i < end; i++, o++) {
      let c = text.charCodeAt(i);
      if (c >= 65 && c <= 90) c |= 32;
      if (pool[o] !== c) return false;
    }
    return true;
  }

  private growTerms(): void {
    const cap = this.termHash.length * 2;
    const h = new Int32Array(cap);
    h.set(this.termHash);
    this.termHash = h;
    const s = new Int32Array(cap);
    s.set(this.termStart);
    this.termStart = s;
    const l = new Int32Array(cap);
    l.set(this.termLen);
    this.termLen = l;
  }

  private rehash(cap: number): void {
    const slots = new Int32Array(cap).fill(-1);
    const mask = cap - 1;
    for (let id = 0; id < this.size; id++) {
      const hash = this.termHash[id];
      let pos = (hash ^ (hash >>> 15)) & mask;
      while (slots[pos] >= 0) pos = (pos + 1) & mask;
      slots[pos] = id;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

let stopTable: TermTable | null = null;

/** A table holding exactly the stop words (ids 0 .. STOP_WORDS.length-1). */
export function createStopWordTable(extra: readonly string[] = []): TermTable {
  const t = new TermTable(STOP_WORDS.length + extra.length);
  for (const w of STOP_WORDS) t.add(w);
  for (const w of extra) t.add(w);
  return t;
}

/**
 * Tokens of `text` as strings, in order (whole identifier before its parts), stop words removed.
 * Convenient, allocates one string per token: the embedders use TokenScanner + TermTable instead.
 */
export function tokenize(text: string, opts: TokenizeOptions = {}): string[] {
  stopTable ??= createStopWordTable();
  const sc = new TokenScanner(opts);
  const n = sc.scan(text);
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const s = sc.starts[k];
    const e = sc.ends[k];
    if (stopTable.find(text, s, e, sc.hashes[k]) >= 0) continue;
    out.push(asciiLower(text.slice(s, e)));
  }
  return out;
}

function asciiLower(s: string): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      needs = true;
      break;
    }
  }
  if (!needs) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 65 && c <= 90 ? c | 32 : c);
  }
  return out;
}
