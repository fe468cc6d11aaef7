import type { Context } from '../context.js';
import type { FilterFlags } from '../dlq/filters.js';
import { renderStats } from '../dlq/render.js';
import { openScope } from '../dlq/scope.js';

/** `queuectl dlq stats`: per queue dead letters, the oldest, top failure reasons. Read-only. */
export async function run(opts: Pick<FilterFlags, 'queue'>, ctx: Context): Promise<number> {
  const scope = await openScope(ctx, { queue: opts.queue });
  const rows = await scope.store.guard(() => scope.store.stats(scope.sources));
  if (ctx.globals.json) {
    ctx.out.printJson({
      schema: 'queuectl/dlq-stats@1',
      queues: rows.map((r) => ({ ...r, oldestAt: r.oldestAt === null ? null : new Date(r.oldestAt).toISOString() })),
    });
  } else {
    ctx.out.print(renderStats(rows, { color: ctx.out.color, now: scope.now }));
  }
  return 0;
}
