import { col, lockColumn, statusParam, type Query } from './reads.js';
import { UsageError } from '../errors.js';
import type { TableSource } from './types.js';

/**
 * Stuck rows of a job table: active (the application's PROCESSING) and locked longer than the
 * lock timeout, so whoever claimed them is gone. Listing reads through the status (or lockedAt)
 * index; releasing makes the listed rows ready again with the attempt counted, one statement per
 * batch that re-checks each row and skips any the application holds locked (FOR UPDATE SKIP
 * LOCKED), so a row that finished or was recovered meanwhile is never touched.
 */
export interface StuckRow {
  id: string;
  family: string;
  lockedBy: string | null;
  lockedForMs: number;
  attempts: number | null;
  maxAttempts: number | null;
}

/** How many rows are stuck, and the oldest `limit` of them. */
export async function listStuck(source: TableSource, olderThanMs: number, limit: number): Promise<{ total: number; rows: StuckRow[] }> {
  const [count, list] = stuckQueries(source, olderThanMs, limit);
  const [{ total }] = await source.db.query<{ total: number }>(count.text, count.params);
  const rows = await source.db.query<{ id: string; family: string; locked_by: string | null; locked_ms: number; attempts: number | null; max_attempts: number | null }>(list.text, list.params);
  return {
    total,
    rows: rows.map((r) => ({ id: r.id, family: r.family, lockedBy: r.locked_by, lockedForMs: Math.round(r.locked_ms), attempts: r.attempts, maxAttempts: r.max_attempts })),
  };
}

/** The count and the list of stuck rows (exported for the EXPLAIN test). */
export function stuckQueries(source: TableSource, olderThanMs: number, limit: number): [Query, Query] {
  const lock = requireLock(source);
  const where = `${col(source, 'status')} = ${statusParam(source, 1)} AND ${lock} < now() - $2 * interval '1 millisecond'`;
  const params = [source.status.active, olderThanMs];
  const opt = (role: 'lockedBy' | 'attemptsMade' | 'maxAttempts', cast: string) => (source.columns[role] ? `${col(source, role)}::${cast}` : `NULL::${cast}`);
  return [
    { text: `SELECT count(*)::int AS total FROM ${source.table.sql} WHERE ${where}`, params },
    {
      text: `SELECT ${col(source, 'id')}::text AS id, ${col(source, 'name')}::text AS family, ${opt('lockedBy', 'text')} AS locked_by,
                    (extract(epoch FROM now() - ${lock}) * 1000)::float8 AS locked_ms, ${opt('attemptsMade', 'int')} AS attempts, ${opt('maxAttempts', 'int')} AS max_attempts
               FROM ${source.table.sql} WHERE ${where} ORDER BY ${lock} LIMIT ${Number(limit)}`,
      params,
    },
  ];
}

/** Releases the rows `ids` that are still stuck: ready again, lock cleared, attempts + 1. Returns the ids released. */
export async function releaseStuck(source: TableSource, ids: string[], olderThanMs: number): Promise<string[]> {
  const lock = requireLock(source);
  const id = col(source, 'id');
  const sets = [`${col(source, 'status')} = ${statusParam(source, 1)}`];
  for (const role of ['lockedAt', 'lockedBy'] as const) if (source.columns[role]) sets.push(`${col(source, role)} = NULL`);
  if (source.columns.attemptsMade) sets.push(`${col(source, 'attemptsMade')} = ${col(source, 'attemptsMade')} + 1`);
  if (source.columns.updatedAt) sets.push(`${col(source, 'updatedAt')} = now()`);
  const rows = await source.db.query<{ id: string }>(
    `UPDATE ${source.table.sql} SET ${sets.join(', ')}
      WHERE ${id} IN (SELECT ${id} FROM ${source.table.sql}
                       WHERE ${id} = ANY($3::${source.columnTypes[source.columns.id]}[]) AND ${col(source, 'status')} = ${statusParam(source, 2)}
                         AND ${lock} < now() - $4 * interval '1 millisecond'
                       FOR UPDATE SKIP LOCKED)
      RETURNING ${id}::text AS id`,
    [source.status.ready, source.status.active, ids, olderThanMs],
  );
  return rows.map((r) => r.id);
}

function requireLock(source: TableSource): string {
  const lock = lockColumn(source);
  if (!lock) throw new UsageError(`${source.where}: no lockedAt (or startedAt) column, so no row can be told stuck`, `name it in the topology: legacy.${source.name}.table.columns.lockedAt`);
  return lock;
}
