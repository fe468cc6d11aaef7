import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { run } from '../src/commands/migrate.js';
import { engineFor } from '../src/migrate/engine.js';
import { buildRouting } from '../src/migrate/routing.js';
import { testContext } from './helpers/context.js';
import { clusterClient, clusterUrl, uniqueName } from './helpers/redis.js';
import { buildClusterFixture, clusterYaml, scanAll, snapshotJobs, type ClusterFixture } from './cluster-fixture.js';
import { expectEachRunOnce, expectPlacementKept, readPlacement, topologyFor } from './migrate-fixture.js';

let fixture: ClusterFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('migrate on a Redis Cluster', () => {
  it('one shared hash tag: the single-script move, fields equal', async () => {
    const redis = clusterClient();
    const prefix = `{${uniqueName('bull')}}`;
    const [legacy, a, b] = [uniqueName('legacy'), uniqueName('qa'), uniqueName('qb')];
    expect(engineFor('cluster', prefix, buildRouting(topologyFor(legacy, a, b, prefix), { from: legacy }), `${prefix}:queuectl:migrate:x`, 'x').crossSlot).toBe(false);
    const q = new Queue(legacy, { connection: redis, prefix });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await q.add(i % 2 ? 'a.process' : 'b.second', { i }, { delay: i % 4 === 0 ? 60_000 : 0 })).id!);
    await q.close();
    const before = new Map(await Promise.all(ids.map(async (id) => [id, await redis.hgetall(`${prefix}:${legacy}:${id}`)] as const)));
    const t = testContext({ yaml: clusterYaml(legacy, a, b, prefix), redis: clusterUrl(), json: true, yes: true });
    expect(await run({ from: legacy, batch: '6' }, t.ctx)).toBe(0);
    await t.ctx.close();
    expect(t.json()).toMatchObject({ moved: { [a]: 10, [b]: 10 }, verified: true });
    for (const [id, hash] of before) {
      const dest = Number(hash.data.match(/\d+/)![0]) % 2 ? a : b;
      expect(await redis.hgetall(`${prefix}:${dest}:${id}`)).toEqual(hash);
    }
  });

  it('one tag per queue: journaled copy-then-delete, every field equal, each job run once by real workers', async () => {
    const redis = clusterClient();
    const f = (fixture = await buildClusterFixture());
    const moving = [...f.expected.toA, ...f.expected.toB, ...f.expected.failed];
    const before = await snapshotJobs(redis, f.legacy, moving);
    const placement = await readPlacement(redis, f);

    const dry = testContext({ yaml: clusterYaml(f.legacy, f.a, f.b), redis: clusterUrl(), json: true });
    expect(await run({ from: f.legacy, states: 'wait,prioritized,delayed,failed', dryRun: true }, dry.ctx)).toBe(1);
    await dry.ctx.close();
    expect(dry.json().plan.moves).toEqual({ [f.a]: { wait: 31, prioritized: 5, failed: 3 }, [f.b]: { wait: 30, delayed: 5 } });
    expect(dry.json().skipped.find((s: { reason: string }) => s.reason === 'collision').examples).toEqual(['b-0']);
    expect(await redis.exists(`bull:${f.legacy}:b-1`)).toBe(1);

    const t = testContext({ yaml: clusterYaml(f.legacy, f.a, f.b), redis: clusterUrl(), json: true, yes: true });
    expect(await run({ from: f.legacy, states: 'wait,prioritized,delayed,failed', batch: '7' }, t.ctx)).toBe(1); // unowned, flow, scheduler, collision stay
    await t.ctx.close();
    const doc = t.json();
    expect(doc.moved).toEqual({ [f.a]: 39, [f.b]: 35 });
    expect(doc.verified).toBe(true);
    expect(doc.skipped.map((s: { reason: string }) => s.reason).sort()).toEqual(['active', 'collision', 'flow', 'scheduler', 'unowned']);

    for (const id of moving) {
      const dest = f.expected.toB.includes(id) ? f.b : f.a;
      expect((await snapshotJobs(redis, dest, [id])).get(id), id).toEqual(before.get(id));
      expect(await redis.exists(`bull:${f.legacy}:${id}`)).toBe(0);
    }
    expect((await snapshotJobs(redis, f.a, [f.expected.logJob])).get(f.expected.logJob)!.logs).toEqual(['first line', 'second line']);
    // Order, due times, failed and the dedup key kept; the collision was refused and put back, both jobs intact.
    await expectPlacementKept(redis, f, placement);
    expect(await redis.lpos(`bull:${f.legacy}:wait`, 'b-0')).not.toBeNull();
    for (const id of f.expected.unowned) expect(await redis.lpos(`bull:${f.legacy}:wait`, id)).not.toBeNull();
    // Nothing left parked, no bookkeeping left behind.
    expect(await scanAll(redis, `bull:queuectl:xslot:${doc.runId}:*`)).toEqual([]);

    const qa = new Queue(f.a, { connection: redis });
    const maxNumeric = Math.max(...f.expected.toA.map(Number).filter(Number.isInteger));
    const fresh = await qa.add('a.process', { fresh: true });
    expect(Number(fresh.id)).toBeGreaterThan(maxNumeric);
    await qa.close();

    await expectEachRunOnce(redis, f, fresh.id!, placement, { ms: 20_000 });

    const again = testContext({ yaml: clusterYaml(f.legacy, f.a, f.b), redis: clusterUrl(), json: true, yes: true });
    expect(await run({ from: f.legacy, states: 'wait,prioritized,delayed,failed' }, again.ctx)).toBe(1);
    await again.ctx.close();
    expect(again.json().moved).toEqual({});
  });
});
