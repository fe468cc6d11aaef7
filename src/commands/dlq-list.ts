import type { Context } from '../context.js';
import { positiveInt, type FilterFlags } from '../dlq/filters.js';
import { listDocument, renderList } from '../dlq/render.js';
import { openScope } from '../dlq/scope.js';

export interface DlqListOptions extends FilterFlags {
  limit?: string;
  all?: boolean;
}

/** `queuectl dlq list`: dead letters across declared queues, newest first. Read-only. */
export async function run(opts: DlqListOptions, ctx: Context): Promise<number> {
  const limit = opts.all ? undefined : positiveInt('--limit', opts.limit ?? '50');
  const scope = await openScope(ctx, opts);
  const items = await scope.store.guard(() => scope.store.collect(scope.sources, { filters: scope.filters, fields: true, limit }));
  if (ctx.globals.json) ctx.out.printJson(listDocument(items));
  else ctx.out.print(renderList(items, { color: ctx.out.color, now: scope.now, limit }));
  return 0;
}
