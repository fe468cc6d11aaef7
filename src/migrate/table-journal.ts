import { hostname } from 'node:os';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { dict } from '../util/dict.js';
import { runFinished, type ResolvedRun, type RunState } from './journal.js';
import { nextRunId } from './keys.js';
import { ensureQueuectlTables } from './postgres-journal.js';
import type { IntendedJob, PriorityRanks } from './table-jobs.js';

/**
 * The journal of `migrate --from <table source>`: tables in the `queuectl` schema of the SOURCE
 * database (never in the user's tables). The outbox is what makes the move exactly once across
 * two systems: one source transaction locks a batch of rows (SKIP LOCKED), writes the jobs they
 * become here and deletes (or marks) the rows; only then are the jobs written to BullMQ, and
 * their outbox entries removed. A crash leaves either the rows (nothing happened) or the outbox
 * entries (a rerun writes them again); the destination's own delivered mark (table-dest.ts)
 * makes that second write a no-op for entries already written, even once their jobs have run and
 * been removed. `claimed` and `delivered` are the run's counters (what `migrate status` and the
 * crash tests watch).
 */
const J = 'queuectl';
const TABLES = ['table_run', 'table_outbox', 'table_moved'];

const DDL = `
  CREATE TABLE IF NOT EXISTS ${J}.table_run (
    id text PRIMARY KEY, intent text NOT NULL, source text NOT NULL, table_name text NOT NULL,
    dest text NOT NULL, states text NOT NULL, mark text, state text NOT NULL,
    started_ms bigint NOT NULL, updated_ms bigint NOT NULL, host text NOT NULL,
    planned bigint NOT NULL, left_count bigint NOT NULL DEFAULT 0,
    claimed bigint NOT NULL DEFAULT 0, delivered bigint NOT NULL DEFAULT 0, ranks jsonb, note text);
  CREATE INDEX IF NOT EXISTS table_run_intent_idx ON ${J}.table_run (intent, started_ms);
  CREATE TABLE IF NOT EXISTS ${J}.table_outbox (
    run_id text NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY, queue text NOT NULL,
    job_id text NOT NULL, row_id text NOT NULL, name text NOT NULL, data text NOT NULL,
    opts text NOT NULL, priority integer NOT NULL, attempts integer NOT NULL, run_at_ms bigint,
    timestamp_ms bigint NOT NULL, last_error text, kind text NOT NULL,
    PRIMARY KEY (run_id, seq));
  CREATE TABLE IF NOT EXISTS ${J}.table_moved (
    run_id text NOT NULL, queue text NOT NULL, kind text NOT NULL, moved bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, queue, kind));`;

/** An outbox entry: the job, numbered in the order its batch committed. */
export interface OutboxEntry extends IntendedJob {
  seq: number;
}

export interface TableRunRecord {
  id: string;
  source: string;
  table: string;
  dest: string;
  states: string[];
  mark?: string;
  state: RunState;
  started: number;
  updated: number;
  host: string;
  planned: number;
  left: number;
  claimed: number;
  delivered: number;
  /** queue → jobs written there over every attempt of the run. */
  moved: Record<string, number>;
  note?: string;
}

export async function tableJournalExists(db: PostgresHandle): Promise<boolean> {
  const [row] = await db.query<{ ok: boolean }>(`SELECT bool_and(to_regclass('${J}.' || t) IS NOT NULL) AS ok FROM unnest($1::text[]) AS t`, [TABLES]);
  return Boolean(row?.ok);
}

export function ensureTableJournal(db: PostgresHandle): Promise<void> {
  return ensureQueuectlTables(db, TABLES, DDL);
}

/** The run a move of `intent` belongs to (reads only): the unfinished one, else a new one. */
export async function resolveTableRun(db: PostgresHandle, intent: string): Promise<ResolvedRun & { ranks?: PriorityRanks }> {
  const first = { runId: intent, key: `${J}.table_run:${intent}`, continues: false };
  if (!(await tableJournalExists(db))) return first;
  const [last] = await db.query<{ id: string; state: string; ranks: PriorityRanks | null }>(
    `SELECT id, state, ranks FROM ${J}.table_run WHERE intent = $1 ORDER BY started_ms DESC, length(id) DESC, id DESC LIMIT 1`, [intent]);
  if (!last) return first;
  if (!runFinished(last.state as RunState)) return { runId: last.id, key: `${J}.table_run:${last.id}`, continues: true, ranks: last.ranks ?? undefined };
  const runId = nextRunId(intent, last.id);
  return { runId, key: `${J}.table_run:${runId}`, after: last.id, continues: false };
}

