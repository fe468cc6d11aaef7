import type { Context } from '../context.js';
import { quoteIdent, requireCompatibleSchema, type SchemaState } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { toOptionalNumber, toNumber } from './reads.js';
import type { QueueTarget } from './read-queues.js';
import type { InspectSource } from './source.js';
import type { LiveQueue, LiveWorker } from './types.js';
import { iso, jobTimes, type JobState, type JobView } from './read-job.js';
import type { PostgresHealth } from './postgres-health.js';

/**
 * inspect's reads on BullMQ's PostgreSQL backend (the Redis twin is redis-source.ts). Every count
 * is the shape of BullMQ's own SQL (get_counts.sql) split per state, so each one is served by that
 * state's partial index (job_ready_idx, job_delayed_idx, job_active_idx, job_finished_idx,
 * job_waiting_children_idx); discovery walks the primary key one queue at a time. No query reads
 * the `job` table sequentially, so the cost follows the queues and the jobs in each counted
 * state's index, never the table. A missing or other-version BullMQ schema is exit 3 first.
 */
export async function postgresInspectSource(ctx: Context): Promise<InspectSource> {
  const handle = await ctx.postgres();
  const schemaState = await requireCompatibleSchema(handle);
  const s = quoteIdent(handle.spec.schema);
  return {
    discover: () => discoverQueues(handle, s),
    readQueues: (targets) => readQueues(handle, s, targets),
    readJob: (queue, id) => readJob(handle, s, queue, id),
    readHealth: async () => ({ backend: 'postgres' as const, postgres: await readHealth(handle, s, schemaState) }),
    emptyVerdict: async () => {
      if ((await discoverQueues(handle, s)).length > 0) return {};
      return { warning: `no BullMQ queue exists in schema "${handle.spec.schema}" on ${handle.spec.redacted} yet` };
    },
  };
}

/**
 * Queue names in `meta` and in `job`: a loose index scan of job's primary key (queue, id), one
 * index probe per queue, instead of a DISTINCT over every job.
 */
export const DISCOVER_SQL = (s: string) => `
  WITH RECURSIVE q AS (
    (SELECT queue FROM ${s}.job ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT j.queue FROM ${s}.job j WHERE j.queue > q.queue ORDER BY j.queue LIMIT 1)
      FROM q WHERE q.queue IS NOT NULL
  )
  SELECT queue FROM q WHERE queue IS NOT NULL
  UNION
  SELECT DISTINCT queue FROM ${s}.meta
  ORDER BY 1`;

export async function discoverQueues(handle: PostgresHandle, s: string): Promise<string[]> {
  const rows = await handle.query<{ queue: string }>(DISCOVER_SQL(s));
  return rows.map((r) => r.queue);
}

/** One round trip for all queues; each scalar subquery is one partial-index probe of one queue. */
export const QUEUES_SQL = (s: string) => `
  SELECT q.name,
    (SELECT count(*) FROM ${s}.job WHERE queue = q.name AND state = 'waiting' AND priority = 0)::bigint AS waiting,
    (SELECT count(*) FROM ${s}.job WHERE queue = q.name AND state = 'waiting' AND priority > 0)::bigint AS prioritized,
    (SELECT count(*) FROM ${s}.job WHERE queue = q.name AND state = 'delayed')::bigint AS delayed,
    (SELECT count(*) FROM ${s}.job WHERE queue = q.name AND state = 'active')::bigint AS active,
    (SELECT count(*) FROM ${s}.job WHERE queue = q.name AND state = 'active' AND locked_until_ms < $2::bigint)::bigint AS stalled,
    (SELECT count(*) FROM ${s}.job WHERE queue = q.name AND state = 'failed')::bigint AS failed,
    (SELECT count(*) FROM ${s}.job WHERE queue = q.name AND state = 'completed')::bigint AS completed,
    (SELECT count(*) FROM ${s}.job WHERE queue = q.name AND state = 'waiting-children')::bigint AS waiting_children,
    -- The next job a worker claims (BullMQ's claim order: priority, then seq): the oldest waiting one in FIFO.
    (SELECT added_at_ms FROM ${s}.job WHERE queue = q.name AND state = 'waiting' ORDER BY priority, seq LIMIT 1) AS next_added_at,
    (SELECT json_object_agg(field, value) FROM ${s}.meta WHERE queue = q.name) AS meta
  FROM unnest($1::text[]) AS q(name)`;

