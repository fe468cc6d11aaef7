import type { PostgresHandle } from '../backend/postgres/types.js';
import { quoteIdent } from './identifier.js';
import { STATUS_ROLES, type StatusRole, type TableSource } from './types.js';

/**
 * The read queries over a job table, shared by inspect, topology check and stuck. Each is a
 * GROUP BY over a filter an index of the design serves (status first, or family and status);
 * none reads payloads. Run them inside readOnly() (session.ts). Exported one by one so the test
 * can EXPLAIN exactly what runs.
 */

export interface Query {
  text: string;
  params: unknown[];
}

/** Quoted column of a role (the role must be mapped). */
export function col(source: Pick<TableSource, 'columns'>, role: keyof TableSource['columns']): string {
  const name = source.columns[role];
  if (name === undefined) throw new Error(`column ${role} is not mapped`);
  return quoteIdent(name);
}

/** `$n::"JobStatus"`: a status parameter of the column's own type, so the index stays usable. */
export const statusParam = (source: Pick<TableSource, 'statusType'>, n: number) => `$${n}::${source.statusType}`;
const statusArray = (source: Pick<TableSource, 'statusType'>, n: number) => `$${n}::${source.statusType}[]`;

/** Rows per family and status value. */
export function familyStatusQuery(s: TableSource): Query {
  const name = col(s, 'name');
  const status = col(s, 'status');
  return { text: `SELECT ${name}::text AS family, ${status}::text AS status, count(*)::int AS rows FROM ${s.table.sql} GROUP BY ${name}, ${status}`, params: [] };
}

/** Rows per status value (inspect --by-status). */
export function statusQuery(s: TableSource): Query {
  const status = col(s, 'status');
  return { text: `SELECT ${status}::text AS status, count(*)::int AS rows FROM ${s.table.sql} GROUP BY ${status}`, params: [] };
}

/** Ready rows per family: how many are not due yet (scheduled) and how long the oldest due one has waited. */
export function readyQuery(s: TableSource): Query {
  const name = col(s, 'name');
  const due = s.columns.runAt ? col(s, 'runAt') : s.columns.createdAt ? col(s, 'createdAt') : undefined;
  const scheduled = s.columns.runAt ? `count(*) FILTER (WHERE ${due} > now())::int` : '0';
  const oldest = due ? `(extract(epoch FROM now() - min(${due}) FILTER (WHERE ${due} <= now())) * 1000)::float8` : 'NULL::float8';
  return {
    text: `SELECT ${name}::text AS family, count(*)::int AS rows, ${scheduled} AS scheduled, ${oldest} AS oldest_ms
             FROM ${s.table.sql} WHERE ${col(s, 'status')} = ${statusParam(s, 1)} GROUP BY ${name}`,
    params: [s.status.ready],
  };
}

/** The lock time of an active row: lockedAt, else startedAt. */
export function lockColumn(s: TableSource): string | undefined {
  return s.columns.lockedAt ? col(s, 'lockedAt') : s.columns.startedAt ? col(s, 'startedAt') : undefined;
}

/** Active rows per family and holder, with how many are locked past the lock timeout. */
export function activeQuery(s: TableSource): Query {
  const name = col(s, 'name');
  const lock = lockColumn(s);
  const holder = s.columns.lockedBy ? `${col(s, 'lockedBy')}::text` : 'NULL::text';
  const stuck = lock ? `count(*) FILTER (WHERE ${lock} < now() - $2 * interval '1 millisecond')::int` : '0';
  const oldest = lock ? `(extract(epoch FROM now() - min(${lock})) * 1000)::float8` : 'NULL::float8';
  return {
    text: `SELECT ${name}::text AS family, ${holder} AS holder, count(*)::int AS rows, ${stuck} AS stuck, ${oldest} AS oldest_lock_ms
             FROM ${s.table.sql} WHERE ${col(s, 'status')} = ${statusParam(s, 1)} GROUP BY 1, 2`,
    params: lock ? [s.status.active, s.lockTimeoutMs] : [s.status.active],
  };
}

/** Statuses still in play (everything but completed, and unmapped values): what the attempts histogram covers. */
export function openStatuses(s: TableSource): string[] {
  return (['ready', 'active', 'failed', 'dead'] as StatusRole[]).map((r) => s.status[r]).filter((v): v is string => v !== undefined);
}

/** Rows not completed per attempts made; with maxAttempts, how many are past it. */
export function attemptsQuery(s: TableSource): Query | undefined {
  if (!s.columns.attemptsMade) return undefined;
  const attempts = col(s, 'attemptsMade');
  return {
    text: `SELECT ${attempts}::int AS attempts, count(*)::int AS rows FROM ${s.table.sql} WHERE ${col(s, 'status')} = ANY(${statusArray(s, 1)}) GROUP BY 1 ORDER BY 1`,
    params: [openStatuses(s)],
  };
}

/** Per family and role: rows out of attempts but still ready, active or failed, or past maxAttempts anywhere but completed. */
export function exceededQuery(s: TableSource): Query | undefined {
  if (!s.columns.attemptsMade || !s.columns.maxAttempts) return undefined;
  const a = col(s, 'attemptsMade');
  const m = col(s, 'maxAttempts');
  return {
    text: `SELECT ${col(s, 'name')}::text AS family, count(*)::int AS rows, max(${a} - ${m})::int AS worst FROM ${s.table.sql}
            WHERE ${col(s, 'status')} = ANY(${statusArray(s, 1)}) AND ${a} > ${m} GROUP BY 1 ORDER BY 1`,
    params: [openStatuses(s)],
  };
}

/** Lowest and highest priority among ready rows, per family. */
export function priorityQuery(s: TableSource): Query | undefined {
  if (!s.columns.priority) return undefined;
  const p = col(s, 'priority');
  return {
    text: `SELECT ${col(s, 'name')}::text AS family, min(${p})::float8 AS low, max(${p})::float8 AS high, count(*) FILTER (WHERE ${p} IS NULL)::int AS nulls
             FROM ${s.table.sql} WHERE ${col(s, 'status')} = ${statusParam(s, 1)} GROUP BY 1 ORDER BY 1`,
    params: [s.status.ready],
  };
}

export const run = <T extends Record<string, unknown>>(db: PostgresHandle, q: Query) => db.query<T>(q.text, q.params);

/** The role of a status value, or undefined for an unmapped value. */
export function roleOf(s: Pick<TableSource, 'status'>, value: string): StatusRole | undefined {
  return STATUS_ROLES.find((role) => s.status[role] === value);
}
