import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { bullmq, checkQueueNames, jobNotFound, readJobs, refused, withJobSite } from '../jobs/open.js';
import { jobsPhrase } from '../jobs/plan.js';
import type { JobSite } from '../jobs/site.js';

export interface QueuePromoteOptions {
  all?: boolean;
  dryRun?: boolean;
}

/**
 * `queuectl queue promote <queue> --all | <id…>`: delayed jobs become waiting now (BullMQ's
 * Queue.promoteJobs, or Job.promote per id). Every named id is checked first: one that does not
 * exist (exit 2) or is not delayed (exit 1) stops the command before any job moves.
 */
export async function run(opts: QueuePromoteOptions, ctx: Context, args: string[] = []): Promise<number> {
  const [name, ...ids] = args;
  if (name === undefined) throw new UsageError('queue promote needs a queue', 'queuectl queue promote <queue> --all | <id…>');
  if (opts.all && ids.length > 0) throw new UsageError('queue promote takes --all or job ids, not both', 'drop --all to promote only the named jobs');
  if (!opts.all && ids.length === 0) throw new UsageError('queue promote needs job ids or --all', `queuectl queue promote ${name} --all`);
  const dryRun = Boolean(opts.dryRun);
  return withJobSite(ctx, async (site) => {
    const [queue] = await checkQueueNames(ctx, site, [name]);
    const doc = { schema: 'queuectl/queue-op@1', op: 'promote', target: site.where, dryRun, queue, planned: 0, promoted: 0, ids: [] as string[] };
    if (opts.all) {
      const delayed = await delayedCount(site, queue);
      doc.planned = delayed;
      if (!dryRun && delayed > 0) {
        const q = site.queue(queue);
        await bullmq(site, `promote the delayed jobs of ${queue}`, () => q.promoteJobs({ count: 1000 }));
        doc.promoted = Math.max(0, delayed - (await delayedCount(site, queue)));
      }
      ctx.out.print(dryRun ? `would promote ${jobsPhrase(delayed)} of ${queue} from delayed to waiting\ndry run: nothing changed`
        : delayed === 0 ? `${queue} has no delayed job: nothing to do` : `promoted ${jobsPhrase(doc.promoted)} of ${queue} to waiting`);
    } else {
      const unique = [...new Set(ids)];
      const jobs = await readJobs(site, queue, unique);
      const notDelayed = jobs.find((j) => j.state !== 'delayed');
      if (notDelayed) throw refused(`job ${queue}/${notDelayed.id} is ${notDelayed.state}, not delayed: only delayed jobs can be promoted`, 'nothing was promoted; leave it out');
      doc.planned = unique.length;
      doc.ids = unique;
      if (!dryRun) {
        const q = site.queue(queue);
        for (const id of unique) {
          const job = await site.guard(() => q.getJob(id));
          if (!job) throw jobNotFound(queue, id);
          await bullmq(site, `promote ${queue}/${id}`, () => job.promote());
          doc.promoted += 1;
        }
      }
      ctx.out.print(unique.map((id) => `${dryRun ? 'would promote' : 'promoted'} ${queue}/${id} (delayed → waiting)`).concat(dryRun ? ['dry run: nothing changed'] : []).join('\n'));
    }
    ctx.out.printJson(doc);
    return 0;
  });
}

async function delayedCount(site: JobSite, queue: string): Promise<number> {
  const [live] = await site.guard(() => site.inspect.readQueues([{ name: queue, kind: 'undeclared' }], { workers: false }));
  return live?.counts.delayed ?? 0;
}

