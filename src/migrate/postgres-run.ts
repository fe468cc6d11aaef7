import type { Context } from '../context.js';
import { requireCompatibleSchema } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { ExitCode, InterruptedError } from '../errors.js';
import { runDrain } from './drain-run.js';
import { postgresDrainSite } from './postgres-drain.js';
import { dict } from '../util/dict.js';
import { sleep } from '../util/sleep.js';
import type { ApplyResult, Moves } from './apply.js';
import { runIdOf, type MovableState } from './keys.js';
import type { MigrateOptions } from './options.js';
import { movingTotal, problemStays } from './plan.js';
import { createProgress } from '../ui/progress.js';
import { migrateDocument, renderIdOutcomes, renderLeftOut, renderPlan, renderStatus, renderStays } from './render.js';
import { buildRouting } from './routing.js';
import { verify } from './verify.js';
import { accountBusyStays, type BusyJob } from './postgres-busy.js';
import { countPostgres, moveBatch, scanPostgres, START_CURSOR, STATE_WINDOWS, type Cursor, type PgEngineContext } from './postgres-engine.js';
import { closePgJournal, ensureJournal, listPgJournals, lockRun, openPgJournal, recordBatch, resolvePgRun } from './postgres-journal.js';

/**
 * `queuectl migrate` on BullMQ's PostgreSQL backend, within one schema: the same plan, confirm,
 * move, verify and documents as on Redis (src/commands/migrate.ts), with the Postgres move engine
 * (postgres-engine.ts) and journal (postgres-journal.ts). The plan, verify and render modules are
 * shared.
 */
export async function runPostgresMigrate(opts: MigrateOptions, ctx: Context): Promise<number> {
  const { topology } = await ctx.topology();
  const routing = buildRouting(topology, opts);
  const handle = await ctx.postgres();
  await requireCompatibleSchema(handle);
  if (opts.strategy === 'drain') return runDrain(opts, ctx, postgresDrainSite(handle, opts.from));
  const engine: PgEngineContext = { handle, routing, topology, batch: opts.batch };
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
  const { runId, continues } = run;
  if (continues && !opts.dryRun && !ctx.out.json) ctx.out.note(`Continuing run ${runId}, which did not finish.`);

  const scan = () => scanPostgres(engine, opts.states);
  let mark = Date.now();
  const plan = await scan();
  if (ctx.signal.aborted) throw new InterruptedError(`interrupted while planning ${opts.from}; nothing was moved`, opts.dryRun ? 'rerun the dry run' : 'rerun the same command');
  const planMs = Date.now() - mark;
  const total = movingTotal(plan);
  if (opts.dryRun) {
    ctx.out.printJson(migrateDocument({ runId, plan, remaining: plan, moved: {}, dryRun: true, verified: false, problems: [] }));
    ctx.out.print(renderPlan(plan, ctx.out.color));
    ctx.out.print(`Dry run (run ${runId}): nothing was changed.`);
    return problemStays(plan).length > 0 ? ExitCode.checkFailed : ExitCode.ok;
  }
  if (!ctx.out.json) ctx.out.note(renderPlan(plan, ctx.out.color));
  const what = opts.follow ? `Move ${total} job(s) now and keep moving arrivals` : `Move ${total} job(s)`;
  if ((total > 0 || opts.follow) && !(await ctx.prompt.confirm(`${what} out of ${opts.from}?`))) {
    ctx.out.note('Nothing moved.');
    return ExitCode.checkFailed;
  }

  const before = await countPostgres(handle, routing.dests, opts.states);
  await openPgJournal(handle, intent, { id: runId, source: opts.from, to: routing.to, names: opts.names, states: opts.states, plan, planned: total });
  const progress = createProgress(ctx.out, total);
  mark = Date.now();
  const busy = new Map<string, BusyJob>();
  const result = await applyPostgres(engine, runId, opts, ctx.signal, busy, (moved, state) => progress.update({ moved, state, elapsedMs: Date.now() - mark }));
  progress.done();
  const moveMs = Date.now() - mark;
  if (result.interrupted) {
    await closePgJournal(handle, runId, 'interrupted', Math.max(0, total - result.total)).catch(() => undefined);
    throw new InterruptedError(`interrupted after moving ${result.total} of ${total} job(s) from ${opts.from} (run ${runId}); every job is either in ${opts.from} or in its destination`, 'rerun the same command to continue; `queuectl migrate status` shows progress');
  }

  mark = Date.now();
  const remaining = await scan();
  await accountBusyStays(handle, opts.from, busy, remaining);
  const afterCounts = await countPostgres(handle, routing.dests, opts.states);
  const check = verify({ planned: plan, moved: result.moved, removed: result.removed, after: remaining, before, afterCounts, follow: opts.follow });
  const left = movingTotal(remaining);
  await closePgJournal(handle, runId, check.verified ? 'done' : 'unverified', left, check.problems.join('; '));

  ctx.out.printJson(migrateDocument({ runId, plan, remaining, moved: result.moved, dryRun: false, verified: check.verified, problems: check.problems, timings: { planMs, moveMs, verifyMs: Date.now() - mark }, ids: result, continued: continues }));
  const movedLine = Object.entries(result.moved).map(([d, row]) => `${d} ${Object.values(row).reduce((a, n) => a + (n ?? 0), 0)}`).join(', ');
  ctx.out.print(`Moved ${result.total} job(s) from ${opts.from}${movedLine ? ` → ${movedLine}` : ''} (run ${runId}).`);
  for (const line of renderIdOutcomes(result)) ctx.out.print(line);
  const stays = [...renderStays(remaining, ctx.out.color), ...renderLeftOut(remaining)];
  if (stays.length > 0) ctx.out.print(stays.join('\n'));
  if (check.verified) ctx.out.print('Verified: counts per destination and state balance.');
  else for (const problem of check.problems) ctx.out.warn(`verification: ${problem}`);
  return check.verified && problemStays(remaining).length === 0 ? ExitCode.ok : ExitCode.checkFailed;
}

