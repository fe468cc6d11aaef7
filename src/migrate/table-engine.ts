import { quoteIdent } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import type { TableSource } from '../table/types.js';
import type { Topology } from '../topology/types.js';
import { sleep } from '../util/sleep.js';
import type { Routing } from './routing.js';
import type { TableDestination } from './table-dest.js';
import { intendedJob, type IntendedJob, type PriorityRanks, type TableRow } from './table-jobs.js';
import { countMoved, pendingOutbox, settleOutbox, writeOutbox, type OutboxEntry } from './table-journal.js';
import { inTransaction } from '../backend/postgres/transaction.js';
import { claimInLanes, openTableLanes, type LaneCursor } from './table-lanes.js';

/**
 * The move loop of `migrate --from <table source>`. Per batch, ONE source transaction locks rows
 * with FOR UPDATE SKIP LOCKED (so the application's own workers, claiming the same way, never get
 * a row we hold, and we never take one they hold), turns them into jobs, writes those to the
 * outbox and deletes (or marks) the rows; after COMMIT the jobs go to BullMQ (table-dest.ts) and
 * leave the outbox. Into BullMQ-on-PostgreSQL in the same database the write is inside that same
 * transaction instead, and no outbox is needed. A run starts by writing what a killed run left in
 * the outbox. Never an active row: only the statuses --states names are read.
 */

/** The row states `--states` takes, and the status each reads. */
export const TABLE_STATES = ['ready', 'scheduled', 'failed', 'dead'] as const;
export type TableState = (typeof TABLE_STATES)[number];
export const DEFAULT_TABLE_STATES: TableState[] = ['ready', 'scheduled'];

export interface TableMoveInput {
  source: TableSource;
  dest: TableDestination;
  topology: Topology;
  routing: Routing;
  ranks: PriorityRanks;
  runId: string;
  states: TableState[];
  /** Keep moved rows with this status instead of deleting them. */
  mark?: string;
  batch: number;
  follow?: { quietMs: number };
  signal: AbortSignal;
  onProgress?: (p: { claimed: number; delivered: number }) => void;
}

export interface TableMoveResult {
  claimed: number;
  delivered: number;
  /** queue → jobs written there by this process. */
  moved: Record<string, number>;
  /** Rows that stay, by reason, with a few ids. */
  stayed: { reason: string; id: string; problem?: string }[];
  stayedCount: number;
  interrupted: boolean;
}

/** One group the claim query walks: a status, and a due-time condition for ready vs scheduled. */
interface Group {
  status: string;
  due?: 'now' | 'later';
  kind: 'run' | 'failed';
}

export function groupsFor(source: TableSource, states: TableState[]): Group[] {
  const groups: Group[] = [];
  const ready = states.includes('ready');
  const scheduled = states.includes('scheduled');
  if (ready || scheduled) groups.push({ status: source.status.ready, due: ready && scheduled ? undefined : ready ? 'now' : 'later', kind: 'run' });
  if (states.includes('failed') && source.status.failed) groups.push({ status: source.status.failed, kind: 'failed' });
  if (states.includes('dead') && source.status.dead) groups.push({ status: source.status.dead, kind: 'failed' });
  return groups;
}

/**
 * SQL pieces over the source's columns (quoted once, here). `wholeRow`: every column as JSON, for
 * jobId templates that name columns; without one the row is not read twice (less to parse and hold).
 */
export function tableSql(source: TableSource, wholeRow = true) {
  const c = source.columns;
  const q = (role: keyof typeof c) => (c[role] ? `t.${quoteIdent(c[role]!)}` : undefined);
  const ms = (role: keyof typeof c) => (c[role] ? `(extract(epoch FROM ${q(role)}::timestamptz) * 1000)::bigint` : 'NULL::bigint');
  const runAt = q('runAt');
  return {
    table: source.table.sql,
    id: q('id')!,
    name: q('name')!,
    status: q('status')!,
    runAt,
    statusType: source.statusType,
    select: `${q('id')}::text AS id, ${q('name')}::text AS name, ${q('data')} AS data, ${wholeRow ? 'to_jsonb(t)' : `'{}'::jsonb`} AS row,
      ${ms('runAt')} AS run_at_ms, ${ms('createdAt')} AS created_at_ms,
      ${c.priority ? `${q('priority')}::float8` : 'NULL::float8'} AS priority,
      ${c.attemptsMade ? `${q('attemptsMade')}::int` : 'NULL::int'} AS attempts_made,
      ${c.maxAttempts ? `${q('maxAttempts')}::int` : 'NULL::int'} AS max_attempts,
      ${c.lastError ? `${q('lastError')}::text` : 'NULL::text'} AS last_error,
      ${runAt ? `${runAt}::text` : `${q('id')}::text`} AS cursor_at`,
    /** The claim index's own order (status, runAt…), so a batch reads only its rows: never a sort of the whole table. */
    order: runAt ? `${runAt}` : `${q('id')}`,
    idType: source.columnTypes[c.id] ?? 'text',
    /** At or past the last batch's due time ($4, as text); `strict` once a whole batch stayed at it. */
    cursor: (strict: boolean) => (runAt ? `${runAt} ${strict ? '>' : '>='} $4::text::${source.columnTypes[c.runAt!]}` : `${q('id')} ${strict ? '>' : '>='} $4::text::${source.columnTypes[c.id]}`),
    due: (d: Group['due']) => (!runAt || !d ? '' : d === 'now' ? ` AND ${runAt} <= now()` : ` AND ${runAt} > now()`),
  };
}

