// Apollo-style features of one function, from its tree-sitter syntax tree (after src-d/apollo's
// extractors), as a sparse bag of 32-bit feature hashes with counts, grouped by kind:
//   id       identifiers split into sub-tokens (snake_case, camelCase, digits), lower-cased, tokens of
//            one character dropped (apollo's TokenParser drops short tokens too);
//   lit      literals: string (whole literal as written, prefix and quotes included), integer, float;
//   graphlet a node's type with the types of all its children (anonymous ones too, so `a + b` and
//            `a - b` differ), in order;
//   children a named node's type with its number of named children, quantised (0,1,2,3,4,5-6,7-9,10-15,16+);
//   uast2seq n-grams of length 3 and 4 over the depth-first (pre-order) sequence of named node types.
// Comments and line continuations are invisible to every kind, and strings are atoms (their inside is
// not walked), so whitespace/comment edits (type-1 clones) give the same bag. One pass with a
// TreeCursor; node types are hashed once per type id.
//
// The same pass computes a normalised-body hash (64 bits as two words): over every leaf token that is
// not a comment, its type and text. Equal hashes = exact duplicates up to layout and comments.
import type { Node } from 'web-tree-sitter';
import { N_KINDS } from './settings.ts';

// ---------------------------------------------------------------------------------------------------
// 32-bit hashing (no allocation): FNV-1a over UTF-16 code units for strings, murmur3's finaliser to mix.

/** FNV-1a 32 over the UTF-16 code units of `s`, starting from `h`. */
export function fnv1a32(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3 fmix32. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Order-dependent combination of a running hash with a 32-bit value (murmur3 round). */
export function combine32(h: number, v: number): number {
  let k = Math.imul(v, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

// ---------------------------------------------------------------------------------------------------

/** Sparse bag of one function: hashes sorted ascending within each kind segment, counts > 0. */
export interface FeatureBag {
  hashes: Uint32Array;
  counts: Float32Array;
  /** Kind k occupies [kindOffsets[k], kindOffsets[k+1]); length N_KINDS + 1. */
  kindOffsets: Uint32Array;
  /** Normalised-body hash, two 32-bit words. */
  normHash: Uint32Array;
}

export const KIND_ID = 0;
export const KIND_LIT = 1;
export const KIND_GRAPHLET = 2;
export const KIND_CHILDREN = 3;
export const KIND_SEQ = 4;
const KIND_SALT = [0x1d000001, 0x2e000002, 0x3f000003, 0x40000004, 0x51000005];

const SKIP = new Set(['comment', 'line_continuation']);
const LITERAL = new Set(['string', 'concatenated_string', 'integer', 'float']);
const ATOM = new Set(['string', 'integer', 'float']);
const IDENT = new Set(['identifier']);
const SEQ_LENGTHS = [3, 4];

function quantiseChildren(n: number): number {
  if (n <= 4) return n;
  if (n <= 6) return 5;
  if (n <= 9) return 6;
  if (n <= 15) return 7;
  return 8;
}

/** Splits an identifier into lower-cased sub-tokens (snake_case, camelCase, ACRONYMWord, digits). */
export function splitIdentifier(name: string): string[] {
  const parts = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])/);
  const out: string[] = [];
  for (const p of parts) if (p.length > 1) out.push(p.toLowerCase());
  return out;
}

interface TypeInfo {
  hash: number;
  skip: boolean;
  literal: boolean;
  atom: boolean;
  ident: boolean;
}

/** Per-language cache of node-type facts, indexed by type id (type ids differ between grammars). */
const typeCache = new WeakMap<object, TypeInfo[]>();

