import { openApplier, preparePlan, type PlanFlags } from '../apply/prepare.js';
import { planDocument, renderPlan } from '../apply/render.js';
import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';

export type TopologyPlanOptions = PlanFlags;

/**
 * `topology plan`: what `topology apply` would change on the live queues — schedulers created,
 * changed or removed, global concurrency and rate limit, pause state — terraform style. Reads
 * only. Exit 0 no changes, 1 changes (a CI step can fail on pending changes).
 */
export async function run(opts: TopologyPlanOptions, ctx: Context): Promise<number> {
  const applier = await openApplier(ctx);
  try {
    const plan = await preparePlan(ctx, applier, opts);
    if (ctx.out.json) ctx.out.printJson(planDocument(plan, applier.where));
    else ctx.out.print(renderPlan(plan, applier.where, ctx.out.color));
    return plan.changes.length === 0 ? ExitCode.ok : ExitCode.checkFailed;
  } finally {
    await applier.close();
  }
}
