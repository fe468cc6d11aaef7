import { afterEach, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { applyMoves } from '../src/migrate/apply.js';
import { journalKey, type MovableState } from '../src/migrate/keys.js';
import { buildRouting } from '../src/migrate/routing.js';
import { movingTotal } from '../src/migrate/plan.js';
import { scanPlan } from '../src/migrate/scan.js';
import { bullConnection, client, uniqueName } from './helpers/redis.js';
import { buildFixture, snapshot, topologyFor, type Fixture } from './migrate-fixture.js';

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
    const waitOrderA = (await redis.lrange(`bull:${f.legacy}:wait`, 0, -1)).filter((id) => f.expected.toA.includes(id));
    const delayedScores = new Map((await Promise.all(f.expected.toB.map(async (id) => [id, await redis.zscore(`bull:${f.legacy}:delayed`, id)] as const))).filter(([, s]) => s !== null));
    const dedupTtl = await redis.pttl(`bull:${f.legacy}:de:dd1`);

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
    // Same order in wait, same due times in delayed, failed kept as failed.
    expect((await redis.lrange(`bull:${f.a}:wait`, 0, -1)).filter((id) => waitOrderA.includes(id))).toEqual(waitOrderA);
    for (const [id, score] of delayedScores) expect(await redis.zscore(`bull:${f.b}:delayed`, id)).toBe(score);
    expect(await redis.zcard(`bull:${f.a}:failed`)).toBe(3);
    // The deduplication key followed its job, with its TTL.
    expect(await redis.get(`bull:${f.b}:de:dd1`)).toBe(f.expected.dedupJob);
    expect(await redis.exists(`bull:${f.legacy}:de:dd1`)).toBe(0);
    const ttl = await redis.pttl(`bull:${f.b}:de:dd1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(dedupTtl);
    // The collision was refused: both jobs intact where they were.
    expect(JSON.parse((await redis.hget(`bull:${f.b}:b-0`, 'data'))!)).toEqual({ original: true });
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

    // Real workers on each destination run each waiting/prioritized/delayed job exactly once.
    const runs = new Map<string, number>();
    const ranAt = new Map<string, number>();
    const processor = async (job: { id?: string; queueName: string }) => {
      const k = `${job.queueName}/${job.id}`;
      runs.set(k, (runs.get(k) ?? 0) + 1);
      ranAt.set(k, Date.now());
    };
    const workers = [new Worker(f.a, processor, { connection }), new Worker(f.b, processor, { connection })];
    const expectRun = [...f.expected.toA.map((id) => `${f.a}/${id}`), ...f.expected.toB.filter((id) => !id.startsWith('later-')).map((id) => `${f.b}/${id}`), `${f.a}/${fresh.id}`, `${f.b}/b-0`];
    const deadline = Date.now() + 15_000;
    while (expectRun.some((k) => !runs.has(k)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await Promise.all(workers.map((w) => w.close()));
    await qa.close();
    expect(expectRun.filter((k) => runs.get(k) !== 1)).toEqual([]);
    expect([...runs.keys()].filter((k) => !expectRun.includes(k))).toEqual([]);
    for (const id of f.expected.delayedSoon) {
      const due = Math.floor(Number(delayedScores.get(id)) / 4096);
      expect(ranAt.get(`${f.b}/${id}`)!).toBeGreaterThanOrEqual(due);
    }

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
