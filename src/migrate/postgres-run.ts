import type { Context } from '../context.js';
import { requireCompatibleSchema } from '../backend/postgres/schema.js';
import { inTransaction as inOneTransaction } from '../backend/postgres/transaction.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { ExitCode } from '../errors.js';
import { runDrain } from './drain-run.js';
import { postgresDrainSite } from './postgres-drain.js';
import { sleep } from '../util/sleep.js';
import { emptyResult, type ApplyProgress, type ApplyResult, type Moves } from './apply.js';
import { runIdOf, type MovableState } from './keys.js';
import type { BatchDefault, MigrateOptions } from './options.js';
import { emptyPlan, type Plan } from './plan.js';
import { renderStatus } from './render.js';
import { buildRouting } from './routing.js';
import { runMove, type MoveEngine } from './move-run.js';
import { accountBusyStays, type BusyJob } from './postgres-busy.js';
import { addNeverMovingPg, countPostgres, countSource, jobCopyColumns, moveBatch, recordVerdicts, scanPostgres, START_CURSOR, STATE_WINDOWS, type BatchLanes, type BatchOutcome, type Cursor, type PgEngineContext } from './postgres-engine.js';
import { createIdSequences } from './postgres-ids.js';
import { openLanes, walkInLanes, type Lanes } from './postgres-lanes.js';
import { closePgJournal, ensureJournal, listPgJournals, lockRun, openPgJournal, recordBatch, resolvePgRun } from './postgres-journal.js';

/**
 * A batch is one transaction on the server, with no one else's work waiting behind it (rows are
 * taken SKIP LOCKED): bigger batches spread each transaction's fixed cost (its statements, the
 * journal row, the commit) over more jobs. 100k jobs: 4.4-4.9 s at 1000 against 5.7-9.3 s at 250.
 */
export const POSTGRES_BATCH: BatchDefault = { batch: 1000, why: 'spreads each transaction\'s fixed cost; old workers skip the rows it holds' };

/**
 * `queuectl migrate` on BullMQ's PostgreSQL backend, within one schema: the run itself (plan,
 * confirm, move, verify, report; one pass with --yes) is move-run.ts, shared with Redis; here its
 * Postgres engine (postgres-engine.ts) and journal (postgres-journal.ts), and the run's lock.
 */
export async function runPostgresMigrate(opts: MigrateOptions, ctx: Context): Promise<number> {
  const { topology } = await ctx.topology();
  const routing = buildRouting(topology, opts);
  const handle = await ctx.postgres();
  await requireCompatibleSchema(handle);
  if (opts.strategy === 'drain') return runDrain(opts, ctx, postgresDrainSite(handle, opts.from));
  const engine: PgEngineContext = { handle, routing, topology, batch: opts.batch, trimFloors: new Map(), jobColumns: opts.dryRun ? [] : await jobCopyColumns(handle) };
  const intent = runIdOf({ prefix: `postgres:${handle.spec.schema}`, from: opts.from, to: routing.to, names: opts.names, states: opts.states });
  if (!opts.dryRun) await ensureJournal(handle);
  let run = await resolvePgRun(handle, intent);
  if (!opts.dryRun) {
    await lockRun(handle, run.runId);
    const now = await resolvePgRun(handle, intent);
    if (now.runId !== run.runId) {
      await lockRun(handle, now.runId);
      run = now;
    }
  }
  const busy = new Map<string, BusyJob>();
  const postgres: MoveEngine = {
    prepare: async () => undefined,
    scan: () => scanPostgres(engine, opts.states),
    async startOnePass() {
      const plan = emptyPlan(routing, opts.states);
      await addNeverMovingPg(engine, plan);
      return { plan, jobs: await countSource(engine, opts.states) };
    },
    count: () => countPostgres(handle, routing.dests, opts.states),
    open: (plan, planned) => openPgJournal(handle, intent, { id: run.runId, source: opts.from, to: routing.to, names: opts.names, states: opts.states, plan, planned }),
    move: ({ record, onProgress }) => applyPostgres(engine, run.runId, opts, ctx.signal, busy, record, onProgress),
    settle: (remaining) => accountBusyStays(handle, opts.from, busy, remaining),
    close: (state, left, note) => closePgJournal(handle, run.runId, state, left, note),
  };
  return runMove(opts, ctx, postgres, run);
}

/** Errors a batch's transaction may meet under concurrency with BullMQ's own functions: retried. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Every state, batch by batch, each in one transaction with its journal counters, on three sessions
 * at once (postgres-lanes.ts: the server's per-row work is the cost). A state is
 * walked again while a pass moved something, so jobs a worker held locked (SKIP LOCKED) and then
 * put back are picked up; Ctrl-C stops between batches. With --follow, the whole walk repeats
 * until nothing moved for --quiet-for (the cutover window, as on Redis: apply.ts).
 */
