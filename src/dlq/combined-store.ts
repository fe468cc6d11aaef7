import type { ApplyOutcome } from './apply.js';
import type { DlqStore } from './store.js';
import type { DlqItem } from './types.js';

/**
 * The backend's dlq store (Redis or PostgreSQL) and the legacy table sources' (table-store.ts)
 * as one DlqStore, so the dlq commands never ask which one holds an item: items carry their style,
 * references name their table source. Either side may be absent (`dlq list --queue worker-jobs`
 * never dials the BullMQ backend).
 */
export function combinedStore(backend: DlqStore | undefined, table: DlqStore | undefined, tableNames: string[]): DlqStore {
  if (!table) return backend ?? emptyStore();
  if (!backend) return table;
  const isTable = (i: DlqItem) => i.style === 'table';
  const isTableRef = (ref: string) => tableNames.includes(ref.slice(0, Math.max(0, ref.indexOf('/'))));
  const merge = (a: ApplyOutcome, b: ApplyOutcome): ApplyOutcome => ({
    done: a.done + b.done,
    interrupted: a.interrupted || b.interrupted,
    skipped: sum(a.skipped, b.skipped),
    notes: sum(a.notes, b.notes),
  });
  return {
    collect: async (sources, options) => {
      const items = [...(await backend.collect(sources, options)), ...(await table.collect([], options))].sort((a, b) => b.failedAt - a.failedAt);
      return options.limit === undefined ? items : items.slice(0, options.limit);
    },
    resolve: async (sources, refs, legacy) => {
      const mine = refs.filter(isTableRef);
      const theirs = refs.filter((r) => !isTableRef(r));
      const a = theirs.length ? await backend.resolve(sources, theirs, legacy) : { items: [], live: [] };
      const b = mine.length ? await table.resolve([], mine, legacy) : { items: [], live: [] };
      return { items: [...a.items, ...b.items], live: [...a.live, ...b.live] };
    },
    show: (item, topology) => (isTable(item) ? table.show(item, topology) : backend.show(item, topology)),
    stats: async (sources) => [...(await backend.stats(sources)), ...(await table.stats([]))],
    blocking: (sources, items, verb) => backend.blocking(sources, items.filter((i) => !isTable(i)), verb),
    retry: async (items, options) => merge(await backend.retry(items.filter((i) => !isTable(i)), options), await table.retry(items.filter(isTable), options)),
    discard: async (items, reason, options) => merge(await backend.discard(items.filter((i) => !isTable(i)), reason, options), await table.discard(items.filter(isTable), reason, options)),
    canaries: (items, options) => (items.some(isTable) ? table.canaries(items, options) : backend.canaries(items, options)),
    discardLog: `${backend.discardLog}; table sources: ${table.discardLog}`,
    guard: (work) => table.guard(() => backend.guard(work)),
  };
}

function sum(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** No backend sources and no table: every read is empty. */
function emptyStore(): DlqStore {
  const none: ApplyOutcome = { done: 0, skipped: {}, interrupted: false, notes: {} };
  return {
    collect: async () => [],
    resolve: async () => ({ items: [], live: [] }),
    show: async () => ({}),
    stats: async () => [],
    blocking: async () => [],
    retry: async () => none,
    discard: async () => none,
    canaries: async () => ({ ok: true, timedOut: false, states: [] }) as never,
    discardLog: '',
    guard: (work) => work(),
  };
}
