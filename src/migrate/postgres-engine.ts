import type { PostgresHandle } from '../backend/postgres/types.js';
import { quoteIdent } from '../backend/postgres/schema.js';
import type { Topology } from '../topology/types.js';
import { dict } from '../util/dict.js';
import type { ApplyResult, Moves } from './apply.js';
import { MOVABLE_STATES, type MovableState } from './keys.js';
import { addMove, addStay, addTo, emptyPlan, type LeftState, type Plan, type StayReason } from './plan.js';
import { routeName, type Routing } from './routing.js';
import type { Counts } from './verify.js';
import { assignIds } from './postgres-ids.js';
import type { BusyJob } from './postgres-busy.js';

/**
 * migrate's move engine on BullMQ's PostgreSQL backend (the Redis engines are apply.ts and
 * cross-slot.ts). Within one schema a move is the job row changing its `queue` column, with its
 * job_log and dedup rows, in one transaction per batch that also bumps the run's journal counters
 * (postgres-journal.ts): a crash never half-moves, and the journal never disagrees with the queues.
 * Rows are taken FOR UPDATE SKIP LOCKED, so an old worker claiming the same job wins it and the
 * move skips it; each state is walked in its own index order with a keyset cursor.
 *
 * The plan reads the same batches without locks and classifies them with the same function
 * (classify) as the move, so the plan and the move decide alike. Jobs with a parent or children,
 * from a scheduler, whose custom id the destination holds for another job, or whose deduplication
 * id the destination already uses, stay. `seq` (BullMQ's global FIFO sequence) and `priority` are
 * kept, so order in the destination is the order they were added; a numeric id the destination
 * holds gets the destination's next id, and the destination's id sequence is kept 1,000,000 ahead
 * of the source's (the Redis id policy).
 */

/** One job row as the engine reads it: enough to classify, order and move it. */
export interface Row {
  id: string;
  name: string;
  priority: number;
  seq: string;
  process_at_ms: string | null;
  finished_at_ms: string | null;
  dedup_id: string | null;
  flow: boolean;
  scheduler: boolean;
  /** Where the row is: the move finds it by ctid (locked FOR UPDATE, so it stays put until the move). */
  ctid: string;
}

type Cursor = [string, string, string];
// Below every priority (an integer), due and finish time; seq may be negative (LIFO).
const START: Cursor = ['-2147483648', '-9223372036854775808', ''];

const COLUMNS = `id, name, priority, seq::text, process_at_ms::text, finished_at_ms::text, dedup_id,
  (parent_id IS NOT NULL OR pending_deps > 0 OR EXISTS (SELECT 1 FROM %s.job_dependency d WHERE d.parent_queue = job.queue AND d.parent_id = job.id)) AS flow,
  scheduler_id IS NOT NULL AS scheduler, ctid::text AS ctid`;

/** Each movable state in its own partial index's order (ORDER BY names job.* columns: the selected ones are ::text) (job_ready_idx, job_delayed_idx, job_finished_idx). */
const WINDOW: Record<MovableState, { where: string; order: string; next: (r: Row) => Cursor }> = {
  wait: { where: `state = 'waiting' AND priority = 0 AND (seq, id) > ($3, $4)`, order: 'job.seq, job.id', next: (r) => ['0', r.seq, r.id] },
  prioritized: { where: `state = 'waiting' AND priority > 0 AND (priority, seq, id) > ($2, $3, $4)`, order: 'job.priority, job.seq, job.id', next: (r) => [String(r.priority), r.seq, r.id] },
  delayed: { where: `state = 'delayed' AND (process_at_ms, id) > ($2, $4)`, order: 'job.process_at_ms, job.id', next: (r) => [r.process_at_ms ?? '0', '0', r.id] },
  failed: { where: `state = 'failed' AND (finished_at_ms, id) > ($2, $4)`, order: 'job.finished_at_ms, job.id', next: (r) => [r.finished_at_ms ?? '0', '0', r.id] },
};

