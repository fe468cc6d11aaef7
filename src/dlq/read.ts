import { execReads, type ReadCommand, type RedisReader } from '../inspect/reads.js';
import { matches, needsFields } from './filters.js';
import { DLQ_FIELDS, FAILED_FIELDS, parseDlqItem, parseFailedItem } from './sources.js';
import type { DlqFilters, DlqItem, DlqSource, DlqStatus } from './types.js';

export interface ScanOptions {
  filters: DlqFilters;
  /** Members per range call; hashes are read with one pipelined HMGET each. */
  window?: number;
  /** Style (b) statuses to include (default: pending only). */
  statuses?: DlqStatus[];
  /** Read hash fields even when no filter needs them (list and stats do; a bare retry plan does not). */
  fields?: boolean;
}

const key = (prefix: string, queue: string, suffix: string) => `${prefix}:${queue}:${suffix}`;

/**
 * Streams one source's matching items in windows, never loading a whole set. Failed sets are
 * paged by score (finishedOn), newest first, so --since/--older-than cost nothing and failures
 * arriving meanwhile do not shift the pages; ties on one score are skipped by count.
 */
export async function* scanSource(reader: RedisReader, prefix: string, source: DlqSource, options: ScanOptions): AsyncGenerator<DlqItem[]> {
  if (source.style === 'failed') yield* scanFailed(reader, prefix, source.queue, source.routed ? { ...options, fields: true } : options);
  else yield* scanDeadLetterQueue(reader, prefix, source, options);
}

async function* scanFailed(reader: RedisReader, prefix: string, queue: string, options: ScanOptions): AsyncGenerator<DlqItem[]> {
  const { filters } = options;
  const window = options.window ?? 500;
  const withFields = options.fields || needsFields(filters);
  const failedKey = key(prefix, queue, 'failed');
  const min = filters.since !== undefined ? String(filters.since) : '-inf';
  let max = filters.before !== undefined ? String(filters.before) : '+inf';
  let skip = 0;
  for (;;) {
    const [reply] = await execReads(reader.client, [['zrevrangebyscore', failedKey, max, min, 'WITHSCORES', 'LIMIT', skip, window]]);
    const pairs = (reply as string[] | null) ?? [];
    if (pairs.length === 0) return;
    const ids: string[] = [];
    const scores: number[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      ids.push(pairs[i]);
      scores.push(Number(pairs[i + 1]));
    }
    const last = scores[scores.length - 1];
    const atLast = scores.filter((s) => s === last).length;
    skip = String(last) === max ? skip + atLast : atLast;
    max = String(last);
    let items: DlqItem[];
    if (withFields) {
      const replies = await execReads(reader.client, ids.map((id): ReadCommand => ['hmget', key(prefix, queue, id), ...FAILED_FIELDS]));
      items = ids.flatMap((id, i) => parseFailedItem(queue, id, scores[i], (replies[i] as (string | null)[] | null) ?? []) ?? []);
    } else {
      items = ids.map((id, i) => parseFailedItem(queue, id, scores[i], ['', '', '0', null, null])!);
    }
    yield items.filter((item) => matches(item, filters));
    if (ids.length < window) return;
  }
}

/** The states a dead-letter item may sit in: usually `wait`, as nobody consumes the queue. */
const DLQ_STATES: { suffix: string; kind: 'list' | 'zset' }[] = [
  { suffix: 'wait', kind: 'list' }, { suffix: 'paused', kind: 'list' }, { suffix: 'prioritized', kind: 'zset' },
  { suffix: 'delayed', kind: 'zset' }, { suffix: 'completed', kind: 'zset' },
];

async function* scanDeadLetterQueue(reader: RedisReader, prefix: string, source: Extract<DlqSource, { style: 'queue' }>, options: ScanOptions): AsyncGenerator<DlqItem[]> {
  const { dlq } = source;
  const window = options.window ?? 500;
  const statuses = options.statuses ?? ['pending'];
  // Index paging shifts when items arrive meanwhile: never report one twice.
  const seen = new Set<string>();
  for (const state of DLQ_STATES) {
    for (let start = 0; ; start += window) {
      const range: ReadCommand = state.kind === 'list'
        ? ['lrange', key(prefix, dlq, state.suffix), start, start + window - 1]
        : ['zrevrange', key(prefix, dlq, state.suffix), start, start + window - 1];
      const [reply] = await execReads(reader.client, [range]);
      const ids = ((reply as string[] | null) ?? []).filter((id) => !seen.has(id));
      ids.forEach((id) => seen.add(id));
      if (ids.length) {
        const replies = await execReads(reader.client, ids.map((id): ReadCommand => ['hmget', key(prefix, dlq, id), ...DLQ_FIELDS]));
        const items = ids.flatMap((id, i) => parseDlqItem(dlq, id, (replies[i] as (string | null)[] | null) ?? [], source.fields) ?? []);
        yield items.filter((item) => statuses.includes(item.status) && matches(item, options.filters));
      }
      if (((reply as string[] | null) ?? []).length < window) break;
    }
  }
}

/**
 * Merges per-source streams into one, newest first: each stream is (close to) newest first, so
 * a k-way merge on failedAt needs only one window per source in memory.
 */
export async function* newestFirst(streams: AsyncGenerator<DlqItem[]>[]): AsyncGenerator<DlqItem> {
  const buffers: DlqItem[][] = streams.map(() => []);
  // Read positions: shift() on a 5,000-item window copies it each time.
  const at = streams.map(() => 0);
  const done = streams.map(() => false);
  const refill = async (i: number) => {
    while (at[i] >= buffers[i].length && !done[i]) {
      const next = await streams[i].next();
      if (next.done) done[i] = true;
      else [buffers[i], at[i]] = [next.value, 0];
    }
  };
  await Promise.all(streams.map((_, i) => refill(i)));
  for (;;) {
    let best = -1;
    for (let i = 0; i < buffers.length; i++) {
      if (at[i] < buffers[i].length && (best === -1 || buffers[i][at[i]].failedAt > buffers[best][at[best]].failedAt)) best = i;
    }
    if (best === -1) return;
    yield buffers[best][at[best]++];
    if (at[best] >= buffers[best].length) await refill(best);
  }
}

/** Every matching item of the sources, newest first, at most `limit`. */
export function collectItems(reader: RedisReader, prefix: string, sources: DlqSource[], options: ScanOptions & { limit?: number }): Promise<DlqItem[]> {
  return collectWith((s) => scanSource(reader, prefix, s, options), sources, options.limit);
}

/** collectItems over any backend's per-source scan. */
export async function collectWith(scan: (source: DlqSource) => AsyncGenerator<DlqItem[]>, sources: DlqSource[], limit?: number): Promise<DlqItem[]> {
  const items: DlqItem[] = [];
  const options = { limit };
  const merged = newestFirst(sources.map((s) => scan(s)));
  for await (const item of merged) {
    items.push(item);
    if (options.limit !== undefined && items.length >= options.limit) break;
  }
  return items;
}
