import type { Queue } from 'bullmq';
import type { DemoBullmq } from './environment.js';
import { demoStopped } from './interrupt.js';
import { LEGACY_QUEUE } from './mix.js';

/**
 * The old deployment's last duty. A job name the new topology dropped (no queue owns it) cannot be
 * migrated: only the old code can run it. So before the old workers are retired, the old deployment
 * runs its own leftovers now instead of at their scheduled time: it promotes its delayed jobs of
 * that name (BullMQ's Job.promote, as the old app's admin task would) and waits until its workers
 * have completed them and the legacy queue has nothing left to run. This is the demo's stand-in for
 * the old app, not something queuectl does: queuectl never runs or reschedules jobs.
 */

export interface FinishOptions {
  bullmq: DemoBullmq;
  /** The job name only the old code can run. */
  name: string;
  /** Upper bound for the whole wait (the old workers must be running). */
  timeoutMs: number;
  signal: AbortSignal;
  pollMs?: number;
}

export interface FinishReport {
  promoted: number;
  completed: number;
  ms: number;
}

/** States in which a legacy job still needs an old worker (BullMQ 6 keeps paused jobs in `wait`). */
const UNFINISHED = ['wait', 'prioritized', 'delayed', 'active', 'waiting-children'] as const;

/** Pure: the jobs still to run in the legacy queue, from BullMQ's getJobCounts. */
export function unfinished(counts: Record<string, number>): number {
  return UNFINISHED.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
}

/** Promotes the delayed jobs of `name` in the legacy queue and waits until the old workers have run them all. */
export async function finishLegacyWork(options: FinishOptions): Promise<FinishReport> {
  const started = Date.now();
  // skipMetasUpdate: this Queue only reads and promotes; the old app already wrote the queue's meta.
  const queue = options.bullmq.queue(LEGACY_QUEUE, { skipMetasUpdate: true });
  queue.on('error', () => undefined);
  try {
    const ids = await promoteByName(queue, options.name);
    const deadline = started + options.timeoutMs;
    for (;;) {
      if (options.signal.aborted) throw demoStopped();
      const counts = await queue.getJobCounts(...UNFINISHED);
      const states = await Promise.all(ids.map((id) => queue.getJobState(id)));
      const failed = ids.filter((_, i) => states[i] === 'failed');
      if (failed.length > 0) throw new Error(`the old workers failed ${failed.length} ${options.name} job(s), e.g. ${failed[0]}`);
      const completed = states.filter((s) => s === 'completed').length;
      if (completed === ids.length && unfinished(counts) === 0) return { promoted: ids.length, completed, ms: Date.now() - started };
      if (Date.now() > deadline) {
        throw new Error(`after ${Math.round(options.timeoutMs / 1000)} s the old workers had completed ${completed} of ${ids.length} ${options.name} job(s) and ${LEGACY_QUEUE} still had ${unfinished(counts)} job(s) to run`);
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
    }
  } finally {
    await queue.close().catch(() => undefined);
  }
}

/** Promotes every delayed job named `name`, page by page; returns their ids. */
async function promoteByName(queue: Queue, name: string): Promise<string[]> {
  const PAGE = 500;
  const mine: string[] = [];
  // Promoting removes jobs from `delayed`, so collect first, then promote: the pages stay stable.
  const jobs = [];
  for (let start = 0; ; start += PAGE) {
    const page = await queue.getDelayed(start, start + PAGE - 1);
    jobs.push(...page.filter((job) => job?.name === name));
    if (page.length < PAGE) break;
  }
  for (const job of jobs) {
    await job.promote();
    mine.push(job.id as string);
  }
  return mine;
}

/** What the action shows once the old deployment has finished its last jobs and been retired. */
export function describeFinish(report: FinishReport, name: string, workers: number): string[] {
  return [
    `The old deployment promoted its ${report.promoted} delayed ${name} job(s) and its workers completed them in ${(report.ms / 1000).toFixed(1)} s; ${LEGACY_QUEUE} has nothing left to run.`,
    `Closed the ${workers} old workers: the old deployment is retired.`,
  ];
}
