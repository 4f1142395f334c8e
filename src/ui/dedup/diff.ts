// A line diff by longest common subsequence, for showing two members of a duplicate group side by
// side. Lines are compared exactly (after dropping a trailing '\r'); the common prefix and suffix are
// trimmed first, and the LCS table is only built over what is left. When that part is still larger
// than `maxCells` lines x lines, the middle is reported as deleted-then-added (and `exact` is false),
// so a pathological pair never freezes the page. Output is plain data: the view renders it as text.

export type DiffOp = 'same' | 'del' | 'add';

export interface DiffLine {
  op: DiffOp;
  /** 0-based line index in a (null for 'add') and in b (null for 'del'). */
  a: number | null;
  b: number | null;
  text: string;
}

export interface LineDiff {
  lines: DiffLine[];
  /** Lines equal in both (the LCS length). */
  same: number;
  deleted: number;
  added: number;
  /** False when the middle was too large for the LCS table and is shown as a block replacement. */
  exact: boolean;
}

/** One row of a side-by-side view: a line of a, a line of b, or both. */
export interface SideBySideRow {
  left: { n: number; text: string } | null;
  right: { n: number; text: string } | null;
  /** 'same', 'change' (a deleted line paired with an added one), 'del' or 'add'. */
  kind: 'same' | 'change' | 'del' | 'add';
}

/** Splits text into lines ('\n', '\r\n'); a final newline does not make an empty last line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) if (lines[i].endsWith('\r')) lines[i] = lines[i].slice(0, -1);
  return lines;
}

/** Line diff of a and b (see the file comment). */
export function diffLines(a: string, b: string, maxCells = 4_000_000): LineDiff {
  const la = splitLines(a);
  const lb = splitLines(b);
  // Lines as small integers, so the table compares numbers.
  const codes = new Map<string, number>();
  const code = (s: string): number => {
    let c = codes.get(s);
    if (c === undefined) {
      c = codes.size;
      codes.set(s, c);
    }
    return c;
  };
  const ca = Int32Array.from(la, code);
  const cb = Int32Array.from(lb, code);
  let pre = 0;
  while (pre < ca.length && pre < cb.length && ca[pre] === cb[pre]) pre++;
  let suf = 0;
  while (suf < ca.length - pre && suf < cb.length - pre && ca[ca.length - 1 - suf] === cb[cb.length - 1 - suf]) suf++;
  const n = ca.length - pre - suf;
  const m = cb.length - pre - suf;
  const lines: DiffLine[] = [];
  for (let i = 0; i < pre; i++) lines.push({ op: 'same', a: i, b: i, text: la[i] });
  let exact = true;
  if (n > 0 && m > 0 && (n + 1) * (m + 1) <= maxCells) {
    // L[i][j] = LCS length of a[pre+i..] and b[pre+j..] (suffix table, so the walk goes forwards).
    const w = m + 1;
    const L = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        L[i * w + j] = ca[pre + i] === cb[pre + j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (ca[pre + i] === cb[pre + j]) {
        lines.push({ op: 'same', a: pre + i, b: pre + j, text: la[pre + i] });
        i++;
        j++;
      } else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) {
        lines.push({ op: 'del', a: pre + i, b: null, text: la[pre + i] });
        i++;
      } else {
        lines.push({ op: 'add', a: null, b: pre + j, text: lb[pre + j] });
        j++;
      }
    }
    for (; i < n; i++) lines.push({ op: 'del', a: pre + i, b: null, text: la[pre + i] });
    for (; j < m; j++) lines.push({ op: 'add', a: null, b: pre + j, text: lb[pre + j] });
  } else {
    if (n > 0 && m > 0) exact = false;
    for (let i = 0; i < n; i++) lines.push({ op: 'del', a: pre + i, b: null, text: la[pre + i] });
    for (let j = 0; j < m; j++) lines.push({ op: 'add', a: null, b: pre + j, text: lb[pre + j] });
  }
  for (let k = 0; k < suf; k++) {
    const ia = ca.length - suf + k;
    const ib = cb.length - suf + k;
    lines.push({ op: 'same', a: ia, b: ib, text: la[ia] });
  }
  let same = 0;
  let deleted = 0;
  let added = 0;
  for (const l of lines) {
    if (l.op === 'same') same++;
    else if (l.op === 'del') deleted++;
    else added++;
  }
  return { lines, same, deleted, added, exact };
}

/**
 * Rows for a two-column view: equal lines side by side; within each run of changes, deleted lines
 * are paired in order with added ones ('change'), and the rest stand alone.
 */
export function sideBySide(diff: LineDiff, a: string, b: string): SideBySideRow[] {
  const la = splitLines(a);
  const lb = splitLines(b);
  const rows: SideBySideRow[] = [];
  let k = 0;
  const L = diff.lines;
  while (k < L.length) {
    const l = L[k];
    if (l.op === 'same') {
      rows.push({ left: { n: (l.a ?? 0) + 1, text: la[l.a ?? 0] }, right: { n: (l.b ?? 0) + 1, text: lb[l.b ?? 0] }, kind: 'same' });
      k++;
      continue;
    }
    const dels: number[] = [];
    const adds: number[] = [];
    while (k < L.length && L[k].op !== 'same') {
      const x = L[k];
      if (x.op === 'del') dels.push(x.a ?? 0);
      else adds.push(x.b ?? 0);
      k++;
    }
    const pairs = Math.max(dels.length, adds.length);
    for (let p = 0; p < pairs; p++) {
      const da = p < dels.length ? dels[p] : null;
      const ab = p < adds.length ? adds[p] : null;
      rows.push({
        left: da === null ? null : { n: da + 1, text: la[da] },
        right: ab === null ? null : { n: ab + 1, text: lb[ab] },
        kind: da !== null && ab !== null ? 'change' : da !== null ? 'del' : 'add',
      });
    }
  }
  return rows;
}
