import type { Context } from '../context.js';
import { checkQueueNames, withJobSite } from '../jobs/open.js';
import { describePause, planPause } from '../jobs/plan.js';

export interface QueuePauseOptions {
  dryRun?: boolean;
}

/** `queuectl queue pause <queue…>`: workers take no new job from these queues (BullMQ's Queue.pause); active jobs finish. */
export async function run(opts: QueuePauseOptions, ctx: Context, args: string[] = []): Promise<number> {
  return pauseOrResume(true, opts, ctx, args);
}

/** pause and resume are one operation with two directions (queue-resume.ts calls this with false). */
export async function pauseOrResume(pause: boolean, opts: QueuePauseOptions, ctx: Context, args: string[]): Promise<number> {
  return withJobSite(ctx, async (site) => {
    const names = await checkQueueNames(ctx, site, args);
    const live = await site.guard(() => site.inspect.readQueues(names.map((name) => ({ name, kind: 'undeclared' as const })), { workers: false }));
    const steps = planPause(live, pause);
    const dryRun = Boolean(opts.dryRun);
    if (!dryRun) {
      for (const step of steps.filter((s) => s.change)) {
        const queue = site.queue(step.queue);
        await site.guard(() => (pause ? queue.pause() : queue.resume()));
      }
    }
    ctx.out.print([...describePause(steps, pause, dryRun), ...(dryRun ? ['dry run: nothing changed'] : [])].join('\n'));
    ctx.out.printJson({
      schema: 'queuectl/queue-op@1', op: pause ? 'pause' : 'resume', target: site.where, dryRun,
      queues: steps.map((s) => ({ queue: s.queue, wasPaused: s.wasPaused, paused: dryRun ? s.wasPaused : pause, changed: !dryRun && s.change })),
    });
    return 0;
  });
}
