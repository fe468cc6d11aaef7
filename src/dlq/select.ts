import { UsageError } from '../errors.js';
import type { DlqScope } from './scope.js';
import type { DlqItem } from './types.js';

export interface Selection {
  items: DlqItem[];
  /** References that name live jobs, not dead letters (e.g. already retried). */
  live: string[];
  explicit: boolean;
}

/** The items a retry or discard acts on: named references, or every item the filters match with --all. */
export async function selectItems(scope: DlqScope, refs: string[], all: boolean, limit: number | undefined, verb: string): Promise<Selection> {
  if (refs.length && all) throw new UsageError(`dlq ${verb} takes references or --all, not both`, `queuectl dlq ${verb} <queue>/<id>… or queuectl dlq ${verb} --all [filters]`);
  if (!refs.length && !all) throw new UsageError(`dlq ${verb} needs references or --all`, `queuectl dlq ${verb} <queue>/<id>… or queuectl dlq ${verb} --all [filters]; see \`queuectl dlq list\``);
  if (refs.length) {
    // A ref into a legacy queue nothing tells apart: never guess which library's layout to write.
    for (const ref of refs) {
      const line = scope.undecided.get(ref.slice(0, ref.lastIndexOf('/')));
      if (line) throw new UsageError(`dlq ${verb} ${ref}: ${line}; nothing was written`, 'declare kind: bull or kind: bullmq for it under legacy: in the topology');
    }
    const { items, live } = await scope.store.resolve(scope.sources, refs, Object.keys(scope.topology.legacy));
    return { items, live, explicit: true };
  }
  const items = await scope.store.collect(scope.sources, { filters: scope.filters, window: 5000, limit });
  return { items, live: [], explicit: false };
}
