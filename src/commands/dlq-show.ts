import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { openScope } from '../dlq/scope.js';
import type { ShowParts } from '../dlq/store.js';
import type { DlqItem } from '../dlq/types.js';

/** `queuectl dlq show <ref>`: everything about one dead letter, stack trace and payload included. */
export async function run(_opts: unknown, ctx: Context, args: string[] = []): Promise<number> {
  if (args.length !== 1) throw new UsageError('dlq show takes one reference', 'queuectl dlq show <queue>/<id>');
  const scope = await openScope(ctx, {});
  const { store } = scope;
  const doc = await store.guard(async () => {
    const { items, live } = await store.resolve(scope.sources, args, Object.keys(scope.topology.legacy));
    if (live.length) throw new UsageError(`${live[0]} is not a dead letter (it is no longer in the failed set)`, `see it with \`queuectl inspect job ${live[0].replace('/', ' ')}\``);
    const item = items[0];
    return { item, ...(await store.show(item, scope.topology)) };
  });
  if (ctx.globals.json) ctx.out.printJson({ schema: 'queuectl/dlq-show@1', ...doc });
  else ctx.out.print(renderShow(doc));
  return 0;
}

interface ShowDoc extends ShowParts {
  item: DlqItem;
}

function renderShow(doc: ShowDoc): string {
  const { item } = doc;
  const lines = [
    `ref:          ${item.ref}`,
    `queue:        ${item.queue}${item.style === 'queue' ? `  (dead-letter queue ${item.holder})` : ''}`,
    `id:           ${item.id}`,
    `name:         ${item.name}`,
    `status:       ${item.status}`,
    `attempts:     ${item.attemptsMade}`,
    `failed at:    ${new Date(item.failedAt).toISOString()}`,
    `reason:       ${item.failedReason}`,
  ];
  if (item.orgId !== undefined) lines.push(`org:          ${item.orgId}`);
  if (item.unreadable !== undefined) lines.push(`unreadable:   ${item.unreadable}: the item does not fit its queue's item shape (never retried; discard it, or declare deadLetter.fields)`);
  for (const [k, v] of Object.entries(doc.marks ?? {})) lines.push(`${`${k}:`.padEnd(14)}${v}`);
  if (doc.job) {
    lines.push(`created:      ${doc.job.timestamp === null ? '-' : new Date(doc.job.timestamp).toISOString()}`, `worker:       ${doc.job.processedBy ?? '-'}`, `logs:         ${doc.job.logs}`);
    lines.push('', 'stack trace:', ...(doc.job.stacktrace.length ? doc.job.stacktrace.map((s) => indent(s)) : ['  (none)']));
    lines.push('', 'payload:', indent(JSON.stringify(doc.job.data, null, 2)), '', 'options:', indent(JSON.stringify(doc.job.opts, null, 2)));
  } else {
    if (doc.carried) {
      lines.push('', 'stack trace:', indent(doc.carried.stack ?? '(none)'));
      lines.push('', 'payload:', indent(JSON.stringify(doc.carried.data ?? null, null, 2)));
    }
    lines.push('', 'dead-letter item:', indent(JSON.stringify(doc.payload, null, 2) ?? '(none)'));
  }
  return lines.join('\n');
}

const indent = (text: string) => text.split('\n').map((l) => `  ${l}`).join('\n');
