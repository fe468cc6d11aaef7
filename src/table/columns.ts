import { UsageError } from '../errors.js';
import { COLUMN_ROLES, REQUIRED_COLUMNS, type CatalogColumn, type ColumnMap, type ColumnRole } from './types.js';

/**
 * The column guesser: which column of a job table plays which role. Pure. A role the file
 * declares is taken as declared (the column must exist); the others are matched by name against
 * the spellings hand-rolled queues use (camelCase, snake_case, any case). Two columns matching
 * one role is ambiguous and a required role with no match is missing: both are usage errors
 * (exit 2) naming the candidates and the `columns:` line that settles it.
 */

/** Spellings per role, compared after lowercasing and dropping `_`. Order is only for messages. */
export const COLUMN_CANDIDATES: Record<ColumnRole, readonly string[]> = {
  id: ['id', 'job_id', 'uuid'],
  name: ['type', 'name', 'kind', 'job_type', 'job_name', 'task', 'task_name', 'family'],
  data: ['payload', 'data', 'args', 'params', 'body', 'job_data'],
  status: ['status', 'state'],
  runAt: ['availableAt', 'scheduledFor', 'run_at', 'scheduled_at', 'run_after', 'due_at', 'not_before', 'available_at', 'scheduled_for', 'execute_at'],
  priority: ['priority'],
  attemptsMade: ['attempts', 'attempt', 'attempts_made', 'retries', 'retry_count', 'tries', 'attempt_count'],
  maxAttempts: ['maxAttempts', 'max_attempts', 'max_retries', 'max_tries'],
  lastError: ['lastError', 'last_error', 'error', 'error_message', 'failed_reason', 'failure_reason'],
  lockedAt: ['lockedAt', 'locked_at', 'claimed_at'],
  lockedBy: ['lockedBy', 'locked_by', 'claimed_by', 'worker_id'],
  idempotencyKey: ['idempotencyKey', 'idempotency_key', 'dedup_key', 'unique_key', 'dedupe_key'],
  createdAt: ['createdAt', 'created_at', 'inserted_at', 'enqueued_at'],
  startedAt: ['startedAt', 'started_at'],
  completedAt: ['completedAt', 'completed_at', 'finished_at'],
  updatedAt: ['updatedAt', 'updated_at'],
};

const fold = (name: string) => name.toLowerCase().replaceAll('_', '');

/** The columns of `columns` that could play `role`, by name. */
export function candidatesFor(role: ColumnRole, columns: readonly CatalogColumn[]): string[] {
  const wanted = new Set(COLUMN_CANDIDATES[role].map(fold));
  return columns.filter((c) => wanted.has(fold(c.name))).map((c) => c.name);
}

export interface GuessedColumns {
  columns: ColumnMap;
  /** Roles taken from the file, the rest guessed. */
  declared: ColumnRole[];
}

/**
 * Role → column for a table whose catalog lists `columns`, over what the file `declared`.
 * `where` names the source in messages (`legacy.worker-jobs.table`).
 */
export function guessColumns(columns: readonly CatalogColumn[], declared: Partial<Record<ColumnRole, string>> = {}, where = 'table'): GuessedColumns {
  const names = columns.map((c) => c.name);
  const chosen: Partial<Record<ColumnRole, string>> = {};
  const declaredRoles: ColumnRole[] = [];
  for (const role of COLUMN_ROLES) {
    const wanted = declared[role];
    if (wanted === undefined) continue;
    if (!names.includes(wanted)) {
      const near = names.find((n) => fold(n) === fold(wanted));
      throw new UsageError(
        `${where}.columns.${role} names column "${wanted}", which the table does not have${near ? ` (did you mean "${near}"?)` : ''}`,
        `the table's columns: ${names.join(', ')}`,
      );
    }
    chosen[role] = wanted;
    declaredRoles.push(role);
  }
  const taken = new Set(Object.values(chosen));
  for (const role of COLUMN_ROLES) {
    if (chosen[role] !== undefined) continue;
    const found = candidatesFor(role, columns).filter((name) => !taken.has(name));
    if (found.length > 1) {
      throw new UsageError(
        `${where}: the ${role} column is ambiguous — candidates ${found.map((n) => `"${n}"`).join(', ')}`,
        `say which one in the topology: columns: { ${role}: ${found[0]} }`,
      );
    }
    if (found.length === 1) {
      chosen[role] = found[0];
      taken.add(found[0]);
    }
  }
  const missing = REQUIRED_COLUMNS.filter((role) => chosen[role] === undefined);
  if (missing.length > 0) {
    const role = missing[0];
    throw new UsageError(
      `${where}: no ${role} column found (looked for ${COLUMN_CANDIDATES[role].join(', ')})`,
      `name it in the topology: columns: { ${role}: <column> }; the table's columns: ${names.join(', ')}`,
    );
  }
  return { columns: chosen as ColumnMap, declared: declaredRoles };
}