export interface OpenTableRun {
  id: string;
  intent: string;
  source: string;
  table: string;
  dest: string;
  states: string[];
  mark?: string;
  planned: number;
  ranks: PriorityRanks;
}

/** Starts a run or continues it: the first start time, plan and priority ranks are kept. */
export async function openTableRun(db: PostgresHandle, run: OpenTableRun): Promise<void> {
  const now = Date.now();
  await db.query(
    `INSERT INTO ${J}.table_run (id, intent, source, table_name, dest, states, mark, state, started_ms, updated_ms, host, planned, left_count, ranks)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $8, $9, $10, $10, $11)
     ON CONFLICT (id) DO UPDATE SET state = 'running', updated_ms = $8, host = $9, note = NULL`,
    [run.id, run.intent, run.source, run.table, run.dest, run.states.join(','), run.mark ?? null, now, `${hostname()}:${process.pid}`, run.planned, JSON.stringify(run.ranks)],
  );
}

/**
 * Inside the claim transaction: the batch's jobs into the outbox, numbered in order, and the run's
 * `claimed` counter moved, in one statement. The jobs go as one JSON parameter (one value to
 * encode and parse, where thirteen text arrays cost the client an escape per element).
 */
export async function writeOutbox(db: PostgresHandle, runId: string, jobs: IntendedJob[]): Promise<OutboxEntry[]> {
  if (jobs.length === 0) return [];
  const rows = jobs.map((j, i) => ({ i, q: j.queue, j: j.jobId, r: j.rowId, n: j.name, d: j.data, o: j.opts, p: j.priority, a: j.attempts, t: j.runAtMs, ts: j.timestampMs, e: j.lastError, k: j.kind }));
  const inserted = await db.query<{ seq: string }>(
    `WITH ins AS (
       INSERT INTO ${J}.table_outbox (run_id, queue, job_id, row_id, name, data, opts, priority, attempts, run_at_ms, timestamp_ms, last_error, kind)
       SELECT $1, u.q, u.j, u.r, u.n, u.d, u.o, u.p, u.a, u.t, u.ts, u.e, u.k
         FROM json_to_recordset($2::json) AS u(i int, q text, j text, r text, n text, d text, o text, p int, a int, t bigint, ts bigint, e text, k text)
        ORDER BY u.i
       RETURNING seq),
     counted AS (UPDATE ${J}.table_run SET claimed = claimed + $3, updated_ms = $4 WHERE id = $1)
     SELECT seq::text FROM ins`,
    [runId, JSON.stringify(rows), jobs.length, Date.now()],
  );
  // Identity values follow the insert order, which follows ORDER BY u.i.
  const seqs = inserted.map((r) => Number(r.seq)).sort((a, b) => a - b);
  return jobs.map((job, i) => ({ ...job, seq: seqs[i] }));
}

/**
 * Entries claimed but not yet known written, oldest first (what a rerun writes first). Ordered by
 * the column `o.seq`: a bare `seq` names the text output column, whose order puts 10 before 9,
 * and a destination mark moved past 10 would then skip 9 for good.
 */
export async function pendingOutbox(db: PostgresHandle, runId: string, limit: number): Promise<OutboxEntry[]> {
  const rows = await db.query<Record<string, string | null>>(
    `SELECT seq::text, queue, job_id, row_id, name, data, opts, priority::text, attempts::text, run_at_ms::text, timestamp_ms::text, last_error, kind
       FROM ${J}.table_outbox o WHERE o.run_id = $1 ORDER BY o.seq LIMIT $2`, [runId, limit]);
  return rows.map((r) => ({
    seq: Number(r.seq), queue: String(r.queue), jobId: String(r.job_id), rowId: String(r.row_id), name: String(r.name), data: String(r.data), opts: String(r.opts),
    priority: Number(r.priority), attempts: Number(r.attempts), runAtMs: r.run_at_ms === null ? null : Number(r.run_at_ms), timestampMs: Number(r.timestamp_ms),
    lastError: r.last_error, kind: r.kind === 'failed' ? 'failed' : 'run',
  }));
}

