import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { quoteIdent } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { dict } from '../util/dict.js';
import { delayAt } from './table-jobs.js';
import type { OutboxEntry } from './table-journal.js';

/**
 * Where `migrate --from <table source>` writes its jobs: BullMQ on Redis or on PostgreSQL, side by
 * side. Each destination keeps a per-run delivered mark (the highest outbox number written) and
 * moves it in the same atomic step as the jobs it writes: on Redis one MULTI (WATCHed), on
 * PostgreSQL one transaction. So writing an outbox entry twice (the rerun after a crash between the
 * write and the outbox settling) writes nothing the second time, even when a worker has already run
 * the job and removed it (removeOnComplete). One process per run (the source's advisory lock)
 * writes entries in outbox order, so one number per run is the whole record.
 */
export interface TableDestination {
  /** What prompts, plans and status name (the URL redacted, with the prefix or schema). */
  readonly where: string;
  /** BullMQ on PostgreSQL in the source's own database: each batch is one transaction there. */
  readonly sameDatabase: boolean;
  /** Writes the entries past the run's mark and moves the mark, atomically. Returns jobs written per queue. */
  deliver(runId: string, entries: OutboxEntry[]): Promise<Record<string, number>>;
  /** sameDatabase only: writes the jobs inside the caller's open transaction on the source session. */
  writeInTransaction(entries: OutboxEntry[]): Promise<Record<string, number>>;
  close(): Promise<void>;
}

// ── Redis ────────────────────────────────────────────────────────────────────

/**
 * After BullMQ's own add in the same MULTI: the row's last error on the job, and `failed`/`dead`
 * rows moved into the failed set. Only on the job this add created (its timestamp and no earlier
 * failedReason): a job that already held the id is left as it is.
 */
const AFTER_ADD = `
local job, wait, prioritized, delayed, failed, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ts, reason, kind, id, now, atm = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('HGET', job, 'timestamp') ~= ts or redis.call('HEXISTS', job, 'failedReason') == 1 then return 0 end
if reason ~= '' then redis.call('HSET', job, 'failedReason', reason, 'stacktrace', cjson.encode({reason})) end
if kind == 'failed' then
  redis.call('LREM', wait, 1, id)
  redis.call('ZREM', prioritized, id)
  redis.call('ZREM', delayed, id)
  redis.call('ZADD', failed, now, id)
  redis.call('HSET', job, 'finishedOn', now, 'atm', atm)
  redis.call('XADD', events, '*', 'event', 'failed', 'jobId', id, 'failedReason', reason, 'prev', 'waiting')
end
return 1`;

/** The per-run mark under the queues' prefix: `hwm` and `queue:<name>` counts. */
export function tableMarkKey(prefix: string, runId: string): string {
  return `${prefix}:queuectl:table-move:${runId}`;
}

/** The MULTI BullMQ's client wrapper returns (ioredis's, with hset taking an object). */
interface RedisMulti {
  eval(script: string, keys: number, ...args: string[]): RedisMulti;
  hset(key: string, fields: Record<string, string>): RedisMulti;
  hincrby(key: string, field: string, n: number): RedisMulti;
  exec(): Promise<[Error | null, unknown][] | null>;
}

export function redisDestination(client: Redis, prefix: string, where: string): TableDestination {
  const queues = new Map<string, Queue>();
  const queueOf = (name: string) => {
    let q = queues.get(name);
    if (!q) queues.set(name, (q = new Queue(name, { connection: client as never, prefix })));
    return q;
  };
  return {
    where,
    sameDatabase: false,
    async deliver(runId, entries) {
      const key = tableMarkKey(prefix, runId);
      for (;;) {
        await client.watch(key);
        const hwm = Number((await client.hget(key, 'hwm')) ?? 0);
        const todo = entries.filter((e) => e.seq > hwm);
        if (todo.length === 0) {
          await client.unwatch();
          return {};
        }
        const now = Date.now();
        // BullMQ's own client wrapper over this same connection (its add scripts are loaded there).
        const bull = (await queueOf(todo[0].queue).backend.client) as unknown as { multi(): RedisMulti };
        const multi = bull.multi();
        const written = dict<number>();
        for (const e of todo) {
          const q = queueOf(e.queue);
          const { timestamp, delay } = delayAt(e, now);
          const opts = { ...(JSON.parse(e.opts) as Record<string, unknown>), timestamp, ...(e.kind === 'run' && delay > 0 ? { delay } : {}) };
          const job = new Job(q, e.name, JSON.parse(e.data), opts as never, e.jobId);
          // Queued on the MULTI: the promise settles with EXEC (its failures surface there).
          job.addJob(multi as never).catch(() => undefined);
          if (e.lastError || e.kind === 'failed') {
            const k = q.keys;
            multi.eval(AFTER_ADD, 6, `${k['']}${e.jobId}`, k.wait, k.prioritized, k.delayed, k.failed, k.events, String(timestamp), e.lastError ?? '', e.kind, e.jobId, String(now), String(Math.max(0, e.attempts)));
          }
          written[e.queue] = (written[e.queue] ?? 0) + 1;
        }
        multi.hset(key, { hwm: String(todo[todo.length - 1].seq) });
        for (const [queue, n] of Object.entries(written)) multi.hincrby(key, `queue:${queue}`, n);
        const result = await multi.exec();
        if (result === null) continue; // the mark moved under us (a second process): read it again
        const failed = result.find(([error]) => error);
        if (failed) throw failed[0];
        return written;
      }
    },
    writeInTransaction() {
      throw new Error('a Redis destination is never in the source database');
    },
    async close() {
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
    },
  };
}