/** The `queue`/`state` cell BullMQ's Postgres tables keep for one of queuectl's states. */
const STATE_FILTER: Record<MovableState, string> = {
  wait: `state = 'waiting' AND priority = 0`,
  prioritized: `state = 'waiting' AND priority > 0`,
  delayed: `state = 'delayed'`,
  failed: `state = 'failed'`,
};

export interface PgEngineContext {
  handle: PostgresHandle;
  routing: Routing;
  topology: Topology;
  batch: number;
  /** queue → the event id this run's committed trims reached down to (moveStatement's floor). */
  trimFloors: Map<string, string>;
  /** The job table's columns other than queue and id, quoted (jobCopyColumns): what a move copies. */
  jobColumns: string[];
}

/**
 * What reading and classifying need (the plan, and xmove's source): no trims, no moves. `elsewhere`:
 * the destination queues are on another server (migrate --to-url), so nothing is probed for them
 * here: queues of those names on this server are not the destination (its refusals are learnt at
 * delivery).
 */
export type PgScanContext = Omit<PgEngineContext, 'trimFloors' | 'jobColumns'> & { elsewhere?: boolean };

/**
 * Every column of BullMQ's job table but its key (queue, id), as the server has them (a later
 * BullMQ migration may add some): a move copies the row whole under its new key (moveStatement).
 */
