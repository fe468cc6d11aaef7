import type { PostgresHandle } from '../backend/postgres/types.js';
import { readJob } from '../inspect/postgres-source.js';
import type { Topology } from '../topology/types.js';
import type { CanaryResult, CanaryState } from './canary.js';
import { matches } from './filters.js';
import type { ScanOptions } from './read.js';
import { ALL, refQueues, splitRef } from './refs.js';
import { showItem } from './show.js';
import { parseDlqItem, parseFailedItem, shapeOf } from './sources.js';
import type { ShowParts } from './store.js';
import type { DlqItem, DlqSource } from './types.js';
import { sleep } from '../util/sleep.js';

/**
 * dlq's reads on BullMQ's PostgreSQL backend (the Redis twin: read.ts, refs.ts, stats.ts). A
 * failed set is the `failed` rows of job_finished_idx (queue, state, finished_at_ms), paged newest
 * first by (finished_at_ms, id); a dead-letter queue is paged along the primary key (queue, id).
 * `s` is the quoted schema. Every window is one round trip; memory holds one window.
 */
interface FailedRow { id: string; name: string; failed_reason: string | null; attempts_made: number; finished_at_ms: string; data: string | null }
interface DlqRow { id: string; name: string; data: string | null; added_at_ms: string; status: string | null }

const FAILED_COLUMNS = 'id, name, failed_reason, attempts_made, finished_at_ms, data::text AS data';
const DLQ_COLUMNS = `id, name, data::text AS data, added_at_ms, opts->'queuectl'->>'status' AS status`;
/** The states a dead-letter item may sit in (nobody consumes the queue): as on Redis, never active or failed. */
const DLQ_STATES = `state IN ('waiting', 'delayed', 'completed')`;

/** One window of a failed set, newest first, after the (finished_at_ms, id) cursor $4/$5: job_finished_idx. */
export const FAILED_PAGE_SQL = (s: string) => `SELECT ${FAILED_COLUMNS} FROM ${s}.job
  WHERE queue = $1 AND state = 'failed' AND finished_at_ms >= $2 AND finished_at_ms <= $3
    AND ($4::bigint IS NULL OR (finished_at_ms, id) < ($4::bigint, $5::text))
  ORDER BY finished_at_ms DESC, id DESC LIMIT $6`;

/** One window of a dead-letter queue after the id cursor $2: job_pkey. */
export const DLQ_PAGE_SQL = (s: string) => `SELECT ${DLQ_COLUMNS} FROM ${s}.job WHERE queue = $1 AND id > $2 AND ${DLQ_STATES} ORDER BY id LIMIT $3`;

const failedItem = (queue: string, r: FailedRow) => parseFailedItem(queue, r.id, Number(r.finished_at_ms), [r.name, r.failed_reason ?? '', String(r.attempts_made), null, r.data]);
const dlqItem = (source: Extract<DlqSource, { style: 'queue' }>, r: DlqRow) => parseDlqItem(source.dlq, r.id, [r.name, r.data, String(r.added_at_ms), r.status], source.fields);

export async function* scanSource(handle: PostgresHandle, s: string, source: DlqSource, options: ScanOptions): AsyncGenerator<DlqItem[]> {
  const window = options.window ?? 500;
  if (source.style === 'failed') {
    const { since, before } = options.filters;
    let after: [string, string] | null = null;
    for (;;) {
      const rows: FailedRow[] = await handle.query<FailedRow & Record<string, unknown>>(
        FAILED_PAGE_SQL(s),
        [source.queue, since ?? Number.MIN_SAFE_INTEGER, before ?? Number.MAX_SAFE_INTEGER, after?.[0] ?? null, after?.[1] ?? null, window],
      );
      if (rows.length === 0) return;
      const last = rows[rows.length - 1];
      after = [String(last.finished_at_ms), last.id];
      yield rows.flatMap((r) => failedItem(source.queue, r) ?? []).filter((item) => matches(item, options.filters));
      if (rows.length < window) return;
    }
  }
  const statuses = options.statuses ?? ['pending'];
  let after = '';
  for (;;) {
    const rows: DlqRow[] = await handle.query<DlqRow & Record<string, unknown>>(
      DLQ_PAGE_SQL(s),
      [source.dlq, after, window],
    );
    if (rows.length === 0) return;
    after = rows[rows.length - 1].id;
    yield rows.flatMap((r) => dlqItem(source, r) ?? []).filter((item) => statuses.includes(item.status) && matches(item, options.filters));
    if (rows.length < window) return;
  }
}

/** A failed set's exact size and oldest entry: both read from job_finished_idx. */
export async function failedCount(handle: PostgresHandle, s: string, queue: string): Promise<{ count: number; oldestAt: number | null }> {
  const [row] = await handle.query<{ n: string; oldest: string | null }>(
    `SELECT count(*)::bigint AS n, min(finished_at_ms) AS oldest FROM ${s}.job WHERE queue = $1 AND state = 'failed'`, [queue]);
  return { count: Number(row.n), oldestAt: row.oldest === null ? null : Number(row.oldest) };
}

