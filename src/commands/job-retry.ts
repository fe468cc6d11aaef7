import type { Context } from '../context.js';
import { runJobOp, type JobOpOptions } from '../jobs/job-op.js';

/**
 * `queuectl job retry <queue>/<id>`: a failed or completed job runs again, under its own id, with
 * its attempts reset (BullMQ's Job.retry, as `dlq retry` resets them).
 */
export async function run(opts: JobOpOptions, ctx: Context, args: string[] = []): Promise<number> {
  return runJobOp({
    op: 'retry', from: ['failed', 'completed'], onlyFrom: 'failed or completed', to: 'waiting', confirm: false,
    apply: (job, view) => job.retry(view.state as 'failed' | 'completed', { resetAttemptsMade: true, resetAttemptsStarted: true }),
  }, opts, ctx, args);
}