/**
 * After the destination confirmed (or had already recorded) the entries: they leave the outbox.
 * The seq range goes into the index condition: with `seq = ANY` alone the planner reads every
 * entry of the run the primary key still holds (the deleted ones too, until vacuum), so each
 * settle took longer as the run went on.
 */
export async function settleOutbox(db: PostgresHandle, runId: string, entries: OutboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const seqs = entries.map((e) => e.seq);
  // One statement (atomic on its own): the entries leave, the run's delivered and per-queue counts move.
  await db.query(
    `WITH d AS (DELETE FROM ${J}.table_outbox WHERE run_id = $1 AND seq BETWEEN $3 AND $4 AND seq = ANY($2::bigint[]) RETURNING queue, kind),
          c AS (SELECT queue, kind, count(*) AS n FROM d GROUP BY queue, kind),
          r AS (UPDATE ${J}.table_run SET delivered = delivered + (SELECT COALESCE(sum(n), 0) FROM c), updated_ms = $5 WHERE id = $1 AND EXISTS (SELECT 1 FROM c)),
          m AS (INSERT INTO ${J}.table_moved (run_id, queue, kind, moved) SELECT $1, queue, kind, n FROM c
                ON CONFLICT (run_id, queue, kind) DO UPDATE SET moved = table_moved.moved + EXCLUDED.moved)
     SELECT 1`, [runId, seqs, Math.min(...seqs), Math.max(...seqs), Date.now()]);
}

/** Bumps the run's `claimed` or `delivered` counter (and per-queue counts for deliveries). */
export async function countMoved(db: PostgresHandle, runId: string, cells: { queue: string; kind: string; n: number }[], counter: 'claimed' | 'delivered' | 'both'): Promise<void> {
  const total = cells.reduce((a, c) => a + c.n, 0);
  if (total === 0) return;
  const set = counter === 'both' ? 'claimed = claimed + $2, delivered = delivered + $2' : `${counter} = ${counter} + $2`;
  await db.query(`UPDATE ${J}.table_run SET ${set}, updated_ms = $3 WHERE id = $1`, [runId, total, Date.now()]);
  if (counter === 'claimed') return;
  await db.query(
    `INSERT INTO ${J}.table_moved (run_id, queue, kind, moved) SELECT $1, q, k, n FROM unnest($2::text[], $3::text[], $4::bigint[]) AS t(q, k, n)
     ON CONFLICT (run_id, queue, kind) DO UPDATE SET moved = table_moved.moved + EXCLUDED.moved`,
    [runId, cells.map((c) => c.queue), cells.map((c) => c.kind), cells.map((c) => c.n)]);
}

export async function closeTableRun(db: PostgresHandle, runId: string, state: RunState, left: number, note = ''): Promise<void> {
  await db.query(`UPDATE ${J}.table_run SET state = $2, updated_ms = $3, left_count = $4, note = $5 WHERE id = $1`, [runId, state, Date.now(), left, note || null]);
}

/** Every table run recorded in this database, newest first. */
export async function listTableRuns(db: PostgresHandle): Promise<TableRunRecord[]> {
  if (!(await tableJournalExists(db))) return [];
  const runs = await db.query<Record<string, string | null>>(
    `SELECT id, source, table_name, dest, states, mark, state, started_ms::text, updated_ms::text, host, planned::text, left_count::text, claimed::text, delivered::text, note
       FROM ${J}.table_run ORDER BY updated_ms DESC`);
  const moved = await db.query<{ run_id: string; queue: string; moved: string }>(`SELECT run_id, queue, sum(moved)::text AS moved FROM ${J}.table_moved WHERE run_id = ANY($1::text[]) GROUP BY run_id, queue`, [runs.map((r) => r.id)]);
  return runs.map((r) => {
    const perQueue = dict<number>();
    for (const m of moved) if (m.run_id === r.id) perQueue[m.queue] = Number(m.moved);
    return {
      id: String(r.id), source: String(r.source), table: String(r.table_name), dest: String(r.dest), states: String(r.states).split(','), mark: r.mark ?? undefined,
      state: r.state as RunState, started: Number(r.started_ms), updated: Number(r.updated_ms), host: String(r.host), planned: Number(r.planned), left: Number(r.left_count),
      claimed: Number(r.claimed), delivered: Number(r.delivered), moved: perQueue, note: r.note ?? undefined,
    };
  });
}
