import type { Queue } from 'bullmq';
import type { BackendKind } from '../backend/target.js';
import type { InspectSource } from '../inspect/source.js';

/**
 * What `queue …` and `job …` need from a backend, side by side: redis-site.ts (a key prefix) and
 * postgres-site.ts (a schema). Everything that changes a queue goes through BullMQ's own Queue and
 * Job API, the same on both backends; reads reuse inspect's source. Only what BullMQ offers no
 * API for differs here: finding a job by id across queues, and counting what `clean` would remove.
 */
export interface JobSite {
  readonly kind: BackendKind;
  /** The target as every prompt names it: `redis://h:6379 (db 0, prefix bull)`, `postgres://u:***@h/app (schema bullmq)`. */
  readonly where: string;
  /** inspect's reads: queue discovery, counts and pause flags, one job. */
  readonly inspect: InspectSource;
  /**
   * BullMQ's Queue for `name` on this backend; closed by close(). Made with skipMetasUpdate: a new
   * Queue otherwise writes its meta (version, opts.maxLenEvents) in the background, which would
   * overwrite the application's settings, and could land after an obliterate and bring the queue back.
   */
  queue(name: string): Queue;
  /** Which of `queues` hold a job with this id: one probe per queue, in one round trip. */
  findJob(id: string, queues: string[]): Promise<string[]>;
  /**
   * What BullMQ's clean(state, cutoff, limit) would remove now: how many, and the first `sample`
   * ids in the order BullMQ removes them (Redis: oldest finish first; PostgreSQL: oldest added first).
   */
  cleanCandidates(queue: string, state: CleanState, cutoff: number, limit: number | undefined, sample: number): Promise<{ count: number; ids: string[] }>;
  /** A backend failure inside `work` becomes the one-line exit-3 error. */
  guard<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The states `queue clean` removes: finished jobs, by when they finished (the same rule on both backends). */
export const CLEAN_STATES = ['completed', 'failed'] as const;
export type CleanState = (typeof CLEAN_STATES)[number];
