import type { Context } from '../context.js';
import { ExitCode, InterruptedError, QueuectlError } from '../errors.js';
import type { RedisHandle } from '../redis/types.js';
import { toRedisError } from '../redis/errors.js';
import type { Topology } from '../topology/types.js';
import { deleteQueueKeys, watchDrain, sampleQueue } from '../migrate/drain.js';
import { closeJournal, listJournals, openJournal } from '../migrate/journal.js';
import { engineFor } from '../migrate/engine.js';
import { journalKey, runIdOf } from '../migrate/keys.js';
import { parseMigrateOptions, type MigrateOptions } from '../migrate/options.js';
import { movingTotal, problemStays } from '../migrate/plan.js';
import { badKeyError } from '../migrate/bad-keys.js';
import { createProgress } from '../migrate/progress.js';
import { migrateDocument, renderIdOutcomes, renderPlan, renderStatus, renderStays } from '../migrate/render.js';
import { buildRouting, type Routing } from '../migrate/routing.js';
import { verify } from '../migrate/verify.js';

/** `queuectl migrate`: plan, confirm, apply in atomic batches, verify. See src/migrate/index.ts. */
export async function run(raw: Record<string, unknown>, ctx: Context): Promise<number> {
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
export async function runStatus(_raw: Record<string, unknown>, ctx: Context): Promise<number> {
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
  const client = handle.client;
  const runId = runIdOf({ prefix, from: opts.from, to: routing.to, names: opts.names, states: opts.states });
  const jKey = journalKey(prefix, runId);
  // On a cluster with one hash tag per queue, the journaled copy-then-delete (src/migrate/cross-slot.ts).
  const engine = engineFor(handle.mode, prefix, routing, jKey, runId);
  if (!opts.dryRun) await engine.prepare(client, (m) => ctx.out.note(m), ctx.signal);
  const scan = () => engine.scan({ client, prefix, topology, routing, states: opts.states, batch: opts.batch, signal: ctx.signal });
  let mark = Date.now();
  const plan = await scan();
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
  const afterCounts = await engine.count(client, prefix, routing.dests, opts.states);
  const check = verify({ planned: plan, moved: result.moved, removed: result.removed, after: remaining, before, afterCounts, follow: opts.follow });
  const left = movingTotal(remaining);
  const timings = { planMs, moveMs, verifyMs: Date.now() - mark };
  await closeJournal(client, jKey, check.verified ? 'done' : 'unverified', left, check.problems.join('; '));

  ctx.out.printJson(migrateDocument({ runId, plan, remaining, moved: result.moved, dryRun: false, verified: check.verified, problems: check.problems, timings, ids: result }));
  const movedLine = Object.entries(result.moved).map(([d, row]) => `${d} ${Object.values(row).reduce((a, n) => a + (n ?? 0), 0)}`).join(', ');
  ctx.out.print(`Moved ${result.total} job(s) from ${opts.from}${movedLine ? ` → ${movedLine}` : ''} (run ${runId}).`);
  for (const line of renderIdOutcomes(result)) ctx.out.print(line);
  const stays = renderStays(remaining, ctx.out.color);
  if (stays.length > 0) ctx.out.print(stays.join('\n'));
  if (check.verified) ctx.out.print('Verified: counts per destination and state balance.');
  else for (const problem of check.problems) ctx.out.warn(`verification: ${problem}`);
  return check.verified && problemStays(remaining).length === 0 ? ExitCode.ok : ExitCode.checkFailed;
}

async function drain(opts: MigrateOptions, ctx: Context, handle: RedisHandle, prefix: string): Promise<number> {
  const client = handle.client;
  const start = await sampleQueue(client, prefix, opts.from);
  const initial = start.pending + start.active;
  ctx.out.note(`Draining ${opts.from}: ${start.pending} pending, ${start.active} active; waiting for old workers to empty it and for ${opts.quietMs / 1000}s without new jobs.`);
  const last = await watchDrain({
    client, prefix, queue: opts.from, quietMs: opts.quietMs, signal: ctx.signal,
    onSample(sample, rate, arrivals) {
      const left = sample.pending + sample.active;
      const eta = rate > 0 && left > 0 ? ` ETA ${Math.ceil(left / rate)}s` : '';
      if (!ctx.out.json) ctx.out.note(`${opts.from}: ${left} left of ${Math.max(initial, left)} (${rate.toFixed(1)} jobs/s${eta})`);
      if (arrivals > 0) ctx.out.warn(`${arrivals} new job(s) arrived in ${opts.from}: producers still write to it`);
    },
  });
  if (!last) throw new InterruptedError(`stopped watching ${opts.from}; nothing was changed`, 'rerun to keep watching');
  const keep = last.failed + last.completed > 0 ? ` (it still holds ${last.failed} failed and ${last.completed} completed job(s))` : '';
  ctx.out.note(`${opts.from} is empty and quiet.`);
  const yes = await ctx.prompt.confirmByTyping(`Delete every key of ${opts.from}${keep}?`, opts.from, opts.confirm);
  let deleted = 0;
  if (yes) deleted = await deleteQueueKeys(await handle.masters(), prefix, opts.from);
  ctx.out.printJson({ schema: 'queuectl/migrate@1', runId: null, from: opts.from, dryRun: false, strategy: 'drain', moved: {}, skipped: [], verified: true, drained: true, deletedKeys: deleted });
  ctx.out.print(yes ? `Deleted ${deleted} key(s) of ${opts.from}.` : `Kept the keys of ${opts.from}.`);
  return ExitCode.ok;
}
