import type { RedisHandle } from '../redis/types.js';
import { applyDiscard, applyRetry, discardLogKey } from './apply.js';
import { watchCanaries } from './canary.js';
import { findBlocking, planKeys } from './preflight.js';
import { collectItems } from './read.js';
import { resolveRefs } from './refs.js';
import { mapRedisErrors } from '../inspect/redis-source.js';
import { readShow } from './show.js';
import { gatherStats } from './stats.js';
import type { DlqStore } from './store.js';

/** dlq on Redis: the failed sets, dead-letter queue hashes and Lua scripts (the PostgreSQL twin is postgres-store.ts). */
export function redisDlqStore(handle: RedisHandle, prefix: string): DlqStore {
  const client = handle.client;
  return {
    collect: (sources, options) => collectItems(handle, prefix, sources, options),
    resolve: (sources, refs, legacy) => resolveRefs(handle, prefix, sources, refs, legacy),
    show: (item, topology) => readShow(handle, prefix, item, topology),
    stats: (sources) => gatherStats(handle, prefix, sources),
    blocking: (sources, items, verb) => findBlocking(client, planKeys(prefix, sources, items, verb)),
    retry: (items, options) => applyRetry(items, { ...options, client, prefix }),
    discard: (items, reason, options) => applyDiscard(items, reason, { ...options, client, prefix }),
    canaries: (items, options) => watchCanaries(client, prefix, items, options),
    discardLog: discardLogKey(prefix),
    guard: (work) => mapRedisErrors(handle.spec, work),
  };
}
