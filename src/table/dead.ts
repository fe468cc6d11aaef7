import { UsageError } from '../errors.js';
import { col, statusParam, type Query } from './reads.js';
import { quoteIdent } from './identifier.js';
import type { TableSource } from './types.js';

/**
 * Dead letters of a job table: rows whose status is the `dead` (or `failed`) value. Retry makes a
 * row ready again (attempts reset, due now, lock cleared, last error left in its column); discard
 * deletes it into queuectl.discarded_rows (the whole row as JSON, with the reason, who and when)
 * in the same statement. Both re-check the status in the statement, so a second run, or a row the
 * application changed meanwhile, is skipped: idempotent, never two ready copies.
 */

export interface DeadRow {
  id: string;
  family: string;
  status: string;
  last_error: string | null;
  attempts: number | null;
  failed_ms: number | null;
}

/** The status values that hold dead letters: dead, and failed where the design has it. */
export function deadStatuses(s: TableSource): string[] {
  return [s.status.dead, s.status.failed].filter((v): v is string => v !== undefined);
}

/** When a row failed, as well as the table can tell: its latest timestamp column, epoch ms. */
export function failedAtSql(s: TableSource): string {
  const cols = (['updatedAt', 'completedAt', 'startedAt', 'lockedAt', 'runAt', 'createdAt'] as const).filter((r) => s.columns[r]).map((r) => col(s, r));
  return cols.length ? `(extract(epoch FROM coalesce(${cols.join(', ')})) * 1000)::float8` : 'NULL::float8';
}

/** The id parameter cast to the id column's type (the primary key stays usable). */
export const idArray = (s: TableSource, n: number) => `$${n}::${s.columnTypes[s.columns.id]}[]`;

export function selectDead(s: TableSource): string {
  const lastError = s.columns.lastError ? `${col(s, 'lastError')}::text` : 'NULL::text';
  const attempts = s.columns.attemptsMade ? `${col(s, 'attemptsMade')}::int` : 'NULL::int';
  return `SELECT ${col(s, 'id')}::text AS id, ${col(s, 'name')}::text AS family, ${col(s, 'status')}::text AS status,
                 ${lastError} AS last_error, ${attempts} AS attempts, ${failedAtSql(s)} AS failed_ms FROM ${s.table.sql}`;
}

export interface DeadFilter {
  names?: string[];
  since?: number;
  before?: number;
  tenant?: { field: string; value: string };
}

/** One page of dead rows, newest first, after the cursor (failedAt, id) of the previous page. */
export async function deadPage(s: TableSource, filter: DeadFilter, after: { failedMs: number; id: string } | undefined, size: number): Promise<DeadRow[]> {
  const q = deadPageQuery(s, filter, after, size);
  return s.db.query<DeadRow & Record<string, unknown>>(q.text, q.params);
}

/** The query of deadPage (exported for the EXPLAIN test). */
export function deadPageQuery(s: TableSource, filter: DeadFilter, after: { failedMs: number; id: string } | undefined, size: number): Query {
  const params: unknown[] = [deadStatuses(s)];
  const where = [`${col(s, 'status')} = ANY($1::${s.statusType}[])`];
  const p = (value: unknown) => `$${params.push(value)}`;
  const failed = `coalesce(${failedAtSql(s)}, 0)`;
  if (filter.names) where.push(`${col(s, 'name')}::text = ANY(${p(filter.names)}::text[])`);
  if (filter.since !== undefined) where.push(`${failed} >= ${p(filter.since)}`);
  if (filter.before !== undefined) where.push(`${failed} <= ${p(filter.before)}`);
  if (filter.tenant) where.push(tenantSql(s, filter.tenant, p));
  if (after) where.push(`(${failed}, ${col(s, 'id')}::text) < (${p(after.failedMs)}, ${p(after.id)})`);
  return { text: `${selectDead(s)} WHERE ${where.join(' AND ')} ORDER BY ${failed} DESC, ${col(s, 'id')}::text DESC LIMIT ${Number(size)}`, params };
}

