import type { Context } from '../context.js';
import { ExitCode, InterruptedError, UsageError } from '../errors.js';
import { MEMBER_ONLY } from '../dlq/apply.js';
import { positiveInt, positiveNumber, type FilterFlags } from '../dlq/filters.js';
import { planDiscard } from '../dlq/plan.js';
import { blockedError } from '../dlq/preflight.js';
import { countBy, renderPlan } from '../dlq/render.js';
import { openScope, progressReporter, whoAmI } from '../dlq/scope.js';
import { selectItems } from '../dlq/select.js';

export interface DlqDiscardOptions extends FilterFlags {
  /** The recorded reason (required). The regex filter is --match-reason, as in list and retry. */
  reason?: string;
  /** Deprecated spelling of --match-reason (it only ever meant the filter). */
  match?: string;
  all?: boolean;
  dryRun?: boolean;
  limit?: string;
  rate?: string;
  batch?: string;
}

/**
 * `queuectl dlq discard <ref…> | --all [filters] --reason <text>`: failed jobs are removed,
 * dead-letter queue items marked discarded; every discard is recorded with its reason, who and when
 * in the `<prefix>:queuectl:dlq:discarded` stream.
 */
export async function run(opts: DlqDiscardOptions, ctx: Context, args: string[] = []): Promise<number> {
  const reason = opts.reason?.trim();
  if (!reason) throw new UsageError('dlq discard needs --reason <text>, recorded with every discarded item', 'for example --reason "bad input, customer notified" (filter by failure reason with --match-reason <regex>)');
  if (opts.match !== undefined) {
    if (opts.matchReason !== undefined) throw new UsageError('--match and --match-reason both given', '--match is the old spelling of --match-reason: give one');
    ctx.out.warn('--match is deprecated: use --match-reason <regex> (the same filter, in every dlq command)');
  }
  const limit = positiveInt('--limit', opts.limit);
  const rate = positiveNumber('--rate', opts.rate);
  const batch = positiveInt('--batch', opts.batch);
  const scope = await openScope(ctx, { ...opts, matchReason: opts.matchReason ?? opts.match });
  const { store, topology } = scope;
  return store.guard(async () => {
    const selection = await selectItems(scope, args, Boolean(opts.all), limit, 'discard');
    const plan = planDiscard(selection.items);
    for (const ref of selection.live) ctx.out.note(`${ref} is not in the failed set: nothing to discard`);
    const blocking = await store.blocking(scope.sources, plan.items, 'discard');
    const doc = {
      schema: 'queuectl/dlq-discard@1', dryRun: Boolean(opts.dryRun), reason, planned: plan.items.length, perQueue: countBy(plan.items, (i) => i.queue),
      refused: plan.refused, blocking, discarded: 0, failedEntryOnly: 0, skipped: [] as { reason: string; count: number }[], interrupted: false,
    };
    ctx.out.print(renderPlan('discard', plan.items, plan.refused, blocking));
    const finish = (code: number) => {
      ctx.out.printJson(doc);
      return code;
    };
    if (opts.dryRun) return finish(blocking.length ? 1 : 0);
    if (blocking.length) throw blockedError(blocking[0], 'discard', 0);
    if (plan.items.length === 0) return finish(0);
    if (!(await ctx.prompt.confirm(`Discard ${plan.items.length} dead letter${plan.items.length === 1 ? '' : 's'} (failed jobs are deleted)?`))) {
      ctx.out.note('nothing discarded');
      return finish(ExitCode.checkFailed); // declined: as answering "n" to migrate (README "Exit codes")
    }
    const progress = progressReporter(ctx, 'discarded');
    const outcome = await store.discard(plan.items, reason, {
      topology, rate, batch, signal: ctx.signal, who: whoAmI(), onProgress: progress.update,
    });
    progress.done();
    doc.discarded = outcome.done;
    doc.failedEntryOnly = outcome.notes[MEMBER_ONLY] ?? 0;
    doc.skipped = Object.entries(outcome.skipped).map(([r, count]) => ({ reason: r, count }));
    doc.interrupted = outcome.interrupted;
    const kept = doc.failedEntryOnly ? ` ${doc.failedEntryOnly} of them ${MEMBER_ONLY}.` : '';
    ctx.out.print(`Discarded ${outcome.done}; reasons recorded in ${store.discardLog}.${kept}${doc.skipped.map((s) => ` Skipped ${s.count}: ${s.reason}.`).join('')}`);
    if (outcome.interrupted) {
      ctx.out.printJson(doc);
      throw new InterruptedError(`interrupted after discarding ${outcome.done}`, 'rerun the same command to discard the rest');
    }
    return finish(0);
  });
}
