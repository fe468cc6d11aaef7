import type { PostgresHandle } from '../backend/postgres/types.js';
import type { Millis } from '../topology/types.js';

/**
 * A legacy table queue: a hand-rolled job table in PostgreSQL (rows claimed with FOR UPDATE SKIP
 * LOCKED, one table carrying several job families). The topology declares it (TableSourceSpec);
 * resolve.ts reads the catalog and turns it into a TableSource every command works on.
 */

/** What a column means to queuectl. `id`, `name`, `data` and `status` are required. */
export const COLUMN_ROLES = [
  'id', 'name', 'data', 'status', 'runAt', 'priority', 'attemptsMade', 'maxAttempts', 'lastError',
  'lockedAt', 'lockedBy', 'idempotencyKey', 'createdAt', 'startedAt', 'completedAt', 'updatedAt',
] as const;
export type ColumnRole = (typeof COLUMN_ROLES)[number];
export const REQUIRED_COLUMNS: readonly ColumnRole[] = ['id', 'name', 'data', 'status'];

/** Role → column name, exactly as the catalog spells it (quote with quoteIdent before use in SQL). */
export type ColumnMap = { [R in ColumnRole]?: string } & { id: string; name: string; data: string; status: string };

/** What a status value means. `ready` and `active` are required; a design may lack the others. */
export const STATUS_ROLES = ['ready', 'active', 'completed', 'failed', 'dead'] as const;
export type StatusRole = (typeof STATUS_ROLES)[number];
export const REQUIRED_STATUSES: readonly StatusRole[] = ['ready', 'active'];
export type StatusMap = { [R in StatusRole]?: string } & { ready: string; active: string };

/** Which way the table's priority column runs. */
export type PriorityDirection = 'higher-first' | 'lower-first';

/** The `table:` of a legacy entry, as the topology declares it (durations already in ms). */
export interface TableSourceSpec {
  /** As written in SQL: `"WorkerJob"`, `jobs`, `app."JobQueue"`. */
  name: string;
  /** The environment variable holding the database URL (never the URL itself). */
  urlEnv?: string;
  columns?: Partial<Record<ColumnRole, string>>;
  status?: Partial<Record<StatusRole, string>>;
  priority?: PriorityDirection;
  lockTimeout?: Millis;
  /** [lowest, highest] priority the application uses; rows outside are reported by topology check. */
  priorityRange?: [number, number];
}

/** One column of the table as the catalog describes it (input of the pure guessers). */
export interface CatalogColumn {
  name: string;
  /** format_type(): `text`, `jsonb`, `timestamp(3) without time zone`, `"JobStatus"`. */
  type: string;
  /** Labels of an enum type, in their declared order; absent for other types. */
  enumLabels?: string[];
}

/** How each part of the resolution was decided, for printing the chosen mapping. */
export interface Provenance {
  /** Roles the file declared (the rest were guessed from column names). */
  declaredColumns: ColumnRole[];
  /** Where the status values came from. */
  status: 'declared' | 'enum' | 'values' | 'declared+enum' | 'declared+values';
  priority: 'declared' | 'default';
  lockTimeout: 'declared' | 'default';
}

/** A declared table source, resolved against the live catalog: what every table command works on. */
export interface TableSource {
  /** The legacy entry's name in the topology. */
  name: string;
  /** The table as found: schema and name from the catalog, and its quoted SQL identifier. */
  table: { schema: string; name: string; sql: string };
  /** The session to the table's database (closed by the Context when the command ends). */
  db: PostgresHandle;
  /** "table "WorkerJob" on postgres://app:***@db:5432/app": what prompts and messages name. */
  where: string;
  columns: ColumnMap;
  /** Column name → catalog type, for every column of the table (tenant filters may name any). */
  columnTypes: Record<string, string>;
  status: StatusMap;
  /** The status column's SQL type (format_type), to cast parameters: `"JobStatus"`, `text`. */
  statusType: string;
  /** Status values seen or declared that map to no role (reported, never touched). */
  unmappedStatuses: string[];
  priority: PriorityDirection;
  lockTimeoutMs: Millis;
  provenance: Provenance;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_PRIORITY: PriorityDirection = 'higher-first';
