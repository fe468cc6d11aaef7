import { connectPostgres } from './connection.js';
import { toPostgresError } from './errors.js';
import type { PostgresSpec } from './types.js';

/**
 * Runs BullMQ's own migrations (runMigrations, the BullMQ queuectl ships) on spec's schema: one
 * transaction under BullMQ's advisory lock, all or nothing. Only `doctor --migrate` calls this,
 * after confirmation. Its own session has no statement or query timeout (a migration may build an
 * index on a big table); connecting is still bounded by --timeout. Returns the version reached.
 */
export async function runBullmqMigrations(spec: PostgresSpec): Promise<number> {
  const handle = await connectPostgres(spec, { boundQueries: false });
  try {
    const { runMigrations } = await import('bullmq');
    return await runMigrations(handle.client as never, spec.schema);
  } catch (error) {
    throw toPostgresError(error, spec);
  } finally {
    await handle.close();
  }
}
