/** One row of `dedup-check`: what happened on one queue (the JSON `results[]` item). */
export interface DedupResult {
  queue: string;
  /** Jobs the n concurrent copies created (1 is right). */
  jobs: number;
  /** Times the canary worker ran the work: the failed first attempt plus the retry (2 normally). */
  attempts: number;
  /** Runs that succeeded: exactly 1 is right (more would be duplicate work). */
  completions: number;
  /** Deprecated: the same number as `attempts`, kept for readers of queuectl/dedup-check@1. */
  executions: number;
  ok: boolean;
  /** Why it failed, or what was checked; warnings are appended too. */
  detail: string;
  /** Problems that do not fail the check (e.g. retention that frees the id early). */
  warnings: string[];
}

/** The `--json` document (stable: queuectl/dedup-check@1). */
export interface DedupReport {
  schema: 'queuectl/dedup-check@1';
  live: boolean;
  copies: number;
  results: DedupResult[];
}

export type Payload = Record<string, unknown>;
