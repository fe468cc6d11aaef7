import type { Cluster, Redis } from 'ioredis';
import type { Topology } from '../topology/types.js';
import { queuePrefix, type MovableState } from './keys.js';
import { addStay, classify, emptyPlan, recordVerdict, type Plan, type ScannedJob } from './plan.js';
import type { Routing } from './routing.js';

export interface ScanOptions {
  client: Redis | Cluster;
  prefix: string;
  topology: Topology;
  routing: Routing;
  states: MovableState[];
  /** Jobs read per round trip. */
  batch: number;
  signal?: AbortSignal;
}

/**
 * Builds the plan by reading the source in windows (LRANGE/ZRANGE) with one pipeline per window:
 * memory stays flat whatever the queue's size, since only counts are kept.
 */
export async function scanPlan(options: ScanOptions): Promise<Plan> {
  const { client, prefix, routing, states } = options;
  const plan = emptyPlan(routing, states);
  const src = queuePrefix(prefix, routing.from);
  for (const state of states) {
    for await (const ids of windows(client, src + state, state === 'wait', options.batch)) {
      if (options.signal?.aborted) return plan;
      await classifyWindow(options, plan, ids, state);
    }
  }
  // Jobs that never move: still being processed, or parents waiting for their children.
  const [active, activeIds, children, childIds] = ((await client.pipeline().llen(src + 'active').lrange(src + 'active', -5, -1).zcard(src + 'waiting-children').zrange(src + 'waiting-children', 0, 4).exec()) ?? []).map((r) => r[1]);
  if (Number(active) > 0) addStay(plan, 'active', Number(active), activeIds as string[]);
  if (Number(children) > 0) addStay(plan, 'flow', Number(children), childIds as string[]);
  return plan;
}

/** Oldest first: the tail of a list (where workers take from), the lowest scores of a zset. */
async function* windows(client: Redis | Cluster, key: string, isList: boolean, batch: number): AsyncGenerator<string[]> {
  for (let offset = 0; ; offset += batch) {
    const ids = isList ? (await client.lrange(key, -(offset + batch), -(offset + 1))).reverse() : await client.zrange(key, offset, offset + batch - 1);
    if (ids.length === 0) return;
    yield ids;
    if (ids.length < batch) return;
  }
}

async function classifyWindow(options: ScanOptions, plan: Plan, ids: string[], state: MovableState): Promise<void> {
  const { client, prefix, routing, topology } = options;
  const src = queuePrefix(prefix, routing.from);
  const read = client.pipeline();
  for (const id of ids) {
    read.hmget(src + id, 'name', 'parentKey', 'rjk');
    read.exists(`${src}${id}:dependencies`);
  }
  const replies = (await read.exec()) ?? [];
  const jobs: ScannedJob[] = ids.map((id, i) => {
    const [err, fields] = replies[2 * i] as [Error | null, (string | null)[]];
    if (err) throw err;
    return { id, state, name: fields[0], parentKey: fields[1], rjk: fields[2], hasDependencies: Number(replies[2 * i + 1]?.[1]) > 0 };
  });
  // Second round trip only for the jobs that would move: does the destination hold the id already?
  const moving = jobs.map((job) => ({ job, verdict: classify(job, routing, topology) })).filter((x) => 'dest' in x.verdict);
  if (moving.length > 0) {
    const check = client.pipeline();
    for (const { job, verdict } of moving) check.exists(queuePrefix(prefix, (verdict as { dest: string }).dest) + job.id);
    const exists = (await check.exec()) ?? [];
    moving.forEach(({ job }, i) => (job.destinationHas = Number(exists[i]?.[1]) > 0));
  }
  for (const job of jobs) recordVerdict(plan, job, classify(job, routing, topology));
}
