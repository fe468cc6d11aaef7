import { execReads, type RedisReader } from '../inspect/reads.js';
import { scanSource, type ScanOptions } from './read.js';
import type { DlqItem, DlqSource } from './types.js';

export interface StatsRow {
  queue: string;
  style: DlqItem['style'];
  holder: string;
  count: number;
  oldestAt: number | null;
  /** How many of the newest items the reasons were counted over. */
  sampled: number;
  topReasons: { reason: string; count: number }[];
}

/** The stats row of a dead-letter queue's items that do not fit its item shape. */
export const UNREADABLE = '(unreadable)';

/** Reasons are counted over at most this many of the newest items of each set. */
export const STATS_SAMPLE = 10_000;
const TOP = 5;

/** Top reasons by count; equal reasons are the first line of the message, trimmed. Pure. */
export function topReasons(reasons: string[], top = TOP): { reason: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const r of reasons) {
    const key = r.split('\n')[0].trim() || '(no reason)';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, top).map(([reason, count]) => ({ reason, count }));
}

/** How stats reads a backend: a source's items (newest first), and a failed set's exact count and oldest. */
export interface StatsReads {
  scan(source: DlqSource, options: ScanOptions): AsyncGenerator<DlqItem[]>;
  failedCount(queue: string): Promise<{ count: number; oldestAt: number | null }>;
}

async function sample(io: StatsReads, source: DlqSource, max: number): Promise<DlqItem[]> {
  const items: DlqItem[] = [];
  for await (const window of io.scan(source, { filters: {}, fields: true, window: 1000 })) {
    items.push(...window);
    if (items.length >= max) break;
  }
  return items;
}

/**
 * Per queue: dead letters, oldest, top reasons. A failed set is counted exactly (ZCARD, oldest by
 * score) and its reasons sampled from the newest STATS_SAMPLE; a dead-letter queue is read item by
 * item (its items say which queue they came from), pending items only.
 */
export function gatherStats(reader: RedisReader, prefix: string, sources: DlqSource[]): Promise<StatsRow[]> {
  return gatherStatsWith({
    scan: (source, options) => scanSource(reader, prefix, source, options),
    failedCount: async (queue) => {
      const key = `${prefix}:${queue}:failed`;
      const [count, oldest] = await execReads(reader.client, [['zcard', key], ['zrange', key, 0, 0, 'WITHSCORES']]);
      const first = (oldest as string[] | null) ?? [];
      return { count: Number(count ?? 0), oldestAt: first.length ? Number(first[1]) : null };
    },
  }, sources);
}

/** gatherStats over any backend's reads. */
export async function gatherStatsWith(io: StatsReads, sources: DlqSource[]): Promise<StatsRow[]> {
  const rows: StatsRow[] = [];
  for (const source of sources) {
    if (source.style === 'failed') {
      const { count, oldestAt } = await io.failedCount(source.queue);
      const items = await sample(io, source, STATS_SAMPLE);
      rows.push({ queue: source.queue, style: 'failed', holder: source.queue, count, oldestAt,
        sampled: items.length, topReasons: topReasons(items.map((i) => i.failedReason)) });
      continue;
    }
    // Items that do not fit the queue's item shape are counted apart, never under a guessed queue.
    const items = (await sample(io, source, Number.POSITIVE_INFINITY)).map((i) => (i.unreadable === undefined ? i : { ...i, queue: UNREADABLE, failedReason: i.unreadable }));
    const queues = [...new Set([...source.feeds, ...items.map((i) => i.queue)])];
    for (const queue of queues) {
      const mine = items.filter((i) => i.queue === queue);
      rows.push({ queue, style: 'queue', holder: source.dlq, count: mine.length, oldestAt: mine.reduce<number | null>((m, i) => (m === null || i.failedAt < m ? i.failedAt : m), null),
        sampled: Math.min(mine.length, STATS_SAMPLE), topReasons: topReasons(mine.slice(0, STATS_SAMPLE).map((i) => i.failedReason)) });
    }
  }
  return rows;
}
