import { describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { run as dlqList } from '../src/commands/dlq-list.js';
import { run as dlqRetry } from '../src/commands/dlq-retry.js';
import { run as topologyCheck } from '../src/commands/topology-check.js';
import { run as inspect } from '../src/commands/inspect.js';
import { testContext } from './helpers/context.js';
import { clusterClient, clusterUrl } from './helpers/redis.js';
import { clusterYaml, taggedNames } from './cluster-fixture.js';
import { until } from './helpers/wait.js';

describe('commands on a Redis Cluster with one hash tag per queue (plain prefix)', () => {
  it('inspect, dlq list and retry work unchanged; topology check accepts tagged queue names', async () => {
    const redis = clusterClient();
    const { legacy, a, b } = await taggedNames(redis);
    const yaml = clusterYaml(legacy, a, b);
    const q = new Queue(a, { connection: redis });
    let fail = true;
    const ran: string[] = [];
    const worker = new Worker(a, async (job) => {
      ran.push(job.id!);
      if (fail) throw new Error('boom on the cluster');
    }, { connection: redis });
    try {
      const job = await q.add('a.process', { x: 1 }, { attempts: 1 });
      await until(async () => (await q.getFailedCount()) === 1, 'a failed job');

      const shown = testContext({ yaml, redis: clusterUrl(), json: true });
      expect(await inspect({ all: true }, shown.ctx, [])).toBe(0);
      await shown.ctx.close();
      const row = shown.json().queues.find((r: { name: string }) => r.name === a);
      expect(row).toMatchObject({ kind: 'declared', counts: { failed: 1 } });
      expect(shown.json().queues.filter((r: { name: string }) => r.name.startsWith('queuectl'))).toEqual([]);

      const list = testContext({ yaml, redis: clusterUrl(), json: true });
      expect(await dlqList({}, list.ctx)).toBe(0);
      await list.ctx.close();
      expect(list.json().items).toEqual([expect.objectContaining({ queue: a, id: job.id, failedReason: 'boom on the cluster' })]);

      fail = false;
      const retry = testContext({ yaml, redis: clusterUrl(), json: true, yes: true });
      expect(await dlqRetry({}, retry.ctx, [`${a}/${job.id}`])).toBe(0);
      await retry.ctx.close();
      await until(async () => (await q.getCompletedCount()) === 1, 'the retried job to complete');
      expect(ran).toEqual([job.id, job.id]);

      const check = testContext({ yaml, redis: clusterUrl(), json: true });
      await topologyCheck({}, check.ctx);
      await check.ctx.close();
      expect(check.json().findings.filter((f: { rule: string }) => f.rule === 'prefix-no-hash-tag')).toEqual([]);
    } finally {
      await worker.close();
      await q.close();
    }
  });
});
