import { describe, expect, it } from 'vitest';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { applyMoves } from '../src/migrate/apply.js';
import { journalKey, type MovableState } from '../src/migrate/keys.js';
import { buildRouting } from '../src/migrate/routing.js';
import { scanPlan } from '../src/migrate/scan.js';
import { bullConnection, client, uniqueName } from './helpers/redis.js';
import { topologyFor } from './migrate-fixture.js';
import { until } from './helpers/wait.js';

const states: MovableState[] = ['wait', 'prioritized', 'delayed', 'failed'];

describe('migrate: flow parents whose children finished stay', () => {
  it('a real FlowProducer parent back in wait (only :processed left) is planned and kept as a flow job', async () => {
    const redis = client();
    const connection = bullConnection();
    const legacy = uniqueName('legacy');
    const [a, b, kids] = [uniqueName('qa'), uniqueName('qb'), uniqueName('kids')];
    const topology = topologyFor(legacy, a, b);
    const flows = new FlowProducer({ connection });
    const legacyQueue = new Queue(legacy, { connection });
    try {
      const tree = await flows.add({ name: 'a.process', queueName: legacy, data: { parent: true }, children: [{ name: 'kid', queueName: kids, data: { n: 1 } }, { name: 'kid', queueName: kids, data: { n: 2 } }] });
      const parentId = tree.job.id!;
      const parentKey = `bull:${legacy}:${parentId}`;
      // Children complete; BullMQ records them in the parent's :processed and moves it to wait.
      const worker = new Worker(kids, async (job) => ({ done: job.data.n }), { connection });
      await until(async () => (await redis.lpos(`bull:${legacy}:wait`, parentId)) !== null, 'the parent to reach wait');
      await worker.close();
      expect(await redis.exists(`${parentKey}:dependencies`)).toBe(0);
      expect(await redis.hlen(`${parentKey}:processed`)).toBe(2);
      // An ordinary job beside it still moves; a job with only a :failed / :unsuccessful children key stays too.
      const plain = await legacyQueue.add('a.process', { plain: true });
      const failedKids = await legacyQueue.add('a.process', { failedKids: true });
      await redis.hset(`bull:${legacy}:${failedKids.id}:failed`, `bull:${kids}:x`, 'boom');
      const unsuccessful = await legacyQueue.add('b.second', { unsuccessful: true });
      await redis.zadd(`bull:${legacy}:${unsuccessful.id}:unsuccessful`, 1, `bull:${kids}:y`);
      const hashBefore = await redis.hgetall(parentKey);

      const routing = buildRouting(topology, { from: legacy });
      const plan = await scanPlan({ client: redis, prefix: 'bull', topology, routing, states, batch: 2 });
      expect(plan.stays.flow?.count).toBe(3);
      expect([...(plan.stays.flow?.examples ?? [])].sort()).toEqual([parentId, failedKids.id!, unsuccessful.id!].sort());
      expect(plan.moves[a]).toEqual({ wait: 1 });

      const result = await applyMoves({ client: redis, prefix: 'bull', routing, states, journalKey: journalKey('bull', uniqueName('run')), batch: 2 });
      expect(result.total).toBe(1);
      expect(await redis.lrange(`bull:${a}:wait`, 0, -1)).toEqual([plain.id]);
      // The parent, its finished children's results and the hand-made flow keys stay where they were.
      expect(await redis.lpos(`bull:${legacy}:wait`, parentId)).not.toBeNull();
      expect(await redis.hgetall(parentKey)).toEqual(hashBefore);
      expect(await redis.hlen(`${parentKey}:processed`)).toBe(2);
      expect(await redis.exists(`bull:${a}:${parentId}`, `bull:${a}:${failedKids.id}`, `bull:${b}:${unsuccessful.id}`)).toBe(0);
      expect(await redis.exists(`bull:${legacy}:${failedKids.id}:failed`, `bull:${legacy}:${unsuccessful.id}:unsuccessful`)).toBe(2);
    } finally {
      await Promise.all([flows.close(), legacyQueue.close()]);
    }
  });
});
