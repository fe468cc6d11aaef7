import type { JobNameOptions, QueueSpec } from './types.js';

/** A queue's options as they apply to jobs of one name: its `jobOptions.<name>` over the queue's own. */
export type JobSpec = Omit<QueueSpec, 'jobOptions'> & JobNameOptions;

/**
 * The effective options of one job name, for anything that enqueues or re-adds a job as the
 * producer would (dedup-check's producer, dlq retry). Pure. A name without `jobOptions` gets
 * the queue's options unchanged.
 */
export function jobSpec(queue: QueueSpec, jobName: string): JobSpec {
  const { jobOptions, ...own } = queue;
  const overrides = jobOptions && Object.hasOwn(jobOptions, jobName) ? jobOptions[jobName] : undefined;
  return overrides ? { ...own, ...overrides } : own;
}