/** Errors a batch's transaction may meet under concurrency with BullMQ's own functions: retried. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Every state, batch by batch, each in one transaction with its journal counters. A state is
 * walked again while a pass moved something, so jobs a worker held locked (SKIP LOCKED) and then
 * put back are picked up; Ctrl-C stops between batches. With --follow, the whole walk repeats
 * until nothing moved for --quiet-for (the cutover window, as on Redis: apply.ts).
 */
async function applyPostgres(engine: PgEngineContext, runId: string, opts: MigrateOptions, signal: AbortSignal, busy: Map<string, BusyJob>, onProgress: (moved: number, state: MovableState) => void): Promise<ApplyResult> {
  const result: ApplyResult = { moved: dict(), total: 0, interrupted: false, stayed: [], renamed: [], duplicates: [], removed: dict() };
  const started = Date.now();
  let quietSince = Date.now();
  for (;;) {
    const before = result.total;
    for (const state of opts.states) if (!(await walkState(engine, runId, state, opts, signal, result, busy, started, onProgress))) return { ...result, interrupted: true };
    if (!opts.follow) return result;
    if (result.total > before) quietSince = Date.now();
    else if (Date.now() - quietSince >= opts.quietMs) return result;
    else await sleep(500, signal);
  }
}

/** One state, in passes of batches (into `result`); false when Ctrl-C stopped it. */
async function walkState(engine: PgEngineContext, runId: string, state: MovableState, opts: MigrateOptions, signal: AbortSignal, result: ApplyResult, busy: Map<string, BusyJob>, started: number, onProgress: (moved: number, state: MovableState) => void): Promise<boolean> {
  const { handle } = engine;
  for (let pass = 0; pass < 3; pass++) {
    let cursor: Cursor = START_CURSOR;
    let movedThisPass = 0;
    for (;;) {
      if (signal.aborted) return false;
      const outcome = await inTransaction(handle, () => moveBatch(engine, state, cursor, (moved, renamed) => recordBatch(handle, runId, moved, renamed)));
      if (outcome.read === 0 || !outcome.last) break;
      cursor = STATE_WINDOWS[state].next(outcome.last);
      const n = add(result.moved, outcome.moved);
      add(result.removed, outcome.removed);
      movedThisPass += n;
      result.total += n;
      result.renamed.push(...outcome.renamed);
      result.duplicates.push(...outcome.duplicates);
      for (const b of outcome.busy) busy.set(b.id, b);
      for (const s of outcome.stayed) if (result.stayed.length < 20) result.stayed.push(s);
      onProgress(result.total, state);
      if (opts.rate) {
        const due = started + (result.total / opts.rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now(), signal);
      }
    }
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

async function inTransaction<T>(handle: PostgresHandle, work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    await handle.query('BEGIN');
    try {
      const value = await work();
      await handle.query('COMMIT');
      return value;
    } catch (error) {
      await handle.query('ROLLBACK').catch(() => undefined);
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
