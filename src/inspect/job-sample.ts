import type { Cluster, Redis } from 'ioredis';
import type { LayoutSigns } from './layout.js';
import { execReads, type ReadCommand } from './reads.js';

/**
 * The job-level fingerprint of a queue's writer, for a legacy queue whose keys say nothing (a Bull
 * queue never paused and never given a prioritized job has no Bull-only key). Read from the
 * packages themselves:
 *
 * - Bull (lib/job.js setDefaultOpts) stores every job's opts with `attempts`, `delay` and
 *   `timestamp` filled in, and counts attempts in an `attemptsMade` field.
 * - BullMQ stores only the options it was given plus `attempts` (0 by default): no `timestamp`
 *   unless the producer passed one, and counts attempts in `atm`/`ats`.
 * - Anything else (no opts, opts without `attempts`: hand-written hashes) says nothing.
 *
 * A BullMQ job given both `timestamp` and `delay` would look like Bull's, but a BullMQ queue with
 * jobs also carries `meta.opts.maxLenEvents` (a key sign): the two together are a conflict, and
 * refused, never a wrong guess.
 */

/** Ids sampled per state: a few jobs are enough, and the reads stay bounded whatever the queue holds. */
export const SAMPLE_PER_STATE = 2;
const SAMPLED_STATES: [string, 'lrange' | 'zrange'][] = [
  ['wait', 'lrange'], ['paused', 'lrange'], ['active', 'lrange'], ['delayed', 'zrange'], ['failed', 'zrange'], ['completed', 'zrange'],
];
const JOB_FIELDS = ['opts', 'attemptsMade', 'atm', 'ats'] as const;

export type JobWriter = 'bull' | 'bullmq' | 'both' | undefined;

/** Which library wrote one job hash, from its JOB_FIELDS; undefined when the hash says nothing. Pure. */
export function jobWriter(fields: (string | null)[]): JobWriter {
  const [optsText, attemptsMade, atm, ats] = fields;
  let bull = attemptsMade !== null && attemptsMade !== undefined;
  let bullmq = (atm !== null && atm !== undefined) || (ats !== null && ats !== undefined);
  const opts = parseObject(optsText);
  if (opts) {
    if (typeof opts.timestamp === 'number' && typeof opts.delay === 'number' && typeof opts.attempts === 'number') bull = true;
    else if (typeof opts.attempts === 'number' && !('timestamp' in opts)) bullmq = true;
  }
  return bull && bullmq ? 'both' : bull ? 'bull' : bullmq ? 'bullmq' : undefined;
}

function parseObject(text: string | null | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** What a sample of a queue's jobs says: the signs it adds, and how many jobs it looked at. */
export interface JobSample {
  signs: LayoutSigns;
  /** Job ids found in the sampled states (0: the queue holds no job to judge by). */
  sampled: number;
}

/** Sign sentences from the per-job verdicts. Pure. */
export function sampleSigns(writers: JobWriter[]): LayoutSigns {
  const count = (w: JobWriter) => writers.filter((x) => x === w || x === 'both').length;
  const [bull, bullmq] = [count('bull'), count('bullmq')];
  const of = `of ${writers.length} sampled job${writers.length === 1 ? '' : 's'}`;
  return {
    bull: bull > 0 ? [`Bull's job opts (timestamp, delay, attempts filled in) on ${bull} ${of}`] : [],
    bullmq: bullmq > 0 ? [`BullMQ's job fields (opts.attempts without opts.timestamp, or atm/ats) on ${bullmq} ${of}`] : [],
  };
}

/**
 * Samples a few jobs of each queue: two rounds of reads (ids, then SAMPLE_PER_STATE job hashes per
 * state), read commands only, bounded by the number of queues.
 */
export async function sampleJobs(client: Redis | Cluster, prefix: string, names: string[]): Promise<Map<string, JobSample>> {
  const idReads = names.flatMap((name) => SAMPLED_STATES.map(([state, cmd]): ReadCommand => [cmd, `${prefix}:${name}:${state}`, 0, SAMPLE_PER_STATE - 1]));
  const idReplies = await execReads(client, idReads);
  const ids = names.map((_, i) => [...new Set(idReplies.slice(i * SAMPLED_STATES.length, (i + 1) * SAMPLED_STATES.length).flatMap((r) => (Array.isArray(r) ? (r as string[]) : [])))]);
  const hashReads = names.flatMap((name, i) => ids[i].map((id): ReadCommand => ['hmget', `${prefix}:${name}:${id}`, ...JOB_FIELDS]));
  const hashReplies = await execReads(client, hashReads);
  const result = new Map<string, JobSample>();
  let at = 0;
  names.forEach((name, i) => {
    const writers = hashReplies.slice(at, (at += ids[i].length)).map((r) => jobWriter(Array.isArray(r) ? (r as (string | null)[]) : []));
    result.set(name, { signs: sampleSigns(writers), sampled: ids[i].length });
  });
  return result;
}
