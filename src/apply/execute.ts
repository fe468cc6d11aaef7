import { InterruptedError } from '../errors.js';
import type { SettingsApplier } from './applier.js';
import type { Plan, PlannedChange } from './types.js';

/**
 * Carries a plan out, one change at a time, in plan order (per queue: new and changed schedulers,
 * then removals, then settings). Each change is one BullMQ call, atomic on its own; Ctrl-C stops
 * between two of them, and a rerun of apply plans only what is left.
 */
export async function executePlan(plan: Plan, applier: SettingsApplier, options: { signal: AbortSignal; onApplied?: (change: PlannedChange, done: number) => void }): Promise<number> {
  let done = 0;
  for (const change of plan.changes) {
    if (options.signal.aborted) {
      throw new InterruptedError(`topology apply interrupted after ${done} of ${plan.changes.length} changes`, 'rerun topology apply: it plans only what is left');
    }
    await applyOne(change, applier);
    done += 1;
    options.onApplied?.(change, done);
  }
  return done;
}

async function applyOne(change: PlannedChange, applier: SettingsApplier): Promise<void> {
  const to = change.fields[0]?.to;
  switch (change.resource) {
    case 'scheduler':
    case 'repeatable':
      if (change.action === 'delete') return applier.removeScheduler(change.live!);
      return applier.upsertScheduler(change.queue, change.declared!);
    case 'concurrency':
      return applier.setConcurrency(change.queue, to as number | undefined);
    case 'rateLimit':
      return applier.setRateLimit(change.queue, to as { max: number; duration: number } | undefined);
    case 'paused':
      return applier.setPaused(change.queue, Boolean(to));
  }
}
