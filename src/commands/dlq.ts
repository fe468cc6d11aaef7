import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { formatAgo } from '../ui/format.js';
import { openScope } from '../dlq/scope.js';

/**
 * `queuectl dlq` with no subcommand: on a terminal, pick dead letters from the newest 200, then
 * retry or discard them (through the same commands, so the same plan and confirmation apply).
 */
export async function run(_opts: unknown, ctx: Context): Promise<number> {
  if (!ctx.prompt.interactive) {
    throw new UsageError('dlq needs a subcommand off a terminal', 'queuectl dlq list|show|retry|discard|stats (see queuectl dlq --help)');
  }
  const scope = await openScope(ctx, {});
  const items = await scope.store.guard(() => scope.store.collect(scope.sources, { filters: {}, fields: true, limit: 200 }));
  if (items.length === 0) {
    ctx.out.print('No dead letters.');
    return 0;
  }
  const picked = await ctx.prompt.pick('Dead letters (newest first):', items.map((i) => ({
    name: `${i.ref}  ${i.name}  ${(i.unreadable !== undefined ? `unreadable: ${i.unreadable}` : i.failedReason).split('\n')[0].slice(0, 60)}  ${formatAgo(i.failedAt, scope.now)}`, value: i.ref,
  })));
  if (picked.length === 0) {
    ctx.out.note('nothing picked');
    return 0;
  }
  const action = await ctx.prompt.select(`${picked.length} picked:`, [
    { name: 'retry', value: 'retry' as const }, { name: 'discard', value: 'discard' as const }, { name: 'cancel', value: 'cancel' as const },
  ]);
  if (action === 'retry') return (await import('./dlq-retry.js')).run({}, ctx, picked);
  if (action === 'discard') {
    const { input } = await import('@inquirer/prompts');
    const reason = await input({ message: 'Reason (recorded with each discard):', required: true });
    return (await import('./dlq-discard.js')).run({ reason }, ctx, picked);
  }
  ctx.out.note('cancelled');
  return 0;
}
