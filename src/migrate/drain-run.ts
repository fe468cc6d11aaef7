import type { Context } from '../context.js';
import { ExitCode, InterruptedError, UsageError } from '../errors.js';
import type { MigrateOptions } from './options.js';
import { removalLines, watchDrain, type DrainSample } from './drain.js';

/**
 * Where a drain happens: the Redis keys (src/commands/migrate.ts) or the PostgreSQL rows
 * (postgres-drain.ts) of the legacy queue. The watch, the warnings and the confirmation are one.
 */
export interface DrainSite {
  sample(): Promise<DrainSample>;
  /** Worker connections consuming the queue, undefined when nobody can tell. */
  workers(): Promise<number | undefined>;
  /** What beside the jobs the delete removes, in words (e.g. "the queue's own keys (meta, id, events…)"). */
  bookkeeping(): Promise<string>;
  /** "keys" or "rows". */
  unit: string;
  /** Why workers cannot be told apart, when workers() gives undefined. */
  workersUnknown: string;
  /** Deletes the drained queue; refuses (UsageError/checkFailed) when it is no longer drained. */
  remove(includeFailed: boolean): Promise<number>;
}

/** `migrate --strategy drain`: move nothing, watch old workers empty the queue, then offer to delete it. */
export async function runDrain(opts: MigrateOptions, ctx: Context, site: DrainSite): Promise<number> {
  // The confirmation is checked before the wait, not after minutes of it.
  if (opts.confirm !== undefined && opts.confirm !== opts.from) throw new UsageError(`--confirm=${opts.confirm} does not match "${opts.from}"`, `pass --confirm=${opts.from}`);
  if (opts.confirm === undefined && !ctx.prompt.interactive) throw new UsageError(`deleting the ${site.unit} of ${opts.from} after the drain needs a typed confirmation and stdin is not a terminal`, `pass --confirm=${opts.from}`);
  const start = await site.sample();
  const initial = start.pending + start.active;
  const moveInstead = `queuectl migrate --from ${opts.from}`;
  ctx.out.note(`Draining ${opts.from}: ${start.pending} pending, ${start.active} active; waiting for old workers to empty it and for ${opts.quietMs / 1000}s without new jobs.`);
  if (start.failed > 0 && !opts.includeFailed) ctx.out.warn(`${opts.from} holds ${start.failed} failed job(s), which no worker drains: the delete will refuse while they remain — move them first (${moveInstead} --states failed) or pass --include-failed`);
  let idle = false;
  // Off a terminal a line per poll floods the log while nothing changes: print on change, or every 30 s.
  let shown = { line: '', at: 0 };
  const last = await watchDrain({
    sample: () => site.sample(), quietMs: opts.quietMs, signal: ctx.signal,
    workers: () => site.workers(),
    onWorkers(workers, sample) {
      idle = workers === 0;
      const left = sample.pending + sample.active;
      if (workers === undefined) ctx.out.warn(`cannot tell whether any worker consumes ${opts.from} (${site.workersUnknown}): if none does, this waits forever — start its old workers, or stop and move the jobs instead: ${moveInstead}`);
      else if (workers === 0 && left > 0) ctx.out.warn(`no worker is connected to ${opts.from}: nothing will drain its ${left} job(s) — start its old workers, or stop (Ctrl-C) and move the jobs instead: ${moveInstead}`);
      else if (workers > 0) ctx.out.note(`${workers} worker connection(s) consume ${opts.from}.`);
    },
    onSample(sample, rate, arrivals) {
      const left = sample.pending + sample.active;
      const eta = rate > 0 && left > 0 ? ` ETA ${Math.ceil(left / rate)}s` : '';
      const line = `${opts.from}: ${left} left of ${Math.max(initial, left)}`;
      if (!ctx.out.json && (line !== shown.line || sample.at - shown.at >= 30_000)) {
        ctx.out.note(`${line} (${rate.toFixed(1)} jobs/s${eta})${idle && left > 0 ? ' — no worker connected' : ''}`);
        shown = { line, at: sample.at };
      }
      if (arrivals > 0) ctx.out.warn(`${arrivals} new job(s) arrived in ${opts.from}: producers still write to it`);
    },
  });
  if (!last) throw new InterruptedError(`stopped watching ${opts.from}; nothing was changed`, 'rerun to keep watching');
  ctx.out.note(`${opts.from} is empty and quiet.`);
  const removes = removalLines(last);
  const document = { schema: 'queuectl/migrate@1', runId: null, from: opts.from, dryRun: false, strategy: 'drain', moved: {}, skipped: [], verified: true, drained: true };
  const deletedField = site.unit === 'keys' ? 'deletedKeys' : 'deletedRows';
  if (last.failed > 0 && !opts.includeFailed) {
    ctx.out.printJson({ ...document, [deletedField]: 0, kept: { failed: last.failed, completed: last.completed } });
    ctx.out.print(`Kept the ${site.unit} of ${opts.from}: deleting them would remove ${removes.join(', ')}. Move the failed jobs first (${moveInstead} --states failed), or delete them too with --include-failed.`);
    return ExitCode.checkFailed;
  }
  const what = `${removes.length > 0 ? `${removes.join(', ')} and ` : 'no jobs, only '}${await site.bookkeeping()}`;
  ctx.out.note(`Deleting ${opts.from} removes ${what}.`);
  const yes = await ctx.prompt.confirmByTyping(`Delete every ${site.unit.replace(/s$/, '')} of ${opts.from} (${removes.join(', ') || 'no jobs'})?`, opts.from, opts.confirm);
  let deleted = 0;
  if (yes) deleted = await site.remove(opts.includeFailed);
  ctx.out.printJson({ ...document, [deletedField]: deleted, removed: yes ? { failed: last.failed, completed: last.completed } : { failed: 0, completed: 0 } });
  ctx.out.print(yes ? `Deleted ${deleted} ${site.unit.replace(/s$/, '')}(s) of ${opts.from}. They held ${what}.` : `Kept the ${site.unit} of ${opts.from}: the confirmation did not match.`);
  // A mistyped confirmation is a "no": exit 1, as answering "n" to migrate's question.
  return yes ? ExitCode.ok : ExitCode.checkFailed;
}
