import type { Context } from '../context.js';
import { runJobOp, type JobOpOptions } from '../jobs/job-op.js';

/** `queuectl job promote <queue>/<id>`: a delayed job becomes waiting now (BullMQ's Job.promote). */
export async function run(opts: JobOpOptions, ctx: Context, args: string[] = []): Promise<number> {
  return runJobOp({
    op: 'promote', from: ['delayed'], onlyFrom: 'delayed', to: 'waiting', confirm: false,
    apply: (job) => job.promote(),
  }, opts, ctx, args);
}
