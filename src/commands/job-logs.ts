import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { readJobs, resolveRef, withJobSite } from '../jobs/open.js';
import { positiveInt } from '../dlq/filters.js';

export interface JobLogsOptions {
  /** Only the last n lines. */
  tail?: string;
}

/** Lines per read, so a long log never arrives as one reply. */
const PAGE = 1000;

/** `queuectl job logs <queue>/<id> [--tail n]`: the lines the job's processor logged (job.log), oldest first (BullMQ's Queue.getJobLogs). */
export async function run(opts: JobLogsOptions, ctx: Context, args: string[] = []): Promise<number> {
  if (args.length !== 1) throw new UsageError('job logs takes one job reference', 'queuectl job logs <queue>/<id>');
  const tail = positiveInt('--tail', opts.tail);
  return withJobSite(ctx, async (site) => {
    const { queue, id } = await resolveRef(ctx, site, args[0]);
    const [job] = await readJobs(site, queue, [id]);
    const q = site.queue(queue);
    const first = tail === undefined ? 0 : Math.max(0, job.logs - tail);
    const logs: string[] = [];
    for (let start = first; start < job.logs; start += PAGE) {
      const page = await site.guard(() => q.getJobLogs(id, start, Math.min(start + PAGE, job.logs) - 1, true));
      if (ctx.out.json) logs.push(...page.logs);
      else if (page.logs.length) ctx.out.print(page.logs.join('\n'));
      if (page.logs.length === 0) break;
    }
    ctx.out.printJson({ schema: 'queuectl/job-logs@1', target: site.where, ref: `${queue}/${id}`, queue, id, count: job.logs, logs });
    if (job.logs === 0) ctx.out.note(`${queue}/${id} has no log lines`);
    return 0;
  });
}