interface QueueRow {
  name: string;
  waiting: string; prioritized: string; delayed: string; active: string; stalled: string;
  failed: string; completed: string; waiting_children: string;
  next_added_at: string | null;
  meta: Record<string, string> | null;
}

export async function readQueues(handle: PostgresHandle, s: string, targets: QueueTarget[]): Promise<LiveQueue[]> {
  if (targets.length === 0) return [];
  const now = Date.now();
  const rows = await handle.query<QueueRow & Record<string, unknown>>(QUEUES_SQL(s), [targets.map((t) => t.name), now]);
  const workers = await readWorkers(handle, targets.map((t) => t.name));
  const byName = new Map(rows.map((r) => [r.name, r]));
  return targets.map((target) => toLiveQueue(target, byName.get(target.name), workers.get(target.name) ?? [], now));
}

/** One queue's row as inspect's LiveQueue, the same shape the Redis reads produce. Pure. */
export function toLiveQueue(target: QueueTarget, row: QueueRow | undefined, workers: LiveWorker[], now: number): LiveQueue {
  const meta = row?.meta ?? {};
  const next = toOptionalNumber(row?.next_added_at);
  const counts = {
    waiting: toNumber(row?.waiting),
    prioritized: toNumber(row?.prioritized),
    delayed: toNumber(row?.delayed),
    active: toNumber(row?.active),
    failed: toNumber(row?.failed),
    completed: toNumber(row?.completed),
    waitingChildren: toNumber(row?.waiting_children),
  };
  // The counts cover every job_state, so their sum says whether the queue holds a job (an EXISTS
  // on job would let the planner pick a sequential scan).
  const holdsJobs = Object.values(counts).some((n) => n > 0);
  return {
    name: target.name,
    kind: target.kind,
    exists: holdsJobs || Object.keys(meta).length > 0,
    counts,
    // Pausing is a meta flag on PostgreSQL: the jobs stay 'waiting'.
    paused: meta.paused === '1',
    oldestWaitingMs: next === undefined ? null : Math.max(0, now - next),
    bullmqVersion: meta.version ?? undefined,
    meta: { concurrency: toOptionalNumber(meta.concurrency), max: toOptionalNumber(meta.max), duration: toOptionalNumber(meta.duration) },
    workers,
    stalled: toNumber(row?.stalled),
  };
}

/**
 * Workers, as BullMQ's getWorkers finds them on PostgreSQL (get_client_list.sql): each worker names
 * its LISTEN session `<queue>` or `<queue>:w:<worker name>` in application_name; `<queue>:qe` is a
 * QueueEvents listener, not a worker. The name carries no schema, so two schemas of one database
 * with the same queue name share their workers here, as they do in BullMQ.
 */
export async function readWorkers(handle: PostgresHandle, queues: string[]): Promise<Map<string, LiveWorker[]>> {
  return matchWorkers(await readNamedSessions(handle), queues);
}

/** Named sessions on this database but ours (BullMQ's get_client_list.sql, with where and how long idle). */
export async function readNamedSessions(handle: PostgresHandle): Promise<{ app: string; addr: string; idleSeconds: number }[]> {
  const rows = await handle.query<{ app: string; addr: string | null; port: number | null; idle: number | null }>(
    `SELECT application_name AS app, host(client_addr) AS addr, client_port AS port,
            EXTRACT(EPOCH FROM now() - state_change)::float8 AS idle
       FROM pg_stat_activity
      WHERE datname = current_database() AND application_name <> '' AND pid <> pg_backend_pid()`,
  );
  return rows.map((r) => ({ app: r.app, addr: r.addr ? `${r.addr}:${r.port}` : 'local', idleSeconds: Math.round(r.idle ?? 0) }));
}

