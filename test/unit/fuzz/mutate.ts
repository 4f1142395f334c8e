// Seeded byte and text mutators shared by the fuzz tests: every case is reproducible from the seed
// and its index, so a failure names the input that caused it.
import { createRng, type Rng } from '../../../src/core/util/random.ts';

export { createRng, type Rng };

export type ByteMutation = 'flip-bit' | 'set-byte' | 'insert' | 'delete' | 'truncate' | 'duplicate' | 'zero-run' | 'splice' | 'interesting' | 'random';

const MUTATIONS: ByteMutation[] = ['flip-bit', 'set-byte', 'insert', 'delete', 'truncate', 'duplicate', 'zero-run', 'splice', 'interesting', 'random'];

/** Bytes that often hit edge cases in length fields and varints. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x20, 0x0a, 0x0d, 0x22, 0x5c, 0xc0, 0xef, 0xbb, 0xbf];

/**
 * Applies 1..maxSteps seeded mutations to a copy of `input`; `donor` (another real input) feeds
 * splices. Returns the bytes and the mutations applied, for the failure message.
 */
export function mutateBytes(rng: Rng, input: Uint8Array, donor: Uint8Array, maxSteps = 4): { bytes: Uint8Array; steps: string[] } {
  let b: Uint8Array = input.slice();
  const steps: string[] = [];
  const n = 1 + rng.int(maxSteps);
  for (let s = 0; s < n; s++) {
    const m = MUTATIONS[rng.int(MUTATIONS.length)]!;
    const at = b.length ? rng.int(b.length) : 0;
    switch (m) {
      case 'flip-bit':
        if (b.length) b[at] = b[at]! ^ (1 << rng.int(8));
        break;
      case 'set-byte':
        if (b.length) b[at] = rng.int(256);
        break;
      case 'interesting':
        if (b.length) b[at] = INTERESTING[rng.int(INTERESTING.length)]!;
        break;
      case 'insert': {
        const len = 1 + rng.int(16);
        const ins = new Uint8Array(len).map(() => rng.int(256));
        b = concat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 'delete': {
        const len = 1 + rng.int(Math.max(1, Math.min(64, b.length - at)));
        b = concat(b.subarray(0, at), b.subarray(at + len));
        break;
      }
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'duplicate': {
        const len = 1 + rng.int(Math.max(1, Math.min(256, b.length - at)));
        b = concat(b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len));
        break;
      }
      case 'zero-run': {
        const len = 1 + rng.int(64);
        b.fill(0, at, at + len);
        break;
      }
      case 'splice': {
        if (!donor.length) break;
        const from = rng.int(donor.length);
        const len = 1 + rng.int(Math.min(512, donor.length - from));
        b = concat(b.subarray(0, at), donor.subarray(from, from + len), b.subarray(at));
        break;
      }
      case 'random':
        b = new Uint8Array(rng.int(2048)).map(() => rng.int(256));
        break;
    }
    steps.push(`${m}@${at}`);
  }
  return { bytes: b, steps };
}

/** Mutations for text with structure: tokens of the format spliced in, characters removed, lines moved. */
export function mutateText(rng: Rng, input: string, tokens: readonly string[], maxSteps = 4): { text: string; steps: string[] } {
  let t = input;
  const steps: string[] = [];
  const n = 1 + rng.int(maxSteps);
  for (let s = 0; s < n; s++) {
    const at = t.length ? rng.int(t.length + 1) : 0;
    switch (rng.int(6)) {
      case 0: {
        const tok = tokens[rng.int(tokens.length)]!;
        t = t.slice(0, at) + tok + t.slice(at);
        steps.push(`insert ${JSON.stringify(tok)}@${at}`);
        break;
      }
      case 1: {
        const len = 1 + rng.int(24);
        t = t.slice(0, at) + t.slice(at + len);
        steps.push(`delete ${len}@${at}`);
        break;
      }
      case 2: {
        const tok = tokens[rng.int(tokens.length)]!;
        const len = 1 + rng.int(8);
        t = t.slice(0, at) + tok + t.slice(at + len);
        steps.push(`replace ${len}@${at} ${JSON.stringify(tok)}`);
        break;
      }
      case 3: {
        const lines = t.split('\n');
        const i = rng.int(lines.length);
        const j = rng.int(lines.length);
        const [line] = lines.splice(i, 1);
        lines.splice(j, 0, line!);
        t = lines.join('\n');
        steps.push(`move line ${i}->${j}`);
        break;
      }
      case 4:
        t = t.slice(0, at);
        steps.push(`truncate@${at}`);
        break;
      default: {
        const ch = String.fromCodePoint(rng.int(4) === 0 ? rng.int(0x110000 - 0x800) + 0x800 : rng.int(0x80));
        t = t.slice(0, at) + ch + t.slice(at);
        steps.push(`char U+${ch.codePointAt(0)!.toString(16)}@${at}`);
        break;
      }
    }
  }
  return { text: t, steps };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Runs fn and returns how long it took, in ms. */
export async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T | undefined; error: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    const value = await fn();
    return { value, error: undefined, ms: performance.now() - t0 };
  } catch (error) {
    return { value: undefined, error, ms: performance.now() - t0 };
  }
}
