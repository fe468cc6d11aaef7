import type { Topology } from '../topology/types.js';
import type { ApplyOptions, ApplyOutcome } from './apply.js';
import type { CanaryResult } from './canary.js';
import type { Blocking } from './preflight.js';
import type { ScanOptions } from './read.js';
import type { StatsRow } from './stats.js';
import type { DlqItem, DlqSource } from './types.js';

/** What `dlq show` prints besides the item: the failed job itself, or a dead-letter item's payload and marks. */
export interface ShowParts {
  job?: { data: unknown; stacktrace: string[]; opts: unknown; timestamp: number | null; processedBy: string | null; logs: number } | undefined;
  payload?: unknown;
  carried?: { data: unknown; stack: string | null } | undefined;
  marks?: Record<string, string>;
}

/** Apply options without the backend handle: the store holds its own connection. */
export type StoreApplyOptions = Omit<ApplyOptions, 'client' | 'prefix'>;

/**
 * Everything dlq reads and writes, whatever the backend: redis-store.ts (keys, Lua) and
 * postgres-store.ts (BullMQ's job table and functions, one transaction per batch) side by side.
 * The plan (plan.ts), filters and rendering are shared and pure.
 */
export interface DlqStore {
  /** Matching items of the sources, newest first, at most `limit`. */
  collect(sources: DlqSource[], options: ScanOptions & { limit?: number }): Promise<DlqItem[]>;
  /** Exactly one item per reference (usage error otherwise); `live`: refs naming jobs that are not dead letters. */
  resolve(sources: DlqSource[], refs: string[], legacy: string[]): Promise<{ items: DlqItem[]; live: string[] }>;
  show(item: DlqItem, topology: Topology): Promise<ShowParts>;
  stats(sources: DlqSource[]): Promise<StatsRow[]>;
  /** What would refuse the plan's writes (Redis keys of a wrong type); none on PostgreSQL. */
  blocking(sources: DlqSource[], items: DlqItem[], verb: 'retry' | 'discard'): Promise<Blocking[]>;
  retry(items: DlqItem[], options: StoreApplyOptions): Promise<ApplyOutcome>;
  discard(items: DlqItem[], reason: string, options: StoreApplyOptions): Promise<ApplyOutcome>;
  canaries(items: DlqItem[], options: { timeoutMs: number; signal?: AbortSignal; topology: Topology }): Promise<CanaryResult>;
  /** Where discard reasons are recorded, for the summary line. */
  discardLog: string;
  /** Backend failures in the middle of a command become one-line errors (exit 3). */
  guard<T>(work: () => Promise<T>): Promise<T>;
}
