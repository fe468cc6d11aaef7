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
const TABLES = ['table_run', 'table_outbox_batch', 'table_moved'];

const DDL = `
  CREATE TABLE IF NOT EXISTS ${J}.table_run (
    id text PRIMARY KEY, intent text NOT NULL, source text NOT NULL, table_name text NOT NULL,
    dest text NOT NULL, states text NOT NULL, mark text, state text NOT NULL,
    started_ms bigint NOT NULL, updated_ms bigint NOT NULL, host text NOT NULL,
    planned bigint NOT NULL, left_count bigint NOT NULL DEFAULT 0,
    claimed bigint NOT NULL DEFAULT 0, delivered bigint NOT NULL DEFAULT 0, ranks jsonb, note text);
  CREATE INDEX IF NOT EXISTS table_run_intent_idx ON ${J}.table_run (intent, started_ms);
  CREATE TABLE IF NOT EXISTS ${J}.table_outbox_batch (
    run_id text NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY, n integer NOT NULL,
    jobs text NOT NULL, cells jsonb NOT NULL, PRIMARY KEY (run_id, seq));
  ALTER TABLE ${J}.table_outbox_batch ALTER COLUMN jobs SET STORAGE EXTERNAL;
  CREATE TABLE IF NOT EXISTS ${J}.table_moved (
    run_id text NOT NULL, queue text NOT NULL, kind text NOT NULL, moved bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, queue, kind));`;

/**
 * An outbox entry: the job, numbered in the order it was claimed: its batch's outbox number
 * times PER_BATCH plus its place in the batch (1-based). The outbox holds one row per claimed
 * batch (its jobs as one JSON text, stored uncompressed): one insert and one delete a batch, where
 * a row per job cost two thousand of each. A batch leaves the outbox whole, once every entry of
 * it is written.
 */
export interface OutboxEntry extends IntendedJob {
  seq: number;
}

/** Above the largest --batch (10,000), so entry numbers never overlap across batches. */
export const PER_BATCH = 100_000;

type PackedJob = [string, string, string, string, string, string, number, number, number | null, number, string | null, 'run' | 'failed'];

function pack(j: IntendedJob): PackedJob {
  return [j.queue, j.jobId, j.rowId, j.name, j.data, j.opts, j.priority, j.attempts, j.runAtMs, j.timestampMs, j.lastError, j.kind];
}

function unpack(p: PackedJob, seq: number): OutboxEntry {
  const [queue, jobId, rowId, name, data, opts, priority, attempts, runAtMs, timestampMs, lastError, kind] = p;
  return { queue, jobId, rowId, name, data, opts, priority, attempts, runAtMs, timestampMs, lastError, kind: kind === 'failed' ? 'failed' : 'run', seq };
}

function cellsOf(jobs: IntendedJob[]): { q: string; k: string; n: number }[] {
  const m = new Map<string, { q: string; k: string; n: number }>();
  for (const j of jobs) {
    const key = `${j.queue}\u0000${j.kind}`;
    const c = m.get(key) ?? m.set(key, { q: j.queue, k: j.kind, n: 0 }).get(key)!;
    c.n += 1;
  }
  return [...m.values()];
}

/**
 * Entries an older queuectl left in its per-job outbox (queuectl.table_outbox) for this run: a
 * rerun by this version would not see them, so it refuses instead of losing them.
 */
