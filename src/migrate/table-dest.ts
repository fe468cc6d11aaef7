import type { Redis } from 'ioredis';
import { quoteIdent } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { dict } from '../util/dict.js';
import { loadLua } from '../util/lua.js';
import { refusal } from './bad-keys.js';
import { destinationKeys, queuePrefix } from './keys.js';
import { delayAt } from './table-jobs.js';
import type { OutboxEntry } from './table-journal.js';

/**
 * Where `migrate --from <table source>` writes its jobs: BullMQ on Redis or on PostgreSQL, side by
 * side. Each destination keeps a per-run delivered mark (the highest outbox number written) and
 * moves it in the same atomic step as the jobs it writes: on Redis one script call per batch
 * (lua/table-add.lua), on PostgreSQL one transaction. So writing an outbox entry twice (the rerun
 * after a crash between the write and the outbox settling) writes nothing the second time, even
 * when a worker has already run the job and removed it (removeOnComplete). One process per run
 * (the source's advisory lock) writes entries in outbox order, so one number per run is the
 * whole record.
 */
export interface TableDestination {
  /** What prompts, plans and status name (the URL redacted, with the prefix or schema). */
  readonly where: string;
  /** BullMQ on PostgreSQL in the source's own database: each batch is one transaction there. */
  readonly sameDatabase: boolean;
  /** Writes the entries past the run's mark and moves the mark, atomically. Returns jobs written per queue. */
  deliver(runId: string, entries: OutboxEntry[]): Promise<Record<string, number>>;
  /** sameDatabase only: writes the jobs inside the caller's open transaction on `session` (a session to the source database). */
  writeInTransaction(session: PostgresHandle, entries: OutboxEntry[]): Promise<Record<string, number>>;
  close(): Promise<void>;
}

// ── Redis ────────────────────────────────────────────────────────────────────

/** The per-run mark under the queues' prefix: `hwm` and `queue:<name>` counts. */
export function tableMarkKey(prefix: string, runId: string): string {
  return `${prefix}:queuectl:table-move:${runId}`;
}

const SCRIPT = 'queuectlTableAdd';
// ioredis flattens array arguments: a batch's tens of thousands of arguments never go through a spread.
type TableAddClient = { [SCRIPT]: (numKeys: number, keys: string[], args: string[]) => Promise<(string | number)[]> };

/** Loads lua/table-add.lua once per client: ioredis sends its body once per connection, then EVALSHA per batch. */
function withTableAddScript(client: Redis): TableAddClient {
  if (!(SCRIPT in client)) client.defineCommand(SCRIPT, { lua: loadLua(new URL('./lua/table-add.lua', import.meta.url)) });
  return client as unknown as TableAddClient;
}

/**
 * The keys and arguments of one table-add.lua call (pure): the queues the entries go to, with
 * their ten keys each, then per entry the fields the script reads. The options are the job's as
 * BullMQ's Job would store them, with the timestamp and the delay this write gives it (table jobs
 * carry none of the options BullMQ abbreviates when it stores them).
 */
export function tableAddArgs(prefix: string, runId: string, entries: OutboxEntry[], now: number): { keys: string[]; args: string[] } {
  const index = new Map<string, number>();
  for (const e of entries) if (!index.has(e.queue)) index.set(e.queue, index.size + 1);
  const keys = [tableMarkKey(prefix, runId)];
  const args = [String(now), String(index.size)];
  for (const queue of index.keys()) {
    keys.push(...destinationKeys(prefix, queue));
    args.push(queuePrefix(prefix, queue), queue);
  }
  for (const e of entries) {
    const { timestamp, delay } = delayAt(e, now);
    const d = e.kind === 'run' && delay > 0 ? delay : 0;
    args.push(String(e.seq), String(index.get(e.queue)), e.jobId, e.name, e.data, withTiming(e.opts, timestamp, d), String(timestamp), String(d), String(e.priority),
      e.lastError ?? '', e.kind, String(Math.max(0, e.attempts)));
  }
  return { keys, args };
}

/**
 * The job's opts JSON with this write's timestamp (and delay) added last, as `{ ...opts, timestamp,
 * delay }` would give it: spliced into the text, not parsed and written again per job, unless the
 * text names either key anywhere (then it is parsed, so a key already there is replaced in place).
 */
export function withTiming(opts: string, timestamp: number, delay: number): string {
  if (opts.includes('"timestamp"') || opts.includes('"delay"') || !opts.endsWith('}')) {
    return JSON.stringify({ ...(JSON.parse(opts) as Record<string, unknown>), timestamp, ...(delay > 0 ? { delay } : {}) });
  }
  const tail = `"timestamp":${timestamp}${delay > 0 ? `,"delay":${delay}` : ''}}`;
  return opts === '{}' ? `{${tail}` : `${opts.slice(0, -1)},${tail}`;
}