// ── PostgreSQL ───────────────────────────────────────────────────────────────

const MARK_DDL = (j: string) => `CREATE TABLE IF NOT EXISTS ${j}.table_delivered (run_id text PRIMARY KEY, hwm bigint NOT NULL)`;

/**
 * BullMQ's own add_jobs_bulk, per queue in outbox order (ON CONFLICT DO NOTHING: an id the queue
 * holds stays as it is), then the last error and the failed state on the jobs this call created.
 */
async function writePgJobs(handle: PostgresHandle, schema: string, entries: OutboxEntry[]): Promise<Record<string, number>> {
  const s = quoteIdent(schema);
  const now = Date.now();
  const written = dict<number>();
  const byQueue = new Map<string, OutboxEntry[]>();
  for (const e of entries) (byQueue.get(e.queue) ?? byQueue.set(e.queue, []).get(e.queue)!).push(e);
  for (const [queue, group] of byQueue) {
    const held = new Set((await handle.query<{ id: string }>(`SELECT id FROM ${s}.job WHERE queue = $1 AND id = ANY($2::text[])`, [queue, group.map((e) => e.jobId)])).map((r) => r.id));
    const payload = group.map((e) => {
      const { timestamp, delay } = delayAt(e, now);
      const d = e.kind === 'run' ? delay : 0;
      const opts = { ...(JSON.parse(e.opts) as Record<string, unknown>), ...(d > 0 ? { delay: d } : {}) };
      return { id: e.jobId, name: e.name, data: e.data, opts, priority: e.priority, delay: d, timestamp, attempts: e.attempts, lifo: false };
    });
    await handle.query(`SELECT ${s}.add_jobs_bulk($1, $2::jsonb)`, [queue, JSON.stringify(payload)]);
    const fresh = group.filter((e) => !held.has(e.jobId));
    const marked = fresh.filter((e) => e.lastError || e.kind === 'failed');
    if (marked.length > 0) {
      await handle.query(
        `UPDATE ${s}.job j SET failed_reason = COALESCE(u.reason, j.failed_reason), stacktrace = CASE WHEN u.reason IS NULL THEN j.stacktrace ELSE jsonb_build_array(u.reason) END,
                state = CASE WHEN u.failed THEN 'failed'::${s}.job_state ELSE j.state END,
                finished_at_ms = CASE WHEN u.failed THEN $3 ELSE j.finished_at_ms END,
                attempts_made = CASE WHEN u.failed THEN u.atm ELSE j.attempts_made END
           FROM unnest($2::text[], $4::text[], $5::boolean[], $6::int[]) AS u(id, reason, failed, atm)
          WHERE j.queue = $1 AND j.id = u.id`,
        [queue, marked.map((e) => e.jobId), now, marked.map((e) => e.lastError), marked.map((e) => e.kind === 'failed'), marked.map((e) => e.attempts)]);
    }
    written[queue] = fresh.length;
  }
  return written;
}

/**
 * BullMQ on PostgreSQL. `dest` is the BullMQ database's session; when it is the source's own
 * database the engine writes each batch inside its claim transaction (writeInTransaction).
 */
export function postgresDestination(dest: PostgresHandle, where: string, sameDatabase: boolean): TableDestination {
  const schema = dest.spec.schema;
  let marked = false;
  return {
    where,
    sameDatabase,
    async deliver(runId, entries) {
      if (!marked) {
        await dest.query('CREATE SCHEMA IF NOT EXISTS queuectl');
        await dest.query(MARK_DDL('queuectl'));
        marked = true;
      }
      await dest.query('BEGIN');
      try {
        await dest.query(`INSERT INTO queuectl.table_delivered (run_id, hwm) VALUES ($1, 0) ON CONFLICT DO NOTHING`, [runId]);
        const [row] = await dest.query<{ hwm: string }>(`SELECT hwm::text FROM queuectl.table_delivered WHERE run_id = $1 FOR UPDATE`, [runId]);
        const todo = entries.filter((e) => e.seq > Number(row?.hwm ?? 0));
        const written = todo.length > 0 ? await writePgJobs(dest, schema, todo) : {};
        if (todo.length > 0) await dest.query(`UPDATE queuectl.table_delivered SET hwm = $2 WHERE run_id = $1`, [runId, todo[todo.length - 1].seq]);
        await dest.query('COMMIT');
        return written;
      } catch (error) {
        await dest.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    writeInTransaction(entries) {
      return writePgJobs(dest, schema, entries);
    },
    async close() {},
  };
}
