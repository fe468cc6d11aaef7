import type { Processor, Queue, QueueEvents, Worker, WorkerOptions } from 'bullmq';
import type { QueuectlError } from '../errors.js';

/**
 * Where dedup-check builds its real BullMQ producers, workers and event listeners, whatever the
 * backend: redis-site.ts (a key prefix) and postgres-site.ts (a schema) side by side. `ns` is the
 * namespace: the real one (--live), or a scratch one the site made and removes.
 */
export interface DedupSite {
  /** "prefix" or "schema", for messages. */
  nsKind: string;
  /** A producer on a connection of its own, as one app instance would have; close() ends both. */
  producer(queue: string, ns: string): { queue: Queue; close(): Promise<void> };
  worker(queue: string, ns: string, processor: Processor, options: Partial<WorkerOptions>): Worker;
  events(queue: string, ns: string, lastEventId: string): QueueEvents;
  /** The queue's newest event id: a live listener starts after it. */
  lastEventId(queue: string, ns: string): Promise<string>;
  /**
   * How many copies BullMQ reported as duplicated since `afterId` (only `ids`' events when given),
   * once every add has returned. `heard` is what the listener counted: the truth on Redis, whose
   * stream ids follow commit order. PostgreSQL's event ids come from a sequence, so a listener
   * paging by `id > cursor` can step past an event whose transaction committed after a later
   * one's (concurrent producers); there the event table itself is counted.
   */
  duplicateReports(queue: string, ns: string, afterId: string, ids: Set<string> | undefined, heard: number): Promise<number>;
  /** The deduplication key of the plan's session: exists, and its time to live in ms (-1: none). */
  dedupKey(queue: string, ns: string, dedupId: string): Promise<{ exists: boolean; pttl: number }>;
  /** A fresh scratch namespace nobody else uses. */
  makeScratch(): Promise<string>;
  /** Empties the scratch namespace between queues (keeps it usable). */
  clearScratch(ns: string): Promise<void>;
  /** Removes the scratch namespace this run made (only that one). */
  dropScratch(ns: string): Promise<void>;
  /** After live canaries are removed: undo what they left in BullMQ's bookkeeping. */
  afterCanaries(queue: string, ns: string, earliestDue: number): Promise<void>;
  /** A failure that means the backend is gone (exit 3) rather than BullMQ refusing one queue's check. */
  connectionTrouble(queue: string, message: string): QueuectlError | undefined;
}
