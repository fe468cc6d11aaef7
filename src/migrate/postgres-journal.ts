import { hostname } from 'node:os';
import { PostgresError } from '../backend/postgres/errors.js';
import { quoteIdent } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { UsageError } from '../errors.js';
import { dict } from '../util/dict.js';
import type { ApplyResult, Moves } from './apply.js';
import { runFinished, type JournalRecord, type OpenJournal, type ResolvedRun, type RunState } from './journal.js';
import { nextRunId } from './keys.js';

/**
 * migrate's journal on PostgreSQL: tables in a `queuectl` schema of the same database, never in
 * BullMQ's. The same semantics as the Redis journal (journal.ts): the intent names the first run,
 * the same command continues an unfinished run and starts `<intent>-2`… after a finished one.
 * The move engine bumps `migrate_moved` inside each batch's transaction, so after kill -9 or a lost
 * connection the counters and the queues agree to the job. One process per run: a session-level
 * advisory lock, which PostgreSQL itself releases when the holder's session ends (kill -9 included).
 */
const J = 'queuectl';

const DDL = `
  CREATE TABLE IF NOT EXISTS ${J}.migrate_run (
    id text PRIMARY KEY, intent text NOT NULL, bullmq_schema text NOT NULL, source text NOT NULL,
    dest text, names text, states text NOT NULL, state text NOT NULL, started_ms bigint NOT NULL,
    updated_ms bigint NOT NULL, host text NOT NULL, planned bigint NOT NULL, left_count bigint NOT NULL,
    plan jsonb, note text);
  CREATE INDEX IF NOT EXISTS migrate_run_intent_idx ON ${J}.migrate_run (intent, started_ms);
  CREATE TABLE IF NOT EXISTS ${J}.migrate_moved (
    run_id text NOT NULL, dest text NOT NULL, state text NOT NULL, moved bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, dest, state));
  CREATE TABLE IF NOT EXISTS ${J}.migrate_renamed (
    run_id text NOT NULL, queue text NOT NULL, old_id text NOT NULL, new_id text NOT NULL,
    PRIMARY KEY (run_id, queue, new_id));`;

async function journalExists(handle: PostgresHandle): Promise<boolean> {
  return tablesExist(handle, ['migrate_run', 'migrate_moved']);
}

async function tablesExist(handle: PostgresHandle, tables: string[]): Promise<boolean> {
  const [row] = await handle.query<{ ok: boolean }>(`SELECT bool_and(to_regclass('${J}.' || t) IS NOT NULL) AS ok FROM unnest($1::text[]) AS t`, [tables]);
  return Boolean(row?.ok);
}

/** Creates the journal's schema and tables when missing (a real run only; a dry run reads). */
export async function ensureJournal(handle: PostgresHandle): Promise<void> {
  await ensureQueuectlTables(handle, ['migrate_run', 'migrate_moved'], DDL);
}

/**
 * Creates `tables` (by `ddl`, IF NOT EXISTS) in the queuectl schema when any is missing: the one
 * way every journal (this one, the table-source outbox) comes to exist, with the same refusal.
 */
export async function ensureQueuectlTables(handle: PostgresHandle, tables: string[], ddl: string): Promise<void> {
  if (await tablesExist(handle, tables)) return;
  // Two first runs at once would race on CREATE … IF NOT EXISTS: serialize them.
  await handle.query('BEGIN');
  try {
    await handle.query(`SELECT pg_advisory_xact_lock(hashtext('queuectl:journal-ddl'))`);
    // CREATE SCHEMA checks CREATE ON DATABASE even when the schema exists: an administrator's
    // pre-created schema is used as it is.
    const [schema] = await handle.query<{ ok: boolean }>(`SELECT to_regnamespace('${J}') IS NOT NULL AS ok`);
    if (!schema?.ok) await handle.query(`CREATE SCHEMA ${J}`);
    await handle.query(ddl);
    await handle.query('COMMIT');
  } catch (error) {
    await handle.query('ROLLBACK').catch(() => undefined);
    throw /\[42501\]$/.test(error instanceof Error ? error.message : '') ? journalRefused(handle) : error;
  }
}

/** No right to create the journal's schema or tables (SQLSTATE 42501): which grant, in one line. */
function journalRefused(handle: PostgresHandle): PostgresError {
  // Names as the user would type them in psql: quoted only when they need it.
  const ident = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name));
  const user = handle.spec.user ? ident(handle.spec.user) : 'CURRENT_USER';
  const database = handle.spec.database ? ident(handle.spec.database) : '<database>';
  return new PostgresError(
    `migrate keeps its journal in a "${J}" schema of this database, and the user of ${handle.spec.redacted} may not create it or its tables (a dry run needs none)`,
    `GRANT CREATE ON DATABASE ${database} TO ${user}, or have an administrator run CREATE SCHEMA ${J} AUTHORIZATION ${user}`,
  );
}