/** `--tenant companyId=c1`: a field of the row's data, or a column of that name (WorkerJob's userId). */
function tenantSql(s: TableSource, tenant: { field: string; value: string }, p: (v: unknown) => string): string {
  const value = p(tenant.value);
  const inData = `${col(s, 'data')}::jsonb ->> ${p(tenant.field)} = ${value}`;
  return tenant.field in s.columnTypes ? `(${quoteIdent(tenant.field)}::text = ${value} OR ${inData})` : inData;
}

/** The rows `ids` as they are now (any status). */
export async function deadByIds(s: TableSource, ids: string[]): Promise<DeadRow[]> {
  return s.db.query<DeadRow & Record<string, unknown>>(`${selectDead(s)} WHERE ${col(s, 'id')} = ANY(${idArray(s, 1)})`, [ids]);
}

/** Rows `ids` still dead: ready again, attempts 0, due now, lock cleared. Returns the ids retried. */
export async function retryDead(s: TableSource, ids: string[]): Promise<string[]> {
  const sets = [`${col(s, 'status')} = ${statusParam(s, 1)}`];
  if (s.columns.attemptsMade) sets.push(`${col(s, 'attemptsMade')} = 0`);
  if (s.columns.runAt) sets.push(`${col(s, 'runAt')} = now()`);
  for (const role of ['lockedAt', 'lockedBy', 'completedAt'] as const) if (s.columns[role]) sets.push(`${col(s, role)} = NULL`);
  if (s.columns.updatedAt) sets.push(`${col(s, 'updatedAt')} = now()`);
  const rows = await s.db.query<{ id: string }>(
    `UPDATE ${s.table.sql} SET ${sets.join(', ')} WHERE ${col(s, 'id')} = ANY(${idArray(s, 2)}) AND ${col(s, 'status')} = ANY($3::${s.statusType}[]) RETURNING ${col(s, 'id')}::text AS id`,
    [s.status.ready, ids, deadStatuses(s)],
  );
  return rows.map((r) => r.id);
}

export const DISCARD_TABLE = 'queuectl.discarded_rows';

/** The archive discards go to, in the table's own database (CREATE on the database needed once). */
export async function ensureDiscardTable(s: TableSource): Promise<void> {
  try {
    await s.db.query(`CREATE SCHEMA IF NOT EXISTS queuectl`);
    await s.db.query(`CREATE TABLE IF NOT EXISTS ${DISCARD_TABLE} (
      source text NOT NULL, table_name text NOT NULL, row_id text NOT NULL, family text, reason text NOT NULL,
      discarded_by text NOT NULL, discarded_at timestamptz NOT NULL DEFAULT now(), row_data jsonb NOT NULL)`);
  } catch (error) {
    if ((error as Error).message.includes('permission denied')) {
      throw new UsageError(`discard keeps each row in ${DISCARD_TABLE}, which this role may not create (${(error as Error).message.split(' — ')[0]})`, 'create it once as the owner (queuectl dlq discard with an owner role), or grant CREATE on the database');
    }
    throw error;
  }
}

/** Rows `ids` still dead: deleted into the archive with the reason, in one statement. Returns the ids discarded. */
export async function discardDead(s: TableSource, ids: string[], reason: string, who: string): Promise<string[]> {
  const rows = await s.db.query<{ id: string }>(
    `WITH gone AS (DELETE FROM ${s.table.sql} AS t WHERE ${col(s, 'id')} = ANY(${idArray(s, 1)}) AND ${col(s, 'status')} = ANY($2::${s.statusType}[]) RETURNING t.*)
     INSERT INTO ${DISCARD_TABLE} (source, table_name, row_id, family, reason, discarded_by, row_data)
     SELECT $3, $4, gone.${col(s, 'id')}::text, gone.${col(s, 'name')}::text, $5, $6, to_jsonb(gone) FROM gone
     RETURNING row_id AS id`,
    [ids, deadStatuses(s), s.name, s.table.sql, reason, who],
  );
  return rows.map((r) => r.id);
}

/** The whole row as JSON, for dlq show. */
export async function rowJson(s: TableSource, id: string): Promise<unknown> {
  const rows = await s.db.query<{ row: unknown }>(`SELECT to_jsonb(t.*) AS row FROM ${s.table.sql} AS t WHERE ${col(s, 'id')} = ANY(${idArray(s, 1)})`, [[id]]);
  return rows[0]?.row;
}
