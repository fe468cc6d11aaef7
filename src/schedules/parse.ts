import { createHash } from 'node:crypto';
import type { LiveScheduler } from './types.js';

/**
 * A scheduler's fields as BullMQ stores them (the Redis `repeat:<id>` hash; PostgreSQL rows are
 * mapped to the same names) → LiveScheduler. `optsFromJSON` is BullMQ's Job.optsFromJSON, which
 * undoes the abbreviations the Redis script stores (`kl` → keepLogs, …). Pure.
 */
export function schedulerFromFields(
  queue: string,
  id: string,
  fields: Record<string, string>,
  next: number | undefined,
  optsFromJSON: (raw: string) => Record<string, unknown>,
): LiveScheduler {
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  const legacy = fields.ic === undefined;
  return dropUndefined({
    queue,
    id,
    legacy,
    pattern: fields.pattern || undefined,
    tz: fields.tz || undefined,
    every: num(fields.every),
    limit: num(fields.limit),
    startDate: num(fields.startDate),
    endDate: num(fields.endDate),
    next,
    iterations: num(fields.ic),
    job: {
      name: fields.name ?? id,
      data: parseObject(fields.data),
      opts: fields.opts ? optsFromJSON(fields.opts) : {},
    },
    // BullMQ 5's repeatable jobs with a hash named their next job `repeat:<key>:<millis>`.
    nextJobIds: legacy && next !== undefined ? [`repeat:${id}:${next}`] : undefined,
  }) as LiveScheduler;
}

/**
 * An old-style repeatable job known only by its zset member `name:jobId:endDate:tz:pattern|every`
 * (BullMQ ≤ 5.x before the hash), with the md5 job id those versions gave its next delayed job
 * (`repeat:` md5(name + jobId + md5(key)) `:` millis). Undefined when the member has not that shape.
 */
export function legacyFromKey(queue: string, key: string, next: number | undefined): LiveScheduler | undefined {
  const parts = key.split(':');
  if (parts.length < 5) return undefined;
  const [name, jobId, endDate, tz] = parts;
  const suffix = parts.slice(4).join(':');
  if (!name || !suffix || (endDate !== '' && !/^\d+$/.test(endDate!))) return undefined;
  const every = /^\d+$/.test(suffix) ? Number(suffix) : undefined;
  if (every === undefined && !suffix.includes(' ')) return undefined;
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const nextJobIds = next === undefined ? undefined : [`repeat:${md5(`${name}${jobId ?? ''}${md5(key)}`)}:${next}`, `repeat:${key}:${next}`];
  return dropUndefined({
    queue,
    id: key,
    legacy: true,
    pattern: every === undefined ? suffix : undefined,
    every,
    tz: tz || undefined,
    endDate: endDate ? Number(endDate) : undefined,
    next,
    job: { name, data: {}, opts: {} },
    nextJobIds,
  }) as LiveScheduler;
}

function parseObject(raw: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const value: unknown = JSON.parse(raw);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
  } catch {
    return { unreadable: raw };
  }
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
