import { renderTable } from '../ui/table.js';
import { formatAgo } from '../ui/format.js';
import { dict } from '../util/dict.js';
import { describeBlocking, type Blocking } from './preflight.js';
import type { DlqItem } from './types.js';
import type { StatsRow } from './stats.js';

/** `--json` of `dlq list` (contract: JSON output). */
export function listDocument(items: DlqItem[]) {
  return {
    schema: 'queuectl/dlq-list@1',
    items: items.map((i) => ({
      ref: i.ref, queue: i.queue, id: i.id, name: i.name, failedReason: i.failedReason, attemptsMade: i.attemptsMade,
      failedAt: new Date(i.failedAt).toISOString(),
      style: i.style, ...(i.style === 'queue' ? { deadLetterQueue: i.holder, status: i.status } : {}), ...(i.orgId !== undefined ? { orgId: i.orgId } : {}),
      ...(i.unreadable !== undefined ? { unreadable: i.unreadable } : {}),
    })),
  };
}

function oneLine(text: string, max: number): string {
  const line = text.split('\n')[0];
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function renderList(items: DlqItem[], options: { color: boolean; now: number; limit?: number }): string {
  if (items.length === 0) return 'No dead letters match.';
  const rows = items.map((i) => [i.ref, i.queue === i.holder ? i.queue : `${i.queue || '?'} ← ${i.holder}`, i.name,
    i.unreadable !== undefined ? oneLine(`unreadable: ${i.unreadable}`, 60) : oneLine(i.failedReason, 60), i.unreadable !== undefined ? '?' : i.attemptsMade, formatAgo(i.failedAt, options.now)]);
  const table = renderTable(['ref', 'queue', 'name', 'reason', 'attempts', 'failed'], rows, { color: options.color, borders: false, alignRight: [4], dropFirst: [4, 2, 1] });
  const more = options.limit !== undefined && items.length >= options.limit ? `\n(first ${options.limit}; --limit <n> or --all for more)` : '';
  return table + more;
}

/** The retry/discard plan, as printed before confirming and by --dry-run. */
export function renderPlan(verb: string, items: DlqItem[], refused: { ref: string; reason: string }[], blocking: Blocking[] = []): string {
  const perQueue = countBy(items, (i) => (i.target && i.target !== i.queue ? `${i.target} (from legacy ${i.queue})` : i.queue));
  const lines = [`Plan: ${verb} ${items.length} dead letter${items.length === 1 ? '' : 's'}`];
  for (const [queue, n] of Object.entries(perQueue)) lines.push(`  ${queue}: ${n}`);
  const perName = countBy(items, (i) => i.name || '(no name)');
  if (Object.keys(perName).length > 1) lines.push(`  by name: ${Object.entries(perName).map(([n, c]) => `${n} ${c}`).join(', ')}`);
  for (const r of refused.slice(0, 20)) lines.push(`  refused ${r.ref}: ${r.reason}`);
  if (refused.length > 20) lines.push(`  … and ${refused.length - 20} more refused`);
  for (const b of blocking) lines.push(`  blocked: ${describeBlocking(b)} (the ${verb} would refuse every batch touching it)`);
  return lines.join('\n');
}

export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out = dict<number>();
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

export function renderStats(rows: StatsRow[], options: { color: boolean; now: number }): string {
  if (rows.length === 0) return 'No declared queues.';
  const table = renderTable(['queue', 'dead letters', 'in', 'oldest', 'top reasons'],
    rows.map((r) => [r.queue, r.count, r.style === 'failed' ? 'failed set' : r.holder, r.oldestAt === null ? '-' : formatAgo(r.oldestAt, options.now),
      r.topReasons.map((t) => `${t.count}× ${oneLine(t.reason, 50)}`).join('\n') || '-']),
    { color: options.color, alignRight: [1], dropFirst: [2] });
  const sampled = rows.filter((r) => r.sampled < r.count);
  return sampled.length ? `${table}\n(top reasons from the newest ${sampled[0].sampled} of large sets)` : table;
}
