import type { Context } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import { bullmq, checkQueueNames, refused, withJobSite } from '../jobs/open.js';
import { describeCounts, jobsPhrase, totalJobs } from '../jobs/plan.js';

export interface QueueObliterateOptions {
  dryRun?: boolean;
  /** The queue's name, typed ahead (as `migrate --strategy drain --confirm` takes it). */
  confirm?: string;
}

/**
 * `queuectl queue obliterate <queue>`: deletes the queue and every job in it, with BullMQ's own
 * Queue.obliterate (pause, then delete in batches of 1000). BullMQ refuses while a job is active;
 * that is checked first, because BullMQ would pause the queue before refusing. On a terminal the
 * queue's name must be typed; off one, --yes (or --confirm <queue>) is required.
 */
export async function run(opts: QueueObliterateOptions, ctx: Context, args: string[] = []): Promise<number> {
  if (args.length !== 1) throw new UsageError('queue obliterate takes one queue', 'queuectl queue obliterate <queue>');
  const dryRun = Boolean(opts.dryRun);
  return withJobSite(ctx, async (site) => {
    const [queue] = await checkQueueNames(ctx, site, args);
    const [live] = await site.guard(() => site.inspect.readQueues([{ name: queue, kind: 'undeclared' }], { workers: false }));
    const counts = live.counts;
    const doc = { schema: 'queuectl/queue-op@1', op: 'obliterate', target: site.where, dryRun, queue, existed: live.exists, counts, deleted: 0, obliterated: false };
    if (!live.exists) {
      ctx.out.print(`${queue} holds nothing on ${site.where}: nothing to obliterate`);
      ctx.out.printJson(doc);
      return 0;
    }
    if (counts.active > 0) {
      throw refused(`${queue} has ${jobsPhrase(counts.active)} active: BullMQ obliterates only a queue with no active job`, `nothing was changed; \`queuectl queue pause ${queue}\`, let the workers finish, then rerun`);
    }
    const what = `Delete queue ${queue} and all its ${jobsPhrase(totalJobs(counts))} (${describeCounts(counts)})`;
    if (dryRun) {
      ctx.out.print(`would ${what[0].toLowerCase()}${what.slice(1)} on ${site.where}\ndry run: nothing changed`);
      ctx.out.printJson(doc);
      return 0;
    }
    if (!(await confirmObliterate(ctx, `${what} on ${site.where}?`, queue, opts.confirm))) {
      ctx.out.note('nothing changed');
      ctx.out.printJson(doc);
      return ExitCode.checkFailed; // declined: as answering "n" to migrate (README "Exit codes")
    }
    const q = site.queue(queue);
    await bullmq(site, `obliterate ${queue}`, () => q.obliterate());
    const [after] = await site.guard(() => site.inspect.readQueues([{ name: queue, kind: 'undeclared' }], { workers: false }));
    doc.obliterated = !after.exists;
    doc.deleted = totalJobs(counts) - totalJobs(after.counts);
    ctx.out.print(`obliterated ${queue}: ${jobsPhrase(doc.deleted)} deleted`);
    ctx.out.printJson(doc);
    return doc.obliterated ? 0 : 1;
  });
}

/** The typed name on a terminal; --yes or --confirm <queue> off one (exit 2 with neither). */
async function confirmObliterate(ctx: Context, message: string, queue: string, given: string | undefined): Promise<boolean> {
  if (given === undefined && ctx.globals.yes) return true;
  if (given === undefined && !ctx.prompt.interactive) {
    throw new UsageError(`obliterating ${queue} needs a typed confirmation and stdin is not a terminal`, `rerun with --yes (or --confirm ${queue})`);
  }
  return ctx.prompt.confirmByTyping(message, queue, given);
}
