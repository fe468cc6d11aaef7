import type { Context } from '../context.js';
import { ExitCode, InterruptedError } from '../errors.js';
import type { ApplyProgress, ApplyResult } from './apply.js';
import { badKeyError } from './bad-keys.js';
import type { RunState } from './journal.js';
import type { MigrateOptions } from './options.js';
import { movingTotal, problemStays, type Plan } from './plan.js';
import { createProgress } from '../ui/progress.js';
import { migrateDocument, renderIdOutcomes, renderLeftOut, renderPlan, renderStays } from './render.js';
import { verify, type Counts } from './verify.js';

/**
 * What a move run needs from its backend, one implementation each: Redis in
 * src/commands/migrate.ts (engine.ts: one script per batch, or the cross-slot protocol),
 * PostgreSQL in postgres-run.ts (postgres-engine.ts: one transaction per batch).
 */
export interface MoveEngine {
  /** Before a real run reads anything: settle what an interrupted attempt left in flight. */
  prepare(): Promise<void>;
  /** Classifies the source without writing: the plan, and after the move what is left. */
  scan(): Promise<Plan>;
  /**
   * A one-pass run (nothing to confirm): the plan it starts from, holding only what never moves
   * (active jobs, flow parents, states outside --states) and any key every batch would touch
   * that is of the wrong type (`blocked`); `jobs`: how many jobs the move will read. The move
   * fills in the rest from its own classification. Absent where the move cannot do that.
   */
  startOnePass?(): Promise<{ plan: Plan; jobs: number }>;
  /** Jobs per destination and state (verify's before and after). */
  count(): Promise<Counts>;
  /** Starts (or continues) the run's journal, once the move is decided. */
  open(plan: Plan, planned: number): Promise<void>;
  /** Moves in batches; with `record`, each batch's classification is added to that plan. */
  move(options: { record?: Plan; onProgress: (progress: ApplyProgress) => void }): Promise<ApplyResult>;
  /** After the move, before verifying: what the re-read plan cannot know (PostgreSQL: jobs a busy deduplication lock kept). */
  settle?(remaining: Plan): Promise<void>;
  close(state: RunState, left: number, note?: string): Promise<void>;
  /** A dry run's planning error, said for what it is (Redis: a user who may not run scripts). */
  dryRunError?(error: unknown): unknown;
}

export interface RunIdentity {
  runId: string;
  /** An earlier attempt of the same run did not finish. */
  continues: boolean;
}

/**
 * `migrate` on any backend: plan, confirm, move in atomic batches, verify, report. With nothing to
 * confirm (--yes, no --follow) and an engine that can, one pass: the move's own classification
 * is the plan, so every job is read once; the report, the journal and the before/after
 * verification per destination and state are the same as after plan + confirm + move.
 */
export async function runMove(opts: MigrateOptions, ctx: Context, engine: MoveEngine, run: RunIdentity): Promise<number> {
  const { runId, continues } = run;
  // --json keeps stderr for the error alone (scripts read it as one line); the document says `continued`.
  if (continues && !opts.dryRun && !ctx.out.json) ctx.out.note(`Continuing run ${runId}, which did not finish.`);
  if (!opts.dryRun) await engine.prepare();
  if (!opts.dryRun && !opts.follow && ctx.prompt.yes && engine.startOnePass) return onePass(opts, ctx, engine, run, engine.startOnePass);

  let mark = Date.now();
  const plan = await engine.scan().catch((error: unknown) => {
    throw (opts.dryRun && engine.dryRunError?.(error)) || error;
  });
  // A plan cut short by Ctrl-C is partial: never print it, or move by it, as if it were complete.
  if (ctx.signal.aborted) throw new InterruptedError(`interrupted while planning ${opts.from}; nothing was moved`, opts.dryRun ? 'rerun the dry run' : 'rerun the same command');
  const planMs = Date.now() - mark;
  const total = movingTotal(plan);

  if (opts.dryRun) {
    ctx.out.printJson(migrateDocument({ runId, plan, remaining: plan, moved: {}, dryRun: true, verified: false, problems: [] }));
    ctx.out.print(renderPlan(plan, ctx.out.color));
    ctx.out.print(`Dry run (run ${runId}): nothing was changed.`);
    if (plan.blocked.length > 0) throw badKeyError(plan.blocked, 'plan');
    return problemStays(plan).length > 0 ? ExitCode.checkFailed : ExitCode.ok;
  }
  // A key of the wrong type would refuse the first batch that touches it: say so before moving any.
  if (plan.blocked.length > 0) throw badKeyError(plan.blocked, 'plan');
  if (!ctx.out.json) ctx.out.note(renderPlan(plan, ctx.out.color));
  if (total > 0 || opts.follow) {
    const what = opts.follow ? `Move ${total} job(s) now and keep moving arrivals` : `Move ${total} job(s)`;
    if (!(await ctx.prompt.confirm(`${what} out of ${opts.from}?`))) {
      ctx.out.note('Nothing moved.');
      return ExitCode.checkFailed;
    }
  }
  const before = await engine.count();
  await engine.open(plan, total);
  mark = Date.now();
  const result = await moveAll(opts, ctx, engine, run, total);
  return finish(opts, ctx, engine, run, { plan, total, before, result, planMs, moveMs: Date.now() - mark });
}

