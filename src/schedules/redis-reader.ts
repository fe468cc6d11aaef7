import { Job } from 'bullmq';
import type { RedisHandle } from '../redis/types.js';
import { legacyFromKey, schedulerFromFields } from './parse.js';
import type { LiveScheduler, ScheduleReader } from './types.js';

/** Zset members read per call: a queue's schedulers are few, but nothing here grows unbounded. */
const PAGE = 500;
const QUEUES_AT_ONCE = 100;

/**
 * Schedulers on Redis (the PostgreSQL twin is postgres-reader.ts): ZRANGE of `<prefix>:<q>:repeat`
 * a page at a time, then HGETALL of each `repeat:<id>` hash. Reads only. Queue.getJobSchedulers is
 * not used: it deletes members whose hash is gone and throws on old-style repeatable jobs.
 */
export function redisScheduleReader(handle: RedisHandle, prefix: string): ScheduleReader {
  const optsFromJSON = (raw: string) => Job.optsFromJSON(raw) as Record<string, unknown>;
  const readQueue = async (queue: string): Promise<LiveScheduler[]> => {
    const found: LiveScheduler[] = [];
    const repeatKey = `${prefix}:${queue}:repeat`;
    for (let start = 0; ; start += PAGE) {
      const page = await handle.client.zrange(repeatKey, start, start + PAGE - 1, 'WITHSCORES');
      const members: [string, number][] = [];
      for (let i = 0; i < page.length; i += 2) members.push([page[i]!, Number(page[i + 1])]);
      const hashes = await Promise.all(members.map(([id]) => handle.client.hgetall(`${repeatKey}:${id}`)));
      members.forEach(([id, next], i) => {
        const fields = hashes[i] ?? {};
        const hashless = Object.keys(fields).length === 0;
        found.push((hashless && legacyFromKey(queue, id, next)) || schedulerFromFields(queue, id, fields, next, optsFromJSON));
      });
      if (page.length < PAGE * 2) return found;
    }
  };
  return {
    async read(queues) {
      const names = [...new Set(queues)].sort();
      const found: LiveScheduler[] = [];
      // Many queues at once (ioredis pipelines concurrent commands): 10,000 declared queues are
      // a hundred round trips, not ten thousand.
      for (let i = 0; i < names.length; i += QUEUES_AT_ONCE) {
        for (const list of await Promise.all(names.slice(i, i + QUEUES_AT_ONCE).map(readQueue))) found.push(...list);
      }
      return found.sort((a, b) => a.queue.localeCompare(b.queue) || a.id.localeCompare(b.id));
    },
  };
}