class BagBuilder {
  readonly maps: Map<number, number>[] = Array.from({ length: N_KINDS }, () => new Map<number, number>());
  add(kind: number, h: number): void {
    const m = this.maps[kind];
    m.set(h, (m.get(h) ?? 0) + 1);
  }
  build(normHash: Uint32Array): FeatureBag {
    let total = 0;
    for (const m of this.maps) total += m.size;
    const hashes = new Uint32Array(total);
    const counts = new Float32Array(total);
    const kindOffsets = new Uint32Array(N_KINDS + 1);
    let o = 0;
    for (let k = 0; k < N_KINDS; k++) {
      kindOffsets[k] = o;
      const keys = Float64Array.from(this.maps[k].keys()).sort();
      for (const key of keys) {
        hashes[o] = key;
        counts[o++] = this.maps[k].get(key) ?? 0;
      }
    }
    kindOffsets[N_KINDS] = o;
    return { hashes, counts, kindOffsets, normHash };
  }
}

interface Frame {
  info: TypeInfo;
  named: boolean;
  graphlet: number;
  namedChildren: number;
}

/**
 * Features of the function at `node` (a function_definition or decorated_definition; any node works).
 */
export function extractFeatures(node: Node): FeatureBag {
  const lang = node.tree.language;
  let types = typeCache.get(lang);
  if (!types) {
    types = [];
    typeCache.set(lang, types);
  }
  const b = new BagBuilder();
  const seq: number[] = [];
  let nh1 = 0x811c9dc5;
  let nh2 = 0x9747b28c;
  const stack: Frame[] = [];
  const cursor = node.walk();
  const infoOf = (): TypeInfo => {
    const id = cursor.nodeTypeId;
    let t = types[id];
    if (!t) {
      const name = cursor.nodeType;
      t = { hash: fnv1a32(name), skip: SKIP.has(name), literal: LITERAL.has(name), atom: ATOM.has(name), ident: IDENT.has(name) };
      types[id] = t;
    }
    return t;
  };
  const leave = (): void => {
    const f = stack.pop();
    if (!f) return;
    if (f.named) {
      b.add(KIND_GRAPHLET, fmix32(combine32(f.graphlet, KIND_SALT[KIND_GRAPHLET])));
      b.add(KIND_CHILDREN, fmix32(combine32(combine32(KIND_SALT[KIND_CHILDREN], f.info.hash), quantiseChildren(f.namedChildren))));
    }
  };
  try {
    // Pre-order walk over the cursor; frames finish (graphlet, children) when the walk leaves a node.
    for (;;) {
      const info = infoOf();
      if (!info.skip) {
        const named = cursor.nodeIsNamed;
        const parent = stack.length > 0 ? stack[stack.length - 1] : null;
        if (parent) {
          parent.graphlet = combine32(parent.graphlet, info.hash);
          if (named) parent.namedChildren++;
        }
        if (named) seq.push(info.hash);
        stack.push({ info, named, graphlet: combine32(0x12345, info.hash), namedChildren: 0 });
        if (!info.atom && cursor.gotoFirstChild()) continue;
        // A leaf (or an atom): its text counts.
        const text = cursor.nodeText;
        nh1 = fnv1a32(text, combine32(nh1, info.hash));
        nh2 = fmix32(combine32(nh2, fnv1a32(text, info.hash)));
        if (info.ident) {
          for (const tok of splitIdentifier(text)) b.add(KIND_ID, fmix32(fnv1a32(tok, KIND_SALT[KIND_ID])));
        } else if (info.literal) {
          b.add(KIND_LIT, fmix32(fnv1a32(text, combine32(KIND_SALT[KIND_LIT], info.hash))));
        }
      }
      if (!info.skip) leave();
      // Move to the next sibling, climbing (and finishing frames) as needed.
      let moved = false;
      while (!moved) {
        if (cursor.currentDepth === 0) break;
        if (cursor.gotoNextSibling()) {
          moved = true;
          break;
        }
        if (!cursor.gotoParent()) break;
        leave();
      }
      if (!moved) break;
    }
  } finally {
    cursor.delete();
  }
  for (const n of SEQ_LENGTHS) {
    for (let i = 0; i + n <= seq.length; i++) {
      let h = combine32(KIND_SALT[KIND_SEQ], n);
      for (let j = 0; j < n; j++) h = combine32(h, seq[i + j]);
      b.add(KIND_SEQ, fmix32(h));
    }
  }
  return b.build(Uint32Array.of(fmix32(nh1), fmix32(nh2)));
}