async function applyPostgres(engine: PgEngineContext, runId: string, opts: MigrateOptions, signal: AbortSignal, busy: Map<string, BusyJob>, record: Plan | undefined, onProgress: (progress: ApplyProgress) => void): Promise<ApplyResult> {
  const result = emptyResult();
  const started = Date.now();
  let quietSince = Date.now();
  await createIdSequences(engine.handle, engine.routing.dests);
  const lanes = await openLanes(engine.handle);
  try {
    for (;;) {
      const before = result.total;
      for (const state of opts.states) if (!(await walkState(engine, lanes, runId, state, opts, signal, result, busy, started, record, onProgress))) return { ...result, interrupted: true };
      if (!opts.follow) return result;
      if (result.total > before) quietSince = Date.now();
      else if (Date.now() - quietSince >= opts.quietMs) return result;
      else await sleep(500, signal);
    }
  } finally {
    await lanes.close();
  }
}

/**
 * One state, in passes of batches (into `result`); false when Ctrl-C stopped it. A one-pass run's
 * plan (`record`) takes every verdict of the first pass, and only what later passes moved: they
 * re-read what stayed.
 */
async function walkState(engine: PgEngineContext, lanes: Lanes, runId: string, state: MovableState, opts: MigrateOptions, signal: AbortSignal, result: ApplyResult, busy: Map<string, BusyJob>, started: number, record: Plan | undefined, onProgress: (progress: ApplyProgress) => void): Promise<boolean> {
  const step = (handle: PostgresHandle, cursor: Cursor, hooks: BatchLanes) =>
    inTransaction(handle, () => moveBatch({ ...engine, handle }, state, cursor, (moved, renamed) => recordBatch(handle, runId, moved, renamed), hooks));
  for (let pass = 0; pass < 3; pass++) {
    let movedThisPass = 0;
    const committed = async (outcome: BatchOutcome) => {
      // Once committed (a retried transaction classifies again, and its rolled-back trims cut nothing).
      for (const [queue, reach] of outcome.cuts) engine.trimFloors.set(queue, reach);
      if (record) recordVerdicts(record, state, outcome, pass === 0);
      if (outcome.read === 0) return;
      const n = add(result.moved, outcome.moved);
      add(result.removed, outcome.removed);
      movedThisPass += n;
      result.total += n;
      result.renamed.push(...outcome.renamed);
      result.duplicates.push(...outcome.duplicates);
      for (const b of outcome.busy) busy.set(b.id, b);
      for (const s of outcome.stayed) if (result.stayed.length < 20) result.stayed.push(s);
      onProgress({ moved: result.total, state, elapsedMs: Date.now() - started });
      if (opts.rate) {
        const due = started + (result.total / opts.rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now(), signal);
      }
    };
    if (!(await walkInLanes(lanes, START_CURSOR, STATE_WINDOWS[state].next, step, committed, signal))) return false;
    if (movedThisPass === 0) break;
  }
  return true;
}

function add(into: Moves, from: Moves): number {
  let n = 0;
  for (const [d, row] of Object.entries(from)) {
    for (const [s, c] of Object.entries(row)) {
      const cell = (into[d] ??= {});
      cell[s as MovableState] = (cell[s as MovableState] ?? 0) + (c ?? 0);
      n += c ?? 0;
    }
  }
  return n;
}

/** A batch's transaction (the one wrapper), retried whole on a deadlock or serialization failure. */
async function inTransaction<T>(handle: PostgresHandle, work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      // READ COMMITTED whatever the session's default: each statement after the window's lock sees every committed change (classify's flow check).
      return await inOneTransaction(handle, work, 'BEGIN ISOLATION LEVEL READ COMMITTED');
    } catch (error) {
      // handle.query's one-line error ends with the SQLSTATE: a deadlock or serialization failure is retried.
      const code = /\[([0-9A-Z]{5})\]$/.exec(error instanceof Error ? error.message : '')?.[1];
      if (attempt < 5 && code && RETRYABLE.has(code)) continue;
      throw error;
    }
  }
}

/** `queuectl migrate status` on PostgreSQL: the runs in the queuectl schema for this BullMQ schema. */
export async function runPostgresStatus(ctx: Context): Promise<number> {
  const handle = await ctx.postgres();
  const runs = await listPgJournals(handle);
  ctx.out.printJson({ schema: 'queuectl/migrate-status@1', runs: runs.map(({ plan: _plan, key: _key, ...r }) => ({ ...r, finished: r.state === 'done' && r.left === 0 })) });
  ctx.out.print(renderStatus(runs, ctx.out.color));
  return ExitCode.ok;
}
