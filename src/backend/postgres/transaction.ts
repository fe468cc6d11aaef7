import type { PostgresHandle } from './types.js';

/**
 * Runs `work` in one transaction on `handle`: COMMIT when it resolves, ROLLBACK (best effort: the
 * connection may be the thing that failed) and rethrow when it throws. `begin` picks the kind, e.g.
 * 'BEGIN READ ONLY'. The one wrapper every PostgreSQL write path uses, so none forgets the rollback.
 */
export async function inTransaction<T>(handle: PostgresHandle, work: () => Promise<T>, begin = 'BEGIN'): Promise<T> {
  await handle.query(begin);
  try {
    const result = await work();
    await handle.query('COMMIT');
    return result;
  } catch (error) {
    await handle.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
