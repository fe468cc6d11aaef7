import type { QueueSpec, Retention } from '../topology/types.js';

/** The custom backoff type a `steps` table becomes (the worker's backoffStrategy computes it). */
const STEPS_BACKOFF = 'queuectl-steps';

function keep(retention: Retention | undefined): unknown {
  if (retention === undefined || typeof retention === 'boolean') return retention;
  // BullMQ's KeepJobs.age is in seconds; the topology's is in milliseconds.
  const kept: { age?: number; count?: number } = {};
  if (retention.age !== undefined) kept.age = Math.ceil(retention.age / 1000);
  if (retention.count !== undefined) kept.count = retention.count;
  return kept;
}

/**
 * The opts JSON of a job re-added from a dead-letter queue: the target queue's declared attempts,
 * backoff and retention, as a producer following the topology would pass them.
 */
export function jobOptsFor(spec: QueueSpec | undefined): string {
  const opts: Record<string, unknown> = {};
  if (spec?.attempts !== undefined) opts.attempts = spec.attempts;
  const backoff = spec?.backoff;
  if (backoff) {
    opts.backoff = backoff.type === 'steps' ? { type: STEPS_BACKOFF } : { type: backoff.type, delay: backoff.delay, ...(backoff.jitter === undefined ? {} : { jitter: backoff.jitter }) };
  }
  const rc = keep(spec?.removeOnComplete);
  if (rc !== undefined) opts.removeOnComplete = rc;
  const rf = keep(spec?.removeOnFail);
  if (rf !== undefined) opts.removeOnFail = rf;
  return JSON.stringify(opts);
}
