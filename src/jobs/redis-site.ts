import { Queue, type ConnectionOptions } from 'bullmq';
import type { Context } from '../context.js';
import { execReads } from '../inspect/reads.js';
import { mapRedisErrors, redisInspectSource } from '../inspect/redis-source.js';
import type { JobSite } from './site.js';

/** queue/job operations on Redis (the PostgreSQL twin is postgres-site.ts). */
export async function redisJobSite(ctx: Context): Promise<JobSite> {
  const prefix = await ctx.prefix();
  const handle = await ctx.redis();
  const inspect = await redisInspectSource(ctx);
  const queues: Queue[] = [];
  const key = (queue: string, suffix: string) => `${prefix}:${queue}:${suffix}`;
  return {
    kind: 'redis',
    where: `${handle.spec.redacted} (${handle.mode === 'cluster' ? 'cluster' : `db ${handle.spec.db ?? 0}`}, prefix ${prefix})`,
    inspect,
    queue(name) {
      // The CLI's own client (bounded commands, no reconnect loop), shared: a Queue never blocks, so
      // a Redis that dies mid-operation is exit 3 after --timeout, not a wait forever.
      const queue = new Queue(name, { connection: handle.client as ConnectionOptions, prefix, skipMetasUpdate: true });
      queue.on('error', () => undefined); // connection trouble surfaces as the failing call's error
      queues.push(queue);
      return queue;
    },
    // A job is a hash with a `timestamp` field; the queue's own keys (meta, wait, …) are not.
    findJob: (id, names) => mapRedisErrors(handle.spec, async () => {
      const replies = await execReads(handle.client, names.map((q) => ['hexists', key(q, id), 'timestamp']));
      return names.filter((_, i) => Number(replies[i]) === 1);
    }),
    // BullMQ's cleanJobsInSet for a finished state: ZRANGEBYSCORE 0 cutoff, lowest score (earliest finish) first.
    cleanCandidates: (queue, state, cutoff, limit, sample) => mapRedisErrors(handle.spec, async () => {
      const set = key(queue, state);
      const [total, ids] = await execReads(handle.client, [
        ['zcount', set, 0, cutoff],
        ['zrangebyscore', set, 0, cutoff, 'LIMIT', 0, Math.min(sample, limit ?? sample)],
      ]);
      return { count: Math.min(Number(total ?? 0), limit ?? Infinity), ids: (ids as string[] | null) ?? [] };
    }),
    guard: (work) => mapRedisErrors(handle.spec, work),
    close: async () => {
      await Promise.allSettled(queues.splice(0).map((q) => q.close()));
    },
  };
}