export async function jobCopyColumns(handle: PostgresHandle): Promise<string[]> {
  const rows = await handle.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attname NOT IN ('queue', 'id') ORDER BY attnum`,
    [`${schemaOf(handle)}.job`],
  );
  return rows.map((r) => quoteIdent(r.name));
}

/** What one classify pass decided for a batch of rows. */
interface Verdicts {
  moves: { row: Row; dest: string; rename: boolean }[];
  duplicates: { row: Row; dest: string }[];
  stays: { row: Row; reason: StayReason; dest?: string }[];
  untouched: { owned: number; filtered: number };
}

function schemaOf(handle: PostgresHandle): string {
  return quoteIdent(handle.spec.schema);
}

/**
 * A window in its state's index order, read off that index. Without statistics (a queue loaded
 * just before the run: autovacuum has not analyzed it yet) the planner expects a handful of rows
 * and sorts the whole rest of the state for every window (200k jobs: 128 ms and a 12 MB spill a
 * window, against 0.5 ms off the index). Callers keep it from sorting (enable_sort off: the
 * incremental sort that breaks ties on id is still allowed) for the read only: a statement that
 * must sort (the move's ordered event insert) then costs 10^10, and that turns JIT compilation on
 * (2.2 s a statement).
 */
async function readWindow(ctx: PgScanContext, state: MovableState, cursor: Cursor, lock: boolean): Promise<Row[]> {
  const s = schemaOf(ctx.handle);
  const w = WINDOW[state];
  const text = `SELECT ${COLUMNS.replace('%s', s)} FROM ${s}.job WHERE queue = $1 AND ${w.where} AND ($2::bigint, $3::bigint, $4::text) IS NOT NULL ORDER BY ${w.order} LIMIT $5${lock ? ' FOR UPDATE SKIP LOCKED' : ''}`;
  return ctx.handle.query<Row & Record<string, unknown>>(text, [ctx.routing.from, ...cursor, ctx.batch]);
}

/** The same decisions for the plan (no locks) and the move (inside the batch's transaction). */
async function classify(ctx: PgScanContext, rows: Row[]): Promise<Verdicts> {
  const s = schemaOf(ctx.handle);
  const out: Verdicts = { moves: [], duplicates: [], stays: [], untouched: { owned: 0, filtered: 0 } };
  const routed: { row: Row; dest: string }[] = [];
  for (const row of rows) {
    const route = routeName(ctx.routing, ctx.topology, row.name);
    if ('stay' in route) {
      if (route.stay === 'unowned') out.stays.push({ row, reason: 'unowned' });
      else out.untouched[route.stay] += 1;
    } else if (row.flow) out.stays.push({ row, reason: 'flow', dest: route.dest });
    else if (row.scheduler) out.stays.push({ row, reason: 'scheduler', dest: route.dest });
    else routed.push({ row, dest: route.dest });
  }
  if (routed.length === 0) return out;
  if (ctx.elsewhere) {
    // The plan of a move to another server (no lock held: `flow` was read with the window).
    for (const { row, dest } of routed) out.moves.push({ row, dest, rename: false });
    return out;
  }
  // One round trip for every lookup, each a primary-key probe per row (LATERAL … OFFSET 0: joined
  // on arrays the planner otherwise hashes a sequential scan of the whole table, every batch): ids the destination holds (the same job, name and data, is a
  // duplicate; a numeric id is renamed; else a collision), deduplication ids it already uses, and
  // jobs that are a flow's parent. That last one again, after the batch's lock: the window's read
  // decided `flow` on a snapshot taken before it held the rows, and a move deletes the old row
  // (its job_dependency rows would cascade); once the rows are held, a new child must wait for
  // the batch's commit (its foreign key check locks the parent), and then finds no parent.
  const withDedup = routed.filter((r) => r.row.dedup_id);
  const found = await ctx.handle.query<{ kind: 'id' | 'dedup' | 'parent'; key: string; dest: string; same: boolean | null }>(
    `SELECT 'id' AS kind, m.id AS key, m.dest, (d.name = j.name AND d.data = j.data) AS same
       FROM unnest($2::text[], $3::text[]) AS m(id, dest)
       CROSS JOIN LATERAL (SELECT name, data FROM ${s}.job WHERE job.queue = m.dest AND job.id = m.id OFFSET 0) d
       JOIN ${s}.job j ON j.queue = $1 AND j.id = m.id AND j.id = ANY($2::text[])
     UNION ALL
     SELECT 'dedup', m.dedup, m.dest, NULL FROM unnest($4::text[], $5::text[]) AS m(dedup, dest)
       CROSS JOIN LATERAL (SELECT 1 FROM ${s}.dedup WHERE dedup.queue = m.dest AND dedup.dedup_id = m.dedup OFFSET 0) x
     UNION ALL
     SELECT 'parent', m.id, NULL, NULL FROM unnest($2::text[]) AS m(id)
       CROSS JOIN LATERAL (SELECT 1 FROM ${s}.job_dependency WHERE job_dependency.parent_queue = $1 AND job_dependency.parent_id = m.id LIMIT 1) x`,
    [ctx.routing.from, routed.map((r) => r.row.id), routed.map((r) => r.dest), withDedup.map((r) => r.row.dedup_id), withDedup.map((r) => r.dest)],
  );
  const holds = new Map<string, boolean>();
  const taken = new Set<string>();
  const parents = new Set<string>();
  for (const f of found) {
    if (f.kind === 'id') holds.set(f.key, Boolean(f.same));
    else if (f.kind === 'parent') parents.add(f.key);
    else taken.add(`${f.dest}\u0000${f.key}`);
  }
  for (const { row, dest } of routed) {
    const same = holds.get(row.id);
    if (parents.has(row.id)) out.stays.push({ row, reason: 'flow', dest });
    else if (same === true) out.duplicates.push({ row, dest });
    else if (same === false && !/^\d+$/.test(row.id)) out.stays.push({ row, reason: 'collision', dest });
    else if (row.dedup_id && taken.has(`${dest}\u0000${row.dedup_id}`)) out.stays.push({ row, reason: 'dedup-conflict', dest });
    else out.moves.push({ row, dest, rename: same === false });
  }
  return out;
}

/** The plan: every movable state read in windows and classified, plus what stays for other reasons. Counts only. */
export async function scanPostgres(ctx: PgScanContext, states: MovableState[]): Promise<Plan> {
  const plan = emptyPlan(ctx.routing, states);
  // Kept from sorting (readWindow) for the plan's queries only: outside a transaction, so for the session, then reset.
  await ctx.handle.query(`SET enable_sort = off`);
  try {
    for (const state of states) {
      let cursor = START;
      for (;;) {
        const rows = await readWindow(ctx, state, cursor, false);
        if (rows.length === 0) break;
        plan.scanned += rows.length;
        record(plan, state, await classify(ctx, rows));
        cursor = WINDOW[state].next(rows[rows.length - 1]);
      }
    }
  } finally {
    await ctx.handle.query(`RESET enable_sort`).catch(() => undefined);
  }
  await addNeverMovingPg(ctx, plan);
  return plan;
}

/**
 * Jobs that never move (still being processed, parents waiting for their children) and the ones
 * the plan leaves unread (`outside`), as addNeverMoving does on Redis (scan.ts): for the plan, and
 * as where a one-pass run's plan starts.
 */
export async function addNeverMovingPg(ctx: PgScanContext, plan: Plan): Promise<void> {
  const s = schemaOf(ctx.handle);
  const legacy = !ctx.routing.fromDeclared;
  const left: LeftState[] = [...MOVABLE_STATES.filter((st) => !plan.states.includes(st)), ...(legacy ? ['completed' as const] : [])];
  const [side] = await ctx.handle.query<{ active: string; active_ids: string[]; children: string; child_ids: string[] } & Record<string, unknown>>(
    `SELECT (SELECT count(*) FROM ${s}.job WHERE queue = $1 AND state = 'active')::text AS active,
            ARRAY(SELECT id FROM ${s}.job WHERE queue = $1 AND state = 'active' LIMIT 5) AS active_ids,
            (SELECT count(*) FROM ${s}.job WHERE queue = $1 AND state = 'waiting-children')::text AS children,
            ARRAY(SELECT id FROM ${s}.job WHERE queue = $1 AND state = 'waiting-children' LIMIT 5) AS child_ids,
            ${left.map((st, i) => `(SELECT count(*) FROM ${s}.job WHERE queue = $1 AND ${st === 'completed' ? `state = 'completed'` : STATE_FILTER[st]})::text AS c${i}`).concat('0 AS none').join(', ')}`,
    [ctx.routing.from],
  );
  if (Number(side.active) > 0) addStay(plan, 'active', Number(side.active), side.active_ids, undefined, 'active');
  if (Number(side.children) > 0) addStay(plan, 'flow', Number(side.children), side.child_ids, undefined, 'waiting-children');
  left.forEach((st, i) => Number(side[`c${i}`]) > 0 && (plan.outside[st] = Number(side[`c${i}`])));
}

/** Jobs in the source's movable states (what a one-pass run will read). */
export async function countSource(ctx: PgScanContext, states: MovableState[]): Promise<number> {
  const counts = await countPostgres(ctx.handle, [ctx.routing.from], states);
  return Object.values(counts[ctx.routing.from] ?? {}).reduce((a: number, n) => a + (n ?? 0), 0);
}

/**
 * A committed batch's verdicts into a one-pass run's plan, as the plan would have counted them (a
 * job a busy deduplication lock kept is a routed `locked` stay; postgres-busy.ts). Without
 * `stays`, only what moved or was removed: a re-walk of the state re-reads what stayed.
 */
export function recordVerdicts(plan: Plan, state: MovableState, outcome: BatchOutcome, stays: boolean): void {
  const v = outcome.verdicts;
  plan.scanned += stays ? outcome.read : v.moves.length + v.duplicates.length;
  record(plan, state, v, stays);
}

/** One batch's verdicts into a plan; without `stays`, only what moved or was removed. */
function record(plan: Plan, state: MovableState, v: Verdicts, stays = true): void {
  for (const m of v.moves) {
    addMove(plan, m.dest, state);
    if (m.rename) {
      plan.renamed.count += 1;
      if (plan.renamed.examples.length < 5) plan.renamed.examples.push(m.row.id);
    }
  }
  for (const d of v.duplicates) {
    addTo(plan.duplicates, d.dest, state, 1);
    if (plan.duplicateExamples.length < 5) plan.duplicateExamples.push(d.row.id);
  }
  if (!stays) return;
  for (const st of v.stays) {
    addStay(plan, st.reason, 1, [st.row.id], st.row.name, state);
    if (st.dest) addTo(plan.routedStays, st.dest, state, 1);
  }
  plan.untouched.owned += v.untouched.owned;
  plan.untouched.filtered += v.untouched.filtered;
}

/** destination → state → jobs, each count one partial-index probe. */
export async function countPostgres(handle: PostgresHandle, dests: string[], states: MovableState[]): Promise<Counts> {
  const s = schemaOf(handle);
  const counts: Counts = {};
  for (const d of dests) {
    const [row] = await handle.query<Record<string, string>>(`SELECT ${states.map((st, i) => `(SELECT count(*) FROM ${s}.job WHERE queue = $1 AND ${STATE_FILTER[st]})::text AS c${i}`).join(', ')}`, [d]);
    counts[d] = {};
    states.forEach((st, i) => (counts[d][st] = Number(row[`c${i}`])));
  }
  return counts;
}

/**
 * A batch's move in one statement, whatever its size: each job row is copied whole (every column
 * of the table: jobCopyColumns) under its new key (destination, and id when renamed) and the old
 * row deleted; their job_log and dedup rows change queue (and id) in the same statement (the
 * foreign key job_log → job is checked at the statement's end, when both have moved: the delete's
 * cascade then finds no log left to take). Copy and delete rather than an UPDATE of the key: an
 * update of a referenced key runs BullMQ's two NO ACTION foreign-key triggers (job_log,
 * job_dependency) at two queries each per row, a delete their two cascades at one each (1,000
 * jobs: 37 ms against 56 ms, half of it those triggers). What NO ACTION guarded (no job_dependency
 * row may point at a moved job) classify checks after the batch's lock, and the batch's
 * transaction is READ COMMITTED so that check sees every committed child. Then the events add_jobs_bulk writes for each job (`added`, then
 * `waiting` or `delayed` with its due time) in the destination and a `removed` (with `prev`) in
 * the source (none for a failed job, as BullMQ's remove emits none from failed) go in as one
 * ordered INSERT, job by job, as BullMQ's bulk add does. Then what publish_event does once per
 * event, done once per queue: a `bullmq_events` wakeup (skipped while another committer of that
 * queue holds the same try-lock, as BullMQ does), the trim to the queue's opts.maxLenEvents
 * (10,000 by default; 0 keeps all), chunked as publish_event chunks it (there 1 event in 256,
 * here a batch whose event ids cross a multiple of 4,096: trimming every batch cost half the
 * move's time), and a `bullmq_jobs` NOTIFY to wake each destination's workers. A trim starts above
 * the run's previous cut of that queue (its floor): the rows below it are deleted but stay in
 * event_pkey until vacuum, and a range scan from the bottom re-read every one of them each time
 * (O(n²) in the run: 240 ms a trim by 200k jobs). A trim reaches only what this statement sees,
 * the events before its own (ids below `low`), so the floor is the lower of the cut and low - 1;
 * an event committed late below a floor is left to BullMQ's own trim, which has no floor. A trim
 * deletes at most TRIM_CAP events of a queue, oldest first, and then floors at the last one: a
 * queue whose stream was never trimmed (addBulk writes events without trimming: 2,000,000 for a
 * million seeded jobs) is cut down over the run's later trims, not in one statement that outlasts
 * the statement timeout (2.1M rows took 4.6 s) and so could never commit.
 * $1 source, $2 ids, $3 destinations, $4 new ids, $5 dedup ids, $6 names, $7 due times (delayed),
 * $8 the source state as `removed` names it, $9 whether to announce the removal, $10/$11 the
 * queues trimmed earlier in this run and their floors, $12 the job rows' ctids. Returns the new
 * floors (cut_queues/cut_reach). The job rows are found by ctid alone (the batch holds them FOR
 * UPDATE, so they stay put; the id is checked too): by `queue = $1 AND id = ANY`, a queue without
 * statistics read every row of the queue, every batch (100 ms by 200k jobs).
 */
/** Events one trim deletes at most per queue (see moveStatement): about 40 ms of a batch. */
const TRIM_CAP = 20_000;

function moveStatement(s: string, cols: string[]): string {
  return `WITH m AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $12::tid[]) WITH ORDINALITY AS m(id, dest, new_id, dedup, name, at, tid, n)),
   o AS MATERIALIZED (SELECT job.ctid AS qctl_tid, m.dest AS qctl_queue, m.new_id AS qctl_id, ${cols.map((c) => `job.${c}`).join(', ')} FROM ${s}.job JOIN m ON job.ctid = m.tid AND job.id = m.id WHERE job.ctid = ANY($12::tid[])),
   j AS (INSERT INTO ${s}.job (queue, id, ${cols.join(', ')}) SELECT o.qctl_queue, o.qctl_id, ${cols.map((c) => `o.${c}`).join(', ')} FROM o RETURNING 1),
   gone AS (DELETE FROM ${s}.job WHERE ctid = ANY(ARRAY(SELECT o.qctl_tid FROM o)) RETURNING 1),
   l AS (UPDATE ${s}.job_log SET queue = m.dest, job_id = m.new_id FROM m WHERE job_log.queue = $1 AND job_log.job_id = ANY($2::text[]) AND job_log.job_id = m.id RETURNING 1),
   d AS (UPDATE ${s}.dedup SET queue = m.dest, job_id = m.new_id FROM m WHERE dedup.queue = $1 AND dedup.dedup_id = ANY($5::text[]) AND dedup.dedup_id = m.dedup AND dedup.job_id = m.id RETURNING 1),
   e AS (INSERT INTO ${s}.event (queue, event, data, created_at_ms)
         SELECT x.q, x.ev, x.dat, (extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM (
           SELECT m.n * 3 AS o, m.dest AS q, 'added' AS ev, jsonb_build_object('jobId', m.new_id, 'name', m.name) AS dat FROM m
           UNION ALL
           SELECT m.n * 3 + 1, m.dest, CASE WHEN m.at IS NULL THEN 'waiting' ELSE 'delayed' END,
                  CASE WHEN m.at IS NULL THEN jsonb_build_object('jobId', m.new_id) ELSE jsonb_build_object('jobId', m.new_id, 'delay', m.at) END FROM m
           UNION ALL
           SELECT m.n * 3 + 2, $1, 'removed', jsonb_build_object('jobId', m.id, 'prev', $8::text) FROM m WHERE $9
         ) x ORDER BY x.o
         RETURNING queue, id),
   q AS MATERIALIZED (SELECT e.queue, min(e.id) AS low, max(e.id) AS top FROM e GROUP BY e.queue),
   cut AS MATERIALIZED (
     SELECT c.queue, c.top - c.keep AS below, LEAST(c.top - c.keep, c.low - 1) AS reach FROM (
       SELECT q.queue, q.top, q.low, q.top / 4096 > (q.low - 1) / 4096 AS due, COALESCE((SELECT value::integer FROM ${s}.meta WHERE meta.queue = q.queue AND field = 'opts.maxLenEvents'), 10000) AS keep FROM q) c
      WHERE c.due AND c.keep > 0 AND c.top > c.keep AND pg_try_advisory_xact_lock(hashtext('bullmq:evtrim:' || c.queue))),
   t AS (DELETE FROM ${s}.event WHERE ctid = ANY(ARRAY(SELECT x.ctid FROM cut
           LEFT JOIN unnest($10::text[], $11::bigint[]) AS f(queue, floor) ON f.queue = cut.queue
           CROSS JOIN LATERAL (SELECT ctid FROM ${s}.event WHERE event.queue = cut.queue AND event.id > COALESCE(f.floor, 0) AND event.id <= cut.below ORDER BY event.id LIMIT ${TRIM_CAP}) x)) RETURNING queue, id),
   woke AS MATERIALIZED (SELECT pg_notify('bullmq_events', q.queue) FROM q WHERE pg_try_advisory_xact_lock(hashtext('bullmq:evnotify:' || q.queue))),
   work AS MATERIALIZED (SELECT pg_notify('bullmq_jobs', x.dest) FROM (SELECT DISTINCT m.dest FROM m) x)
   SELECT (SELECT count(*) FROM j)::text AS jobs, (SELECT count(*) FROM gone)::text AS gone, (SELECT count(*) FROM woke) AS woke, (SELECT count(*) FROM work) AS work, (SELECT max(q.top) FROM q)::text AS top,
          ARRAY(SELECT cut.queue FROM cut) AS cut_queues, ARRAY(SELECT (CASE WHEN (SELECT count(*) FROM t WHERE t.queue = cut.queue) >= ${TRIM_CAP} THEN LEAST(cut.reach, (SELECT max(t.id) FROM t WHERE t.queue = cut.queue)) ELSE cut.reach END)::text FROM cut) AS cut_reach`;
}

export interface BatchOutcome {
  read: number;
  last?: Row;
  moved: Moves;
  removed: Moves;
  renamed: ApplyResult['renamed'];
  duplicates: ApplyResult['duplicates'];
  stayed: ApplyResult['stayed'];
  /** Jobs left in place because their deduplication id was busy (the run accounts for them: postgres-busy.ts). */
  busy: BusyJob[];
  /** What the batch decided for each row it read: a one-pass run's plan (recordVerdicts). */
  verdicts: Verdicts;
  /** [queue, event id] of each event trim the batch made: the run's new floors once it commits. */
  cuts: [string, string][];
  /** The highest event id the batch wrote (every later transaction's events are above it). */
  eventTop?: string;
}

/** How a batch fits among others running at once on other connections (postgres-run.ts's lanes). */
export interface BatchLanes {
  /** Called once the batch holds its rows, with the last one read (none: the state is exhausted). */
  onRead?: (last: Row | undefined) => void;
  /** Event ids above this may belong to another lane's open transaction: trims keep their floors at or below it. */
  floorCap?: () => bigint | undefined;
  /** assignIds, serialized across lanes (its sequence raise reads, then sets). */
  assignIds?: typeof assignIds;
}

/**
 * One batch of one state, inside the caller's transaction: lock a window, classify it, move what
 * may move (job, job_log and dedup rows to the destination), announce it the way add_job does
 * (`added` + `waiting`/`delayed` events, a bullmq_jobs NOTIFY to wake the destination's workers),
 * and record it in the journal (the same transaction commits both).
 */
export async function moveBatch(ctx: PgEngineContext, state: MovableState, cursor: Cursor, journal: (moved: Moves, renamed: ApplyResult['renamed']) => Promise<void>, lanes: BatchLanes = {}): Promise<BatchOutcome> {
  const { handle, routing } = ctx;
  const s = schemaOf(handle);
  // Kept from sorting for the read only (readWindow), then back to what the session had.
  const [sorting] = await handle.query<{ was: string }>(`SELECT current_setting('enable_sort') AS was, set_config('enable_sort', 'off', true)`);
  const rows = await readWindow(ctx, state, cursor, true);
  await handle.query(`SELECT set_config('enable_sort', $1, true)`, [sorting.was]);
  lanes.onRead?.(rows[rows.length - 1]);
  const outcome: BatchOutcome = { read: rows.length, last: rows[rows.length - 1], moved: dict(), removed: dict(), renamed: [], duplicates: [], stayed: [], busy: [], verdicts: { moves: [], duplicates: [], stays: [], untouched: { owned: 0, filtered: 0 } }, cuts: [] };
  if (rows.length === 0) return outcome;
  // BullMQ serializes every add and finish of a deduplication id on this advisory lock, taken
  // before it touches a job row; we already hold the rows, so waiting for it could deadlock with a
  // producer. Try it instead (source and destinations): a job whose id is busy stays this batch
  // as `locked`, and the rerun (or the next pass) moves it.
  const lockOf = new Map<string, string>(); // advisory key → deduplication id
  for (const r of rows) if (r.dedup_id) for (const q of [routing.from, ...routing.dests]) lockOf.set(`${q}:${r.dedup_id}`, r.dedup_id);
  const busy = new Set<string>();
  if (lockOf.size > 0) {
    const got = await handle.query<{ k: string; ok: boolean }>(`SELECT k, pg_try_advisory_xact_lock(hashtext('bullmq:dedup:' || k)) AS ok FROM (SELECT k FROM unnest($1::text[]) AS k ORDER BY k) t`, [[...lockOf.keys()]]);
    for (const g of got) if (!g.ok) busy.add(lockOf.get(g.k)!);
  }
  const free = busy.size === 0 ? rows : rows.filter((r) => !r.dedup_id || !busy.has(r.dedup_id));
  const v = await classify(ctx, free);
  for (const row of rows) {
    if (!row.dedup_id || !busy.has(row.dedup_id)) continue; // free (a lookup, not free.includes: O(n²) a batch)
    const route = routeName(routing, ctx.topology, row.name);
    v.stays.push({ row, reason: 'locked', dest: 'dest' in route ? route.dest : undefined });
    if ('dest' in route) outcome.busy.push({ id: row.id, name: row.name, dest: route.dest, state });
  }
  outcome.verdicts = v;
  for (const st of v.stays) if (outcome.stayed.length < 5) outcome.stayed.push({ id: st.row.id, reason: st.reason, name: st.row.name });

  const newIds = await (lanes.assignIds ?? assignIds)(handle, routing.from, v.moves);

  if (v.moves.length > 0) {
    const ids = v.moves.map((m) => m.row.id);
    const dests = v.moves.map((m) => m.dest);
    const to = v.moves.map((m) => newIds.get(m.row) ?? m.row.id);
    const dedups = v.moves.map((m) => m.row.dedup_id);
    // Another lane's uncommitted events are invisible here: no floor above what it may still commit.
    const cap = lanes.floorCap?.();
    const capped = (id: string) => (cap !== undefined && BigInt(id) > cap ? cap.toString() : id);
    const [done] = await handle.query<{ jobs: string; gone: string; cut_queues: string[]; cut_reach: string[]; top: string | null }>(moveStatement(s, ctx.jobColumns), [
      routing.from, ids, dests, to, dedups, v.moves.map((m) => m.row.name),
      v.moves.map((m) => (state === 'delayed' ? m.row.process_at_ms : null)), state === 'wait' ? 'wait' : state, state !== 'failed',
      [...ctx.trimFloors.keys()], [...ctx.trimFloors.values()].map(capped), v.moves.map((m) => m.row.ctid),
    ]);
    // Every row held FOR UPDATE is copied and deleted, or the batch rolls back (never a job in two queues, or in none).
    if (Number(done?.jobs) !== v.moves.length || Number(done?.gone) !== v.moves.length) throw new Error(`a batch of ${v.moves.length} moves copied ${done?.jobs} job rows and removed ${done?.gone}: rolled back`);
    outcome.cuts = (done?.cut_queues ?? []).map((q, i) => [q, capped(done!.cut_reach[i])] as [string, string]);
    outcome.eventTop = done?.top ?? undefined;
    for (const m of v.moves) {
      const row = (outcome.moved[m.dest] ??= {});
      row[state] = (row[state] ?? 0) + 1;
      const fresh = newIds.get(m.row);
      if (fresh) outcome.renamed.push({ queue: m.dest, from: m.row.id, to: fresh });
    }
  }
  if (v.duplicates.length > 0) {
    // The destination holds the same job (id, name, data): the legacy copy goes, with its logs (ON DELETE CASCADE) and dedup row.
    const ids = v.duplicates.map((d) => d.row.id);
    await handle.query(`DELETE FROM ${s}.dedup WHERE queue = $1 AND job_id = ANY($2::text[]) AND dedup_id = ANY($3::text[])`, [routing.from, ids, v.duplicates.map((d) => d.row.dedup_id ?? '')]);
    await handle.query(`DELETE FROM ${s}.job WHERE queue = $1 AND id = ANY($2::text[])`, [routing.from, ids]);
    for (const d of v.duplicates) {
      const row = (outcome.removed[d.dest] ??= {});
      row[state] = (row[state] ?? 0) + 1;
      outcome.duplicates.push({ queue: d.dest, id: d.row.id, name: d.row.name });
    }
  }
  await journal(outcome.moved, outcome.renamed);
  return outcome;
}

export { START as START_CURSOR, WINDOW as STATE_WINDOWS };
export type { Cursor };
