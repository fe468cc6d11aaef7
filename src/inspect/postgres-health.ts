import { Chalk } from 'chalk';
import { formatAgePrecise, formatBytes } from '../ui/format.js';

/** inspect's PostgreSQL health line (the Redis twin is RedisHealth in types.ts, renderHealth in render.ts). */
export interface PostgresHealth {
  version: string;
  schema: string;
  schemaVersion: number;
  expectedSchemaVersion: number;
  connections: { used: number; max: number };
  /** BullMQ's `job` table: size with indexes and TOAST, and the statistics collector's row estimates. */
  jobTable: { bytes: number; liveRows: number; deadRows: number };
  /** Age of the oldest open transaction of another session, or null when none. */
  oldestTransactionSeconds: number | null;
}

/** Dead rows above this share of the table: autovacuum is falling behind (or held back). */
const BLOAT_WARN = 0.2;
const TRANSACTION_WARN_S = 5 * 60;

export function renderPostgresHealth(h: PostgresHealth, options: { color: boolean }): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const total = h.jobTable.liveRows + h.jobTable.deadRows;
  const lines = [
    `PostgreSQL ${h.version} · schema ${h.schema} v${h.schemaVersion} (BullMQ expects v${h.expectedSchemaVersion}) · ` +
      `connections ${h.connections.used}/${h.connections.max} · job table ${formatBytes(h.jobTable.bytes)}, ` +
      `${h.jobTable.deadRows} dead rows · oldest transaction ${h.oldestTransactionSeconds === null ? 'none' : formatAgePrecise(h.oldestTransactionSeconds * 1000)}`,
  ];
  if (total > 1000 && h.jobTable.deadRows / total > BLOAT_WARN) {
    lines.push(c.yellow(`warning: ${Math.round((100 * h.jobTable.deadRows) / total)}% of the job table is dead rows — autovacuum is behind or held back by a long transaction`));
  }
  if (h.oldestTransactionSeconds !== null && h.oldestTransactionSeconds >= TRANSACTION_WARN_S) {
    lines.push(c.yellow(`warning: a transaction has been open for ${formatAgePrecise(h.oldestTransactionSeconds * 1000)}; it holds back vacuum (queuectl doctor names it)`));
  }
  return lines.join('\n');
}

/** The `postgres` block of `queuectl/inspect@1` (in place of `redis`). */
export function postgresHealthDocument(h: PostgresHealth) {
  return { ...h, connections: { ...h.connections }, jobTable: { ...h.jobTable } };
}