async function onePass(opts: MigrateOptions, ctx: Context, engine: MoveEngine, run: RunIdentity, start: NonNullable<MoveEngine['startOnePass']>): Promise<number> {
  let mark = Date.now();
  const { plan, jobs } = await start();
  if (ctx.signal.aborted) throw new InterruptedError(`interrupted while planning ${opts.from}; nothing was moved`, 'rerun the same command');
  if (plan.blocked.length > 0) throw badKeyError(plan.blocked, 'plan');
  const planMs = Date.now() - mark;
  const before = await engine.count();
  await engine.open(plan, jobs);
  mark = Date.now();
  const result = await moveAll(opts, ctx, engine, run, jobs, plan);
  // Printed where the interactive run prints it before asking: the same plan, now complete.
  if (!ctx.out.json) ctx.out.note(renderPlan(plan, ctx.out.color));
  return finish(opts, ctx, engine, run, { plan, total: movingTotal(plan), before, result, planMs, moveMs: Date.now() - mark });
}

async function moveAll(opts: MigrateOptions, ctx: Context, engine: MoveEngine, run: RunIdentity, total: number, record?: Plan): Promise<ApplyResult> {
  const progress = createProgress(ctx.out, total);
  const result = await engine.move({ record, onProgress: (p) => progress.update(p) });
  progress.done();
  if (result.interrupted) {
    await engine.close('interrupted', Math.max(0, total - result.total)).catch(() => undefined);
    throw new InterruptedError(`interrupted after moving ${result.total} of ${total} job(s) from ${opts.from} (run ${run.runId}); every job is either in ${opts.from} or in its destination`, 'rerun the same command to continue; `queuectl migrate status` shows progress');
  }
  return result;
}

interface Moved {
  plan: Plan;
  total: number;
  before: Counts;
  result: ApplyResult;
  planMs: number;
  moveMs: number;
}

/** Re-reads what is left, verifies per destination and state, closes the journal, reports. */
async function finish(opts: MigrateOptions, ctx: Context, engine: MoveEngine, run: RunIdentity, moved: Moved): Promise<number> {
  const { plan, total, before, result } = moved;
  const mark = Date.now();
  const remaining = await engine.scan();
  if (ctx.signal.aborted) {
    await engine.close('interrupted', Math.max(0, total - result.total)).catch(() => undefined);
    throw new InterruptedError(`interrupted while verifying, after moving ${result.total} job(s) from ${opts.from} (run ${run.runId})`, 'rerun the same command to verify and finish the run');
  }
  await engine.settle?.(remaining);
  const afterCounts = await engine.count();
  const check = verify({ planned: plan, moved: result.moved, removed: result.removed, after: remaining, before, afterCounts, follow: opts.follow });
  const left = movingTotal(remaining);
  const timings = { planMs: moved.planMs, moveMs: moved.moveMs, verifyMs: Date.now() - mark };
  await engine.close(check.verified ? 'done' : 'unverified', left, check.problems.join('; '));

  ctx.out.printJson(migrateDocument({ runId: run.runId, plan, remaining, moved: result.moved, dryRun: false, verified: check.verified, problems: check.problems, timings, ids: result, continued: run.continues }));
  const movedLine = Object.entries(result.moved).map(([d, row]) => `${d} ${Object.values(row).reduce((a, n) => a + (n ?? 0), 0)}`).join(', ');
  ctx.out.print(`Moved ${result.total} job(s) from ${opts.from}${movedLine ? ` → ${movedLine}` : ''} (run ${run.runId}).`);
  for (const line of renderIdOutcomes(result)) ctx.out.print(line);
  const stays = [...renderStays(remaining, ctx.out.color), ...renderLeftOut(remaining)];
  if (stays.length > 0) ctx.out.print(stays.join('\n'));
  if (check.verified) ctx.out.print('Verified: counts per destination and state balance.');
  else for (const problem of check.problems) ctx.out.warn(`verification: ${problem}`);
  return check.verified && problemStays(remaining).length === 0 ? ExitCode.ok : ExitCode.checkFailed;
}
