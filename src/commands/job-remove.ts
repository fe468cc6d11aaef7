import type { Context } from '../context.js';
import { runJobOp, type JobOpOptions } from '../jobs/job-op.js';

/**
 * `queuectl job remove <queue>/<id>`: deletes one job and its logs (BullMQ's Job.remove, children
 * too). An active job is refused: its worker holds the lock (BullMQ refuses it as well).
 */
export async function run(opts: JobOpOptions, ctx: Context, args: string[] = []): Promise<number> {
  return runJobOp({
    op: 'remove', from: ['waiting', 'prioritized', 'delayed', 'completed', 'failed', 'waiting-children'],
    onlyFrom: 'waiting, prioritized, delayed, completed, failed or waiting-children', to: 'removed', confirm: true,
    apply: (job) => job.remove(),
  }, opts, ctx, args);
}
