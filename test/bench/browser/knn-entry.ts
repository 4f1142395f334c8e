// Page side of knn-browser.bench.ts: generates the seeded vectors inside Chromium (nothing is
// shipped) and times src/core/search/knn.ts on them, exactly as the Node side does.
import type { VectorBlock } from '../../../src/core/search/knn.ts';
import { KNN_CASES, knnDataGen, makeBlocks, timeCase, type CaseTiming } from './knn-data.ts';

let blocks: VectorBlock[] = [];
let queries: Float32Array[] = [];

export interface KnnPageApi {
  /** Generates one dtype's blocks (dropping the previous ones); returns seconds taken. */
  prepare(arg: { dtype: 'f32' | 'i8'; n: number; seed: number; queries: number }): number;
  /** Times the case named `name` on the prepared blocks. */
  time(arg: { name: string; k: number }): CaseTiming;
}

const api: KnnPageApi = {
  prepare({ dtype, n, seed, queries: nq }) {
    blocks = [];
    const t0 = performance.now();
    queries = knnDataGen(n, seed).queries(nq);
    blocks = makeBlocks(dtype, n, seed);
    return (performance.now() - t0) / 1000;
  },
  time({ name, k }) {
    const c = KNN_CASES.find((x) => x.name === name);
    if (!c) throw new Error(`no case ${name}`);
    return timeCase(blocks, queries, k, c.metric);
  },
};

const g = globalThis as unknown as { __knn: KnnPageApi; __kernelsReady: boolean };
g.__knn = api;
g.__kernelsReady = true;
