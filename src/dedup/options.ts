import type { BackoffOptions, JobsOptions, KeepJobs } from 'bullmq';
import type { Backoff, Millis, QueueSpec, Retention } from '../topology/types.js';
import { formatMillis } from './format.js';

/** The custom backoff type a `steps` table becomes; the worker's backoffStrategy computes it. */
export const STEPS_BACKOFF = 'queuectl-steps';

/** How long the canary waits between attempts: the declared shape, but never longer than this. */
export const CANARY_MAX_DELAY: Millis = 25;

export interface ProducerOptions {
  /** Job options as the producer passes them to Queue.add (jobId and deduplication added per copy). */
  job: JobsOptions;
  /** For `steps` backoff: the worker setting that turns attempt n into steps[n-1]. */
  backoffStrategy?: (attemptsMade: number) => number;
}

/** BullMQ's KeepJobs.age is in seconds; the topology's is in milliseconds. */
function keepJobs(retention: Retention | undefined): boolean | KeepJobs | undefined {
  if (retention === undefined || typeof retention === 'boolean') return retention;
  const keep: { age?: number; count?: number } = {};
  if (retention.age !== undefined) keep.age = Math.ceil(retention.age / 1000);
  if (retention.count !== undefined) keep.count = retention.count;
  // An empty bound keeps everything, as `false` does.
  return keep.age === undefined && keep.count === undefined ? false : (keep as KeepJobs);
}

function backoffOptions(backoff: Backoff, shorten: (ms: Millis) => Millis): { backoff: BackoffOptions; strategy?: (n: number) => number } {
  const jitter = backoff.jitter === undefined ? {} : { jitter: backoff.jitter };
  if (backoff.type !== 'steps') return { backoff: { type: backoff.type, delay: shorten(backoff.delay), ...jitter } };
  const steps = backoff.steps.map(shorten);
  // Retry n waits steps[n-1]; the last step repeats (topology/types.ts).
  return { backoff: { type: STEPS_BACKOFF }, strategy: (attemptsMade) => steps[Math.min(Math.max(attemptsMade, 1), steps.length) - 1] ?? 0 };
}

/**
 * The topology's job options mapped to BullMQ, as a producer would pass them. For the canary
 * (`shorten: true`) every backoff delay is cut to at most CANARY_MAX_DELAY so a retry takes
 * milliseconds, while attempts, retention and deduplication stay as declared.
 */
export function producerOptions(spec: QueueSpec, shorten: boolean): ProducerOptions {
  const job: JobsOptions = {};
  if (spec.attempts !== undefined) job.attempts = spec.attempts;
  const removeOnComplete = keepJobs(spec.removeOnComplete);
  if (removeOnComplete !== undefined) job.removeOnComplete = removeOnComplete;
  const removeOnFail = keepJobs(spec.removeOnFail);
  if (removeOnFail !== undefined) job.removeOnFail = removeOnFail;
  if (!spec.backoff) return { job };
  const mapped = backoffOptions(spec.backoff, shorten ? (ms) => Math.min(ms, CANARY_MAX_DELAY) : (ms) => ms);
  job.backoff = mapped.backoff;
  return { job, backoffStrategy: mapped.strategy };
}

/**
 * A warning when removeOnComplete lets a later duplicate create a second job: BullMQ only
 * refuses an id while the job's hash exists, and removing a completed job frees its id.
 */
export function retentionWarning(retention: Retention | undefined): string | undefined {
  if (retention === undefined || retention === false) return undefined;
  if (retention === true) {
    return 'removeOnComplete: true removes a job as soon as it completes, so a duplicate enqueued after that creates a second job and runs the work again';
  }
  const windows: string[] = [];
  if (retention.age !== undefined) windows.push(`more than ${formatMillis(retention.age)} after completion`);
  if (retention.count !== undefined) windows.push(`after ${retention.count} newer completions`);
  if (windows.length === 0) return undefined;
  return `removeOnComplete frees a completed job's id, so a duplicate arriving ${windows.join(' or ')} creates a second job`;
}
