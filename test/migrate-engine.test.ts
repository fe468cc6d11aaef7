import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { applyMoves } from '../src/migrate/apply.js';
import { journalKey, type MovableState } from '../src/migrate/keys.js';
import { buildRouting } from '../src/migrate/routing.js';
import { movingTotal } from '../src/migrate/plan.js';
import { scanPlan } from '../src/migrate/scan.js';
import { bullConnection, client, uniqueName } from './helpers/redis.js';
import { buildFixture, expectEachRunOnce, expectPlacementKept, readPlacement, snapshot, topologyFor, type Fixture } from './migrate-fixture.js';

const states: MovableState[] = ['wait', 'prioritized', 'delayed', 'failed'];
let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('migrate engine (single node)', () => {
  it('moves a mixed legacy queue exactly: same hashes, logs, dedup key, order; workers run each job once', async () => {
    const redis = client();
    const f = (fixture = await buildFixture());
    const routing = buildRouting(f.topology, { from: f.legacy });
    const plan = await scanPlan({ client: redis, prefix: 'bull', topology: f.topology, routing, states, batch: 7 });
    expect(plan.moves[f.a]).toEqual({ wait: 41, prioritized: 5, failed: 3 });
    expect(plan.moves[f.b]).toEqual({ wait: 40, delayed: 5 });
    expect(plan.stays.unowned?.count).toBe(2);
    expect(plan.stays.collision?.examples).toEqual(['b-0']);
    expect(plan.stays.active?.count).toBe(1);
    expect(plan.stays.flow?.count).toBe(2); // parent in waiting-children + child in wait
    expect(plan.stays.scheduler?.count).toBe(1);

    const failedIds = await redis.zrange(`bull:${f.legacy}:failed`, 0, -1);
    const movedIds = [...f.expected.toA, ...f.expected.toB, ...failedIds];
    const before = await snapshot(redis, 'bull', f.legacy, movedIds);
    const placement = await readPlacement(redis, f);

    const key = journalKey('bull', uniqueName('run'));
    const result = await applyMoves({ client: redis, prefix: 'bull', routing, states, journalKey: key, batch: 6 });
    expect(result.moved[f.a]).toEqual({ wait: 41, prioritized: 5, failed: 3 });
    expect(result.moved[f.b]).toEqual({ wait: 40, delayed: 5 });
    expect(Number(await redis.hget(key, 'moved'))).toBe(94);

    // Every moved job: same hash, same logs, gone from the source.
    for (const id of movedIds) {
      const dest = f.expected.toB.includes(id) ? f.b : f.a;
      const after = (await snapshot(redis, 'bull', dest, [id])).get(id)!;
      expect(after, id).toEqual(before.get(id));
      expect(await redis.exists(`bull:${f.legacy}:${id}`)).toBe(0);
    }
    expect((await snapshot(redis, 'bull', f.a, [f.expected.logJob])).get(f.expected.logJob)!.logs).toHaveLength(2);
    // Same order in wait, same due times in delayed, failed kept as failed, the deduplication key
    // followed its job with its TTL; the collision was refused: both jobs intact where they were.
    await expectPlacementKept(redis, f, placement);
    expect(await redis.exists(`bull:${f.legacy}:b-0`)).toBe(1);
    // Jobs that must stay, stayed.
    for (const id of f.expected.unowned) expect(await redis.lpos(`bull:${f.legacy}:wait`, id)).not.toBeNull();
    expect(await redis.llen(`bull:${f.legacy}:active`)).toBe(1);
    // Events and markers BullMQ listeners rely on.
    const events = await redis.xrange(`bull:${f.b}:events`, '-', '+');
    expect(events.some(([, fields]) => fields.includes('delayed'))).toBe(true);
    expect(await redis.zscore(`bull:${f.a}:marker`, '0')).toBe('0');

    // A fresh add into A must not reuse a moved numeric id.
    const connection = bullConnection();
    const qa = new Queue(f.a, { connection });
    const maxNumeric = Math.max(...f.expected.toA.map(Number).filter(Number.isInteger));
    const fresh = await qa.add('a.process', { fresh: true });
    expect(Number(fresh.id)).toBeGreaterThan(maxNumeric);
    expect(await redis.hget(`bull:${f.a}:${maxNumeric}`, 'data')).toBe(before.get(String(maxNumeric))!.hash.data);

    await qa.close();

    // Real workers on each destination run each waiting/prioritized/delayed job exactly once.
    await expectEachRunOnce(connection, f, fresh.id!, placement, { ms: 15_000 });

    // Rerun: nothing left to move.
    const again = await applyMoves({ client: redis, prefix: 'bull', routing, states, journalKey: key, batch: 6 });
    expect(again.total).toBe(0);
    const after = await scanPlan({ client: redis, prefix: 'bull', topology: f.topology, routing, states, batch: 50 });
    expect(movingTotal(after)).toBe(0);
  });

  it('leaves jobs that stay in place and in order, cutting moved ones out of the middle of wait', async () => {
    const redis = client();
    const legacy = uniqueName('legacy');
    const [a, b] = [uniqueName('qa'), uniqueName('qb')];
    const topology = topologyFor(legacy, a, b);
    const q = new Queue(legacy, { connection: bullConnection() });
    for (let i = 0; i < 50; i++) await q.add(i % 3 === 0 ? 'c.nobody' : 'a.process', { i });
    const original = await redis.lrange(`bull:${legacy}:wait`, 0, -1);
    const names = new Map(await Promise.all(original.map(async (id) => [id, await redis.hget(`bull:${legacy}:${id}`, 'name')] as const)));
    const routing = buildRouting(topology, { from: legacy });
    const result = await applyMoves({ client: redis, prefix: 'bull', routing, states: ['wait'], journalKey: journalKey('bull', uniqueName('run')), batch: 4 });
    expect(result.total).toBe(33);
    expect(await redis.lrange(`bull:${legacy}:wait`, 0, -1)).toEqual(original.filter((id) => names.get(id) === 'c.nobody'));
    expect(await redis.lrange(`bull:${a}:wait`, 0, -1)).toEqual(original.filter((id) => names.get(id) === 'a.process'));
    await q.close();
  });
});
