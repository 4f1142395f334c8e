// Contract between benchmark modules (`test/bench/*.bench.ts`) and the runner (`test/bench/run.ts`),
// which runs each, prints the table and rewrites its section of BENCHMARKS.md. Ours and the peer are
// measured in the same run, so only their ratio is compared across machines.

export interface BenchRow {
  /** What was measured, e.g. `extract stdlib (functions/s)`. */
  metric: string;
  ours: number;
  /** The named peer's figure from the same run, or null where no peer exists. */
  peer: number | null;
  unit: string;
  /** True when larger is better (throughput), false for latencies. */
  higherIsBetter: boolean;
}

export interface BenchResult {
  /** Section title in BENCHMARKS.md. */
  name: string;
  /** The peer named in the issue, with version and settings. */
  peer: string;
  rows: BenchRow[];
  notes?: string[];
  /** Set when the benchmark could not run here (e.g. its data set is missing): why. The runner prints it and leaves BENCHMARKS.md alone. */
  skipped?: string;
}

export type Bench = () => Promise<BenchResult>;
