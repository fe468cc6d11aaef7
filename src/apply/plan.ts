import { UsageError } from '../errors.js';
import { schedulerDiff, type FieldChange } from '../schedules/compare.js';
import type { LiveScheduler } from '../schedules/types.js';
import type { QueueSpec, SchedulerSpec, Topology } from '../topology/types.js';
import type { LiveQueueSettings, LiveState, Plan, PlannedChange } from './types.js';

export interface PlanOptions {
  /** Also remove schedulers of queues the file does not declare. */
  prune: boolean;
  /** Only this queue. */
  target?: string;
  /** Epoch ms, for the endDate check (tests pin it). */
  now?: number;
}

/**
 * What `topology apply` would change, queue by queue: in each, new and changed schedulers before
 * removals (an apply cut short leaves the new schedule running rather than none), then global
 * concurrency, rate limit and pause state. A declared queue's live schedulers are all the file's to
 * say: one it does not list is removed. Queues it does not declare are touched only with --prune,
 * and then only their schedulers (there is no declared setting to apply). Pure.
 */
export function planChanges(topology: Topology, live: LiveState, options: PlanOptions): Plan {
  const now = options.now ?? Date.now();
  const inScope = (queue: string) => options.target === undefined || options.target === queue;
  const changes: PlannedChange[] = [];
  for (const spec of Object.values(topology.queues)) {
    if (!inScope(spec.name)) continue;
    const schedulers = live.schedulers.filter((s) => s.queue === spec.name);
    changes.push(...schedulerChanges(spec, schedulers, now));
    changes.push(...settingChanges(spec, live.queues.find((q) => q.name === spec.name)));
  }
  const leftAlone: Plan['leftAlone'] = [];
  const undeclared = [...new Set(live.schedulers.map((s) => s.queue))].filter((q) => !topology.queues[q] && inScope(q)).sort();
  for (const queue of undeclared) {
    const theirs = live.schedulers.filter((s) => s.queue === queue);
    if (options.prune) changes.push(...theirs.map(removal));
    else leftAlone.push({ queue, schedulers: theirs.length });
  }
  return { changes, leftAlone };
}

function schedulerChanges(spec: QueueSpec, live: LiveScheduler[], now: number): PlannedChange[] {
  const creates: PlannedChange[] = [];
  const updates: PlannedChange[] = [];
  const declared = Object.values(spec.schedulers ?? {});
  // BullMQ refuses to upsert a scheduler whose endDate has passed: say so before anything is
  // written. One already live and unchanged past its end is left as it is.
  const writable = (own: SchedulerSpec) => {
    if (own.endDate === undefined || own.endDate > now) return;
    throw new UsageError(
      `scheduler "${own.id}" of queue "${spec.name}" ends at ${new Date(own.endDate).toISOString()}, which has passed (BullMQ refuses it)`,
      'move its endDate later, or remove the scheduler from the file',
    );
  };
  for (const own of declared) {
    const current = live.find((s) => s.id === own.id && !s.legacy);
    if (!current) {
      writable(own);
      creates.push({ action: 'create', queue: spec.name, resource: 'scheduler', id: own.id, fields: [], declared: own });
      continue;
    }
    const fields = schedulerDiff(own, current);
    if (fields.length === 0) continue;
    writable(own);
    updates.push({ action: 'update', queue: spec.name, resource: 'scheduler', id: own.id, fields, declared: own, live: current });
  }
  const removals = live.filter((s) => s.legacy || !spec.schedulers?.[s.id]).map(removal);
  return [...creates, ...updates, ...removals];
}

function removal(s: LiveScheduler): PlannedChange {
  return { action: 'delete', queue: s.queue, resource: s.legacy ? 'repeatable' : 'scheduler', id: s.id, fields: [], live: s };
}

/**
 * Global concurrency and rate limit exactly where `topology check` finds meta drift: a live value
 * other than the file's is set to it, or removed when the file has none. Where no global value is
 * set, none is created: the file's `concurrency` and `rateLimit` are also what each worker is given,
 * and turning them into a cap over all workers would slow a fleet down unasked. Pause state only
 * when the file declares it.
 */
function settingChanges(spec: QueueSpec, q: LiveQueueSettings | undefined): PlannedChange[] {
  const meta = q?.meta ?? {};
  const changes: PlannedChange[] = [];
  const setting = (resource: 'concurrency' | 'rateLimit', from: unknown, to: unknown) => {
    if (from === undefined) return;
    if (to !== undefined && JSON.stringify(from) === JSON.stringify(to)) return;
    const action = to === undefined ? 'delete' : 'update';
    const field: FieldChange = { field: resource, from, ...(to === undefined ? {} : { to }) };
    changes.push({ action, queue: spec.name, resource, fields: [field] });
  };
  setting('concurrency', meta.concurrency, spec.concurrency);
  const liveRate = meta.max !== undefined || meta.duration !== undefined ? { max: meta.max, duration: meta.duration } : undefined;
  // check judges a half-set limit (max or duration alone) by the half that is set; so does plan.
  const file = spec.rateLimit;
  const agrees = file !== undefined && (meta.max === undefined || meta.max === file.max) && (meta.duration === undefined || meta.duration === file.duration);
  setting('rateLimit', agrees ? undefined : liveRate, file ? { max: file.max, duration: file.duration } : undefined);
  const paused = q?.paused ?? false;
  if (spec.paused !== undefined && spec.paused !== paused) {
    changes.push({ action: 'update', queue: spec.name, resource: 'paused', fields: [{ field: 'paused', from: paused, to: spec.paused }] });
  }
  return changes;
}
