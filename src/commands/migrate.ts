import type { Context } from '../context.js';
import { ExitCode, InterruptedError, QueuectlError, RedisError, UsageError } from '../errors.js';
import type { RedisHandle } from '../redis/types.js';
import { toRedisError } from '../redis/errors.js';
import type { Topology } from '../topology/types.js';
import { countWorkers, deleteQueueKeys, sampleQueue } from '../migrate/drain.js';
import { runDrain } from '../migrate/drain-run.js';
import { claimRun, closeJournal, listJournals, openJournal, resolveRun, type ResolvedRun } from '../migrate/journal.js';
import { acquireRunLease, type RunLease } from '../migrate/run-lease.js';
import { engineFor } from '../migrate/engine.js';
import { runIdOf } from '../migrate/keys.js';
import { parseMigrateOptions, type MigrateOptions } from '../migrate/options.js';
import { movingTotal, problemStays } from '../migrate/plan.js';
import { badKeyError } from '../migrate/bad-keys.js';
import { createProgress } from '../migrate/progress.js';
import { migrateDocument, renderIdOutcomes, renderLeftOut, renderPlan, renderStatus, renderStays } from '../migrate/render.js';
import { buildRouting, type Routing } from '../migrate/routing.js';
import { verify } from '../migrate/verify.js';
import { forBackend, type PerBackend } from '../backend/select.js';

type Runner = (raw: Record<string, unknown>, ctx: Context) => Promise<number>;

/** migrate, side by side: Redis below, PostgreSQL in src/migrate/postgres-run.ts (its engine: postgres-engine.ts). */
const moves: PerBackend<Runner> = {
  redis: (raw, ctx) => runOnRedis(raw, ctx),
  postgres: async (raw, ctx) => (await import('../migrate/postgres-run.js')).runPostgresMigrate(parseMigrateOptions(raw), ctx),
};
const statuses: PerBackend<Runner> = {
  redis: (raw, ctx) => statusOnRedis(raw, ctx),
  postgres: async (_raw, ctx) => (await import('../migrate/postgres-run.js')).runPostgresStatus(ctx),
};

/** `queuectl migrate`: plan, confirm, apply in atomic batches, verify. See src/migrate/index.ts. */
export function run(raw: Record<string, unknown>, ctx: Context): Promise<number> {
  // To another server or backend: src/migrate/xmove/run.ts.
  if (raw.toUrl !== undefined) return import('../migrate/xmove/run.js').then((m) => m.runCrossMove(raw, ctx));
  return forBackend(ctx, moves)(raw, ctx);
}

async function runOnRedis(raw: Record<string, unknown>, ctx: Context): Promise<number> {
  const opts = parseMigrateOptions(raw);
  const { topology } = await ctx.topology();
  const routing = buildRouting(topology, opts);
  const prefix = await ctx.prefix();
  const handle = await ctx.redis();
  try {
    if (opts.strategy === 'drain') return await drain(opts, ctx, handle, prefix);
    return await move(opts, ctx, handle, prefix, topology, routing);
  } catch (error) {
    if (error instanceof QueuectlError) throw error;
    throw toRedisError(error, handle.spec);
  }
}

/** `queuectl migrate status`: every run recorded under the prefix, with its progress. */
export function runStatus(raw: Record<string, unknown>, ctx: Context): Promise<number> {
  return forBackend(ctx, statuses)(raw, ctx);
}

async function statusOnRedis(_raw: Record<string, unknown>, ctx: Context): Promise<number> {
  const prefix = await ctx.prefix();
  const handle = await ctx.redis();
  try {
    const runs = await listJournals(await handle.masters(), prefix);
    ctx.out.printJson({ schema: 'queuectl/migrate-status@1', runs: runs.map(({ plan: _plan, key: _key, ...r }) => ({ ...r, finished: r.state === 'done' && r.left === 0 })) });
    ctx.out.print(renderStatus(runs, ctx.out.color));
    return ExitCode.ok;
  } catch (error) {
    throw toRedisError(error, handle.spec);
  }
}