/** `name IN (owned families)` unless every name goes to one queue. */
export function routedNames(routing: Routing): string[] | undefined {
  return routing.routes['*'] !== undefined ? undefined : Object.keys(routing.routes);
}

/** The claim's family condition on $2 (null: every name), and the names it is given. */
export interface NameFilter {
  sql: string;
  names: string[] | null;
}

/**
 * The claim's family condition, comparing the name column in its own type: then the planner
 * reads the column's statistics and walks the claim index, where a cast of the column (`::text`)
 * hides both, and each batch became a scan and sort of the whole table. An enum column is given
 * only the names that are its labels (a routed name that is no label has no row; casting it would
 * fail), a string column the names as they are; any other type keeps the cast.
 */
export async function nameFilter(source: TableSource, names: string[] | undefined): Promise<NameFilter> {
  const column = `t.${quoteIdent(source.columns.name)}`;
  const type = source.columnTypes[source.columns.name] ?? 'text';
  const [t] = await source.db.query<{ category: string; labels: string[] | null }>(
    `SELECT t.typcategory::text AS category, CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid) END AS labels
       FROM pg_type t WHERE t.oid = to_regtype($1)`, [type]);
  if (t?.labels) {
    const labels = new Set(t.labels);
    return { sql: `($2::text[] IS NULL OR ${column} = ANY($2::text[]::${type}[]))`, names: names ? names.filter((n) => labels.has(n)) : null };
  }
  const cast = t?.category === 'S' ? '' : '::text';
  return { sql: `($2::text[] IS NULL OR ${column}${cast} = ANY($2::text[]))`, names: names ?? null };
}

interface RawRow {
  id: string;
  name: string;
  data: unknown;
  row: Record<string, unknown>;
  run_at_ms: string | null;
  created_at_ms: string | null;
  priority: number | null;
  attempts_made: number | null;
  max_attempts: number | null;
  last_error: string | null;
  cursor_at: string;
}

/** RawRow's columns: the claim orders by its key without returning it (a timestamp the client would parse per row). */
const RAW_COLUMNS = 'id, name, data, row, run_at_ms, created_at_ms, priority, attempts_made, max_attempts, last_error, cursor_at';

function toRow(r: RawRow, kind: Group['kind']): TableRow {
  const num = (v: string | null) => (v === null ? null : Number(v));
  return {
    id: r.id, name: r.name, data: r.data, row: r.row, runAtMs: num(r.run_at_ms), createdAtMs: num(r.created_at_ms), priority: r.priority,
    attemptsMade: r.attempts_made, maxAttempts: r.max_attempts, lastError: r.last_error, kind,
  };
}


function tally(into: Record<string, number>, from: Record<string, number>): void {
  for (const [q, n] of Object.entries(from)) into[q] = (into[q] ?? 0) + n;
}

function cells(jobs: IntendedJob[]): { queue: string; kind: string; n: number }[] {
  const m = new Map<string, { queue: string; kind: string; n: number }>();
  for (const j of jobs) {
    const k = `${j.queue}\u0000${j.kind}`;
    const c = m.get(k) ?? m.set(k, { queue: j.queue, kind: j.kind, n: 0 }).get(k)!;
    c.n += 1;
  }
  return [...m.values()];
}

