import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { knownQueues, refused, withJobSite } from '../jobs/open.js';
import { renderTable } from '../ui/table.js';

/**
 * `queuectl job find <id>`: every queue (declared, legacy and live) that holds a job with this id,
 * with its state. One probe per queue in one round trip (Redis: pipelined HEXISTS of each
 * `<prefix>:<queue>:<id>`; PostgreSQL: a primary-key probe per queue), never a scan of the jobs.
 * Like grep: exit 1 when no queue holds it.
 */
export async function run(_opts: unknown, ctx: Context, args: string[] = []): Promise<number> {
  if (args.length !== 1 || args[0] === '') throw new UsageError('job find takes one job id', 'queuectl job find <id>');
  const [id] = args;
  return withJobSite(ctx, async (site) => {
    const { known: queues } = await knownQueues(ctx, site);
    const holders = await site.findJob(id, queues);
    const matches = [];
    for (const queue of holders) {
      const job = await site.guard(() => site.inspect.readJob(queue, id));
      if (job) matches.push({ ref: `${queue}/${id}`, queue, id, name: job.name, state: job.state, createdAt: job.createdAt });
    }
    ctx.out.printJson({ schema: 'queuectl/job-find@1', target: site.where, id, searched: queues.length, matches });
    if (matches.length === 0) throw refused(`no job with id "${id}" in any of the ${queues.length} queues on ${site.where}`, 'check the id; a job removed on completion (removeOnComplete) leaves nothing to find');
    ctx.out.print(renderTable(['job', 'name', 'state', 'created'], matches.map((m) => [m.ref, m.name, m.state, m.createdAt ?? '-']), { color: ctx.out.color }));
    return 0;
  });
}
