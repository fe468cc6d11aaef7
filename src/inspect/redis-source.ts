import type { Context } from '../context.js';
import { QueuectlError } from '../errors.js';
import { toRedisError } from '../redis/errors.js';
import { readRedisHealth } from '../redis/health.js';
import { emptyPrefixVerdict, probePrefixes } from '../redis/prefixes.js';
import type { ConnectionSpec } from '../redis/types.js';
import { DISCOVERY_SLICES, discoverQueues } from './discover.js';
import { readQueues } from './read-queues.js';
import { readJob } from './read-job.js';
import type { InspectSource } from './source.js';

/** inspect's reads on Redis: SCAN discovery, pipelined per-queue reads, INFO (the PostgreSQL twin is postgres-source.ts). */
export async function redisInspectSource(ctx: Context): Promise<InspectSource> {
  const prefix = await ctx.prefix();
  const handle = await ctx.redis();
  const masters = await handle.masters();
  const guard = <T>(read: () => Promise<T>) => mapRedisErrors(handle.spec, read);
  return {
    // Sliced walks only on one node: a cluster node's SCAN cursor carries the slot (Redis 7.4+).
    discover: () => guard(() => discoverQueues(masters, prefix, { signal: ctx.signal, slices: handle.mode === 'standalone' ? DISCOVERY_SLICES : 1 })),
    readQueues: (targets, options) => guard(() => readQueues(handle, prefix, targets, options)),
    readJob: (queue, id) => guard(() => readJob(handle, prefix, queue, id)),
    readHealth: () => guard(async () => ({ backend: 'redis' as const, redis: await readRedisHealth(handle) })),
    emptyVerdict: () => guard(async () => emptyPrefixVerdict(prefix, await probePrefixes(masters, prefix), ctx.globals.prefix !== undefined)),
  };
}

/** A dropped connection or timeout mid-read becomes the one-line exit-3 error, like a failed connect. */
export async function mapRedisErrors<T>(spec: ConnectionSpec, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw error instanceof QueuectlError ? error : toRedisError(error, spec);
  }
}
