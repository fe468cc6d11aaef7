import type { PostgresHandle } from '../backend/postgres/types.js';
import { jobOptsFor } from './job-opts.js';
import { loop, skip, type ApplyOutcome } from './apply.js';
import { readCarried, type CarriedJob } from './shape.js';
import { shapeOf } from './sources.js';
import type { StoreApplyOptions } from './store.js';
import type { DlqItem } from './types.js';
import { inTransaction as transaction } from '../backend/postgres/transaction.js';

/**
 * dlq's writes on BullMQ's PostgreSQL backend (the Redis twin is apply.ts with its Lua). Each batch
 * is one transaction: its rows are locked and checked first, then changed through BullMQ's own
 * functions (reprocess_job, add_job, remove, publish_event), so the waiting/prioritized state, the
 * `waiting` event and the worker wake-up (NOTIFY) are BullMQ's; any failure rolls the whole batch
 * back. A committed batch is done for good: a rerun finds its jobs no longer failed (or marked) and
 * skips them, so a retry killed at any point and run again never makes two jobs and loses none.
 */

/** The event a discard is recorded as, in the holder queue's own event stream (BullMQ's `event` table). */
export const DISCARD_EVENT = 'queuectl:dlq:discarded';


/** Retry: failed jobs back to waiting (BullMQ's reprocess_job, attempts reset); dead-letter items re-added and marked. */
export function applyRetry(handle: PostgresHandle, s: string, items: DlqItem[], options: StoreApplyOptions): Promise<ApplyOutcome> {
  return loop(items, options, (batch, outcome) => transaction(handle, () => (batch[0].style === 'failed'
    ? retryFailed(handle, s, batch, outcome)
    : retryDeadLetters(handle, s, batch, outcome, options))));
}

