import { executePlan } from '../apply/execute.js';
import { openApplier, preparePlan, type PlanFlags } from '../apply/prepare.js';
import { planDocument, renderPlan } from '../apply/render.js';
import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';

export interface TopologyApplyOptions extends PlanFlags {
  dryRun?: boolean;
}

/**
 * `topology apply`: makes the live queues match the file, with BullMQ's own calls
 * (upsertJobScheduler, removeJobScheduler, setGlobalConcurrency/RateLimit, pause/resume). Prints
 * the plan, asks once naming the server and prefix or schema (--yes off a terminal), then carries
 * it out. Idempotent: a second apply plans nothing. --dry-run is `topology plan`.
 */
export async function run(opts: TopologyApplyOptions, ctx: Context): Promise<number> {
  const applier = await openApplier(ctx);
  try {
    const plan = await preparePlan(ctx, applier, opts);
    const doc = planDocument(plan, applier.where);
    ctx.out.print(renderPlan(plan, applier.where, ctx.out.color));
    if (opts.dryRun) {
      ctx.out.printJson(doc);
      return plan.changes.length === 0 ? ExitCode.ok : ExitCode.checkFailed;
    }
    const result = { ...doc, schema: 'queuectl/topology-apply@1' as const, applied: 0 };
    if (plan.changes.length === 0) {
      ctx.out.printJson(result);
      return ExitCode.ok;
    }
    const { create, update, delete: remove } = doc.summary;
    const n = plan.changes.length;
    const question = `Apply ${n} change${n === 1 ? '' : 's'} (${create} to create, ${update} to change, ${remove} to remove) to ${applier.where}?`;
    if (!(await ctx.prompt.confirm(question))) {
      ctx.out.note('nothing changed');
      ctx.out.printJson(result);
      return ExitCode.ok;
    }
    try {
      result.applied = await executePlan(plan, applier, { signal: ctx.signal });
    } catch (error) {
      ctx.out.note(`applied ${result.applied} of ${n} changes before this error; topology plan shows what is left`);
      throw error;
    }
    ctx.out.print(`Applied ${result.applied} change${result.applied === 1 ? '' : 's'} to ${applier.where}.`);
    ctx.out.printJson(result);
    return ExitCode.ok;
  } finally {
    await applier.close();
  }
}
