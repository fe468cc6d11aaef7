import type { Cluster, Redis } from 'ioredis';
import type { Topology } from '../topology/types.js';
import { destinationKeys, queuePrefix, type MovableState } from './keys.js';
import { addMove, addStay, emptyPlan, recordStays, type Plan } from './plan.js';
import type { Routing } from './routing.js';
import { withMoveScript } from './apply.js';

export interface ScanOptions {
  client: Redis | Cluster;
  prefix: string;
  topology: Topology;
  routing: Routing;
  states: MovableState[];
  /** Jobs classified per round trip. */
  batch: number;
  signal?: AbortSignal;
}

/**
 * Builds the plan by classifying the source in windows, oldest first, with move-batch.lua in its
 * dry mode: the plan and the move decide with the same code, the script writes nothing, one round
 * trip covers a whole window, and only counts are kept, so memory is flat at any queue size.
 */
export async function scanPlan(options: ScanOptions): Promise<Plan> {
  const { prefix, routing, topology, states } = options;
  const { client } = options;
  const script = withMoveScript(client);
  const plan = emptyPlan(routing, states);
  const src = queuePrefix(prefix, routing.from);
  const destKeys = routing.dests.flatMap((d) => destinationKeys(prefix, d));
  const config = JSON.stringify({ dests: routing.dests.map((d) => queuePrefix(prefix, d)), names: routing.dests, routes: routing.routes });
  for (const state of states) {
    for (let offset = 0; ; offset += options.batch) {
      if (options.signal?.aborted) return plan;
      // The journal key is never written in dry mode; the source meta stands in for it.
      const keys = [src + state, src + 'events', src + 'meta', src + 'meta', ...destKeys];
      const [, , exhausted, stays, perDest] = await script.queuectlMoveBatch(keys.length, ...keys, state, src, options.batch, '', '', config, String(offset));
      perDest.forEach((n, i) => n > 0 && addMove(plan, routing.dests[i], state, n));
      const stayed = recordStays(plan, stays, routing, topology);
      plan.scanned += stayed + perDest.reduce((a, n) => a + n, 0);
      if (exhausted === 1) break;
    }
  }
  // Jobs that never move: still being processed, or parents waiting for their children.
  const [active, activeIds, children, childIds] = ((await client.pipeline().llen(src + 'active').lrange(src + 'active', -5, -1).zcard(src + 'waiting-children').zrange(src + 'waiting-children', 0, 4).exec()) ?? []).map((r) => r[1]);
  if (Number(active) > 0) addStay(plan, 'active', Number(active), activeIds as string[]);
  if (Number(children) > 0) addStay(plan, 'flow', Number(children), childIds as string[]);
  return plan;
}
