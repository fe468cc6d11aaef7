import type { PerBackend } from '../backend/select.js';
import { forBackend } from '../backend/select.js';
import type { Context } from '../context.js';
import { InterruptedError, UsageError } from '../errors.js';
import { lint } from '../topology/lint.js';
import { unknownQueueError } from '../util/queue-names.js';
import type { SettingsApplier } from './applier.js';
import { planChanges } from './plan.js';
import type { Plan } from './types.js';

/** plan/apply's reads and writes, side by side: Redis (redis-applier.ts) and PostgreSQL (postgres-applier.ts). */
const appliers: PerBackend<(ctx: Context) => Promise<SettingsApplier>> = {
  redis: async (ctx) => (await import('./redis-applier.js')).redisApplier(ctx),
  postgres: async (ctx) => (await import('./postgres-applier.js')).postgresApplier(ctx),
};

/** The flags `topology plan` and `topology apply` share. */
export interface PlanFlags {
  prune?: boolean;
  target?: string;
}

/** The backend's applier; the caller closes it (also when planning throws, hence it is opened apart). */
export async function openApplier(ctx: Context): Promise<SettingsApplier> {
  return forBackend(ctx, appliers)(ctx);
}

/**
 * Reads the live state and plans: the first half of both commands. Refuses, before reading, a file
 * with a scheduler its queue cannot own, and a --target that names nothing (did-you-mean) or an
 * undeclared queue without --prune.
 */
export async function preparePlan(ctx: Context, applier: SettingsApplier, flags: PlanFlags): Promise<Plan> {
  const { topology, source } = await ctx.topology();
  // A scheduler whose jobs its queue does not own would misroute every job it makes: never write one.
  const unowned = lint(topology, {}, source).filter((f) => f.rule === 'scheduler-job-unowned');
  if (unowned.length > 0) {
    const where = unowned[0]!.line === undefined ? '' : ` (line ${unowned[0]!.line})`;
    throw new UsageError(`${source.file}${where}: ${unowned[0]!.message}`, 'fix the file first; queuectl topology validate lists every problem');
  }
  const declared = Object.keys(topology.queues);
  let state;
  try {
    state = await applier.readState(declared);
  } catch (error) {
    // A read cut short by Ctrl-C surfaces as a connection or abort error: it is an interruption.
    if (ctx.signal.aborted && !(error instanceof InterruptedError)) throw new InterruptedError('interrupted while reading the live queues', 'nothing was changed; rerun the same command');
    throw error;
  }
  const target = flags.target;
  if (target !== undefined && !topology.queues[target]) {
    const liveWithSchedulers = new Set(state.schedulers.map((s) => s.queue));
    if (!liveWithSchedulers.has(target)) {
      throw unknownQueueError({ name: target, known: [...declared, ...liveWithSchedulers], flag: '--target', isNot: 'is neither a declared queue nor a live queue holding schedulers' });
    }
    if (!flags.prune) {
      throw new UsageError(`--target "${target}" is not declared in the file`, 'declare it under queues:, or add --prune to remove its schedulers');
    }
  }
  return planChanges(topology, state, { prune: Boolean(flags.prune), target });
}