async function retryFailed(handle: PostgresHandle, s: string, batch: DlqItem[], outcome: ApplyOutcome): Promise<void> {
  const queue = batch[0].holder;
  // Locked in id order (no deadlock between two runs); a row retention deletes meanwhile waits for us.
  const rows = await handle.query<{ id: string; state: string; parent_id: string | null; lifo: boolean }>(
    `SELECT id, state, parent_id, COALESCE((opts->>'lifo')::boolean, false) AS lifo FROM ${s}.job
      WHERE queue = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE`, [queue, batch.map((i) => i.id)]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const ready = batch.map((i) => byId.get(i.id)).filter((r) => r?.state === 'failed' && r.parent_id === null) as typeof rows;
  skip(outcome, 'no longer in the failed set (retried or removed meanwhile)', batch.filter((i) => byId.get(i.id)?.state !== 'failed').length);
  skip(outcome, 'part of a flow (retry it with BullMQ Job.retry so its parent is updated)', rows.filter((r) => r.state === 'failed' && r.parent_id !== null).length);
  if (!ready.length) return;
  // Oldest first, as BullMQ's Job.retry one by one would queue them (each takes the next seq).
  const codes = await handle.query<{ code: number }>(
    `SELECT ${s}.reprocess_job($1, r.id, 'failed', r.lifo, true, true) AS code
       FROM unnest($2::text[], $3::boolean[]) WITH ORDINALITY AS r(id, lifo, n) ORDER BY r.n`,
    [queue, ready.map((r) => r.id), ready.map((r) => r.lifo)]);
  // Cannot happen on locked rows; if it does, the whole batch rolls back.
  if (codes.some((c) => c.code !== 1)) throw new Error(`reprocess_job refused a locked failed job of ${queue}`);
  outcome.done += ready.length;
}

async function retryDeadLetters(handle: PostgresHandle, s: string, batch: DlqItem[], outcome: ApplyOutcome, options: StoreApplyOptions): Promise<void> {
  const { topology } = options;
  const holder = batch[0].holder;
  const rows = await handle.query<{ id: string; data: string | null; status: string | null }>(
    `SELECT id, data::text AS data, opts->'queuectl'->>'status' AS status FROM ${s}.job
      WHERE queue = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE`, [holder, batch.map((i) => i.holderId)]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const shape = shapeOf(topology, holder);
  const todo: { item: DlqItem; job: CarriedJob }[] = [];
  let gone = 0;
  let changed = 0;
  for (const item of batch) {
    const row = byId.get(item.holderId);
    if (!row || row.status) {
      gone += 1;
      continue;
    }
    const job = readCarried(row.data, shape);
    if ('problem' in job || job.queue !== item.queue || job.id !== item.id) changed += 1;
    else todo.push({ item, job });
  }
  skip(outcome, 'no longer a pending dead letter (retried, discarded or removed meanwhile)', gone);
  skip(outcome, 'changed since the plan: it no longer fits its item shape', changed);
  const toMark: string[] = [];
  for (const target of new Set(todo.map((t) => t.item.target ?? t.item.queue))) {
    const group = todo.filter((t) => (t.item.target ?? t.item.queue) === target);
    const existing = new Set((await handle.query<{ id: string }>(`SELECT id FROM ${s}.job WHERE queue = $1 AND id = ANY($2::text[])`, [target, group.map((g) => g.item.id)])).map((r) => r.id));
    const add = group.filter((g) => !existing.has(g.item.id));
    skip(outcome, 'a job with that id already exists in its queue', group.length - add.length);
    if (!add.length) continue;
    const declared = JSON.parse(jobOptsFor(topology.queues[target])) as Record<string, unknown>;
    const opts: Record<string, unknown>[] = add.map(({ job }) => ({ ...declared, ...(job.priority > 0 ? { priority: job.priority } : {}), ...(job.lifo ? { lifo: true } : {}) }));
    // BullMQ's add_job, as Queue.add passes it (waiting or prioritized, `waiting` event, NOTIFY).
    await handle.query(
      `SELECT ${s}.add_job($1, r.id, r.name, r.data::jsonb, r.opts::jsonb, r.priority, 0, $2, r.attempts, NULL, NULL, NULL, NULL, NULL, r.lifo)
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::boolean[]) WITH ORDINALITY AS r(id, name, data, opts, priority, attempts, lifo, n)
        ORDER BY r.n`,
      [target, Date.now(), add.map((a) => a.item.id), add.map((a) => a.item.name), add.map((a) => JSON.stringify(a.job.data ?? {})), opts.map((o) => JSON.stringify(o)),
        add.map((a) => a.job.priority), opts.map((o) => (typeof o.attempts === 'number' ? o.attempts : 1)), add.map((a) => a.job.lifo)]);
    toMark.push(...add.map((a) => a.item.holderId));
    outcome.done += add.length;
  }
  await mark(handle, s, holder, toMark, { status: 'retried', by: options.who });
}

/** queuectl's marks on a dead-letter item: `opts.queuectl` of its row (the worker's payload is never rewritten). */
async function mark(handle: PostgresHandle, s: string, queue: string, ids: string[], fields: { status: string; by: string; reason?: string }): Promise<string[]> {
  if (!ids.length) return [];
  const rows = await handle.query<{ id: string }>(
    `UPDATE ${s}.job SET opts = opts || jsonb_build_object('queuectl', $3::jsonb)
      WHERE queue = $1 AND id = ANY($2::text[]) AND opts->'queuectl'->>'status' IS NULL RETURNING id`,
    [queue, ids, JSON.stringify({ ...fields, at: Date.now() })]);
  return rows.map((r) => r.id);
}

/** Discard: failed jobs removed (BullMQ's remove), dead-letter items marked; each recorded as a DISCARD_EVENT. */
export function applyDiscard(handle: PostgresHandle, s: string, items: DlqItem[], reason: string, options: StoreApplyOptions): Promise<ApplyOutcome> {
  return loop(items, options, (batch, outcome) => transaction(handle, async () => {
    const holder = batch[0].holder;
    const ids = batch.map((i) => i.holderId);
    let done: string[];
    if (batch[0].style === 'failed') {
      done = (await handle.query<{ id: string }>(`SELECT id FROM ${s}.job WHERE queue = $1 AND id = ANY($2::text[]) AND state = 'failed' ORDER BY id FOR UPDATE`, [holder, ids])).map((r) => r.id);
      if (done.length) await handle.query(`SELECT ${s}.remove($1, r.id, false) FROM unnest($2::text[]) AS r(id)`, [holder, done]);
    } else {
      done = await mark(handle, s, holder, ids, { status: 'discarded', by: options.who, reason });
    }
    outcome.done += done.length;
    skip(outcome, 'no longer a pending dead letter (retried, discarded or removed meanwhile)', batch.length - done.length);
    const byId = new Map(batch.map((i) => [i.holderId, i]));
    const at = new Date().toISOString();
    const records = done.map((id) => { const i = byId.get(id)!; return JSON.stringify({ ref: i.ref, queue: i.queue, id: i.id, name: i.name, reason, by: options.who, at }); });
    if (records.length) await handle.query(`SELECT ${s}.publish_event($1, $2, r.data::jsonb) FROM unnest($3::text[]) AS r(data)`, [holder, DISCARD_EVENT, records]);
  }));
}
