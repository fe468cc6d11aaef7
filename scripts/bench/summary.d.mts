// Types for summary.mjs, as test/bench-smoke.test.ts uses it.
export interface SummaryRow {
  bench: string;
  metric: string;
  value: number | null;
  unit: string | null;
  shown: string;
  goal: string;
  met: boolean | null;
  broken?: true;
}
export declare function summaryRows(results: Record<string, object>): SummaryRow[];
export declare function summaryLines(doc: object): string[];
