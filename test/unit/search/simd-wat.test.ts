// The k-NN SIMD module is inlined as base64 (no loader anywhere): these are the bytes of
// knn-simd.wat, the readable source, as Debian's wabt assembles it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const wat = fileURLToPath(new URL('../../../src/core/search/knn-simd.wat', import.meta.url));
const source = fileURLToPath(new URL('../../../src/core/search/knn-simd.ts', import.meta.url));
const wat2wasm = ['/usr/bin/wat2wasm', '/usr/local/bin/wat2wasm'].find((p) => existsSync(p)) ?? null;

describe('k-NN WebAssembly SIMD module', () => {
  it.skipIf(!wat2wasm)(`inlined bytes are the build of knn-simd.wat${wat2wasm ? '' : ' (skipped: wat2wasm not installed; apt-get install wabt)'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'wat-'));
    try {
      execFileSync(wat2wasm!, [wat, '-o', join(dir, 'k.wasm')]);
      const built = readFileSync(join(dir, 'k.wasm')).toString('base64');
      const inlined = /const WASM_BASE64 =\s*'([^']+)'/.exec(readFileSync(source, 'utf8'))?.[1];
      expect(inlined).toBe(built);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
