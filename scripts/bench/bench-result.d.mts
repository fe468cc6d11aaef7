// What every scripts/bench/<name>.mjs `run()` resolves with (see the top of scripts/bench.mjs).
import type { SummaryRow } from './summary.d.mts';
export interface BenchResult {
  bench: string;
  rows: SummaryRow[];
  ok: boolean;
  [detail: string]: unknown;
}
