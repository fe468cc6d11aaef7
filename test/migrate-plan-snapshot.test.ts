import { describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { applyMoves } from '../src/migrate/apply.js';
import { journalKey, type MovableState } from '../src/migrate/keys.js';
import { emptyPlan, type Plan } from '../src/migrate/plan.js';
import { buildRouting, routeName } from '../src/migrate/routing.js';
import { scanPlan } from '../src/migrate/scan.js';
import { countDestinations, verify } from '../src/migrate/verify.js';
import { Redis } from 'ioredis';
import { bullConnection, client, startRedis, uniqueName } from './helpers/redis.js';
import { topologyFor } from './migrate-fixture.js';

const states: MovableState[] = ['wait', 'prioritized', 'delayed'];

/**
 * The plan of a large source finds flow and lock keys with one SCAN instead of per-job lookups
 * (src/migrate/scan.ts). Both ways must give the same plan, and a job the cheaper plan counted as
 * moving that the move keeps in place must still verify.
 */
describe('migrate plan: SCAN snapshot of flow and lock keys', () => {
  it('plans exactly like per-job checks: flow parents, locked jobs, collisions in a destination that holds jobs', async () => {
    const redis = client();
    const connection = bullConnection();
    const [legacy, a, b] = [uniqueName('legacy'), uniqueName('qa'), uniqueName('qb')];
    const topology = topologyFor(legacy, a, b);
    const source = new Queue(legacy, { connection });
    const destB = new Queue(b, { connection });
    try {
      const jobs = await source.addBulk([
        ...Array.from({ length: 6 }, (_, i) => ({ name: 'a.process', data: { i } })),
        ...Array.from({ length: 4 }, (_, i) => ({ name: 'b.second', data: { i }, opts: { priority: 1 + i } })),
        { name: 'a.process', data: { parent: true } },
        { name: 'b.second', data: { locked: true }, opts: { delay: 60_000 } },
        { name: 'b.second', data: { taken: true }, opts: { jobId: 'taken-1' } },
        { name: 'c.unowned', data: {} },
        // An id that is a property of every JavaScript object: still flagged by the snapshot.
        { name: 'a.process', data: { proto: true }, opts: { jobId: '__proto__' } },
      ]);
      const [parent, locked] = [jobs[10], jobs[11]];
      await redis.hset(`bull:${legacy}:${parent.id}:processed`, `bull:kids:1`, '{}');
      await redis.set(`bull:${legacy}:${locked.id}:lock`, 'token');
      await redis.sadd(`bull:${legacy}:__proto__:dependencies`, 'bull:kids:2');
      await destB.add('b.second', { mine: true }, { jobId: 'taken-1' });

      const routing = buildRouting(topology, { from: legacy });
      const perJob = await scanPlan({ client: redis, prefix: 'bull', topology, routing, states, batch: 3, keyCheck: 'per-job' });
      const snapshot = await scanPlan({ client: redis, prefix: 'bull', topology, routing, states, batch: 3, keyCheck: 'snapshot' });
      expect(snapshot).toEqual(perJob);
      expect(perJob.moves).toEqual({ [a]: { wait: 6 }, [b]: { prioritized: 4 } });
      expect([...(perJob.stays.flow?.examples ?? [])].sort()).toEqual([parent.id, '__proto__'].sort());
      expect(perJob.stays.locked?.examples).toEqual([locked.id]);
      expect(perJob.stays.collision?.examples).toEqual(['taken-1']);
      expect(perJob.stays.unowned?.count).toBe(1);
      expect(perJob.routedStays).toEqual({ [a]: { wait: 2 }, [b]: { delayed: 1, wait: 1 } });
    } finally {
      await Promise.all([source.close(), destB.close()]);
    }
  });

  it('a job the snapshot plan counted as moving but the move keeps (flow key added since, orphan id in an empty destination) still verifies', async () => {
    const redis = client();
    const connection = bullConnection();
    const [legacy, a, b] = [uniqueName('legacy'), uniqueName('qa'), uniqueName('qb')];
    const topology = topologyFor(legacy, a, b);
    const source = new Queue(legacy, { connection });
    try {
      const jobs = await source.addBulk(Array.from({ length: 8 }, (_, i) => ({ name: i % 2 ? 'b.second' : 'a.process', data: { i }, opts: { jobId: `j-${i}` } })));
      // A hash in A that no state lists: the snapshot plan skips collision checks for an empty A.
      await redis.hset(`bull:${a}:j-0`, 'name', 'a.process', 'data', '{"orphan":true}');
      const routing = buildRouting(topology, { from: legacy });
      const plan = await scanPlan({ client: redis, prefix: 'bull', topology, routing, states, batch: 4, keyCheck: 'snapshot' });
      expect(plan.moves).toEqual({ [a]: { wait: 4 }, [b]: { wait: 4 } });
      // Between plan and move a child is added to j-3: the move checks each job itself and keeps it.
      await redis.sadd(`bull:${legacy}:${jobs[3].id}:dependencies`, 'bull:kids:9');

      const before = await countDestinations(redis, 'bull', routing.dests, states);
      const result = await applyMoves({ client: redis, prefix: 'bull', routing, states, journalKey: journalKey('bull', uniqueName('run')), batch: 4 });
      expect(result.moved).toEqual({ [a]: { wait: 3 }, [b]: { wait: 3 } });
      expect(await redis.hget(`bull:${a}:j-0`, 'data')).toBe('{"orphan":true}');
      const after = await scanPlan({ client: redis, prefix: 'bull', topology, routing, states, batch: 4 });
      expect(after.stays.collision?.examples).toEqual(['j-0']);
      expect(after.stays.flow?.examples).toEqual(['j-3']);
      const afterCounts = await countDestinations(redis, 'bull', routing.dests, states);
      expect(verify({ planned: plan, moved: result.moved, after, before, afterCounts, follow: false })).toEqual({ verified: true, problems: [] });
    } finally {
      await source.close();
    }
  });
});

describe('migrate plan: which way to find flow and lock keys', () => {
  it('picks the SCAN snapshot for a large source that is most of the keyspace, per-job lookups once other keys dominate; same plan', async () => {
    const server = await startRedis(['--enable-debug-command', 'yes']);
    const redis = new Redis(server.url);
    try {
      const [legacy, a, b] = ['legacy', 'qa', 'qb'];
      const topology = topologyFor(legacy, a, b);
      const routing = buildRouting(topology, { from: legacy });
      // 21,000 BullMQ-shaped jobs in wait (the snapshot needs 20,000), one a flow parent.
      for (let i = 0; i < 21_000; i += 1000) {
        const pipe = redis.pipeline();
        const ids = Array.from({ length: 1000 }, (_, k) => String(i + k + 1));
        for (const id of ids) pipe.hset(`bull:${legacy}:${id}`, 'name', Number(id) % 2 ? 'a.process' : 'b.second', 'data', '{}', 'opts', '{}', 'timestamp', 1, 'delay', 0, 'priority', 0);
        pipe.lpush(`bull:${legacy}:wait`, ...ids);
        await pipe.exec();
      }
      await redis.sadd(`bull:${legacy}:7:dependencies`, 'bull:kids:1');
      const scans = async () => Number(/cmdstat_scan:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
      const plan = () => scanPlan({ client: redis, prefix: 'bull', topology, routing, states, batch: 250 });

      const small = await plan();
      expect(await scans()).toBeGreaterThan(0);
      expect(small.moves).toEqual({ [a]: { wait: 10_499 }, [b]: { wait: 10_500 } });
      expect(small.stays.flow?.examples).toEqual(['7']);

      await redis.call('DEBUG', 'POPULATE', '100000', 'other');
      await redis.config('RESETSTAT');
      const large = await plan();
      expect(await scans()).toBe(0);
      expect(large).toEqual(small);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});

describe('routing: names every JavaScript object answers to', () => {
  it('a job named toString or constructor routes nowhere (unowned), like any unknown name', () => {
    const topology = topologyFor('L', 'A', 'B');
    const routing = buildRouting(topology, { from: 'L' });
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) expect(routeName(routing, topology, name)).toEqual({ stay: 'unowned' });
    expect(routeName(routing, topology, 'a.process')).toEqual({ dest: 'A' });
  });

  it('a legacy queue holding jobs named constructor and __proto__: the plan counts them as unowned by name', async () => {
    const redis = client();
    const [legacy, a, b] = [uniqueName('legacy'), uniqueName('qa'), uniqueName('qb')];
    const topology = topologyFor(legacy, a, b);
    const source = new Queue(legacy, { connection: bullConnection() });
    try {
      await source.addBulk([{ name: 'constructor', data: {} }, { name: '__proto__', data: {} }, { name: '__proto__', data: {} }, { name: 'a.process', data: {} }]);
      const plan = await scanPlan({ client: redis, prefix: 'bull', topology, routing: buildRouting(topology, { from: legacy }), states, batch: 10 });
      expect(plan.moves).toEqual({ [a]: { wait: 1 } });
      expect(plan.stays.unowned?.count).toBe(3);
      expect(Object.entries(plan.stays.unowned?.names ?? {}).sort()).toEqual([['__proto__', 2], ['constructor', 1]]);
    } finally {
      await source.close();
    }
  });
});

describe('verify: jobs headed for a destination are conserved', () => {
  const plan = (moves: Plan['moves'], routedStays: Plan['routedStays'] = {}): Plan => ({ ...emptyPlan({ from: 'L', fromDeclared: false, dests: ['A'], routes: { x: 1 } }, ['wait']), moves, routedStays });
  const counts = (n: number) => ({ A: { wait: n } });

  it('balances a job the move kept in place, and still catches one that vanished or was never moved', () => {
    expect(verify({ planned: plan({ A: { wait: 10 } }), moved: { A: { wait: 9 } }, after: plan({}, { A: { wait: 1 } }), before: counts(0), afterCounts: counts(9), follow: false }).verified).toBe(true);
    // Nothing explains the tenth job: it left the source another way.
    expect(verify({ planned: plan({ A: { wait: 10 } }), moved: { A: { wait: 9 } }, after: plan({}), before: counts(0), afterCounts: counts(9), follow: false }).problems).toEqual(['A wait: planned 10, moved 9, still to move 0 — 1 left the source another way (an old worker or a removal)']);
    // Still movable after the run: not moved.
    expect(verify({ planned: plan({ A: { wait: 10 } }), moved: { A: { wait: 9 } }, after: plan({ A: { wait: 1 } }), before: counts(0), afterCounts: counts(9), follow: false }).problems).toEqual(['A wait: 1 job(s) not moved']);
    // A stay the plan already knew about changes nothing.
    expect(verify({ planned: plan({ A: { wait: 9 } }, { A: { wait: 1 } }), moved: { A: { wait: 9 } }, after: plan({}, { A: { wait: 1 } }), before: counts(0), afterCounts: counts(9), follow: false }).verified).toBe(true);
  });
});
