import type { JobsOptions, Queue } from 'bullmq';
import type { QueuePlan } from './plan.js';
import type { DedupSite } from './site.js';
import { waitFor } from './wait.js';

type CheckPlan = Extract<QueuePlan, { kind: 'check' }>;

/** Every job state BullMQ 6 knows (a paused queue keeps its jobs in wait); a job is in exactly one. */
export const ALL_STATES = ['wait', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'waiting-children'] as const;

/** n independent producers: one Queue object on its own connection each, as n app instances would be. */
export interface Producers {
  queues: Queue[];
  close(): Promise<void>;
}

export function openProducers(site: DedupSite, queue: string, ns: string, n: number): Producers {
  const producers = Array.from({ length: n }, () => site.producer(queue, ns));
  return {
    queues: producers.map((p) => p.queue),
    async close() {
      await Promise.allSettled(producers.map((p) => p.close()));
    },
  };
}

/** Counts BullMQ's add outcomes for the given job ids (or all, when ids is undefined). */
export interface AddEvents {
  added: number;
  duplicated: number;
  close(): Promise<void>;
}

/**
 * Listens to the queue's events stream from `fromId` (`0-0` on a fresh scratch queue, so no
 * event can slip by before the first XREAD; the stream's last id on a live queue).
 */
export async function listenForAdds(site: DedupSite, queue: string, ns: string, fromId: string, ids?: Set<string>): Promise<AddEvents> {
  const events = site.events(queue, ns, fromId);
  const mine = (jobId: string) => ids === undefined || ids.has(jobId);
  const counts: AddEvents = {
    added: 0,
    duplicated: 0,
    close: () => events.close(),
  };
  events.on('added', ({ jobId }) => void (mine(jobId) && counts.added++));
  events.on('duplicated', ({ jobId }) => void (mine(jobId) && counts.duplicated++));
  // With a deduplication option, a copy may be refused by the de: key instead; BullMQ says so apart.
  events.on('deduplicated', ({ jobId, deduplicatedJobId }) => void ((mine(jobId) || mine(deduplicatedJobId)) && counts.duplicated++));
  events.on('error', () => undefined); // surfaced by the adds themselves; a listener keeps Node from throwing
  await events.waitUntilReady();
  return counts;
}

/** Adds every copy at once through its own producer, with the producer's job options. */
export async function addCopies(plan: CheckPlan, producers: Producers, name: string, options: JobsOptions): Promise<string[]> {
  const dedup = plan.spec.deduplication;
  const ids = await Promise.all(
    plan.copies.map((copy, i) =>
      producers.queues[i].add(name, copy.payload, {
        ...options,
        jobId: copy.jobId,
        ...(dedup && copy.deduplicationId !== undefined ? { deduplication: { id: copy.deduplicationId, ...(dedup.ttl !== undefined ? { ttl: dedup.ttl } : {}) } } : {}),
      }),
    ),
  );
  return ids.map((job) => String(job.id));
}

/** Waits (bounded) until BullMQ has reported an outcome for every copy. */
export function waitForOutcomes(events: AddEvents, copies: number, signal: AbortSignal, withinMs = 3000): Promise<boolean> {
  return waitFor(() => events.added + events.duplicated >= copies, withinMs, signal);
}
