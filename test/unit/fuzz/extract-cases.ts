// The extractor fuzz test's inputs: real standard-library files and seeded mutations of them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { STDLIB } from '../prebuild/cli-helpers.ts';
import { mutateBytes, mutateText, type Rng } from './mutate.ts';

export interface SourceFile {
  path: string;
  bytes: Uint8Array;
}

export const TOKENS = [
  'def ', 'async def ', 'class ', 'lambda', ':', '(', ')', '[', ']', '{', '}', '"""', "'''", '"', "'", '\\', '\\\n', '\n', '\n    ', '\n\t', '\t',
  '@', '@decorator\n', 'print ', 'exec ', '0777', '10L', '`x`', 'f"{', '}"', 'rb"', '#', 'yield', 'await ', 'async ', ';', ',', '*', '**', '=', '->', '...',
  '\r', '\r\n', '\f', '\0', 'if x:\n', 'else:', 'try:\n', 'except:\n', 'finally:', 'with ', 'match x:\n    case 1:\n', 'global x', 'nonlocal x', 'and not ',
  'from __future__ import *\n', 'é', '\u200b', '\ufeff', '\ud800', 'def f(a, b=1, *c, d: int = 2, **e) -> None:\n    """doc"""\n    pass\n', '    ', '        return (',
];
export const COOKIES = ['# -*- coding: latin-1 -*-\n', '# coding=cp1252\n', '# vim: set fileencoding=utf-16 :\n', '# coding: shift_jis\n', '# coding: no-such-codec\n', '#!/usr/bin/env python\n# coding: utf-8-sig\n', '\ufeff# coding: latin-1\n'];

/** ~40 real files between 0.5 and 16 KB, spread over the standard library (sorted, every k-th). */
export function pool(): { path: string; bytes: Uint8Array }[] {
  const files: string[] = [];
  const walk = (d: string, depth: number) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name === 'site-packages' || e.name === 'test' || e.name === 'tests' || e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory() && depth < 2) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.py')) {
        const size = statSync(p).size;
        if (size >= 512 && size <= 16_384) files.push(p);
      }
    }
  };
  walk(STDLIB, 0);
  const step = Math.max(1, Math.floor(files.length / 40));
  return files.filter((_, i) => i % step === 0).slice(0, 40).map((path) => ({ path, bytes: new Uint8Array(readFileSync(path)) }));
}

/** One case: Python-aware text mutations (60%), byte mutations (30%), or a coding cookie and random bytes (10%). */
export function makeCase(rng: Rng, files: SourceFile[]): { src: SourceFile; bytes: Uint8Array; steps: string[] } {
  const src = files[rng.int(files.length)]!;
  const donor = files[rng.int(files.length)]!;
  const mode = rng.int(20);
  if (mode < 12) {
    const m = mutateText(rng, new TextDecoder().decode(src.bytes), TOKENS, 6);
    const cookie = rng.int(10) === 0 ? COOKIES[rng.int(COOKIES.length)]! : '';
    return { src, bytes: new TextEncoder().encode(cookie + m.text), steps: cookie ? [`cookie ${JSON.stringify(cookie)}`, ...m.steps] : m.steps };
  }
  if (mode < 18) return { src, ...mutateBytes(rng, src.bytes, donor.bytes, 6) };
  const cookie = new TextEncoder().encode(COOKIES[rng.int(COOKIES.length)]!);
  const tail = new Uint8Array(rng.int(1024)).map(() => rng.int(256));
  return { src, bytes: new Uint8Array([...cookie, ...tail]), steps: ['cookie + random bytes'] };
}