export async function runTableMove(input: TableMoveInput): Promise<TableMoveResult> {
  const { source, dest, runId, signal } = input;
  const db = source.db;
  const result: TableMoveResult = { claimed: 0, delivered: 0, moved: {}, stayed: [], stayedCount: 0, interrupted: false };
  const progress = () => input.onProgress?.({ claimed: result.claimed, delivered: result.delivered });

  // 1. What a killed run claimed but may not have written: written now (the mark skips what was).
  if (!dest.sameDatabase) {
    for (;;) {
      const pending = await pendingOutbox(db, runId, input.batch);
      if (pending.length === 0) break;
      tally(result.moved, await dest.deliver(runId, pending));
      await settleOutbox(db, runId, pending);
      result.delivered += pending.length;
      progress();
    }
  }

  // 2. Passes over the table until nothing is left to move (or, with --follow, until it stays quiet).
  const sql = tableSql(source, Object.values(input.topology.queues).some((q) => q?.jobId !== undefined));
  const groups = groupsFor(source, input.states);
  const names = await nameFilter(source, routedNames(input.routing));
  const seenStay = new Set<string>();
  let quietSince = Date.now();
  // The delivery of the last batch runs while the next batch is claimed (Redis and the source
  // work at once); it settles only after that claim commits, since both use the source session.
  // Deliveries stay one at a time, in outbox order, as the destination's mark needs.
  let inFlight: { entries: OutboxEntry[]; delivery: Promise<Record<string, number>> } | undefined;
  const settlePrevious = async () => {
    if (!inFlight) return;
    const { entries, delivery } = inFlight;
    inFlight = undefined;
    tally(result.moved, await delivery);
    await settleOutbox(db, runId, entries);
    result.delivered += entries.length;
    progress();
  };
  const careful = { on: false };
  const claim = async (group: Group, cursor: LaneCursor | undefined) => {
    try {
      return await moveOneBatch(input, db, sql, group, names, cursor, careful);
    } catch (error) {
      // The outbox holds the delivery's entries either way; let it end before the error surfaces.
      await inFlight?.delivery.catch(() => undefined);
      throw error;
    } finally {
      await settlePrevious();
    }
  };
  let claimedThisPass = 0;
  /** What a committed batch adds to the result; a batch bound for Redis starts its delivery. */
  const account = (batch: BatchOutcome) => {
    claimedThisPass += batch.jobs.length;
    result.claimed += batch.jobs.length;
    for (const st of batch.stays) {
      if (seenStay.has(st.id)) continue;
      seenStay.add(st.id);
      result.stayedCount += 1;
      if (result.stayed.length < 5) result.stayed.push(st);
    }
    if (batch.entries.length > 0 && !dest.sameDatabase) {
      const delivery = dest.deliver(runId, batch.entries);
      delivery.catch(() => undefined); // awaited by settlePrevious; never an unhandled rejection meanwhile
      inFlight = { entries: batch.entries, delivery };
      return;
    }
    tally(result.moved, batch.written);
    result.delivered += batch.jobs.length;
    progress();
  };
  // Into the same database, more sessions claim and write side by side (table-lanes.ts), until a
  // row that must stay makes the run careful: then one session walks the group again.
  const lanes = dest.sameDatabase ? await openTableLanes(db) : undefined;
  try {
    for (let pass = 0; ; pass++) {
      claimedThisPass = 0;
      for (const group of groups) {
        if (lanes && lanes.handles.length > 1 && !careful.on) {
          await claimInLanes(lanes.handles, (h, cursor, onRead) => moveOneBatch(input, h, sql, group, names, cursor, careful, onRead), account, () => careful.on || signal.aborted);
          if (!careful.on && !signal.aborted) continue;
        }
        let cursor: LaneCursor | undefined;
        for (;;) {
          if (signal.aborted) {
            await settlePrevious();
            return { ...result, interrupted: true };
          }
          const batch = await claim(group, cursor);
          if (batch.read === 0) break;
          // Moved rows leave the table, so the next batch starts where this one ended; a batch where
          // every row stayed (no queue for its id) moves the cursor past their due time instead.
          cursor = { at: batch.cursor!, strict: batch.jobs.length === 0 };
          account(batch);
        }
      }
      await settlePrevious();
      if (claimedThisPass > 0) quietSince = Date.now();
      if (!input.follow) {
        // A second pass catches rows that became due or were retried behind the cursor; stop once one finds nothing.
        if (claimedThisPass === 0 || pass >= 4) break;
        continue;
      }
      if (claimedThisPass === 0 && Date.now() - quietSince >= input.follow.quietMs) break;
      if (claimedThisPass === 0) await sleep(Math.min(500, input.follow.quietMs), signal).catch(() => undefined);
    }
  } finally {
    await lanes?.close();
  }
  return result;
}

interface BatchOutcome {
  read: number;
  cursor?: string;
  jobs: IntendedJob[];
  entries: OutboxEntry[];
  written: Record<string, number>;
  stays: { reason: string; id: string; problem?: string }[];
}

/** A claimed row would stay in the table: the batch is undone and taken again row by row. */
class StayInBatch extends Error {}

