import type { PostgresHandle } from '../backend/postgres/types.js';
import { inTransaction } from '../backend/postgres/transaction.js';

/**
 * Runs `work` in one READ ONLY transaction with sequential scans priced out: where the design's
 * indexes exist, every read of a job table is index-backed (test/table-inspect.test.ts checks the
 * plans on 200k rows); where they do not, the planner still scans and the caller has warned.
 * A SELECT-only role is enough. The transaction ends whatever happens.
 */
export async function readOnly<T>(db: PostgresHandle, work: () => Promise<T>): Promise<T> {
  return inTransaction(db, async () => {
    await db.query('SET LOCAL enable_seqscan = off');
    return work();
  }, 'BEGIN READ ONLY');
}
