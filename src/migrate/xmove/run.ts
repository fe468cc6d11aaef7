import { randomBytes } from 'node:crypto';
import type { Context } from '../../context.js';
import { ExitCode, InterruptedError, QueuectlError, UsageError } from '../../errors.js';
import { dict } from '../../util/dict.js';
import type { ApplyResult, Moves } from '../apply.js';
import { runIdOf, type MovableState } from '../keys.js';
import { parseMigrateOptions, type MigrateOptions } from '../options.js';
import { movingTotal, problemStays, type Plan } from '../plan.js';
import { createProgress } from '../../ui/progress.js';
import { migrateDocument, renderIdOutcomes, renderLeftOut, renderPlan, renderStays } from '../render.js';
import { buildRouting } from '../routing.js';
import { openEnds, type Ends } from './ends.js';
import { withReconnect } from './sessions.js';
import { isDelivered, type Held, type Readiness } from './types.js';

/**
 * `queuectl migrate --from <queue> --to-url <url> [--to <queue>]`: a move to another server or
 * backend (Redis → PostgreSQL, PostgreSQL → Redis, Redis → Redis). Per batch, three steps, each
 * atomic on one server and safe to repeat (keyed by the batch's token):
 *   1. take    (source) the jobs leave every worker's reach into the run's holding area, with an
 *              in-flight record;
 *   2. deliver (destination) they are added as BullMQ adds jobs, and a delivery record with the
 *              verdicts is written in the same transaction / script;
 *   3. settle  (source) delivered jobs are deleted from the holding area, refused ones put back
 *              where they were; the run's counters move.
 * A crash between any two steps leaves each job in exactly one of: its source, the holding area,
 * the destination (where a worker may already have run and removed it: the delivery record, not
 * the job, tells). A rerun first settles every in-flight batch by its delivery record (delivered →
 * finish, never delivered → put back), then moves what is left. A lost connection or a restarted
 * server is met by reconnecting and repeating the step (RECONNECT_MS), else the run stops and a
 * rerun finishes it. The ends: types.ts; Redis and PostgreSQL side by side in this folder.
 */
export async function runCrossMove(raw: Record<string, unknown>, ctx: Context): Promise<number> {
  const toUrl = String(raw.toUrl ?? '').trim();
  if (!toUrl) throw new UsageError('--to-url was given an empty value', 'give the destination, e.g. --to-url postgres://app@db:5432/app or redis://new-host:6379');
  const opts = parseMigrateOptions(raw);
  if (opts.strategy === 'drain') throw new UsageError('--strategy drain moves nothing, so it takes no --to-url', 'drop --to-url, or --strategy');
  if (opts.follow) throw new UsageError('--follow is not supported with --to-url yet', 'stop the producers of the source, then move; rerun to move late arrivals');
  const { topology } = await ctx.topology();
  const routing = buildRouting(topology, opts);
  const ends = await openEnds(ctx, toUrl, topology, routing);
  try {
    return await move(opts, ctx, ends);
  } finally {
    await Promise.allSettled([ends.dest.close()]);
  }
}

