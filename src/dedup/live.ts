import type { Queue } from 'bullmq';
import type { DedupSite } from './site.js';
import { producerOptions } from './options.js';
import type { QueuePlan } from './plan.js';
import { addCopies, listenForAdds, openProducers, waitForOutcomes } from './producers.js';
import type { LiveObservation } from './verdict.js';

type CheckPlan = Extract<QueuePlan, { kind: 'check' }>;

/** The canary's job name: unmistakable in any listing, owned by no worker. */
export const CANARY_NAME = 'queuectl.dedup-canary';

/** Due in ten years: no real worker will ever pick the canary up before it is removed. */
export const CANARY_DELAY_MS = 10 * 365 * 24 * 3600 * 1000;

/**
 * `--live`: adds the plan's n copies (a canary session) to the REAL queue, delayed far into the
 * future, counts the jobs they made and removes every one of them again, also when interrupted.
 */
export async function observeLive(site: DedupSite, plan: CheckPlan, prefix: string, signal: AbortSignal): Promise<LiveObservation> {
  const { job: options } = producerOptions(plan.spec, false);
  const n = plan.copies.length;
  const candidateIds = new Set(plan.copies.map((c) => c.jobId));
  // Only events after this point, and only for the canary's ids: the real queue is busy.
  const last = await site.lastEventId(plan.queue, prefix);
  const events = await listenForAdds(site, plan.queue, prefix, last, candidateIds);
  const producers = openProducers(site, plan.queue, prefix, n);
  const created = new Set<string>();
  const earliestDue = Date.now() + CANARY_DELAY_MS;
  let removed = false;
  try {
    const ids = await addCopies(plan, producers, CANARY_NAME, { ...options, delay: CANARY_DELAY_MS });
    ids.forEach((id) => created.add(id));
    await waitForOutcomes(events, n, signal);
    let jobs = 0;
    for (const id of created) {
      const job = await producers.queues[0].getJob(id);
      if (job?.name === CANARY_NAME) jobs += 1;
    }
    const duplicateEvents = await site.duplicateReports(plan.queue, prefix, last, candidateIds, events.duplicated);
    return { jobs, jobIds: [...created], duplicateEvents, removed: true };
  } finally {
    removed = await removeCanaries(producers.queues[0], created);
    if (created.size > 0) await site.afterCanaries(plan.queue, prefix, earliestDue).catch(() => undefined);
    await events.close().catch(() => undefined);
    await producers.close();
    if (!removed) throw new Error(`could not remove canary job(s) ${[...created].join(', ')} from ${plan.queue} — remove them by hand`);
  }
}

async function removeCanaries(queue: Queue, ids: Set<string>): Promise<boolean> {
  let ok = true;
  for (const id of ids) {
    try {
      const job = await queue.getJob(id);
      // Never remove a real job that happened to own the id: only ours carries the canary name.
      if (job?.name === CANARY_NAME) await job.remove();
      if ((await queue.getJob(id))?.name === CANARY_NAME) ok = false;
    } catch {
      ok = false;
    }
  }
  return ok;
}
