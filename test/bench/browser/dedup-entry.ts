// Page side of dedup-browser.bench.ts: the same hashing steps on weighted sets handed in from Node.
import type { WeightedSet } from '../../../src/core/dedup/tfidf.ts';
import { hashSteps, type StepTimes } from './dedup-steps.ts';

interface Input {
  hashes: number[][];
  weights: number[][];
  runs: number;
}

const g = globalThis as unknown as { dedupBench: (input: Input) => StepTimes; __kernelsReady: boolean };
g.dedupBench = (input: Input) => {
  const sets: WeightedSet[] = input.hashes.map((h, i) => ({ hashes: Uint32Array.from(h), weights: Float32Array.from(input.weights[i]!) }));
  return hashSteps(sets, input.runs);
};
g.__kernelsReady = true;