export function redisDestination(client: Redis, prefix: string, where: string): TableDestination {
  const scripted = withTableAddScript(client);
  return {
    where,
    sameDatabase: false,
    async deliver(runId, entries) {
      if (entries.length === 0) return {};
      const { keys, args } = tableAddArgs(prefix, runId, entries, Date.now());
      const reply = await scripted[SCRIPT](keys.length, keys, args).catch(refusal);
      const written = dict<number>();
      for (let i = 0; i < reply.length; i += 2) written[String(reply[i])] = Number(reply[i + 1]);
      return written;
    },
    writeInTransaction() {
      throw new Error('a Redis destination is never in the source database');
    },
    async close() {},
  };
}

// ── PostgreSQL ───────────────────────────────────────────────────────────────

const MARK_DDL = (j: string) => `CREATE TABLE IF NOT EXISTS ${j}.table_delivered (run_id text PRIMARY KEY, hwm bigint NOT NULL)`;

/**
 * BullMQ's own add_jobs_bulk, per queue in outbox order (ON CONFLICT DO NOTHING: an id the queue
 * holds stays as it is), then the last error and the failed state on the jobs this call created.
 * Three round trips a batch whatever its queues: the ids the queues already hold, every queue's
 * add_jobs_bulk in one statement, the marks.
 */
async function writePgJobs(handle: PostgresHandle, schema: string, entries: OutboxEntry[]): Promise<Record<string, number>> {
  const s = quoteIdent(schema);
  const now = Date.now();
  const written = dict<number>();
  // Queues in name order: add_jobs_bulk takes a lock per queue until commit the first time it
  // creates the queue's id sequence, so two sessions adding batches at once (table-lanes.ts) must
  // take them in one order, or each waits for the other.
  const byQueue = new Map<string, OutboxEntry[]>();
  for (const e of [...entries].sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0))) (byQueue.get(e.queue) ?? byQueue.set(e.queue, []).get(e.queue)!).push(e);
  const heldRows = await handle.query<{ queue: string; id: string }>(
    // A primary-key probe per id (LIMIT keeps the subquery apart), never a hash of the whole job table.
    `SELECT u.queue, u.id FROM unnest($1::text[], $2::text[]) AS u(queue, id)
      CROSS JOIN LATERAL (SELECT 1 FROM ${s}.job j WHERE j.queue = u.queue AND j.id = u.id LIMIT 1) AS h`,
    [entries.map((e) => e.queue), entries.map((e) => e.jobId)]);
  const held = new Set(heldRows.map((r) => `${r.queue}\u0000${r.id}`));
  const params: unknown[] = [];
  const calls: string[] = [];
  for (const [queue, group] of byQueue) {
    const payload = group.map((e) => {
      const { timestamp, delay } = delayAt(e, now);
      const d = e.kind === 'run' ? delay : 0;
      const opts = { ...(JSON.parse(e.opts) as Record<string, unknown>), ...(d > 0 ? { delay: d } : {}) };
      return { id: e.jobId, name: e.name, data: e.data, opts, priority: e.priority, delay: d, timestamp, attempts: e.attempts, lifo: false };
    });
    params.push(queue, JSON.stringify(payload));
    calls.push(`SELECT count(*) AS n FROM ${s}.add_jobs_bulk($${params.length - 1}, $${params.length}::jsonb)`);
  }
  // UNION ALL runs its branches one after another, in this order (one queue's add at a time, as before).
  await handle.query(calls.join(' UNION ALL '), params);
  const marked: OutboxEntry[] = [];
  for (const [queue, group] of byQueue) {
    const fresh = group.filter((e) => !held.has(`${queue}\u0000${e.jobId}`));
    for (const e of fresh) if (e.lastError || e.kind === 'failed') marked.push(e);
    written[queue] = fresh.length;
  }
  if (marked.length > 0) {
    await handle.query(
      `UPDATE ${s}.job j SET failed_reason = COALESCE(u.reason, j.failed_reason), stacktrace = CASE WHEN u.reason IS NULL THEN j.stacktrace ELSE jsonb_build_array(u.reason) END,
              state = CASE WHEN u.failed THEN 'failed'::${s}.job_state ELSE j.state END,
              finished_at_ms = CASE WHEN u.failed THEN $2 ELSE j.finished_at_ms END,
              attempts_made = CASE WHEN u.failed THEN u.atm ELSE j.attempts_made END
         FROM unnest($1::text[], $3::text[], $4::text[], $5::boolean[], $6::int[]) AS u(queue, id, reason, failed, atm)
        WHERE j.queue = u.queue AND j.id = u.id`,
      [marked.map((e) => e.queue), now, marked.map((e) => e.jobId), marked.map((e) => e.lastError), marked.map((e) => e.kind === 'failed'), marked.map((e) => e.attempts)]);
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
    writeInTransaction(session, entries) {
      return writePgJobs(session, schema, entries);
    },
    async close() {},
  };
}
