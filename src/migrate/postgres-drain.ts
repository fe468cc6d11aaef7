import { createHash } from 'node:crypto';
import { quoteIdent } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { ExitCode, QueuectlError } from '../errors.js';
import { readWorkers } from '../inspect/postgres-source.js';
import type { DrainSample } from './drain.js';
import type { DrainSite } from './drain-run.js';

/**
 * `migrate --strategy drain` on PostgreSQL: the legacy queue's rows. Counts go through BullMQ's
 * partial indexes per state; workers are the sessions BullMQ names after the queue; the delete is
 * BullMQ's own obliterate() (job rows with their job_log, meta, dedup, event, scheduler, metrics,
 * rate-limit rows and the id sequence), run to the end inside one transaction.
 */
export function postgresDrainSite(handle: PostgresHandle, queue: string): DrainSite {
  return {
    sample: () => samplePgQueue(handle, queue),
    workers: async () => (await readWorkers(handle, [queue])).get(queue)?.length ?? 0,
    bookkeeping: async () => bookkeepingLine(await countBookkeeping(handle, queue)),
    unit: 'rows',
    workersUnknown: 'pg_stat_activity unreadable',
    remove: (includeFailed) => deletePgQueue(handle, queue, includeFailed),
  };
}

const s = (handle: PostgresHandle) => quoteIdent(handle.spec.schema);

/** BullMQ's per-queue id sequence: nextval on every add without a custom id, so a rising value means producers still write. */
function idSequence(handle: PostgresHandle, queue: string): string {
  return `${s(handle)}.${quoteIdent(`bullmq_jid_${createHash('md5').update(queue).digest('hex')}`)}`;
}

const STATE_COUNTS = (x: string) => `
  (SELECT count(*) FROM ${x}.job WHERE queue = $1 AND state = 'waiting')::int AS waiting,
  (SELECT count(*) FROM ${x}.job WHERE queue = $1 AND state = 'delayed')::int AS delayed,
  (SELECT count(*) FROM ${x}.job WHERE queue = $1 AND state = 'waiting-children')::int AS children,
  (SELECT count(*) FROM ${x}.job WHERE queue = $1 AND state = 'active')::int AS active,
  (SELECT count(*) FROM ${x}.job WHERE queue = $1 AND state = 'failed')::int AS failed,
  (SELECT count(*) FROM ${x}.job WHERE queue = $1 AND state = 'completed')::int AS completed`;

type StateRow = { waiting: number; delayed: number; children: number; active: number; failed: number; completed: number };

export async function samplePgQueue(handle: PostgresHandle, queue: string): Promise<DrainSample> {
  const seq = idSequence(handle, queue);
  const [exists] = await handle.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [seq]);
  const added = exists?.ok ? `(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ${seq})::float8` : '0::float8';
  const [r] = await handle.query<StateRow & { added: number }>(`SELECT ${STATE_COUNTS(s(handle))}, ${added} AS added`, [queue]);
  return { at: Date.now(), pending: r.waiting + r.delayed + r.children, active: r.active, added: Number(r.added), failed: r.failed, completed: r.completed };
}

/** The queue's other rows, by table (what obliterate removes beside the jobs). */
async function countBookkeeping(handle: PostgresHandle, queue: string): Promise<Record<string, number>> {
  const x = s(handle);
  const tables = ['meta', 'job_log', 'dedup', 'dedup_next', 'event', 'scheduler', 'metrics', 'rate_limit'];
  const [row] = await handle.query<Record<string, number>>(`SELECT ${tables.map((t) => `(SELECT count(*) FROM ${x}.${t} WHERE queue = $1)::int AS ${t}`).join(', ')}`, [queue]);
  return row;
}

function bookkeepingLine(counts: Record<string, number>): string {
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([t, n]) => `${n} ${t} row(s)`);
  return parts.length > 0 ? `the queue's own rows (${parts.join(', ')})` : "the queue's id sequence";
}

/** Jobs per obliterate() call: bounded work and memory per statement, all in one transaction. */
const OBLITERATE_BATCH = 1000;

/**
 * One transaction: BullMQ's finalization lock on the queue (add_job and the finishing functions
 * take it shared, obliterate exclusive), so nothing arrives or finishes while it counts again and
 * deletes; refuses when the queue is no longer drained. Then BullMQ's obliterate, which needs the
 * queue paused: the pause row is written here and removed with the rest (a rollback undoes both).
 * Returns the rows deleted.
 */
export async function deletePgQueue(handle: PostgresHandle, queue: string, includeFailed: boolean): Promise<number> {
  const x = s(handle);
  await handle.query('BEGIN');
  try {
    await handle.query(`SELECT pg_advisory_xact_lock(hashtext('bullmq:finalization'), hashtext($1))`, [queue]);
    const [r] = await handle.query<StateRow>(`SELECT ${STATE_COUNTS(x)}`, [queue]);
    const left = r.waiting + r.delayed + r.children + r.active;
    if (left > 0) throw new QueuectlError(`${queue} got ${left} job(s) again since the drain finished; nothing was deleted`, ExitCode.checkFailed, 'its producers still write to it: stop them and rerun');
    if (r.failed > 0 && !includeFailed) throw new QueuectlError(`${queue} holds ${r.failed} failed job(s) again; nothing was deleted`, ExitCode.checkFailed, `move them first (queuectl migrate --from ${queue} --states failed) or pass --include-failed`);
    const other = await countBookkeeping(handle, queue);
    await handle.query(`INSERT INTO ${x}.meta (queue, field, value) VALUES ($1, 'paused', '1') ON CONFLICT (queue, field) DO UPDATE SET value = '1'`, [queue]);
    for (;;) {
      const [o] = await handle.query<{ cursor: number }>(`SELECT ${x}.obliterate($1, $2, false) AS cursor`, [queue, OBLITERATE_BATCH]);
      if (o.cursor === 0) break;
      if (o.cursor !== 1) throw new QueuectlError(`BullMQ's obliterate refused ${queue} (${o.cursor}); nothing was deleted`, ExitCode.checkFailed, 'rerun the drain');
    }
    await handle.query('COMMIT');
    // The pause row written above is ours and not counted.
    return r.failed + r.completed + Object.values(other).reduce((a, n) => a + n, 0);
  } catch (error) {
    await handle.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