async function move(opts: MigrateOptions, ctx: Context, ends: Ends): Promise<number> {
  const { source, dest } = ends;
  const routing = buildRouting((await ctx.topology()).topology, opts);
  const intent = runIdOf({ prefix: `xmove|${source.label}`, from: opts.from, to: `${routing.to ?? ''}@${dest.label}`, names: opts.names, states: opts.states });
  let run = await source.resolveRun(intent);
  ends.setArea(intent);
  const both = `${opts.from} on ${source.label} → ${routing.to ?? 'the queues owning each name'} on ${dest.label}`;

  if (opts.dryRun) {
    const plan = await source.plan(opts.states, opts.batch, ctx.signal);
    if (ctx.signal.aborted) throw new InterruptedError(`interrupted while planning ${opts.from}; nothing was moved`, 'rerun the dry run');
    const ready = await dest.readiness(routing.dests);
    ctx.out.printJson({ ...migrateDocument({ runId: run.runId, plan, remaining: plan, moved: {}, dryRun: true, verified: false, problems: ready.problems }), ...endsJson(ends, ready) });
    ctx.out.print(`Plan for ${both}:`);
    ctx.out.print(renderPlan(plan, ctx.out.color));
    ctx.out.print(renderReadiness(ready));
    ctx.out.print(`Dry run (run ${run.runId}): nothing was changed.`);
    return problemStays(plan).length > 0 || ready.problems.length > 0 ? ExitCode.checkFailed : ExitCode.ok;
  }

  let lock = await source.lock(run.runId, ctx.signal);
  try {
    const now = await source.resolveRun(intent);
    if (now.runId !== run.runId) {
      await lock.release();
      run = now;
      lock = await source.lock(run.runId, ctx.signal);
    }
    if (run.continues && !ctx.out.json) ctx.out.note(`Continuing run ${run.runId}, which did not finish.`);
    await dest.prepare();
    const result = emptyResult();
    const recovered = await recover(ends, result);
    if (recovered.finished + recovered.returned > 0) ctx.out.note(`Settled ${recovered.finished + recovered.returned} job(s) an interrupted run left in flight: ${recovered.finished} were delivered to the destination, ${recovered.returned} put back into ${opts.from}.`);

    let mark = Date.now();
    const plan = await source.plan(opts.states, opts.batch, ctx.signal);
    if (ctx.signal.aborted) throw new InterruptedError(`interrupted while planning ${opts.from}; nothing was moved`, 'rerun the same command');
    const planMs = Date.now() - mark;
    const ready = await dest.readiness(routing.dests);
    if (!ctx.out.json) {
      ctx.out.note(renderPlan(plan, ctx.out.color));
      ctx.out.note(renderReadiness(ready));
    }
    if (ready.problems.length > 0) {
      throw new QueuectlError(`the destination is not ready: ${ready.problems.join('; ')}`, ExitCode.checkFailed, 'fix the destination, check with --dry-run, then rerun');
    }
    const total = movingTotal(plan);
    if (total > 0 && !(await ctx.prompt.confirm(`Move ${total} job(s) from ${both}?`))) {
      ctx.out.note('Nothing moved.');
      return ExitCode.checkFailed;
    }
    await source.openJournal(intent, { id: run.runId, source: opts.from, to: `${routing.to ?? 'by name'} on ${dest.label}`, names: opts.names, states: opts.states, plan, planned: total });
    const progress = createProgress(ctx.out, total);
    mark = Date.now();
    const finished = await apply(ends, opts, ctx.signal, result, (moved, state) => progress.update({ moved, state, elapsedMs: Date.now() - mark }));
    progress.done();
    const moveMs = Date.now() - mark;
    if (!finished) {
      await source.closeJournal(run.runId, 'interrupted', Math.max(0, total - result.total)).catch(() => undefined);
      throw new InterruptedError(`interrupted after moving ${result.total} of ${total} job(s) (run ${run.runId}); every job is in ${opts.from} or in its destination`, 'rerun the same command to continue; `queuectl migrate status` shows progress');
    }

    mark = Date.now();
    const remaining = await source.plan(opts.states, opts.batch, ctx.signal);
    const inFlight = (await source.flights()).length;
    const problems: string[] = [];
    if (inFlight > 0) problems.push(`${inFlight} batch(es) still in flight on the source (a job id re-used there meanwhile): rerun to settle them`);
    const refused = result.stayed.filter((s) => s.reason === 'collision' || s.reason === 'dedup-conflict').length;
    const left = movingTotal(remaining);
    if (left > 0) problems.push(`${left} job(s) still movable in ${opts.from}${refused > 0 ? ` (the destination refused ${refused}: an id or deduplication id it holds for another job)` : ''}`);
    const verified = problems.length === 0;
    await source.closeJournal(run.runId, verified ? 'done' : 'unverified', left, problems.join('; '));
    if (verified) await tidy(ends, routing.dests);

    ctx.out.printJson({ ...migrateDocument({ runId: run.runId, plan, remaining, moved: result.moved, dryRun: false, verified, problems, timings: { planMs, moveMs, verifyMs: Date.now() - mark }, ids: result, continued: run.continues }), ...endsJson(ends, ready) });
    const movedLine = Object.entries(result.moved).map(([d, row]) => `${d} ${Object.values(row).reduce((a, n) => a + (n ?? 0), 0)}`).join(', ');
    ctx.out.print(`Moved ${result.total} job(s) from ${opts.from} on ${source.label} to ${dest.label}${movedLine ? ` → ${movedLine}` : ''} (run ${run.runId}).`);
    for (const line of renderIdOutcomes(result)) ctx.out.print(line);
    const stays = [...renderStays(remaining, ctx.out.color), ...renderLeftOut(remaining)];
    if (stays.length > 0) ctx.out.print(stays.join('\n'));
    if (verified) ctx.out.print(`Verified: nothing left to move in ${opts.from}, nothing in flight.`);
    else for (const p of problems) ctx.out.warn(`verification: ${p}`);
    return verified && problemStays(remaining).length === 0 ? ExitCode.ok : ExitCode.checkFailed;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

function emptyResult(): ApplyResult {
  return { moved: dict(), total: 0, interrupted: false, stayed: [], renamed: [], duplicates: [], removed: dict() };
}

/** What the verdicts of one batch mean for the source and the journal. */
function tally(verdictsByDest: Map<string, string[]>, state: MovableState) {
  const delivered: string[] = [];
  const moved: Moves = dict();
  const renamed: ApplyResult['renamed'] = [];
  const duplicates: ApplyResult['duplicates'] = [];
  const refused: { id: string; reason: string }[] = [];
  for (const [d, flat] of verdictsByDest) {
    for (let i = 0; i < flat.length; i += 2) {
      const [id, v] = [flat[i], flat[i + 1]];
      if (isDelivered(v)) delivered.push(id);
      if (v === 'ok' || v.startsWith('renamed:')) {
        const row = (moved[d] ??= {});
        row[state] = (row[state] ?? 0) + 1;
      }
      if (v.startsWith('renamed:')) renamed.push({ queue: d, from: id, to: v.slice('renamed:'.length) });
      else if (v === 'duplicate') duplicates.push({ queue: d, id, name: '' });
      else if (!isDelivered(v)) refused.push({ id, reason: v });
    }
  }
  return { delivered, moved, renamed, duplicates, refused };
}

function addInto(result: ApplyResult, t: ReturnType<typeof tally>, state: MovableState): number {
  let n = 0;
  for (const [d, row] of Object.entries(t.moved)) {
    const cell = (result.moved[d] ??= {});
    cell[state] = (cell[state] ?? 0) + (row[state] ?? 0);
    n += row[state] ?? 0;
  }
  for (const dup of t.duplicates) {
    const cell = (result.removed[dup.queue] ??= {});
    cell[state] = (cell[state] ?? 0) + 1;
  }
  result.total += n;
  result.renamed.push(...t.renamed);
  result.duplicates.push(...t.duplicates);
  for (const r of t.refused) if (result.stayed.length < 20) result.stayed.push({ id: r.id, reason: r.reason, name: '' });
  return n;
}

/** Settles every batch an earlier attempt left in flight, by the destination's delivery records. */
async function recover(ends: Ends, result: ApplyResult): Promise<{ finished: number; returned: number }> {
  const { source, dest } = ends;
  const out = { finished: 0, returned: 0 };
  for (const flight of await withReconnect(source, () => source.flights())) {
    const verdicts = new Map<string, string[]>();
    for (const d of new Set(flight.dests)) {
      const v = await withReconnect(dest, () => dest.delivered(flight.token, d));
      if (v) verdicts.set(d, v);
    }
    const t = tally(verdicts, flight.state);
    const settled = await withReconnect(source, () => source.settle({ token: flight.token, state: flight.state }, t.delivered, '', t));
    addInto(result, t, flight.state);
    for (const n of settled.finished.values()) out.finished += n;
    out.returned += settled.returned;
    await dest.forget([...verdicts.keys()].map((d) => ({ token: flight.token, dest: d })));
  }
  return out;
}

/**
 * Every state, oldest first, batch by batch; a state is walked again while a pass moved something
 * (jobs a worker or producer held locked were skipped). Pipelined over the two servers: the next
 * batch is taken on the source while the previous one is delivered to the destination, and a
 * delivered batch is settled while the next one is delivered. False when Ctrl-C stopped it
 * between batches (whatever was taken is delivered and settled first).
 */
async function apply(ends: Ends, opts: MigrateOptions, signal: AbortSignal, result: ApplyResult, onProgress: (moved: number, state: MovableState) => void): Promise<boolean> {
  const { source, dest } = ends;
  const started = Date.now();
  const deliver = async (held: Held) => {
    const verdicts = new Map<string, string[]>();
    await Promise.all([...held.blobs].map(async ([d, blob]) => verdicts.set(d, await withReconnect(dest, () => dest.deliver(held.token, held.state, d, blob, held.srcCounter), signal))));
    return verdicts;
  };
  for (const state of opts.states) {
    for (let pass = 0; pass < 3; pass++) {
      let after = '';
      let exhausted = false;
      let pending: Held | undefined; // taken, not yet delivered
      let settling: Promise<void> = Promise.resolve();
      let movedThisPass = 0;
      try {
        while (!exhausted || pending) {
          const stop = signal.aborted;
          const token = randomBytes(8).toString('hex');
          const [next, verdicts]: [Held | undefined, Map<string, string[]> | undefined] = await Promise.all([
            exhausted || stop ? undefined : withReconnect(source, () => source.take(state, after, opts.batch, token), signal),
            pending ? deliver(pending) : undefined,
          ]);
          if (next) {
            [after, exhausted] = [next.next, next.exhausted];
            for (const s of next.stays) if (result.stayed.length < 20 && s.reason !== 'unrouted') result.stayed.push(s);
          }
          if (pending && verdicts) {
            await settling; // one settle at a time, in order
            const held = pending;
            settling = (async () => {
              const t = tally(verdicts, state);
              const settled = await withReconnect(source, () => source.settle(held, t.delivered, after, t), signal);
              // Jobs put back (refused): the next window starts past them (Redis; PostgreSQL's cursor is already past).
              if (settled.returned > 0 && settled.next) after = settled.next;
              movedThisPass += addInto(result, t, state);
              await dest.forget([...verdicts.keys()].map((d) => ({ token: held.token, dest: d }))).catch(() => undefined);
              onProgress(result.total, state);
            })();
          }
          pending = next && next.taken > 0 ? next : undefined;
          if (stop && !pending) {
            await settling;
            return false;
          }
          if (opts.rate && next) {
            const due = started + (result.total / opts.rate) * 1000;
            if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
          }
        }
        await settling;
      } catch (error) {
        await settling.catch(() => undefined);
        // Settle what is in flight by the delivery records now, if the servers answer; else the rerun does.
        await recover(ends, result).catch(() => undefined);
        throw error;
      }
      if (movedThisPass === 0) break;
    }
  }
  return true;
}

/** Once verified: the delivery records and settle results are no longer needed. */
async function tidy(ends: Ends, dests: string[]): Promise<void> {
  await ends.dest.tidy(dests).catch(() => undefined);
  await (ends.source as { tidy?: () => Promise<void> }).tidy?.().catch(() => undefined);
}

function endsJson(ends: Ends, ready: Readiness) {
  return { source: { backend: ends.sourceKind, at: ends.source.label }, destination: { backend: ends.destKind, at: ends.dest.label, ready: ready.problems.length === 0, problems: ready.problems, notes: ready.notes } };
}

function renderReadiness(ready: Readiness): string {
  return ['Destination readiness:', ...ready.notes.map((n) => `  ok: ${n}`), ...ready.problems.map((p) => `  problem: ${p}`)].join('\n');
}

export type { Plan };