/**
 * One source transaction: lock, decide, outbox (or write, same database), delete or mark. The
 * claim deletes (or marks) the rows it locks in the same statement and returns them (one
 * statement and one pass over the rows instead of a lock, a read and a second write by id). A row
 * that must stay (no queue for its family, a jobId the template cannot make) undoes that
 * transaction; the batch is then taken again the careful way (lock, read, decide, delete only the
 * moved rows), and so is every later batch of the run (`careful.on`).
 */
async function moveOneBatch(input: TableMoveInput, db: PostgresHandle, sql: ReturnType<typeof tableSql>, group: Group, names: NameFilter, cursor: LaneCursor | undefined, careful: { on: boolean }, onRead?: OnRead): Promise<BatchOutcome> {
  if (!careful.on) {
    try {
      return await inTransaction(db, () => claimBatch(input, db, sql, group, names, cursor, true, onRead));
    } catch (error) {
      if (!(error instanceof StayInBatch)) throw error;
      careful.on = true;
    }
  }
  return inTransaction(db, () => claimBatch(input, db, sql, group, names, cursor, false, onRead));
}

/** Called with the cursor of the last row claimed (undefined: none) as soon as the claim returned. */
type OnRead = (last: string | undefined) => void;

async function claimBatch(input: TableMoveInput, db: PostgresHandle, sql: ReturnType<typeof tableSql>, group: Group, names: NameFilter, cursor: LaneCursor | undefined, takeAtOnce: boolean, onRead?: OnRead): Promise<BatchOutcome> {
  const { source, dest, runId } = input;
  const params: unknown[] = [group.status, names.names, input.batch, cursor ? cursor.at : null, ...(takeAtOnce && input.mark !== undefined ? [input.mark] : [])];
  // Lock a narrow batch in index order first; the wide columns are read for those rows only.
  const locked = `t.ctid = ANY(ARRAY(
         SELECT t.ctid FROM ${sql.table} t
          WHERE ${sql.status} = $1::${sql.statusType}${sql.due(group.due)}
            AND ${names.sql}${cursor ? ` AND ${sql.cursor(cursor.strict)}` : ' AND $4::text IS NULL'}
          ORDER BY ${sql.order} LIMIT $3 FOR UPDATE OF t SKIP LOCKED))`;
  const take = input.mark !== undefined
    ? `UPDATE ${sql.table} t SET ${quoteIdent(source.columns.status)} = $5::${sql.statusType} WHERE ${locked}`
    : `DELETE FROM ${sql.table} t WHERE ${locked}`;
  const raw = await db.query<RawRow & Record<string, unknown>>(
    takeAtOnce
      ? `WITH taken AS (${take} RETURNING ${sql.select}, ${sql.order} AS order_key) SELECT ${RAW_COLUMNS} FROM taken ORDER BY order_key`
      : `SELECT ${sql.select} FROM ${sql.table} t WHERE ${locked} ORDER BY ${sql.order}`,
    params);
  const out: BatchOutcome = { read: raw.length, jobs: [], entries: [], written: {}, stays: [] };
  onRead?.(raw.length > 0 ? raw[raw.length - 1].cursor_at : undefined);
  if (raw.length === 0) return out;
  out.cursor = raw[raw.length - 1].cursor_at;
  const now = Date.now();
  for (const r of raw) {
    const v = intendedJob(toRow(r, group.kind), input.routing, input.topology, input.ranks, now);
    if ('job' in v) out.jobs.push(v.job);
    else if (takeAtOnce) throw new StayInBatch();
    else out.stays.push({ reason: v.stay, id: r.id, problem: v.problem });
  }
  if (out.jobs.length === 0) return out;
  if (dest.sameDatabase) {
    const entries = out.jobs.map((j, i) => ({ ...j, seq: i + 1 }));
    out.written = await dest.writeInTransaction(db, entries);
  } else {
    out.entries = await writeOutbox(db, runId, out.jobs);
  }
  if (!takeAtOnce) {
    const ids = out.jobs.map((j) => j.rowId);
    if (input.mark !== undefined) {
      await db.query(`UPDATE ${sql.table} t SET ${quoteIdent(source.columns.status)} = $2::${sql.statusType} WHERE ${sql.id} = ANY($1::text[]::${sql.idType}[])`, [ids, input.mark]);
    } else {
      await db.query(`DELETE FROM ${sql.table} t WHERE ${sql.id} = ANY($1::text[]::${sql.idType}[])`, [ids]);
    }
  }
  if (dest.sameDatabase) await countMoved(db, runId, cells(out.jobs), 'both');
  return out;
}
