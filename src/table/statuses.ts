import { UsageError } from '../errors.js';
import { REQUIRED_STATUSES, STATUS_ROLES, type StatusMap, type StatusRole } from './types.js';

/**
 * The status-value guesser: which value of the status column means ready, active, completed,
 * failed, dead. Pure. The values come from the column's enum type (every label, used or not) or,
 * for a text column, from the values the table holds. Declared values win; a value the file names
 * must be one of the known values when the column is an enum (a typo would match no row forever).
 */

/** Spellings per role, compared case-insensitively with `-`/space read as `_`. */
export const STATUS_CANDIDATES: Record<StatusRole, readonly string[]> = {
  ready: ['PENDING', 'QUEUED', 'READY', 'WAITING', 'AVAILABLE', 'NEW', 'ENQUEUED', 'TODO'],
  active: ['PROCESSING', 'RUNNING', 'ACTIVE', 'IN_PROGRESS', 'LOCKED', 'CLAIMED', 'STARTED', 'EXECUTING', 'WORKING'],
  completed: ['COMPLETED', 'DONE', 'SUCCEEDED', 'SUCCESS', 'FINISHED', 'COMPLETE', 'PROCESSED'],
  failed: ['FAILED', 'ERROR', 'ERRORED', 'RETRYABLE', 'FAILURE'],
  dead: ['DEAD_LETTER', 'DEAD', 'DEADLETTER', 'DEAD_LETTERED', 'DISCARDED', 'DLQ', 'ABANDONED', 'CANCELLED', 'CANCELED'],
};

const fold = (value: string) => value.trim().toUpperCase().replace(/[-\s]+/g, '_');

export interface GuessedStatuses {
  status: StatusMap;
  /** Known values that no role claims (reported; rows with them are never touched). */
  unmapped: string[];
}

/**
 * Role → status value. `known` are the enum labels (`closed`: every value there can be) or the
 * values seen in the table (`closed` false: an unseen role may still be declared).
 */
export function guessStatuses(known: readonly string[], declared: Partial<Record<StatusRole, string>> = {}, options: { closed: boolean; where?: string } = { closed: true }): GuessedStatuses {
  const where = options.where ?? 'table';
  const chosen: Partial<Record<StatusRole, string>> = {};
  for (const role of STATUS_ROLES) {
    const value = declared[role];
    if (value === undefined) continue;
    if (options.closed && !known.includes(value)) {
      const near = known.find((k) => fold(k) === fold(value));
      throw new UsageError(
        `${where}.status.${role} is "${value}", which the status type does not have${near ? ` (did you mean "${near}"?)` : ''}`,
        `its values: ${known.join(', ')}`,
      );
    }
    chosen[role] = value;
  }
  const taken = new Set(Object.values(chosen));
  for (const role of STATUS_ROLES) {
    if (chosen[role] !== undefined) continue;
    const wanted = new Set(STATUS_CANDIDATES[role]);
    const found = known.filter((value) => wanted.has(fold(value)) && !taken.has(value));
    if (found.length > 1) {
      throw new UsageError(
        `${where}: the ${role} status is ambiguous — candidates ${found.map((v) => `"${v}"`).join(', ')}`,
        `say which one in the topology: status: { ${role}: ${found[0]} }`,
      );
    }
    if (found.length === 1) {
      chosen[role] = found[0];
      taken.add(found[0]);
    }
  }
  const missing = REQUIRED_STATUSES.filter((role) => chosen[role] === undefined);
  if (missing.length > 0) {
    const role = missing[0];
    const seen = known.length === 0 ? 'the table is empty' : `${options.closed ? 'its values' : 'values in the table'}: ${known.join(', ')}`;
    throw new UsageError(
      `${where}: no "${role}" status value found (looked for ${STATUS_CANDIDATES[role].join(', ')}; ${seen})`,
      `name it in the topology: status: { ${role}: <value> }`,
    );
  }
  const mapped = new Set(Object.values(chosen));
  return { status: chosen as StatusMap, unmapped: known.filter((value) => !mapped.has(value)) };
}
