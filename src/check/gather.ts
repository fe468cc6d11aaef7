import { discoverQueues } from '../inspect/discover.js';
import { declaredLayout } from '../inspect/layout.js';
import { readQueues, type QueueTarget } from '../inspect/read-queues.js';
import { readRedisHealth } from '../redis/health.js';
import { redisScheduleReader } from '../schedules/redis-reader.js';
import type { RedisHandle } from '../redis/types.js';
import type { Topology } from '../topology/types.js';
import { findMisrouted } from './sample-names.js';
import type { LiveFacts, MisroutedJobs } from './types.js';
import { readWorkerConnections } from './workers.js';

export interface GatherOptions {
  /** Jobs read from each end of each state; ignored with deep. */
  sample: number;
  deep: boolean;
  signal?: AbortSignal;
  /** Queues sampled at once (each sample is two round trips). */
  parallel?: number;
}

/**
 * Reads what `topology check` compares on Redis (behind CheckSource: redis-source.ts; the
 * PostgreSQL twin is postgres-source.ts), with read commands only (SCAN, LLEN/ZCARD, LRANGE/ZRANGE,
 * HGET/HMGET/HGETALL, EXISTS, INFO, CONFIG GET, CLIENT LIST), so a read-only ACL user can run it.
 * Declared and legacy queues are read even when SCAN does not find them.
 */
export async function gatherLiveFacts(handle: RedisHandle, topology: Topology, prefix: string, options: GatherOptions): Promise<LiveFacts> {
  const masters = await handle.masters();
  const discovered = await discoverQueues(masters, prefix, { signal: options.signal });
  const targets: QueueTarget[] = [
    ...Object.keys(topology.queues).map((name) => ({ name, kind: 'declared' as const, ...declaredLayout(topology, name) })),
    ...Object.keys(topology.legacy).filter((name) => !topology.queues[name] && !topology.legacy[name]?.table).map((name) => ({ name, kind: 'legacy' as const, ...declaredLayout(topology, name) })), // table sources: src/table/check.ts
  ];
  const known = new Set(targets.map((t) => t.name));
  for (const name of discovered) if (!known.has(name)) targets.push({ name, kind: 'undeclared' });

  // Workers come from our own CLIENT LIST parse: it also finds workers of queues with no keys.
  const [queues, health, workers, schedulers] = await Promise.all([
    readQueues(handle, prefix, targets, { workers: false }),
    readRedisHealth(handle),
    readWorkerConnections(masters, prefix),
    redisScheduleReader(handle, prefix).read(Object.keys(topology.queues)),
  ]);

  const sampled = samplingTargets(topology).filter((name) => queues.some((q) => q.name === name && q.exists));
  const misrouted: MisroutedJobs[] = [];
  // --deep reads one queue at a time, so memory stays one batch; a sample reads a few queues at once.
  const parallel = options.deep ? 1 : (options.parallel ?? 8);
  for (let i = 0; i < sampled.length; i += parallel) {
    const chunk = sampled.slice(i, i + parallel);
    const found = await Promise.all(chunk.map((name) =>
      findMisrouted(handle.client, prefix, name, new Set(topology.queues[name]!.jobs), options)));
    misrouted.push(...found.flat());
  }
  return { queues, health, misrouted, workers, deep: options.deep, schedulers };
}

/**
 * Declared queues whose job names are checked. A dead-letter queue is skipped: it holds other
 * queues' jobs by design. Legacy queues are skipped too (legacy-has-jobs already covers them), and
 * undeclared ones own nothing to compare with.
 */
export function samplingTargets(topology: Topology): string[] {
  const deadLetters = new Set(
    Object.values(topology.queues).flatMap((q) => (q.deadLetter?.kind === 'queue' ? [q.deadLetter.queue] : [])),
  );
  return Object.keys(topology.queues).filter((name) => !deadLetters.has(name));
}
