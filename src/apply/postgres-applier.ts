import { Queue, createPostgresBackend } from 'bullmq';
import { clientConfig } from '../backend/postgres/connection.js';
import { toPostgresError } from '../backend/postgres/errors.js';
import { quoteIdent, requireCompatibleSchema } from '../backend/postgres/schema.js';
import type { Context } from '../context.js';
import { QueuectlError } from '../errors.js';
import { discoverQueues, readQueues } from '../inspect/postgres-source.js';
import { postgresScheduleReader } from '../schedules/postgres-reader.js';
import { bullmqWrites, type SettingsApplier } from './applier.js';
import { liveState } from './state.js';

const factory = createPostgresBackend as never;

/**
 * plan/apply on BullMQ's PostgreSQL backend (the Redis twin is redis-applier.ts): reads as inspect
 * and check read, writes with BullMQ's own Queue on createPostgresBackend. A missing or
 * other-version BullMQ schema is exit 3 before anything is read.
 */
export async function postgresApplier(ctx: Context): Promise<SettingsApplier> {
  const handle = await ctx.postgres();
  await requireCompatibleSchema(handle);
  const { spec } = handle;
  const s = quoteIdent(spec.schema);
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw error instanceof QueuectlError ? error : toPostgresError(error, spec);
    }
  };
  const connection = { ...clientConfig(spec, { boundQueries: false }), schema: spec.schema } as never;
  // A queue whose scheduler has made no job yet (or whose jobs were cleaned) has no job or meta row.
  const schedulerQueues = async () => (await handle.query<{ queue: string }>(`SELECT DISTINCT queue FROM ${s}.scheduler`)).map((r) => r.queue);
  const writes = bullmqWrites((name) => new Queue(name, { connection, skipMetasUpdate: true }, factory));
  return {
    where: `${spec.redacted} (schema ${spec.schema})`,
    readState: (declared) => guard(async () =>
      liveState(declared, [...await discoverQueues(handle, s), ...await schedulerQueues()],
        (targets) => readQueues(handle, s, targets),
        (names) => postgresScheduleReader(handle, s).read(names))),
    upsertScheduler: (queue, sched) => guard(() => writes.upsertScheduler(queue, sched)),
    removeScheduler: (live) => guard(() => writes.removeScheduler(live)),
    setConcurrency: (queue, value) => guard(() => writes.setConcurrency(queue, value)),
    setRateLimit: (queue, value) => guard(() => writes.setRateLimit(queue, value)),
    setPaused: (queue, paused) => guard(() => writes.setPaused(queue, paused)),
    close: () => writes.closeQueues(),
  };
}
