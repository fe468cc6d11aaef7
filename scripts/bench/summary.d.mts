// Types for summary.mjs, as test/bench-smoke.test.ts uses it.
export interface Anchor {
  label: string;
  value: number;
  unit: string;
}
export interface Goal {
  on: 'ratio' | 'value';
  min?: number;
  max?: number;
}
export interface SummaryRow {
  bench: string;
  id: string;
  label: string;
  value: number | null;
  unit: string | null;
  anchor: Anchor | null;
  ratio: number | null;
  better: 'higher' | 'lower';
  goal: Goal | null;
  met: boolean | null;
  broken?: string;
  previous?: { ratio: number; change: number; regressed: boolean; startedAt: string | null; file: string | null };
}
export interface Regression {
  bench: string;
  id: string;
  label: string;
  previous: number;
  now: number;
  change: number;
  file: string | null;
}
export declare function row(spec: { bench: string; id: string; label: string; value: number; unit: string; anchor?: Anchor | null; better?: 'higher' | 'lower'; goal?: Goal | null }): SummaryRow;
export declare function brokenRow(bench: string, error: string): SummaryRow;
export declare function summaryRows(results: Record<string, object>): SummaryRow[];
export declare function compareWithPrevious(rows: SummaryRow[], previous: object | object[] | null): { rows: SummaryRow[]; regressions: Regression[] };
export declare function summaryLines(doc: object): string[];
