import { execReads, toOptionalNumber, type ReadCommand, type RedisReader } from './reads.js';

export type JobState = 'waiting' | 'prioritized' | 'delayed' | 'active' | 'completed' | 'failed' | 'waiting-children' | 'unknown';

/** One job as `inspect job` shows it. Timestamps are epoch ms; the `…At` fields are the same as ISO text. */
export interface JobView {
  queue: string;
  id: string;
  name: string;
  state: JobState;
  data: unknown;
  opts: unknown;
  attemptsMade: number;
  attemptsStarted: number;
  stalledCount: number;
  timestamp: number | null;
  createdAt: string | null;
  processedOn: number | null;
  processedAt: string | null;
  finishedOn: number | null;
  finishedAt: string | null;
  /** The `delay` field as written (relative ms; rewritten by retries). */
  delay: number;
  /** Due time from the delayed score (score / 4096), when delayed. */
  dueAt: string | null;
  priority: number;
  failedReason: string | null;
  stacktrace: string[];
  returnvalue: unknown;
  progress: unknown;
  logs: number;
  parentKey: string | null;
  /** Worker name that last took it (`pb`). */
  processedBy: string | null;
}

/** Parses JSON text the way a producer wrote it; text that is not JSON is shown as is. */
function parseJson(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A job's three moments, as epoch ms and ISO text, the same on every backend. */
export function jobTimes(timestamp?: number, processedOn?: number, finishedOn?: number): Pick<JobView, 'timestamp' | 'createdAt' | 'processedOn' | 'processedAt' | 'finishedOn' | 'finishedAt'> {
  return {
    timestamp: timestamp ?? null,
    createdAt: iso(timestamp),
    processedOn: processedOn ?? null,
    processedAt: iso(processedOn),
    finishedOn: finishedOn ?? null,
    finishedAt: iso(finishedOn),
  };
}

export function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** Where a job is, from which key holds it. Checked in BullMQ's order: finished states first. */
const STATE_PROBES: [JobState, 'lpos' | 'zscore', string][] = [
  ['completed', 'zscore', 'completed'], ['failed', 'zscore', 'failed'], ['delayed', 'zscore', 'delayed'],
  ['prioritized', 'zscore', 'prioritized'], ['active', 'lpos', 'active'], ['waiting', 'lpos', 'wait'],
  ['waiting', 'lpos', 'paused'], ['waiting-children', 'zscore', 'waiting-children'],
];

/** Builds a JobView from the job hash and the probe replies. Pure. */
export function parseJob(queue: string, id: string, hash: Record<string, string>, probes: unknown[], logs: number): JobView {
  const found = STATE_PROBES.findIndex((_, i) => probes[i] !== null && probes[i] !== undefined);
  const state = found === -1 ? 'unknown' : STATE_PROBES[found][0];
  const delayedScore = state === 'delayed' ? toOptionalNumber(probes[2]) : undefined;
  const stack = parseJson(hash.stacktrace);
  const timestamp = toOptionalNumber(hash.timestamp);
  const processedOn = toOptionalNumber(hash.processedOn);
  const finishedOn = toOptionalNumber(hash.finishedOn);
  return {
    queue,
    id,
    name: hash.name ?? '',
    state,
    data: parseJson(hash.data),
    opts: parseJson(hash.opts),
    // `atm` since BullMQ 5; hashes written by older versions keep `attemptsMade`.
    attemptsMade: toOptionalNumber(hash.atm) ?? toOptionalNumber(hash.attemptsMade) ?? 0,
    attemptsStarted: toOptionalNumber(hash.ats) ?? 0,
    stalledCount: toOptionalNumber(hash.stc) ?? 0,
    ...jobTimes(timestamp, processedOn, finishedOn),
    delay: toOptionalNumber(hash.delay) ?? 0,
    // The low 12 bits of a delayed score order jobs due in the same millisecond.
    dueAt: iso(delayedScore === undefined ? undefined : Math.floor(delayedScore / 4096)),
    priority: toOptionalNumber(hash.priority) ?? 0,
    failedReason: hash.failedReason ?? null,
    stacktrace: Array.isArray(stack) ? stack.map(String) : [],
    returnvalue: parseJson(hash.returnvalue),
    progress: parseJson(hash.progress),
    logs,
    parentKey: hash.parentKey ?? null,
    processedBy: hash.pb ?? null,
  };
}

/** Reads one job with read commands only; undefined when its hash does not exist. */
export async function readJob(redis: RedisReader, prefix: string, queue: string, id: string): Promise<JobView | undefined> {
  const key = (suffix: string) => `${prefix}:${queue}:${suffix}`;
  const commands: ReadCommand[] = [
    ['hgetall', key(id)],
    ['llen', key(`${id}:logs`)],
    ...STATE_PROBES.map(([, cmd, suffix]): ReadCommand => [cmd, key(suffix), id]),
  ];
  const replies = await execReads(redis.client, commands);
  const raw = replies[0];
  // ioredis turns HGETALL into an object through a transformer, `call` into a flat array.
  const hash: Record<string, string> = Array.isArray(raw) ? pairsToObject(raw as string[]) : ((raw as Record<string, string> | null) ?? {});
  if (Object.keys(hash).length === 0) return undefined;
  return parseJob(queue, id, hash, replies.slice(2), Number(replies[1] ?? 0));
}

function pairsToObject(pairs: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) result[pairs[i]] = pairs[i + 1];
  return result;
}
