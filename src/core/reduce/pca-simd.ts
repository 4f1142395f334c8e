// Gram-matrix kernel for PcaAccumulator on the WebAssembly SIMD "A times B-transposed" kernel that
// k-means and the silhouette already use (src/core/cluster/simd.ts). The scatter update
// S += X^T X is a GEMM whose inner dimension runs over rows, so each sub-block of rows is
// transposed once into the module's memory (dim x rows, float32) and multiplied by itself. Only the
// upper block triangle is computed (tiles of TILE_ROWS output rows against the columns from the
// tile's first row on): about half the multiply-adds of tfjs' full X^T X, and no second copy of
// the matrix. Each sub-block's float32 sums go into the float64 scatter, so float32 rounding spans
// at most SUB_ROWS rows (scikit-learn's float32 PCA rounds over all of them).
// Works unchanged in Node, in workers and on a page; null where WebAssembly SIMD is missing.
import { simdKernel } from '../cluster/simd.ts';
import type { GramKernel } from './pca.ts';

/**
 * Rows per SIMD pass. dim x SUB_ROWS float32 (768 KiB at dim = 768) stays in the L2/L3 cache that
 * the kernel streams the columns from; larger sub-blocks ran slower here, smaller ones pay more
 * for the float64 scatter update (dim^2 / 2 adds per sub-block).
 */
const SUB_ROWS = 256;
/** Output rows per kernel call; the diagonal tile computes TILE_ROWS^2 / 2 values twice over. */
const TILE_ROWS = 32;

export function simdGramKernel(): GramKernel | null {
  const k = simdKernel();
  if (!k) return null;
  const kernel: GramKernel = (rows, count, dim, scatter) => {
    for (let r0 = 0; r0 < count; r0 += SUB_ROWS) {
      const nb = Math.min(SUB_ROWS, count - r0);
      const inner = (nb + 3) & ~3; // the kernel's inner length is a multiple of 4: zero rows pad it
      const outOff = dim * inner;
      // Reserved before any kernel call, so the view cannot go stale while this block runs.
      const mem = k.reserve(outOff + TILE_ROWS * dim);
      for (let i = 0; i < nb; i++) {
        const src = (r0 + i) * dim;
        for (let j = 0; j < dim; j++) mem[j * inner + i] = rows[src + j];
      }
      for (let i = nb; i < inner; i++) for (let j = 0; j < dim; j++) mem[j * inner + i] = 0;
      for (let i0 = 0; i0 < dim; i0 += TILE_ROWS) {
        const tileRows = Math.min(TILE_ROWS, dim - i0);
        const cols = dim - i0;
        k.gemmNT(i0 * inner, i0 * inner, outOff, tileRows, cols, inner);
        for (let r = 0; r < tileRows; r++) {
          const a = i0 + r;
          const out = outOff + r * cols;
          const dst = a * dim + i0;
          // Upper triangle only (column >= row); the accumulator mirrors it once at the end.
          for (let c = r; c < cols; c++) scatter[dst + c] += mem[out + c];
        }
      }
    }
  };
  kernel.upperOnly = true;
  return kernel;
}
