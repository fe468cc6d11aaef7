import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { client, uniqueName } from './helpers/redis.js';
import { dlqScripts } from '../src/dlq/scripts.js';
import { keysAndTypes, scriptKeys } from '../src/dlq/preflight.js';

// retry-failed.lua drops the failed-set members with one ZREM after its loop (not one per job):
// an id given twice in one call must still go back to `wait` once.
let redis: Redis;
const prefix = uniqueName('dlqbatch');

beforeAll(() => {
  redis = client();
});

afterAll(async () => {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
});

describe('retry-failed script', () => {
  it('retries an id given twice in one batch once, and removes every retried member', async () => {
    const q = `${prefix}:jobs:`;
    for (const id of ['a', 'b']) {
      await redis.hset(q + id, 'name', 'work', 'data', '{}', 'opts', '{}', 'timestamp', 1, 'priority', 0, 'atm', 3, 'failedReason', 'x');
      await redis.zadd(`${q}failed`, 1, id);
    }
    const { keys, types } = keysAndTypes(scriptKeys.retryFailed(q));
    const result = await dlqScripts(redis).retryFailed(keys, [types, q, 'a', 'a', 'b', 'gone']);
    expect(result).toEqual([2, 2, 0, 0]);
    expect((await redis.lrange(`${q}wait`, 0, -1)).sort()).toEqual(['a', 'b']);
    expect(await redis.zcard(`${q}failed`)).toBe(0);
    expect(await redis.hget(`${q}a`, 'atm')).toBeNull();
  });
});
