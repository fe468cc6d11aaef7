import { QueuectlError } from '../errors.js';
import { toPostgresError } from '../backend/postgres/errors.js';
import { quoteIdent, requireCompatibleSchema } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { applyDiscard, applyRetry, DISCARD_EVENT } from './postgres-apply.js';
import { candidates, failedCount, readShow, scanSource, watchCanaries } from './postgres-read.js';
import { collectWith, type ScanOptions } from './read.js';
import { resolveWith } from './refs.js';
import { gatherStatsWith } from './stats.js';
import type { DlqStore } from './store.js';
import type { DlqSource } from './types.js';

/**
 * dlq on BullMQ's PostgreSQL backend: failed sets are `job` rows in state failed, dead-letter
 * queues are jobs of another queue (the Redis twin is redis-store.ts). A missing or other-version
 * BullMQ schema is exit 3 before anything is read. Errors are already one-line PostgresErrors.
 */
export async function postgresDlqStore(session: PostgresHandle): Promise<DlqStore> {
  await requireCompatibleSchema(session);
  const handle = oneAtATime(session);
  const s = quoteIdent(handle.spec.schema);
  const collect = (sources: DlqSource[], options: ScanOptions & { limit?: number }) => collectWith((source) => scanSource(handle, s, source, options), sources, options.limit);
  return {
    collect,
    resolve: (sources, refs, legacy) => resolveWith((ref) => candidates(handle, s, sources, ref, legacy, collect), sources, refs, legacy),
    show: (item, topology) => readShow(handle, s, item, topology),
    stats: (sources) => gatherStatsWith({ scan: (source, options) => scanSource(handle, s, source, options), failedCount: (queue) => failedCount(handle, s, queue) }, sources),
    // Column types are the schema's: nothing can hold a wrong type the way a Redis key can.
    blocking: async () => [],
    retry: (items, options) => applyRetry(handle, s, items, options),
    discard: (items, reason, options) => applyDiscard(handle, s, items, reason, options),
    canaries: (items, options) => watchCanaries(handle, s, items, options),
    discardLog: `${s}.event (event "${DISCARD_EVENT}" of each queue)`,
    guard: async (work) => {
      try {
        return await work();
      } catch (error) {
        throw error instanceof QueuectlError ? error : toPostgresError(error, handle.spec);
      }
    },
  };
}

/**
 * The session with its queries in line: list and stats read several sources at once (a merge of
 * their streams), and one pg session runs one query at a time.
 */
function oneAtATime(handle: PostgresHandle): PostgresHandle {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    spec: handle.spec,
    client: handle.client,
    close: () => handle.close(),
    query: (text, params) => {
      const next = tail.then(() => handle.query(text, params));
      tail = next.catch(() => undefined);
      return next;
    },
  } as PostgresHandle;
}