/** What one reference can mean (refs.ts candidates(), on PostgreSQL): primary-key probes, then the carried jobs. */
export async function candidates(handle: PostgresHandle, s: string, sources: DlqSource[], ref: string, legacy: string[], collect: (carriers: DlqSource[], options: ScanOptions) => Promise<DlqItem[]>): Promise<{ found: DlqItem[]; live: string[] }> {
  const { queue, id } = splitRef(ref, [...refQueues(sources), ...legacy]);
  const found: DlqItem[] = [];
  const live: string[] = [];
  for (const source of sources) {
    if (source.style === 'failed' && (queue === undefined || queue === source.queue)) {
      const [row] = await handle.query<FailedRow & { state: string } & Record<string, unknown>>(`SELECT state, ${FAILED_COLUMNS} FROM ${s}.job WHERE queue = $1 AND id = $2`, [source.queue, id]);
      const item = row?.state === 'failed' ? failedItem(source.queue, row) : undefined;
      if (item) found.push(item);
      else if (row) live.push(`${source.queue}/${id}`);
    }
    if (source.style === 'queue' && (queue === undefined || queue === source.dlq)) {
      const [row] = await handle.query<DlqRow & Record<string, unknown>>(`SELECT ${DLQ_COLUMNS} FROM ${s}.job WHERE queue = $1 AND id = $2`, [source.dlq, id]);
      const item = row ? dlqItem(source, row) : undefined;
      if (item) found.push(item);
    }
  }
  const carriers = sources.filter((c) => c.style === 'queue' && (queue === undefined || c.feeds.includes(queue) || legacy.includes(queue)));
  if (carriers.length) {
    for (const item of await collect(carriers, { filters: queue ? { queues: [queue] } : {}, statuses: ALL, window: 1000 })) {
      if (item.id === id && (queue === undefined || item.queue === queue) && !found.some((f) => f.ref === item.ref)) found.push(item);
    }
  }
  return { found, live };
}

/** `dlq show`: the failed job as `inspect job` reads it, or a dead-letter item's payload and queuectl's marks (opts.queuectl). */
export async function readShow(handle: PostgresHandle, s: string, item: DlqItem, topology: Topology): Promise<ShowParts> {
  if (item.style === 'failed') return { job: await readJob(handle, s, item.queue, item.id) };
  const [row] = await handle.query<{ data: string | null; marks: Record<string, unknown> | null }>(
    `SELECT data::text AS data, opts->'queuectl' AS marks FROM ${s}.job WHERE queue = $1 AND id = $2`, [item.holder, item.holderId]);
  const marks = Object.fromEntries(Object.entries(row?.marks ?? {}).map(([k, v]) => [k, String(v)]));
  return showItem(row?.data, topology, item, marks);
}

/**
 * Waits for retried items in the real workers: completed (or removed by removeOnComplete), or
 * failed again (its row failed, or a new dead letter for the same job). Stops at the first failure.
 */
export async function watchCanaries(handle: PostgresHandle, s: string, items: DlqItem[], options: { timeoutMs: number; signal?: AbortSignal; topology: Topology }): Promise<CanaryResult> {
  const started = Date.now();
  const states = items.map((i) => ({ ref: i.ref, queue: i.queue, id: i.id, state: 'waiting' as CanaryState }));
  for (;;) {
    for (const [n, item] of items.entries()) {
      if (states[n].state === 'running' || states[n].state === 'waiting') states[n].state = await stateOf(handle, s, item, started, options.topology);
    }
    const failed = states.some((st) => st.state === 'failed');
    if (failed || states.every((st) => st.state !== 'running' && st.state !== 'waiting')) return { ok: !failed, timedOut: false, states };
    if (Date.now() - started >= options.timeoutMs || options.signal?.aborted) return { ok: false, timedOut: true, states };
    await sleep(250, options.signal);
  }
}

async function stateOf(handle: PostgresHandle, s: string, item: DlqItem, since: number, topology: Topology): Promise<CanaryState> {
  const [row] = await handle.query<{ state: string }>(`SELECT state FROM ${s}.job WHERE queue = $1 AND id = $2`, [item.target ?? item.queue, item.id]);
  if (row?.state === 'failed') return 'failed';
  if (item.style === 'queue') {
    const source = { style: 'queue' as const, dlq: item.holder, feeds: [], fields: shapeOf(topology, item.holder) };
    const rows = await handle.query<DlqRow & Record<string, unknown>>(
      `SELECT ${DLQ_COLUMNS} FROM ${s}.job WHERE queue = $1 AND id <> $2 AND added_at_ms >= $3 AND ${DLQ_STATES} LIMIT 100`, [item.holder, item.holderId, since]);
    if (rows.some((r) => { const other = dlqItem(source, r); return other?.queue === item.queue && other.id === item.id; })) return 'failed';
  }
  if (!row || row.state === 'completed') return 'completed';
  return row.state === 'active' ? 'running' : 'waiting'; // a job no worker holds yet is not running
}
