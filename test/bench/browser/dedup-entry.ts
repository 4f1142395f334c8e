// Page side of dedup-browser.bench.ts: the same hashing steps on weighted sets that Node packed into
// one binary file and serves on 127.0.0.1 (a corpus-scale sample is far too big for evaluate()'s JSON).
import { hashSteps, unpackSets, type StepTimes } from './dedup-steps.ts';

interface Input {
  url: string;
  runs: number;
}

const g = globalThis as unknown as { dedupBench: (input: Input) => Promise<StepTimes & { fetchS: number }>; __kernelsReady: boolean };
g.dedupBench = async (input: Input) => {
  const t0 = performance.now();
  const res = await fetch(input.url);
  if (!res.ok) throw new Error(`dedup bench: ${input.url}: HTTP ${res.status}`);
  const sets = unpackSets(await res.arrayBuffer());
  const fetchS = (performance.now() - t0) / 1000;
  return { ...hashSteps(sets, input.runs), fetchS };
};
g.__kernelsReady = true;