async function move(opts: MigrateOptions, ctx: Context, handle: RedisHandle, prefix: string, topology: Topology, routing: Routing): Promise<number> {
  const intent = runIdOf({ prefix, from: opts.from, to: routing.to, names: opts.names, states: opts.states });
  if (opts.dryRun) return moveRun(opts, ctx, handle, prefix, topology, routing, intent, await resolveRun(handle.client, prefix, intent));
  const { run, lease } = await holdRun(handle.client, prefix, intent, ctx);
  try {
    return await moveRun(opts, ctx, handle, prefix, topology, routing, intent, run);
  } finally {
    if (lease.lost()) ctx.out.warn(`another process took run ${run.runId} over while this one stalled (no lease renewal for 30s): \`queuectl migrate status\` shows where the run stands`);
    await lease.release();
  }
}

/**
 * The run this process works on, with its lease: a second process on the same run is refused up
 * front, before it plans or touches the journal. The run is resolved again once the lease is
 * ours, since it may have finished while we waited for it.
 */
async function holdRun(client: RedisHandle['client'], prefix: string, intent: string, ctx: Context): Promise<{ run: ResolvedRun; lease: RunLease }> {
  const note = (m: string) => ctx.out.note(m);
  let run = await resolveRun(client, prefix, intent);
  for (;;) {
    const lease = await acquireRunLease(client, prefix, run.runId, { signal: ctx.signal, note });
    const now = await resolveRun(client, prefix, intent);
    if (now.runId === run.runId) return { run, lease };
    await lease.release();
    run = now;
  }
}

