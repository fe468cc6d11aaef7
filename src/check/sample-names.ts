import type { Cluster, Redis } from 'ioredis';
import { InterruptedError } from '../errors.js';
import { execReads, type ReadCommand } from '../inspect/reads.js';
import type { MisroutedJobs } from './types.js';

/**
 * States whose job names are read. wait, prioritized and delayed are what migrate moves and what a
 * worker of the wrong queue would run next; failed jobs get retried into the queue that holds them
 * (and migrate can move them with --states failed); active shows a producer is misrouting right
 * now. completed is left out: finished jobs are history, not something to re-route, and the set is
 * often the largest. waiting-children is left out: flow jobs are never moved.
 */
export const SAMPLED_STATES = [
  { state: 'wait', type: 'list' },
  { state: 'prioritized', type: 'zset' },
  { state: 'delayed', type: 'zset' },
  { state: 'active', type: 'list' },
  { state: 'failed', type: 'zset' },
  // Only data written by BullMQ 5.x has a `paused` list (6.x keeps paused jobs in `wait`).
  { state: 'paused', type: 'list' },
] as const;

export interface SampleOptions {
  /** Jobs read from each end of each state (ignored with deep). */
  sample: number;
  /** Read every job, in batches of `batch` (default 1000): memory stays flat. */
  deep: boolean;
  batch?: number;
  /** How many example ids to keep per name. */
  examples?: number;
  signal?: AbortSignal;
}

/** Index ranges [start, stop] (inclusive) that cover the first and last `n` of `length` items, once each. */
export function sampleRanges(length: number, n: number): [number, number][] {
  if (length <= 0 || n <= 0) return [];
  if (length <= 2 * n) return [[0, length - 1]];
  return [[0, n - 1], [length - n, length - 1]];
}

/** Consecutive ranges of at most `batch` items covering all of `length`. */
export function batchRanges(length: number, batch: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let start = 0; start < length; start += batch) ranges.push([start, Math.min(length, start + batch) - 1]);
  return ranges;
}

type Cmd = ReadCommand;

/**
 * Finds jobs in `queue` whose name the queue does not own. Read-only (LLEN, ZCARD, LRANGE, ZRANGE,
 * HGET), so it runs under a read-only ACL user. Sampled: the first and last `sample` jobs of each
 * state (misrouting starts at a deploy, so the newest and oldest jobs show it); deep: every job,
 * `batch` ids and one pipeline of HGETs at a time. With producers and workers running, indexes
 * shift between batches, so a deep count is exact only on a quiet queue.
 */
export async function findMisrouted(
  client: Redis | Cluster,
  prefix: string,
  queue: string,
  owns: ReadonlySet<string>,
  options: SampleOptions,
): Promise<MisroutedJobs[]> {
  const base = `${prefix}:${queue}:`;
  const keep = options.examples ?? 3;
  const lengths = (await execReads(
    client,
    SAMPLED_STATES.map(({ state, type }) => [type === 'list' ? 'llen' : 'zcard', base + state] as Cmd),
  )) as number[];
  const found = new Map<string, MisroutedJobs>();

  const readRanges = async (ranges: { key: string; type: 'list' | 'zset'; active: boolean; failed?: boolean; range: [number, number] }[]) => {
    const idLists = (await execReads(
      client,
      ranges.map(({ key, type, range }) => [type === 'list' ? 'lrange' : 'zrange', key, range[0], range[1]] as Cmd),
    )) as (string[] | null)[];
    // null: the key is not of the expected type (execReads maps WRONGTYPE to null).
    const jobs = ranges.flatMap((r, i) => (idLists[i] ?? []).map((id) => ({ id, active: r.active, failed: r.failed === true })));
    const names = (await execReads(client, jobs.map(({ id }) => ['hget', base + id, 'name'] as Cmd))) as (string | null)[];
    jobs.forEach(({ id, active, failed }, i) => {
      const name = names[i];
      // A null name: the job was removed between the two reads.
      if (name === null || name === undefined || owns.has(name)) return;
      const entry = found.get(name) ?? { queue, name, count: 0, active: 0, failed: 0, examples: [] };
      entry.count++;
      if (active) entry.active++;
      if (failed) entry.failed = (entry.failed ?? 0) + 1;
      if (entry.examples.length < keep) entry.examples.push(id);
      found.set(name, entry);
    });
  };

  const batch = options.batch ?? 1000;
  if (options.deep) {
    for (const [i, { state, type }] of SAMPLED_STATES.entries()) {
      for (const range of batchRanges(lengths[i] ?? 0, batch)) {
        if (options.signal?.aborted) throw new InterruptedError('topology check interrupted', 'it wrote nothing; rerun it');
        await readRanges([{ key: base + state, type, active: state === 'active', failed: state === 'failed', range }]);
      }
    }
  } else {
    await readRanges(
      SAMPLED_STATES.flatMap(({ state, type }, i) =>
        sampleRanges(lengths[i] ?? 0, options.sample).map((range) => ({ key: base + state, type, active: state === 'active', failed: state === 'failed', range })),
      ),
    );
  }
  // Ids in reading order are newest-first for `wait`; numeric order reads better in a report.
  for (const entry of found.values()) entry.examples.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return [...found.values()].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}