/** application_name → workers per queue, as BullMQ's getWorkers matches them. Pure. */
export function matchWorkers(sessions: { app: string; addr: string; idleSeconds: number }[], queues: string[]): Map<string, LiveWorker[]> {
  const wanted = new Set(queues);
  const result = new Map<string, LiveWorker[]>();
  for (const session of sessions) {
    const w = session.app.indexOf(':w:');
    const queue = w === -1 ? session.app : session.app.slice(0, w);
    if (!wanted.has(queue)) continue;
    const worker = { name: w === -1 ? session.addr : session.app.slice(w + 3), addr: session.addr, idleSeconds: session.idleSeconds };
    result.set(queue, [...(result.get(queue) ?? []), worker]);
  }
  return result;
}

async function readHealth(handle: PostgresHandle, s: string, schema: SchemaState): Promise<PostgresHealth> {
  const [row] = await handle.query<{
    version: string; max: number; used: number; bytes: string | null; dead: string | null; live: string | null; oldest: number | null;
  }>(
    `SELECT current_setting('server_version') AS version,
            current_setting('max_connections')::int AS max,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used,
            pg_total_relation_size(to_regclass($1)) AS bytes,
            (SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = to_regclass($1)) AS dead,
            (SELECT n_live_tup FROM pg_stat_user_tables WHERE relid = to_regclass($1)) AS live,
            (SELECT EXTRACT(EPOCH FROM now() - min(xact_start))::float8 FROM pg_stat_activity
              WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND datname = current_database()) AS oldest`,
    [`${s}.job`],
  );
  return {
    version: row.version,
    schema: schema.schema,
    schemaVersion: schema.version,
    expectedSchemaVersion: schema.expected,
    connections: { used: row.used, max: row.max },
    jobTable: { bytes: toNumber(row.bytes), liveRows: toNumber(row.live), deadRows: toNumber(row.dead) },
    oldestTransactionSeconds: row.oldest === null ? null : Math.round(row.oldest),
  };
}

/** BullMQ's get_job_data.sql (the row by primary key) plus its log count (job_log's primary key). */
export async function readJob(handle: PostgresHandle, s: string, queue: string, id: string): Promise<JobView | undefined> {
  const [row] = await handle.query<JobRow & Record<string, unknown>>(
    `SELECT j.*, (SELECT count(*) FROM ${s}.job_log l WHERE l.queue = j.queue AND l.job_id = j.id)::int AS log_count
       FROM ${s}.job j WHERE j.queue = $1 AND j.id = $2`,
    [queue, id],
  );
  return row ? toJobView(row) : undefined;
}

interface JobRow {
  queue: string; id: string; name: string; state: string; priority: number;
  data: unknown; opts: unknown; progress: unknown; return_value: unknown; stacktrace: unknown;
  failed_reason: string | null; processed_by: string | null; parent_key: string | null;
  attempts_made: number; attempts_started: number; stalled_count: number;
  added_at_ms: string | null; processed_at_ms: string | null; finished_at_ms: string | null;
  delay_ms: string | null; process_at_ms: string | null; log_count: number;
}


/** A job row as inspect job's JobView, the shape the Redis hash gives. Pure. */
export function toJobView(row: JobRow): JobView {
  // prioritized is a waiting job with a priority on PostgreSQL, a state of its own on Redis.
  const state = (row.state === 'waiting' && row.priority > 0 ? 'prioritized' : row.state) as JobState;
  const timestamp = toOptionalNumber(row.added_at_ms);
  const processedOn = toOptionalNumber(row.processed_at_ms);
  const finishedOn = toOptionalNumber(row.finished_at_ms);
  return {
    queue: row.queue,
    id: row.id,
    name: row.name,
    state,
    data: row.data,
    opts: row.opts,
    attemptsMade: row.attempts_made,
    attemptsStarted: row.attempts_started,
    stalledCount: row.stalled_count,
    ...jobTimes(timestamp, processedOn, finishedOn),
    delay: toOptionalNumber(row.delay_ms) ?? 0,
    dueAt: state === 'delayed' ? iso(toOptionalNumber(row.process_at_ms)) : null,
    priority: row.priority,
    failedReason: row.failed_reason,
    stacktrace: Array.isArray(row.stacktrace) ? row.stacktrace.map(String) : [],
    returnvalue: row.return_value ?? null,
    progress: row.progress ?? null,
    logs: row.log_count,
    parentKey: row.parent_key,
    processedBy: row.processed_by,
  };
}
