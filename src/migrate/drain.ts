import type { Cluster, Redis } from 'ioredis';
import { queuePrefix } from './keys.js';
import { sleep } from '../util/sleep.js';
import { escapeGlob, unlinkMatching } from '../redis/scan.js';
import { readWorkers } from '../inspect/read-queues.js';

/** Jobs a legacy queue still has to run, and its automatic-id counter (INCR on every add). */
export interface DrainSample {
  at: number;
  pending: number;
  active: number;
  /** BullMQ INCRs `id` on every add, custom ids included: a rising counter means producers still write. */
  added: number;
  failed: number;
  completed: number;
}

export async function sampleQueue(client: Redis | Cluster, prefix: string, queue: string): Promise<DrainSample> {
  const p = queuePrefix(prefix, queue);
  const r = ((await client.pipeline().llen(p + 'wait').llen(p + 'paused').zcard(p + 'prioritized').zcard(p + 'delayed').zcard(p + 'waiting-children').llen(p + 'active').get(p + 'id').zcard(p + 'failed').zcard(p + 'completed').exec()) ?? []).map((x) => Number(x[1] ?? 0));
  return { at: Date.now(), pending: r[0] + r[1] + r[2] + r[3] + r[4], active: r[5], added: r[6], failed: r[7], completed: r[8] };
}

/**
 * Worker connections consuming the queue (BullMQ names them; see inspect's readWorkers), or
 * undefined when CLIENT LIST is refused and nobody can tell.
 */
export async function countWorkers(masters: Redis[], prefix: string, queue: string): Promise<number | undefined> {
  const workers = await readWorkers(masters, prefix, [queue]);
  return workers ? (workers.get(queue)?.length ?? 0) : undefined;
}

export interface DrainEvents {
  onSample?(sample: DrainSample, ratePerSec: number, arrivals: number): void;
  /** Called when the number of workers consuming the queue changes (first reading included). */
  onWorkers?(workers: number | undefined, sample: DrainSample): void;
}

/** Samples between two CLIENT LIST readings: cheap enough, and a stalled drain is told within seconds. */
const WORKER_CHECK_EVERY = 5;

/**
 * Watches old workers empty the queue. Resolves once nothing is pending or active and nothing was
 * added for quietMs; false if aborted first. With `workers`, says (onWorkers) whenever nobody
 * consumes the queue: then nothing will ever drain it and waiting is pointless.
 */
export async function watchDrain(options: { sample: () => Promise<DrainSample>; quietMs: number; pollMs?: number; signal?: AbortSignal; workers?: () => Promise<number | undefined> } & DrainEvents): Promise<DrainSample | undefined> {
  let previous = await options.sample();
  let quietSince = Date.now();
  let seenWorkers: number | undefined | null = null;
  for (let round = 0; ; round++) {
    if (options.signal?.aborted) return undefined;
    const empty = previous.pending + previous.active === 0;
    if (empty && Date.now() - quietSince >= options.quietMs) return previous;
    if (options.workers && round % WORKER_CHECK_EVERY === 0) {
      const workers = await options.workers();
      if (workers !== seenWorkers) options.onWorkers?.(workers, previous);
      seenWorkers = workers;
    }
    await sleep(options.pollMs ?? 1000, options.signal);
    if (options.signal?.aborted) return undefined;
    const now = await options.sample();
    const arrivals = Math.max(0, now.added - previous.added);
    const done = Math.max(0, previous.pending + previous.active + arrivals - now.pending - now.active);
    const rate = (done / Math.max(1, now.at - previous.at)) * 1000;
    if (arrivals > 0 || now.pending + now.active > 0) quietSince = Date.now();
    options.onSample?.(now, rate, arrivals);
    previous = now;
  }
}

/**
 * What deleting a drained queue removes, by state: the jobs that remain (failed and completed are
 * history the drain leaves behind; anything pending means it was not drained), beside the
 * queue's own bookkeeping keys.
 */
export function removalLines(sample: DrainSample): string[] {
  const lines: [number, string][] = [[sample.failed, 'failed'], [sample.completed, 'completed'], [sample.pending, 'pending'], [sample.active, 'active']];
  return lines.filter(([n]) => n > 0).map(([n, state]) => `${n} ${state} job(s)`);
}

/** Deletes every key of a queue: SCAN `<prefix>:<queue>:*` on each master, UNLINK in batches. */
export async function deleteQueueKeys(nodes: Redis[], prefix: string, queue: string): Promise<number> {
  return unlinkMatching(nodes, `${escapeGlob(queuePrefix(prefix, queue))}*`);
}
