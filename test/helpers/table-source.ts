import { connectPostgres } from '../../src/backend/postgres/connection.js';
import { parsePostgresSpec } from '../../src/backend/postgres/url.js';
import type { PostgresHandle } from '../../src/backend/postgres/types.js';
import type { TableSource } from '../../src/table/types.js';

/** A session to `url` as the CLI opens one (bounded queries), for engine-level tests. */
export function pgHandle(url: string, schema = 'bullmq'): Promise<PostgresHandle> {
  return connectPostgres(parsePostgresSpec({ url, redacted: url.replace(/:[^:@/]*@/, ':***@'), schema, timeoutMs: 15_000 }));
}

/** The WorkerJob fixture as a resolved table source (the mapping `topology validate --live` prints for it). */
export function workerJobSource(db: PostgresHandle): TableSource {
  return {
    name: 'worker-jobs',
    table: { schema: 'public', name: 'WorkerJob', sql: '"WorkerJob"' },
    db,
    where: `table "WorkerJob" on ${db.spec.redacted}`,
    columns: {
      id: 'id', name: 'type', data: 'payload', status: 'status', runAt: 'availableAt', priority: 'priority', attemptsMade: 'attempts', maxAttempts: 'maxAttempts',
      lastError: 'lastError', lockedAt: 'lockedAt', lockedBy: 'lockedBy', idempotencyKey: 'idempotencyKey', createdAt: 'createdAt',
    },
    columnTypes: { id: 'text', type: '"JobType"', payload: 'jsonb', status: '"JobStatus"', availableAt: 'timestamp(3) without time zone', priority: 'integer', attempts: 'integer', maxAttempts: 'integer', lastError: 'text', idempotencyKey: 'text', createdAt: 'timestamp(3) without time zone' },
    status: { ready: 'PENDING', active: 'PROCESSING', completed: 'COMPLETED', failed: 'FAILED', dead: 'DEAD_LETTER' },
    statusType: '"JobStatus"',
    unmappedStatuses: [],
    priority: 'higher-first',
    lockTimeoutMs: 600_000,
    provenance: { declaredColumns: [], status: 'enum', priority: 'default', lockTimeout: 'default' },
  };
}
