import type { Cluster, Redis } from 'ioredis';
import { sleep } from '../util/sleep.js';
import type { Topology } from '../topology/types.js';
import { parseDlqItem, DLQ_FIELDS, shapeOf } from './sources.js';
import type { DlqItem } from './types.js';

/** running: a worker holds it (active); waiting: not picked up yet (waiting, delayed or prioritized). */
export type CanaryState = 'completed' | 'failed' | 'running' | 'waiting';
const pending = (state: CanaryState) => state === 'running' || state === 'waiting';

export interface CanaryResult {
  /** Every canary finished without failing again. */
  ok: boolean;
  timedOut: boolean;
  states: { ref: string; queue: string; id: string; state: CanaryState }[];
}

/**
 * Waits for retried items to finish in the real workers: completed (or removed, as
 * removeOnComplete does), or failed again (back in the failed set, or a new dead-letter item for
 * the same job). Stops at the first failure, or after timeoutMs.
 */
export async function watchCanaries(client: Redis | Cluster, prefix: string, items: DlqItem[], options: { timeoutMs: number; pollMs?: number; signal?: AbortSignal; topology: Topology }): Promise<CanaryResult> {
  const started = Date.now();
  const states = items.map((i) => ({ ref: i.ref, queue: i.queue, id: i.id, state: 'waiting' as CanaryState }));
  for (;;) {
    for (const [n, item] of items.entries()) {
      if (!pending(states[n].state)) continue;
      states[n].state = await stateOf(client, prefix, item, started, options.topology);
    }
    const failed = states.some((s) => s.state === 'failed');
    if (failed || states.every((s) => !pending(s.state))) return { ok: !failed, timedOut: false, states };
    if (Date.now() - started >= options.timeoutMs || options.signal?.aborted) return { ok: false, timedOut: true, states };
    await sleep(options.pollMs ?? 250, options.signal);
  }
}

async function stateOf(client: Redis | Cluster, prefix: string, item: DlqItem, since: number, topology: Topology): Promise<CanaryState> {
  const base = `${prefix}:${item.target ?? item.queue}:`;
  const [completed, failed, exists] = await Promise.all([client.zscore(`${base}completed`, item.id), client.zscore(`${base}failed`, item.id), client.exists(base + item.id)]);
  if (failed !== null) return 'failed';
  if (item.style === 'queue' && (await newDeadLetter(client, prefix, item, since, topology))) return 'failed';
  if (completed !== null || exists === 0) return 'completed';
  // Only a job a worker holds is running; the active list is as long as the workers' concurrency.
  return (await client.lpos(`${base}active`, item.id)) === null ? 'waiting' : 'running';
}

/** A dead letter for the same job written after the canary started (its worker failed it again). */
async function newDeadLetter(client: Redis | Cluster, prefix: string, item: DlqItem, since: number, topology: Topology): Promise<boolean> {
  const ids = await client.lrange(`${prefix}:${item.holder}:wait`, 0, 99);
  for (const id of ids) {
    if (id === item.holderId) continue;
    const fields = await client.hmget(`${prefix}:${item.holder}:${id}`, ...DLQ_FIELDS);
    const other = parseDlqItem(item.holder, id, fields, shapeOf(topology, item.holder));
    if (other && other.queue === item.queue && other.id === item.id && other.failedAt >= since) return true;
  }
  return false;
}