export async function legacyOutboxEntries(db: PostgresHandle, runId: string): Promise<number> {
  const [t] = await db.query<{ ok: boolean }>(`SELECT to_regclass('${J}.table_outbox') IS NOT NULL AS ok`);
  if (!t?.ok) return 0;
  const [row] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${J}.table_outbox WHERE run_id = $1`, [runId]);
  return Number(row?.n ?? 0);
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
 * Inside the claim transaction: the batch's jobs into the outbox as one row, and the run's
 * `claimed` counter moved, in one statement.
 */
export async function writeOutbox(db: PostgresHandle, runId: string, jobs: IntendedJob[]): Promise<OutboxEntry[]> {
  if (jobs.length === 0) return [];
  if (jobs.length >= PER_BATCH) throw new Error(`an outbox batch holds fewer than ${PER_BATCH} jobs, got ${jobs.length}`);
  const [row] = await db.query<{ seq: string }>(
    `WITH ins AS (INSERT INTO ${J}.table_outbox_batch (run_id, n, jobs, cells) VALUES ($1, $2, $3, $4::jsonb) RETURNING seq),
          counted AS (UPDATE ${J}.table_run SET claimed = claimed + $2, updated_ms = $5 WHERE id = $1)
     SELECT seq::text FROM ins`,
    [runId, jobs.length, JSON.stringify(jobs.map(pack)), JSON.stringify(cellsOf(jobs)), Date.now()],
  );
  const base = Number(row.seq) * PER_BATCH;
  return jobs.map((job, i) => ({ ...job, seq: base + i + 1 }));
}

/**
 * Entries claimed but not yet known written, oldest first (what a rerun writes first): whole
 * batches, in outbox order, at least one, until `limit` entries. Ordered by the column `o.seq` (a
 * bare `seq` would name a text output column, whose order puts 10 before 9, and a destination
 * mark moved past 10 would then skip 9 for good).
 */
export async function pendingOutbox(db: PostgresHandle, runId: string, limit: number): Promise<OutboxEntry[]> {
  const rows = await db.query<{ seq: string; jobs: string }>(
    `SELECT o.seq::text AS seq, o.jobs FROM ${J}.table_outbox_batch o WHERE o.run_id = $1 ORDER BY o.seq LIMIT $2`, [runId, Math.max(1, limit)]);
  const entries: OutboxEntry[] = [];
  for (const r of rows) {
    if (entries.length >= limit && entries.length > 0) break;
    const base = Number(r.seq) * PER_BATCH;
    (JSON.parse(r.jobs) as PackedJob[]).forEach((p, i) => entries.push(unpack(p, base + i + 1)));
  }
  return entries;
}

/** Entries still in the outbox for a run (what the check after a move expects to be none). */
export async function outboxCount(db: PostgresHandle, runId: string): Promise<number> {
  const [row] = await db.query<{ n: string }>(`SELECT COALESCE(sum(n), 0)::text AS n FROM ${J}.table_outbox_batch WHERE run_id = $1`, [runId]);
  return Number(row?.n ?? 0);
}

/**
 * After the destination confirmed (or had already recorded) the entries: their batches leave the
 * outbox, and the run's delivered and per-queue counts move, in one statement (atomic on its
 * own). `entries` are whole batches, as writeOutbox and pendingOutbox give them.
 */
export async function settleOutbox(db: PostgresHandle, runId: string, entries: OutboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const batches = [...new Set(entries.map((e) => Math.floor(e.seq / PER_BATCH)))];
  await db.query(
    `WITH d AS (DELETE FROM ${J}.table_outbox_batch WHERE run_id = $1 AND seq = ANY($2::bigint[]) RETURNING n, cells),
          c AS (SELECT x.q AS queue, x.k AS kind, sum(x.n) AS n FROM d, jsonb_to_recordset(d.cells) AS x(q text, k text, n bigint) GROUP BY 1, 2),
          r AS (UPDATE ${J}.table_run SET delivered = delivered + (SELECT sum(n) FROM d), updated_ms = $3 WHERE id = $1 AND EXISTS (SELECT 1 FROM d)),
          m AS (INSERT INTO ${J}.table_moved (run_id, queue, kind, moved) SELECT $1, queue, kind, n FROM c
                ON CONFLICT (run_id, queue, kind) DO UPDATE SET moved = table_moved.moved + EXCLUDED.moved)
     SELECT 1`, [runId, batches, Date.now()]);
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
