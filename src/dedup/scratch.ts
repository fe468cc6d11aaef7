import type { Job, Worker } from 'bullmq';
import type { DedupSite } from './site.js';
import { producerOptions } from './options.js';
import type { QueuePlan } from './plan.js';
import { ALL_STATES, addCopies, listenForAdds, openProducers, waitForOutcomes } from './producers.js';
import type { ScratchObservation } from './verdict.js';
import { waitFor } from './wait.js';

type CheckPlan = Extract<QueuePlan, { kind: 'check' }>;

export interface ScratchSettings {
  /** The run's scratch prefix (`queuectl-dedup-…`, hash-tagged on a cluster): never the real one. */
  prefix: string;
  /** How long the canary may take to fail, back off, retry and complete. */
  settleMs: number;
  signal: AbortSignal;
}

/**
 * Enqueues the plan's n copies concurrently on the scratch prefix, counts the jobs they made,
 * then runs a canary worker that fails each job's first attempt and lets the retry succeed.
 * Leaves keys behind: the caller removes the scratch prefix in a finally.
 */
export async function observeOnScratch(site: DedupSite, plan: CheckPlan, settings: ScratchSettings): Promise<ScratchObservation> {
  const { prefix, signal } = settings;
  const { job: options, backoffStrategy } = producerOptions(plan.spec, true);
  const n = plan.copies.length;
  // From the start of a fresh scratch queue (0-0 on Redis, 0 on PostgreSQL): no event can slip by.
  const from = await site.lastEventId(plan.queue, prefix);
  const events = await listenForAdds(site, plan.queue, prefix, from);
  const producers = openProducers(site, plan.queue, prefix, n);
  let worker: Worker | undefined;
  try {
    await addCopies(plan, producers, plan.spec.jobs[0] ?? 'queuectl.dedup-canary', options);
    await waitForOutcomes(events, n, signal);
    // Counted before any worker runs, so removeOnComplete cannot hide a second job.
    const counts = await producers.queues[0].getJobCounts(...ALL_STATES);
    const jobs = Object.values(counts).reduce((a, b) => a + b, 0);
    const duplicateEvents = await site.duplicateReports(plan.queue, prefix, from, undefined, events.duplicated);
    const dedupKey = plan.spec.deduplication ? await site.dedupKey(plan.queue, prefix, String(plan.copies[0].deduplicationId)) : undefined;

    let attempts = 0;
    let completions = 0;
    const started = new Set<string>();
    const settled = new Set<string>();
    worker = site.worker(
      plan.queue,
      prefix,
      async (job: Job) => {
        attempts += 1;
        const first = !started.has(String(job.id));
        started.add(String(job.id));
        if (first) throw new Error('queuectl dedup-check canary: the first attempt fails on purpose');
        completions += 1;
        return 'ok';
      },
      {
        concurrency: plan.spec.concurrency ?? 1,
        ...(backoffStrategy ? { settings: { backoffStrategy } } : {}),
      },
    );
    worker.on('error', () => undefined); // a lost connection shows up as a canary that never settles
    worker.on('completed', (job) => settled.add(String(job.id)));
    worker.on('failed', (job) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) settled.add(String(job.id));
    });
    const done = await waitFor(() => settled.size >= jobs, settings.settleMs, signal);
    return { jobs, attempts, completions, duplicateEvents, settled: done, settleMs: settings.settleMs, dedupKey };
  } finally {
    await worker?.close(true).catch(() => undefined);
    await events.close().catch(() => undefined);
    await producers.close();
  }
}
