import type { DeadLetterFields } from '../topology/types.js';

/**
 * The shape of a dead-letter queue's items (contract Part 2, corrections): the topology's
 * `deadLetter.fields`, or by default Part 1's `{ originalQueue, originalJobId, jobData, error,
 * attempts, failedAt }`. An item that does not fit its shape is unreadable: listed as such, never
 * retried (re-adding a guess, e.g. `{}` for data missing under another key, corrupts a real queue).
 */
export const DEFAULT_FIELDS: DeadLetterFields = {
  queue: 'originalQueue', id: 'originalJobId', data: 'jobData', reason: 'error', attempts: 'attempts', failedAt: 'failedAt',
};

/** The failed job as a dead-letter item carries it. */
export interface CarriedJob {
  queue: string;
  id: string;
  /** Undefined when the shape declares no name and the item has none: the dead-letter job's name stands in. */
  name?: string;
  data: unknown;
  reason: string;
  failedAt?: number;
  attempts: number;
  priority: number;
  lifo: boolean;
  /** The whole item, for orgId and for `dlq show`. */
  payload: Record<string, unknown>;
  stack?: string;
}

/** Epoch ms from a number, numeric text or a date string. */
export function toMillis(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
    const t = Date.parse(value);
    if (Number.isFinite(t)) return t;
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads one item's job data (JSON text) with its shape: the carried job, or why the item does not fit. Pure. */
export function readCarried(text: string | null | undefined, fields: DeadLetterFields): CarriedJob | { problem: string } {
  let payload: unknown;
  try {
    payload = JSON.parse(text ?? '');
  } catch {
    return { problem: text ? 'its data is not JSON' : 'it has no data' };
  }
  if (!isObject(payload)) return { problem: 'its data is not an object' };
  const has = (key: string | undefined): key is string => key !== undefined && Object.prototype.hasOwnProperty.call(payload, key) && payload[key] !== undefined;
  // Every declared part but `opts` must be there (a job with default options carries none).
  const missing = (['queue', 'id', 'data', 'name', 'reason', 'failedAt', 'attempts'] as const).filter((part) => fields[part] !== undefined && !has(fields[part]));
  if (missing.length) return { problem: `no ${missing.map((part) => fields[part]).join(', ')}` };
  const get = (key: string) => payload[key];
  const wrong = (part: keyof DeadLetterFields, what: string) => ({ problem: `${fields[part]} is not ${what}` });

  const queue = get(fields.queue);
  if (typeof queue !== 'string' || queue === '') return wrong('queue', 'a queue name');
  const rawId = get(fields.id);
  if (!((typeof rawId === 'string' && rawId !== '') || Number.isSafeInteger(rawId))) return wrong('id', 'a job id');
  let name: string | undefined;
  if (fields.name !== undefined) {
    name = get(fields.name) as string;
    if (typeof name !== 'string' || name === '') return wrong('name', 'a job name');
  } else if (typeof payload.name === 'string' && payload.name !== '') {
    name = payload.name;
  }
  let reason = '';
  let stack: string | undefined;
  if (fields.reason !== undefined) {
    const r = get(fields.reason);
    if (typeof r === 'string') reason = r;
    else if (isObject(r) && typeof r.message === 'string') {
      reason = r.message;
      if (typeof r.stack === 'string') stack = r.stack;
    } else return wrong('reason', 'a text or an error with a message');
  }
  let failedAt: number | undefined;
  if (fields.failedAt !== undefined) {
    failedAt = toMillis(get(fields.failedAt));
    if (failedAt === undefined) return wrong('failedAt', 'a time');
  }
  let attempts = 0;
  if (fields.attempts !== undefined) {
    attempts = Number(get(fields.attempts));
    if (!Number.isSafeInteger(attempts) || attempts < 0 || typeof get(fields.attempts) === 'boolean') return wrong('attempts', 'a count');
  }
  let priority = 0;
  let lifo = false;
  if (has(fields.opts)) {
    const opts = get(fields.opts);
    if (!isObject(opts)) return wrong('opts', 'an options object');
    if (opts.priority !== undefined && opts.priority !== null) {
      if (!Number.isSafeInteger(opts.priority) || (opts.priority as number) < 0) return { problem: `${fields.opts}.priority is not a priority` };
      priority = opts.priority as number;
    }
    lifo = opts.lifo === true;
  }
  return {
    queue, id: String(rawId), ...(name !== undefined ? { name } : {}), data: get(fields.data), reason, ...(stack !== undefined ? { stack } : {}),
    ...(failedAt !== undefined ? { failedAt } : {}), attempts, priority, lifo, payload,
  };
}
