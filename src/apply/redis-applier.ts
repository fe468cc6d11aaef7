import { Queue } from 'bullmq';
import type { Context } from '../context.js';
import { DISCOVERY_SLICES, discoverQueues } from '../inspect/discover.js';
import { readQueues } from '../inspect/read-queues.js';
import { mapRedisErrors } from '../inspect/redis-source.js';
import { redisScheduleReader } from '../schedules/redis-reader.js';
import { loadLua } from '../util/lua.js';
import { bullmqWrites, type SettingsApplier } from './applier.js';
import { liveState } from './state.js';

const REMOVE_REPEATABLE = 'queuectlRemoveRepeatable';

/**
 * plan/apply on Redis (the PostgreSQL twin is postgres-applier.ts): reads with SCAN and pipelined
 * reads like inspect, writes with BullMQ's Queue on one connection of its own, and old-style
 * repeatable jobs removed by remove-repeatable.lua (BullMQ 6 dropped removeRepeatableByKey).
 */
export async function redisApplier(ctx: Context): Promise<SettingsApplier> {
  const prefix = await ctx.prefix();
  const handle = await ctx.redis();
  const guard = <T>(run: () => Promise<T>) => mapRedisErrors(handle.spec, run);
  const connection = handle.duplicate();
  const writes = bullmqWrites((name) => new Queue(name, { connection: connection as never, prefix, skipMetasUpdate: true }));
  const client = handle.client as typeof handle.client & Record<string, (...args: unknown[]) => Promise<unknown>>;
  if (!(REMOVE_REPEATABLE in client)) {
    client.defineCommand(REMOVE_REPEATABLE, { numberOfKeys: 4, lua: loadLua(new URL('../schedules/lua/remove-repeatable.lua', import.meta.url)) });
  }
  return {
    where: `${handle.spec.redacted} (prefix ${prefix})`,
    readState: (declared) => guard(async () => {
      const live = await discoverQueues(await handle.masters(), prefix, { signal: ctx.signal, slices: handle.mode === 'standalone' ? DISCOVERY_SLICES : 1 });
      return liveState(declared, live,
        (targets) => readQueues(handle, prefix, targets, { workers: false }),
        (names) => redisScheduleReader(handle, prefix).read(names));
    }),
    upsertScheduler: (queue, spec) => guard(() => writes.upsertScheduler(queue, spec)),
    removeScheduler: (live) => guard(async () => {
      if (!live.legacy) return writes.removeScheduler(live);
      const key = (suffix: string) => `${prefix}:${live.queue}:${suffix}`;
      await client[REMOVE_REPEATABLE]!(key('repeat'), key('delayed'), key('events'), key('meta'), live.id, key(''), ...(live.nextJobIds ?? []));
    }),
    setConcurrency: (queue, value) => guard(() => writes.setConcurrency(queue, value)),
    setRateLimit: (queue, value) => guard(() => writes.setRateLimit(queue, value)),
    setPaused: (queue, paused) => guard(() => writes.setPaused(queue, paused)),
    close: async () => {
      await writes.closeQueues();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
