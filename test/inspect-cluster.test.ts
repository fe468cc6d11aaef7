import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { bullConnection, client, clusterClient, clusterUrl, redisUrl, uniqueName } from './helpers/redis.js';
import { testContext } from './helpers/context.js';
import { run } from '../src/commands/inspect.js';

const opened: Queue[] = [];
afterAll(async () => {
  for (const q of opened) await q.close().catch(() => undefined);
});

describe('inspect on a Redis Cluster', () => {
  it('discovers queues on every master and reads them, hash-tagged or not', async () => {
    const tag = `{${uniqueName('ct')}}`;
    const name = uniqueName('tagged');
    const queue = new Queue(name, { connection: clusterClient(), prefix: tag });
    opened.push(queue);
    await queue.add('a', {});
    await queue.add('b', {}, { delay: 60_000 });

    // A plain prefix spreads one queue's keys over several masters (BullMQ itself cannot run
    // there, but inspect must still see and count it). Raw writes, one key per command.
    const plain = uniqueName('plain');
    const c = clusterClient();
    const names = Array.from({ length: 12 }, (_, i) => `${plain}-q${i}`);
    for (const q of names) {
      await c.hset(`${plain}:${q}:1`, 'name', 'x', 'timestamp', String(Date.now() - 5000));
      await c.lpush(`${plain}:${q}:wait`, '1');
      await c.zadd(`${plain}:${q}:completed`, 1, 'old');
    }

    const t = testContext({ redis: clusterUrl(), json: true, prefix: tag });
    expect(await run({ all: true }, t.ctx, [])).toBe(0);
    await t.ctx.close();
    const doc = t.json();
    expect(doc.redis).toMatchObject({ mode: 'cluster', nodes: 3 });
    expect(doc.queues).toHaveLength(1);
    expect(doc.queues[0]).toMatchObject({ name, kind: 'undeclared', counts: { waiting: 1, delayed: 1 } });

    const p = testContext({ redis: clusterUrl(), json: true, prefix: plain });
    await run({ all: true }, p.ctx, []);
    await p.ctx.close();
    const queues = p.json().queues;
    expect(queues.map((q: any) => q.name).sort()).toEqual([...names].sort());
    for (const q of queues) {
      expect(q.counts).toMatchObject({ waiting: 1, completed: 1 });
      expect(q.oldestWaitingMs).toBeGreaterThanOrEqual(5000);
    }
  });
});

describe('inspect as a read-only ACL user', () => {
  it('needs only read commands; without CLIENT LIST workers are unknown', async () => {
    const prefix = uniqueName('ro');
    const name = uniqueName('q');
    const queue = new Queue(name, { connection: bullConnection(), prefix });
    opened.push(queue);
    await queue.add('a', {});
    await queue.add('b', {}, { priority: 3 });

    const admin = client();
    const user = uniqueName('reader');
    await admin.call('ACL', 'SETUSER', user, 'on', '>s3cret', '~*', '&*', '-@all', '+@read', '+info', '+ping', '+client|list', '+hello', '+auth', '+select', '+client|setname');
    const port = new URL(redisUrl()).port;
    const url = `redis://${user}:s3cret@127.0.0.1:${port}`;
    const t = testContext({ redis: url, json: true, prefix });
    expect(await run({ all: true }, t.ctx, [])).toBe(0);
    await t.ctx.close();
    expect(t.json().queues[0]).toMatchObject({ name, counts: { waiting: 1, prioritized: 1 }, workers: 0 });

    await admin.call('ACL', 'SETUSER', user, '-client|list');
    const u = testContext({ redis: url, json: true, prefix });
    expect(await run({ all: true }, u.ctx, [])).toBe(0);
    await u.ctx.close();
    expect(u.json().queues[0]).toMatchObject({ name, workers: null });

    const job = testContext({ redis: url, json: true, prefix });
    await run({}, job.ctx, ['job', name, '1']);
    await job.ctx.close();
    expect(job.json().job).toMatchObject({ id: '1', name: 'a', state: 'waiting' });
  });
});
