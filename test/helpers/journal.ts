import type { Redis } from 'ioredis';

/**
 * Reads how many jobs migrate has moved out of `source`: the `moved` counter of its journal(s),
 * which each batch bumps atomically with its move. The journals are found by SCAN over
 * `<prefix>:queuectl:migrate:*` (filtered by their `source` field) rather than by computing a run
 * id, so the tests do not depend on how run ids are derived. The SCAN is repeated at most every
 * `rescanMs` (a 50k-job keyspace is too big to scan every poll); in between only the known
 * journals are read.
 */
export function journalWatch(redis: Redis, source: string, options: { prefix?: string; rescanMs?: number } = {}) {
  const prefix = options.prefix ?? 'bull';
  const known = new Set<string>();
  let scannedAt = 0;
  const rescan = async () => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:queuectl:migrate:*`, 'COUNT', 10_000);
      cursor = next;
      for (const key of keys) if ((await redis.hget(key, 'source')) === source) known.add(key);
    } while (cursor !== '0');
    scannedAt = Date.now();
  };
  return {
    /** Jobs moved so far, over every run and attempt of this source. */
    async moved(): Promise<number> {
      if (Date.now() - scannedAt > (options.rescanMs ?? 500)) await rescan();
      let moved = 0;
      for (const key of known) moved += Number((await redis.hget(key, 'moved')) ?? 0);
      return moved;
    },
  };
}
