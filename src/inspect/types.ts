import type { LayoutVerdict } from './layout.js';

/** What one queue looks like live. Built by src/inspect/read-queues.ts, read by inspect and topology check. */
export interface QueueCounts {
  waiting: number;
  prioritized: number;
  delayed: number;
  active: number;
  failed: number;
  completed: number;
  waitingChildren: number;
}

export type QueueKind = 'declared' | 'legacy' | 'undeclared';

export interface LiveWorker {
  /** BullMQ worker name (`…:w:<name>`), or the connection's address when unnamed. */
  name: string;
  addr: string;
  /** Seconds since the connection's last command. */
  idleSeconds: number;
}

export interface LiveQueue {
  name: string;
  kind: QueueKind;
  /** False when neither `meta` nor `id` nor any state key exists (declared but absent). */
  exists: boolean;
  counts: QueueCounts;
  paused: boolean;
  /** Age of the oldest job in `wait` (or lowest-priority-score job when only prioritized), ms; null when none. */
  oldestWaitingMs: number | null;
  /** `meta.version`, e.g. `bullmq:6.7.0`. */
  bullmqVersion?: string;
  /** Global concurrency and rate limit written by BullMQ into `meta`. */
  meta: { concurrency?: number; max?: number; duration?: number };
  /** Undefined when CLIENT LIST is not available. */
  workers?: LiveWorker[];
  /** Members of the `stalled` set. */
  stalled: number;
  /** Set when the queue is not plainly BullMQ's: read as Bull, or with signs of both (src/inspect/layout.ts). */
  layout?: LayoutVerdict;
  /** A Bull queue's counts in Bull's own terms (src/inspect/bull-reads.ts). */
  bullCounts?: BullCounts;
}

/**
 * Bull's states as its getJobCounts names them, plus its `priority` zset: prioritized jobs are
 * also in waiting (or paused), as in Bull; LiveQueue.counts counts each job once.
 */
export interface BullCounts {
  waiting: number;
  paused: number;
  active: number;
  delayed: number;
  prioritized: number;
  completed: number;
  failed: number;
}

export interface RedisHealth {
  version: string;
  mode: 'standalone' | 'cluster';
  usedMemory: number;
  /** 0 = no limit. */
  maxMemory: number;
  evictionPolicy: string;
  /** Number of masters (1 on a single node). */
  nodes: number;
}
