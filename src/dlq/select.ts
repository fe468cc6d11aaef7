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
    const { items, live } = await scope.store.resolve(scope.sources, refs, Object.keys(scope.topology.legacy));
    return { items, live, explicit: true };
  }
  const items = await scope.store.collect(scope.sources, { filters: scope.filters, window: 5000, limit });
  return { items, live: [], explicit: false };
}
