import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { renderJob } from '../inspect/render.js';
import { readJobs, resolveRef, withJobSite } from '../jobs/open.js';

/** `queuectl job show <queue>/<id>`: everything about one job (inspect's job reader and renderer). Read-only. */
export async function run(_opts: unknown, ctx: Context, args: string[] = []): Promise<number> {
  if (args.length !== 1) throw new UsageError('job show takes one job reference', 'queuectl job show <queue>/<id>');
  return withJobSite(ctx, async (site) => {
    const { queue, id } = await resolveRef(ctx, site, args[0]);
    const [job] = await readJobs(site, queue, [id]);
    if (ctx.out.json) ctx.out.printJson({ schema: 'queuectl/job@1', target: site.where, job });
    else ctx.out.print(renderJob(job, { color: ctx.out.color }));
    return 0;
  });
}
