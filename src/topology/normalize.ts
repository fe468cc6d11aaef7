import type { ParsedTopology } from './schema.js';
import { dict } from '../util/dict.js';
import type { JobNameOptions, LegacyQueueSpec, QueueSpec, SchedulerSpec, Topology, WorkerSpec } from './types.js';

/**
 * Parsed file → the `Topology` every module reads: `defaults` merged into each queue (a queue's
 * own value wins; `alerts` merge per threshold so a queue can add one without repeating the
 * rest), each entry named, absent sections empty. Pure.
 */
export function normalizeTopology(parsed: ParsedTopology): Topology {
  const defaults = parsed.defaults ?? {};
  // dict(): a queue named "constructor" or "toString" is not already there.
  const queues = dict<QueueSpec>();
  for (const [name, own] of Object.entries(parsed.queues)) {
    const { schedulers, ...rest } = own;
    const merged: QueueSpec = { name, ...dropUndefined(defaults), ...dropUndefined(rest) };
    if (schedulers) {
      // Keyed by scheduler ids, which are user data; a template with no name takes the id, as in BullMQ.
      const byId = dict<SchedulerSpec>();
      for (const [id, { job, ...repeat }] of Object.entries(schedulers)) {
        byId[id] = { id, ...dropUndefined(repeat), job: job ? dropUndefined(job) : { name: id } };
      }
      merged.schedulers = byId;
    }
    if (defaults.alerts && own.alerts) merged.alerts = { ...dropUndefined(defaults.alerts), ...dropUndefined(own.alerts) };
    if (own.jobOptions) {
      // Keyed by job names, which are user data: no prototype (a job named "constructor" is fine).
      const byName = dict<JobNameOptions>();
      for (const [job, options] of Object.entries(own.jobOptions)) byName[job] = dropUndefined(options);
      merged.jobOptions = byName;
    }
    queues[name] = merged;
  }

  const workers = dict<WorkerSpec>();
  for (const [name, worker] of Object.entries(parsed.workers ?? {})) workers[name] = { name, ...dropUndefined(worker) };

  const legacy = dict<LegacyQueueSpec>();
  for (const [name, entry] of Object.entries(parsed.legacy ?? {})) legacy[name] = { name, ...dropUndefined(entry ?? {}) };

  return { version: parsed.version, prefix: parsed.prefix, ...(parsed.backend ? { backend: parsed.backend } : {}), ...(parsed.schema ? { schema: parsed.schema } : {}), queues, workers, legacy };
}

/** Optional keys stay absent rather than present-but-undefined, so spreads never erase a default. */
function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
