import { formatDuration } from '../topology/durations.js';
import type { SchedulerSpec } from '../topology/types.js';
import type { LiveScheduler } from './types.js';

/** One field where the live scheduler and the file disagree. */
export interface FieldChange {
  field: string;
  /** The live value; undefined when not set. */
  from?: unknown;
  /** The declared value; undefined when not set. */
  to?: unknown;
}

/**
 * Where a live scheduler differs from its declaration: the repeat fields BullMQ stores (pattern,
 * every, tz, limit, startDate, endDate) and the job template (name, data, opts). `immediately`
 * is not stored, so it never differs. Pure.
 */
export function schedulerDiff(declared: SchedulerSpec, live: LiveScheduler): FieldChange[] {
  const pairs: [string, unknown, unknown][] = [
    ['pattern', live.pattern, declared.pattern],
    ['every', live.every, declared.every],
    ['tz', live.tz, declared.tz],
    ['limit', live.limit, declared.limit],
    ['startDate', live.startDate, declared.startDate],
    ['endDate', live.endDate, declared.endDate],
    ['job.name', live.job.name, declared.job.name],
    ['job.data', live.job.data, declared.job.data ?? {}],
    ['job.opts', live.job.opts, declared.job.opts ?? {}],
  ];
  return pairs
    .filter(([, from, to]) => canonical(from) !== canonical(to))
    .map(([field, from, to]) => ({ field, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }));
}

/** JSON with sorted keys, so `{a, b}` and `{b, a}` compare equal. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v) ?? 'undefined';
}

/** `pattern "0 3 * * *" (Europe/Madrid)` or `every 30s`, then `→ job name`, for messages and plans. */
export function describeSchedule(s: { pattern?: string; tz?: string; every?: number; limit?: number; job: { name: string } }): string {
  const when = s.pattern !== undefined ? `pattern "${s.pattern}"${s.tz ? ` (${s.tz})` : ''}` : s.every !== undefined ? `every ${formatDuration(s.every)}` : 'no schedule';
  return `${when}${s.limit !== undefined ? `, limit ${s.limit}` : ''} → ${s.job.name}`;
}

/** A field's value as a plan or finding prints it. */
export function showValue(field: string, value: unknown): string {
  if (value === undefined) return 'none';
  if (field === 'every' && typeof value === 'number') return formatDuration(value);
  if ((field === 'startDate' || field === 'endDate') && typeof value === 'number') return new Date(value).toISOString();
  return typeof value === 'string' ? `"${value}"` : canonical(value);
}

/** When a live scheduler fires next, as text. */
export function describeNext(next: number | undefined): string {
  return next === undefined ? 'never again (no next run)' : new Date(next).toISOString();
}
