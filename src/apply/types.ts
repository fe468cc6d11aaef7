import type { QueueKind } from '../inspect/types.js';
import type { FieldChange } from '../schedules/compare.js';
import type { LiveScheduler } from '../schedules/types.js';
import type { SchedulerSpec } from '../topology/types.js';

export type ChangeAction = 'create' | 'update' | 'delete';
/** What a change touches: a job scheduler, an old-style repeatable job, or a queue setting. */
export type Resource = 'scheduler' | 'repeatable' | 'concurrency' | 'rateLimit' | 'paused';

export interface PlannedChange {
  action: ChangeAction;
  queue: string;
  resource: Resource;
  /** Scheduler id, or the old-style repeatable job's key. */
  id?: string;
  /** What differs (update), or the value set (create) or removed (delete) for settings. */
  fields: FieldChange[];
  /** create/update of a scheduler: the declaration carried out. */
  declared?: SchedulerSpec;
  /** update/delete of a scheduler: what lives now. */
  live?: LiveScheduler;
}

/** One queue as plan reads it: its pause state and global settings. */
export interface LiveQueueSettings {
  name: string;
  kind: QueueKind;
  exists: boolean;
  paused: boolean;
  meta: { concurrency?: number; max?: number; duration?: number };
}

/** Everything plan compares with the file, read by a SettingsApplier. */
export interface LiveState {
  queues: LiveQueueSettings[];
  schedulers: LiveScheduler[];
}

export interface Plan {
  changes: PlannedChange[];
  /** Queues the file does not declare that hold schedulers, left alone without --prune. */
  leftAlone: { queue: string; schedulers: number }[];
}
