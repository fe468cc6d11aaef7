import { UsageError } from '../errors.js';
import { DURATION_HINT, parseDuration } from '../topology/durations.js';
import type { DlqFilters, DlqItem } from './types.js';

/**
 * Filter flags as commander gives them. The failure-reason regex is `--match-reason` in every dlq
 * command: `--reason` means only the text `discard` records (README "One meaning per flag").
 */
export interface FilterFlags {
  queue?: string | string[];
  name?: string | string[];
  matchReason?: string;
  since?: string;
  olderThan?: string;
  org?: string;
  tenant?: string;
}

/** Comma lists and repeated flags both work: `--queue a,b` = `--queue a --queue b`. */
function list(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = [value].flat().flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

function duration(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`${flag} "${value}" is not a duration`, DURATION_HINT);
  return ms;
}

/** Validates the flags (bad regex or duration: exit 2) and turns durations into absolute times. */
export function parseFilters(flags: FilterFlags, now: number): DlqFilters {
  const filters: DlqFilters = {};
  const queues = list(flags.queue);
  if (queues) filters.queues = queues;
  const names = list(flags.name);
  if (names) filters.names = names;
  if (flags.matchReason !== undefined) {
    try {
      filters.reason = new RegExp(flags.matchReason);
    } catch (error) {
      throw new UsageError(`--match-reason "${flags.matchReason}" is not a valid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`, 'escape special characters, e.g. --match-reason "timeout \\(30s\\)"');
    }
  }
  const since = duration('--since', flags.since);
  if (since !== undefined) filters.since = now - since;
  const olderThan = duration('--older-than', flags.olderThan);
  if (olderThan !== undefined) filters.before = now - olderThan;
  if (flags.org !== undefined) filters.org = flags.org;
  if (flags.tenant !== undefined) {
    const at = flags.tenant.indexOf('=');
    if (at <= 0) throw new UsageError(`--tenant "${flags.tenant}" is not field=value`, 'for example --tenant companyId=c_123 or --tenant userId=u_42');
    filters.tenant = { field: flags.tenant.slice(0, at).trim(), value: flags.tenant.slice(at + 1) };
  }
  return filters;
}

/** True when any filter needs the job's name, reason or payload (so hashes must be read). */
export function needsFields(filters: DlqFilters): boolean {
  return Boolean(filters.names || filters.reason || filters.org !== undefined);
}

/** The filters that apply to one item. `--queue` names the job's queue or the dead-letter queue holding it. */
export function matches(item: DlqItem, filters: DlqFilters): boolean {
  if (filters.queues && !filters.queues.includes(item.queue) && !filters.queues.includes(item.holder)) return false;
  if (filters.names && !filters.names.includes(item.name)) return false;
  if (filters.reason && !filters.reason.test(item.failedReason)) return false;
  if (filters.since !== undefined && item.failedAt < filters.since) return false;
  if (filters.before !== undefined && item.failedAt > filters.before) return false;
  if (filters.org !== undefined && item.orgId !== filters.org) return false;
  return true;
}

/** A positive integer flag (`--limit`, `--canary`), or undefined when absent. */
export function positiveInt(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got "${String(value)}"`, `for example ${flag} 100`);
  return n;
}

/** A positive number flag (`--rate`). */
export function positiveNumber(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got "${String(value)}"`, `for example ${flag} 200`);
  return n;
}
