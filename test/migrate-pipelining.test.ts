import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { applyMoves } from '../src/migrate/apply.js';
import { buildRouting } from '../src/migrate/routing.js';
import { startRedis } from './helpers/redis.js';
import { topologyFor } from './migrate-fixture.js';

/**
 * The move sends two script calls at once (src/migrate/apply.ts). Past jobs that stay, a second
 * call with the same boundary would only re-read them, so the move goes one call at a time there.
 */
describe('migrate apply: calls in flight', () => {
  it('10,000 unowned jobs then 10,000 movable ones: every movable job moves in order, in about one call per batch', async () => {
    const server = await startRedis();
    const redis = new Redis(server.url);
    try {
      const topology = topologyFor('L', 'A', 'B');
      for (let i = 0; i < 20_000; i += 1000) {
        const pipe = redis.pipeline();
        const ids = Array.from({ length: 1000 }, (_, k) => String(i + k + 1));
        for (const id of ids) pipe.hset(`bull:L:${id}`, 'name', Number(id) <= 10_000 ? 'x.unowned' : 'a.process', 'data', '{}');
        pipe.lpush('bull:L:wait', ...ids); // the oldest (1) ends up at the tail, as producers leave it
        await pipe.exec();
      }
      await redis.config('RESETSTAT');
      const result = await applyMoves({ client: redis, prefix: 'bull', routing: buildRouting(topology, { from: 'L' }), states: ['wait'], journalKey: 'bull:j', batch: 250 });
      expect(result.total).toBe(10_000);
      const calls = Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
      // 80 batches of 250; two calls at once everywhere would take ~120.
      expect(calls).toBeLessThanOrEqual(84);
      const moved = await redis.lrange('bull:A:wait', 0, -1);
      expect(moved).toEqual(Array.from({ length: 10_000 }, (_, k) => String(20_000 - k)));
      expect(await redis.llen('bull:L:wait')).toBe(10_000);
      expect(await redis.lindex('bull:L:wait', -1)).toBe('1');
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
