import type { Cluster, Redis } from 'ioredis';
import { queuePrefix } from './keys.js';
import { sleep } from '../util/sleep.js';
import { escapeGlob, unlinkMatching } from '../redis/scan.js';

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

export interface DrainEvents {
  onSample?(sample: DrainSample, ratePerSec: number, arrivals: number): void;
}

/**
 * Watches old workers empty the queue. Resolves once nothing is pending or active and nothing was
 * added for quietMs; false if aborted first.
 */
export async function watchDrain(options: { client: Redis | Cluster; prefix: string; queue: string; quietMs: number; pollMs?: number; signal?: AbortSignal } & DrainEvents): Promise<DrainSample | undefined> {
  let previous = await sampleQueue(options.client, options.prefix, options.queue);
  let quietSince = Date.now();
  for (;;) {
    if (options.signal?.aborted) return undefined;
    const empty = previous.pending + previous.active === 0;
    if (empty && Date.now() - quietSince >= options.quietMs) return previous;
    await sleep(options.pollMs ?? 1000, options.signal);
    if (options.signal?.aborted) return undefined;
    const now = await sampleQueue(options.client, options.prefix, options.queue);
    const arrivals = Math.max(0, now.added - previous.added);
    const done = Math.max(0, previous.pending + previous.active + arrivals - now.pending - now.active);
    const rate = (done / Math.max(1, now.at - previous.at)) * 1000;
    if (arrivals > 0 || now.pending + now.active > 0) quietSince = Date.now();
    options.onSample?.(now, rate, arrivals);
    previous = now;
  }
}

/** Deletes every key of a queue: SCAN `<prefix>:<queue>:*` on each master, UNLINK in batches. */
export async function deleteQueueKeys(nodes: Redis[], prefix: string, queue: string): Promise<number> {
  return unlinkMatching(nodes, `${escapeGlob(queuePrefix(prefix, queue))}*`);
}