/** The run a migration of `intent` belongs to (reads only). */
export async function resolvePgRun(handle: PostgresHandle, intent: string): Promise<ResolvedRun> {
  const first = { runId: intent, key: `${J}.migrate_run:${intent}`, continues: false };
  if (!(await journalExists(handle))) return first;
  const [last] = await handle.query<{ id: string; state: string }>(`SELECT id, state FROM ${J}.migrate_run WHERE intent = $1 ORDER BY started_ms DESC, length(id) DESC, id DESC LIMIT 1`, [intent]);
  if (!last) return first;
  if (!runFinished(last.state as RunState)) return { runId: last.id, key: `${J}.migrate_run:${last.id}`, continues: true };
  const runId = nextRunId(intent, last.id);
  return { runId, key: `${J}.migrate_run:${runId}`, after: last.id, continues: false };
}

/** One process per run: refused at once while another session holds it. */
export async function lockRun(handle: PostgresHandle, runId: string): Promise<void> {
  const [row] = await handle.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext('queuectl:migrate:' || $1)) AS ok`, [runId]);
  if (row?.ok) return;
  throw new UsageError(`run ${runId} is in progress in another session`, 'wait for it to finish (`queuectl migrate status` shows its progress), or stop that process and rerun');
}

export async function openPgJournal(handle: PostgresHandle, intent: string, run: OpenJournal): Promise<void> {
  const now = Date.now();
  await handle.query(
    `INSERT INTO ${J}.migrate_run (id, intent, bullmq_schema, source, dest, names, states, state, started_ms, updated_ms, host, planned, left_count, plan)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $8, $9, $10, $10, $11)
     ON CONFLICT (id) DO UPDATE SET state = 'running', updated_ms = $8, host = $9, left_count = $10, note = NULL`,
    [run.id, intent, handle.spec.schema, run.source, run.to ?? null, (run.names ?? []).join(','), run.states.join(','), now, `${hostname()}:${process.pid}`, run.planned, JSON.stringify(run.plan)],
  );
}

/** Inside a batch's transaction: the counters and renames of what it moved. */
export async function recordBatch(handle: PostgresHandle, runId: string, moved: Moves, renamed: ApplyResult['renamed']): Promise<void> {
  const cells = Object.entries(moved).flatMap(([dest, row]) => Object.entries(row).map(([state, n]) => [dest, state, n ?? 0] as const));
  // One round trip whatever the batch moved (empty arrays insert nothing).
  await handle.query(
    `WITH moved AS (INSERT INTO ${J}.migrate_moved (run_id, dest, state, moved) SELECT $1, d, s, n FROM unnest($3::text[], $4::text[], $5::bigint[]) AS t(d, s, n)
                    ON CONFLICT (run_id, dest, state) DO UPDATE SET moved = migrate_moved.moved + EXCLUDED.moved RETURNING 1),
          renamed AS (INSERT INTO ${J}.migrate_renamed (run_id, queue, old_id, new_id) SELECT $1, q, o, n FROM unnest($6::text[], $7::text[], $8::text[]) AS t(q, o, n) RETURNING 1)
     UPDATE ${J}.migrate_run SET updated_ms = $2 WHERE id = $1`,
    [runId, Date.now(), cells.map((c) => c[0]), cells.map((c) => c[1]), cells.map((c) => c[2]), renamed.map((r) => r.queue), renamed.map((r) => r.from), renamed.map((r) => r.to)],
  );
}

export async function closePgJournal(handle: PostgresHandle, runId: string, state: RunState, left: number, note = ''): Promise<void> {
  await handle.query(`UPDATE ${J}.migrate_run SET state = $2, updated_ms = $3, left_count = $4, note = $5 WHERE id = $1`, [runId, state, Date.now(), left, note || null]);
}

/** Every run recorded for this BullMQ schema, newest first, as the Redis journal's records. */
export async function listPgJournals(handle: PostgresHandle): Promise<JournalRecord[]> {
  if (!(await journalExists(handle))) return [];
  const runs = await handle.query<Record<string, string | null> & { plan: unknown }>(`SELECT id, source, dest, names, states, state, started_ms::text, updated_ms::text, host, planned::text, left_count::text, plan, note FROM ${J}.migrate_run WHERE bullmq_schema = $1 ORDER BY updated_ms DESC`, [handle.spec.schema]);
  const moved = await handle.query<{ run_id: string; dest: string; state: string; moved: string }>(`SELECT run_id, dest, state, moved::text FROM ${J}.migrate_moved WHERE run_id = ANY($1::text[])`, [runs.map((r) => r.id)]);
  return runs.map((r) => {
    const progress = dict<number>();
    for (const m of moved) if (m.run_id === r.id) progress[`${m.dest}:${m.state}`] = Number(m.moved);
    return {
      id: String(r.id), key: `${J}.migrate_run:${r.id}`, source: String(r.source), to: r.dest || undefined, names: r.names ? r.names.split(',') : undefined,
      states: r.states ? r.states.split(',') : [], state: r.state as RunState, started: Number(r.started_ms), updated: Number(r.updated_ms), host: String(r.host),
      moved: Object.values(progress).reduce((a, n) => a + n, 0), progress, planned: Number(r.planned), left: Number(r.left_count), plan: r.plan, note: r.note || undefined,
    };
  });
}