async function moveRun(opts: MigrateOptions, ctx: Context, handle: RedisHandle, prefix: string, topology: Topology, routing: Routing, intent: string, run: ResolvedRun): Promise<number> {
  const client = handle.client;
  const { runId, key: jKey, continues } = run;
  // --json keeps stderr for the error alone (scripts read it as one line); the document says `continued`.
  if (continues && !opts.dryRun && !ctx.out.json) ctx.out.note(`Continuing run ${runId}, which did not finish.`);
  // On a cluster with one hash tag per queue, the journaled copy-then-delete (src/migrate/cross-slot.ts).
  const engine = engineFor(handle.mode, prefix, routing, jKey, runId);
  if (!opts.dryRun) await engine.prepare(client, (m) => ctx.out.note(m), ctx.signal);
  const scan = () => engine.scan({ client, prefix, topology, routing, states: opts.states, batch: opts.batch, signal: ctx.signal });
  let mark = Date.now();
  const plan = await scan().catch((error: unknown) => {
    throw (opts.dryRun && scriptsRefused(error, handle)) || error;
  });
  // A plan cut short by Ctrl-C is partial: never print it, or move by it, as if it were complete.
  if (ctx.signal.aborted) throw new InterruptedError(`interrupted while planning ${opts.from}; nothing was moved`, opts.dryRun ? 'rerun the dry run' : 'rerun the same command');
  const planMs = Date.now() - mark;
  const problemsBefore = problemStays(plan).length > 0;
  const total = movingTotal(plan);

  if (opts.dryRun) {
    ctx.out.printJson(migrateDocument({ runId, plan, remaining: plan, moved: {}, dryRun: true, verified: false, problems: [] }));
    ctx.out.print(renderPlan(plan, ctx.out.color));
    ctx.out.print(`Dry run (run ${runId}): nothing was changed.`);
    if (plan.blocked.length > 0) throw badKeyError(plan.blocked, 'plan');
    return problemsBefore ? ExitCode.checkFailed : ExitCode.ok;
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

  const before = await engine.count(client, prefix, routing.dests, opts.states);
  await claimRun(client, prefix, intent, runId);
  await openJournal(client, jKey, { id: runId, source: opts.from, to: routing.to, names: opts.names, states: opts.states, plan, planned: total });
  const progress = createProgress(ctx.out, total);
  mark = Date.now();
  const result = await engine.apply({
    client, prefix, routing, states: opts.states, journalKey: jKey, batch: opts.batch, rate: opts.rate,
    follow: opts.follow ? { quietMs: opts.quietMs } : undefined, signal: ctx.signal, onProgress: (p) => progress.update(p),
  });
  progress.done();
  const moveMs = Date.now() - mark;
  if (result.interrupted) {
    await closeJournal(client, jKey, 'interrupted', Math.max(0, total - result.total)).catch(() => undefined);
    throw new InterruptedError(`interrupted after moving ${result.total} of ${total} job(s) from ${opts.from} (run ${runId}); every job is either in ${opts.from} or in its destination`, 'rerun the same command to continue; `queuectl migrate status` shows progress');
  }

  mark = Date.now();
  const remaining = await scan();
  if (ctx.signal.aborted) {
    await closeJournal(client, jKey, 'interrupted', Math.max(0, total - result.total)).catch(() => undefined);
    throw new InterruptedError(`interrupted while verifying, after moving ${result.total} job(s) from ${opts.from} (run ${runId})`, 'rerun the same command to verify and finish the run');
  }
  const afterCounts = await engine.count(client, prefix, routing.dests, opts.states);
  const check = verify({ planned: plan, moved: result.moved, removed: result.removed, after: remaining, before, afterCounts, follow: opts.follow });
  const left = movingTotal(remaining);
  const timings = { planMs, moveMs, verifyMs: Date.now() - mark };
  await closeJournal(client, jKey, check.verified ? 'done' : 'unverified', left, check.problems.join('; '));

  ctx.out.printJson(migrateDocument({ runId, plan, remaining, moved: result.moved, dryRun: false, verified: check.verified, problems: check.problems, timings, ids: result, continued: continues }));
  const movedLine = Object.entries(result.moved).map(([d, row]) => `${d} ${Object.values(row).reduce((a, n) => a + (n ?? 0), 0)}`).join(', ');
  ctx.out.print(`Moved ${result.total} job(s) from ${opts.from}${movedLine ? ` → ${movedLine}` : ''} (run ${runId}).`);
  for (const line of renderIdOutcomes(result)) ctx.out.print(line);
  const stays = [...renderStays(remaining, ctx.out.color), ...renderLeftOut(remaining)];
  if (stays.length > 0) ctx.out.print(stays.join('\n'));
  if (check.verified) ctx.out.print('Verified: counts per destination and state balance.');
  else for (const problem of check.problems) ctx.out.warn(`verification: ${problem}`);
  return check.verified && problemStays(remaining).length === 0 ? ExitCode.ok : ExitCode.checkFailed;
}

/** The Redis side of `--strategy drain` (the watch and the delete are in src/migrate/drain-run.ts). */
async function drain(opts: MigrateOptions, ctx: Context, handle: RedisHandle, prefix: string): Promise<number> {
  const masters = await handle.masters();
  return runDrain(opts, ctx, {
    sample: () => sampleQueue(handle.client, prefix, opts.from),
    workers: () => countWorkers(masters, prefix, opts.from),
    bookkeeping: async () => "the queue's own keys (meta, id, events…)",
    unit: 'keys',
    workersUnknown: 'CLIENT LIST refused',
    remove: () => deleteQueueKeys(masters, prefix, opts.from),
  });
}

/**
 * The plan classifies jobs with the move's own Lua script in a mode that writes nothing, so the
 * dry run needs script permission: a user limited to reads gets that said, not a bare NOPERM.
 */
function scriptsRefused(error: unknown, handle: RedisHandle): RedisError | undefined {
  const raw = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  if (!/\bNOPERM\b/.test(raw) || !/eval|script/i.test(raw)) return undefined;
  return new RedisError(
    `migrate --dry-run classifies jobs with its move script, run in a mode that writes nothing, and the Redis user of ${handle.spec.redacted} may not run scripts (${raw.replace(/^NOPERM\s*/, '')})`,
    'allow this user EVALSHA and EVAL (ACL SETUSER <user> +evalsha +eval), or use `queuectl topology check` and `queuectl inspect` for a read-only look',
  );
}
