import type { Context } from '../context.js';
import { ExitCode, InterruptedError, UsageError } from '../errors.js';
import type { ApplyOutcome } from '../dlq/apply.js';
import type { CanaryResult } from '../dlq/canary.js';
import { positiveInt, positiveNumber, type FilterFlags } from '../dlq/filters.js';
import { planRetry } from '../dlq/plan.js';
import { blockedError, type Blocking } from '../dlq/preflight.js';
import { countBy, renderPlan } from '../dlq/render.js';
import { openScope, progressReporter, whoAmI } from '../dlq/scope.js';
import { selectItems } from '../dlq/select.js';
import { parseDuration } from '../topology/durations.js';

export interface DlqRetryOptions extends FilterFlags {
  all?: boolean;
  dryRun?: boolean;
  limit?: string;
  rate?: string;
  batch?: string;
  canary?: string;
  canaryTimeout?: string;
}

/** Skips that leave a dead letter unretried (exit 1); the others mean "done already". */
const LEFT = /already exists|part of a flow|no longer fits/;

/**
 * `queuectl dlq retry <ref…> | --all [filters]`: plan, confirm, then apply in atomic batches.
 * Safe to rerun at any point: an item is either retried or untouched, and never retried twice.
 */
export async function run(opts: DlqRetryOptions, ctx: Context, args: string[] = []): Promise<number> {
  const limit = positiveInt('--limit', opts.limit);
  const rate = positiveNumber('--rate', opts.rate);
  const batch = positiveInt('--batch', opts.batch);
  const canary = positiveInt('--canary', opts.canary);
  const canaryTimeoutMs = parseDuration(opts.canaryTimeout ?? '2m');
  if (canaryTimeoutMs === undefined) throw new UsageError(`--canary-timeout "${opts.canaryTimeout}" is not a duration`, 'for example --canary-timeout 5m');
  const scope = await openScope(ctx, opts);
  const { store, topology } = scope;
  return store.guard(async () => {
    const selection = await selectItems(scope, args, Boolean(opts.all), limit, 'retry');
    const plan = planRetry(selection.items, topology);
    const hard = plan.refused.filter((r) => !r.reason.startsWith('already'));
    if (selection.explicit && hard.length) throw new UsageError(`cannot retry ${hard[0].ref}: ${hard[0].reason}`, hard[0].hint ?? 'discard the item');
    // A Bull job retried under a new id (its numeric id taken in the target) could not be watched by id.
    const bull = canary ? plan.items.find((i) => i.style === 'failed' && topology.legacy[i.queue]?.kind === 'bull') : undefined;
    if (bull) throw new UsageError(`--canary does not apply to a Bull queue's failed jobs (${bull.ref}): one may land under a new id in ${bull.target}`, 'retry them without --canary, or a few at a time with --limit');
    for (const ref of selection.live) ctx.out.note(`${ref} is not in the failed set (retried already?): nothing to do`);
    // Keys a script would refuse (wrong type, bad value): reported by the plan, never half-applied.
    const blocking: Blocking[] = await store.blocking(scope.sources, plan.items, 'retry');
    const doc = {
      schema: 'queuectl/dlq-retry@1', dryRun: Boolean(opts.dryRun), planned: plan.items.length, perQueue: countBy(plan.items, (i) => i.target ?? i.queue),
      refused: plan.refused, blocking, retried: 0, skipped: [] as { reason: string; count: number }[], canary: undefined as CanaryResult | undefined, interrupted: false,
    };
    ctx.out.print(renderPlan('retry', plan.items, plan.refused, blocking));
    const finish = (code: number) => {
      ctx.out.printJson(doc);
      return code;
    };
    if (opts.dryRun) return finish(hard.length || blocking.length ? 1 : 0);
    if (blocking.length) throw blockedError(blocking[0], 'retry', 0);
    if (plan.items.length === 0) return finish(hard.length ? 1 : 0);
    if (!(await ctx.prompt.confirm(`Retry ${plan.items.length} dead letter${plan.items.length === 1 ? '' : 's'}?`))) {
      ctx.out.note('nothing retried');
      return finish(ExitCode.checkFailed); // declined: as answering "n" to migrate (README "Exit codes")
    }
    const apply = { topology, rate, batch, signal: ctx.signal, who: whoAmI() };
    const outcomes: ApplyOutcome[] = [];
    let rest = plan.items;
    if (canary) {
      const first = rest.slice(0, canary);
      rest = rest.slice(canary);
      outcomes.push(await store.retry(first, apply));
      ctx.out.note(`canary: retried ${first.length}, waiting for the workers (up to ${opts.canaryTimeout ?? '2m'})…`);
      doc.canary = await store.canaries(first, { timeoutMs: canaryTimeoutMs, signal: ctx.signal, topology });
      if (!doc.canary.ok) {
        const bad = doc.canary.states.filter((s) => s.state !== 'completed').map((s) => `${s.queue}/${s.id} ${s.state}`);
        ctx.out.warn(`canary ${doc.canary.timedOut ? 'did not finish in time' : 'failed again'}: ${bad.join(', ')}; ${rest.length} not retried`);
        summarize(doc, outcomes);
        return finish(1);
      }
      ctx.out.note('canary: all completed; retrying the rest');
    }
    const progress = progressReporter(ctx, 'retried');
    outcomes.push(await store.retry(rest, { ...apply, onProgress: progress.update }));
    progress.done();
    summarize(doc, outcomes);
    ctx.out.print(`Retried ${doc.retried}.${doc.skipped.map((s) => ` Skipped ${s.count}: ${s.reason}.`).join('')}`);
    if (doc.interrupted) {
      ctx.out.printJson(doc);
      throw new InterruptedError(`interrupted after retrying ${doc.retried}`, 'rerun the same command to retry the rest (nothing is retried twice)');
    }
    return finish(hard.length || doc.skipped.some((s) => LEFT.test(s.reason)) ? 1 : 0);
  });
}

function summarize(doc: { retried: number; skipped: { reason: string; count: number }[]; interrupted: boolean }, outcomes: ApplyOutcome[]): void {
  const skipped: Record<string, number> = {};
  for (const o of outcomes) {
    doc.retried += o.done;
    doc.interrupted ||= o.interrupted;
    for (const [reason, count] of Object.entries(o.skipped)) skipped[reason] = (skipped[reason] ?? 0) + count;
  }
  doc.skipped = Object.entries(skipped).map(([reason, count]) => ({ reason, count }));
}
