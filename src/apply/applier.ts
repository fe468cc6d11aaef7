import type { Queue } from 'bullmq';
import type { LiveScheduler } from '../schedules/types.js';
import type { SchedulerSpec } from '../topology/types.js';
import type { LiveState } from './types.js';

/**
 * What `topology plan` reads and `topology apply` writes, whatever the backend: the Redis
 * implementation is redis-applier.ts, the PostgreSQL one postgres-applier.ts. Every write goes
 * through BullMQ's own Queue API (bullmqWrites below), which both backends share through
 * createPostgresBackend; only old-style repeatable jobs, which BullMQ 6 can no longer remove and
 * which exist on Redis only, need a script of ours.
 */
export interface SettingsApplier {
  /** The redacted URL and the prefix or schema in force: what the confirmation names. */
  where: string;
  /** The declared queues' settings and schedulers, plus the schedulers of every other live queue. */
  readState(declared: string[]): Promise<LiveState>;
  upsertScheduler(queue: string, spec: SchedulerSpec): Promise<void>;
  removeScheduler(live: LiveScheduler): Promise<void>;
  setConcurrency(queue: string, value: number | undefined): Promise<void>;
  setRateLimit(queue: string, value: { max: number; duration: number } | undefined): Promise<void>;
  setPaused(queue: string, paused: boolean): Promise<void>;
  close(): Promise<void>;
}

export type Writes = Omit<SettingsApplier, 'where' | 'readState' | 'close'> & { closeQueues(): Promise<void> };

/** The writes, with BullMQ's Queue API on whichever backend `open` builds Queues for. */
export function bullmqWrites(open: (queue: string) => Queue): Writes {
  const queues = new Map<string, Queue>();
  const queue = (name: string) => {
    let q = queues.get(name);
    if (!q) queues.set(name, (q = open(name)));
    return q;
  };
  return {
    async upsertScheduler(name, spec) {
      const repeat = {
        ...(spec.pattern === undefined ? {} : { pattern: spec.pattern }),
        ...(spec.tz === undefined ? {} : { tz: spec.tz }),
        ...(spec.every === undefined ? {} : { every: spec.every }),
        ...(spec.limit === undefined ? {} : { limit: spec.limit }),
        ...(spec.startDate === undefined ? {} : { startDate: spec.startDate }),
        ...(spec.endDate === undefined ? {} : { endDate: spec.endDate }),
        ...(spec.immediately === undefined ? {} : { immediately: spec.immediately }),
      };
      await queue(name).upsertJobScheduler(spec.id, repeat, { name: spec.job.name, data: spec.job.data ?? {}, opts: (spec.job.opts ?? {}) as never });
    },
    async removeScheduler(live) {
      await queue(live.queue).removeJobScheduler(live.id);
    },
    async setConcurrency(name, value) {
      if (value === undefined) await queue(name).removeGlobalConcurrency();
      else await queue(name).setGlobalConcurrency(value);
    },
    async setRateLimit(name, value) {
      if (value === undefined) await queue(name).removeGlobalRateLimit();
      else await queue(name).setGlobalRateLimit(value.max, value.duration);
    },
    async setPaused(name, paused) {
      if (paused) await queue(name).pause();
      else await queue(name).resume();
    },
    async closeQueues() {
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}
