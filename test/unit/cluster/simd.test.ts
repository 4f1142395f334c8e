import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SIMD_DOT_WASM_BASE64, simdKernel, simdStride } from '../../../src/core/cluster/simd.ts';
import { createRng } from '../../../src/core/util/random.ts';

const wat = fileURLToPath(new URL('../../../src/core/cluster/simd-dot.wat', import.meta.url));
const wat2wasm = ['/usr/bin/wat2wasm', '/usr/local/bin/wat2wasm'].find((p) => existsSync(p)) ?? null;

describe('WebAssembly SIMD gemmNT', () => {
  for (const [rows, cols, d] of [
    [1, 1, 4],
    [2, 4, 8],
    [5, 7, 13],
    [64, 150, 768],
    [3, 9, 1],
  ] as const) {
    it(`matches float64 dot products within float32 rounding (${rows} x ${cols}, d=${d})`, () => {
      const k = simdKernel();
      expect(k).not.toBeNull();
      const rng = createRng(rows * 1000 + cols);
      const s = simdStride(d);
      const a = Float32Array.from({ length: rows * d }, () => rng.normal());
      const b = Float32Array.from({ length: cols * d }, () => rng.normal());
      const outOff = (rows + cols) * s;
      const mem = k!.reserve(outOff + rows * cols);
      mem.fill(0, 0, outOff);
      for (let r = 0; r < rows; r++) mem.set(a.subarray(r * d, r * d + d), r * s);
      for (let c = 0; c < cols; c++) mem.set(b.subarray(c * d, c * d + d), (rows + c) * s);
      mem.fill(NaN, outOff, outOff + rows * cols);
      k!.gemmNT(0, rows * s, outOff, rows, cols, s);
      const out = k!.reserve(0).subarray(outOff, outOff + rows * cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          let x = 0;
          let mag = 0;
          for (let t = 0; t < d; t++) {
            x += a[r * d + t] * b[c * d + t];
            mag += Math.abs(a[r * d + t] * b[c * d + t]);
          }
          expect(Math.abs(out[r * cols + c] - x)).toBeLessThanOrEqual((d / 4 + 4) * 2 ** -24 * mag + 1e-30);
        }
      }
    });
  }

  it.skipIf(!wat2wasm)(`embedded bytes are the build of simd-dot.wat${wat2wasm ? '' : ' (skipped: wat2wasm not installed; apt-get install wabt)'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'wat-'));
    try {
      execFileSync(wat2wasm!, [wat, '-o', join(dir, 'o.wasm')]);
      expect(readFileSync(join(dir, 'o.wasm')).toString('base64')).toBe(SIMD_DOT_WASM_BASE64);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
