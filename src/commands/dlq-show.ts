import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { readJob } from '../inspect/read-job.js';
import { resolveRefs } from '../dlq/refs.js';
import { mapRedis, openScope } from '../dlq/scope.js';
import type { DlqItem } from '../dlq/types.js';
import { readCarried } from '../dlq/shape.js';
import { shapeOf } from '../dlq/sources.js';

/** `queuectl dlq show <ref>`: everything about one dead letter, stack trace and payload included. */
export async function run(_opts: unknown, ctx: Context, args: string[] = []): Promise<number> {
  if (args.length !== 1) throw new UsageError('dlq show takes one reference', 'queuectl dlq show <queue>/<id>');
  const scope = await openScope(ctx, {});
  const { handle, prefix } = scope;
  const doc = await mapRedis(handle, async () => {
    const { items, live } = await resolveRefs(handle, prefix, scope.sources, args, Object.keys(scope.topology.legacy));
    if (live.length) throw new UsageError(`${live[0]} is not a dead letter (it is no longer in the failed set)`, `see it with \`queuectl inspect job ${live[0].replace('/', ' ')}\``);
    const item = items[0];
    if (item.style === 'failed') return { item, job: await readJob(handle, prefix, item.queue, item.id) };
    const raw = await handle.client.hgetall(`${prefix}:${item.holder}:${item.holderId}`);
    let payload: unknown = raw.data;
    try {
      payload = JSON.parse(raw.data ?? 'null');
    } catch {
      // shown as written
    }
    const carried = readCarried(raw.data, shapeOf(scope.topology, item.holder));
    const job = 'problem' in carried ? undefined : { data: carried.data, stack: carried.stack ?? null };
    const marks = Object.fromEntries(Object.entries(raw).filter(([k]) => k.startsWith('queuectl.')).map(([k, v]) => [k.slice('queuectl.'.length), v]));
    return { item, payload, carried: job, marks };
  });
  if (ctx.globals.json) ctx.out.printJson({ schema: 'queuectl/dlq-show@1', ...doc });
  else ctx.out.print(renderShow(doc));
  return 0;
}

interface ShowDoc {
  item: DlqItem;
  job?: { data: unknown; stacktrace: string[]; opts: unknown; timestamp: number | null; processedBy: string | null; logs: number } | undefined;
  payload?: unknown;
  /** A dead-letter item's job, read with its queue's item shape (absent when unreadable). */
  carried?: { data: unknown; stack: string | null } | undefined;
  marks?: Record<string, string>;
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
