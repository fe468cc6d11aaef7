import type { Cluster, Redis } from 'ioredis';
import type { Topology } from '../topology/types.js';
import { detectLayout } from '../inspect/detect-layout.js';
import { undecidedLine } from '../inspect/layout.js';
import { UsageError } from '../errors.js';

/**
 * Whether `migrate --from` reads a Bull queue: the legacy entry's `kind`, else its keys and a
 * sample of its jobs, judged as inspect and topology check judge them (src/inspect/detect-layout.ts).
 * Moving by the wrong library's layout would carry the other's fields into BullMQ, so a conflict
 * is refused, and so is a queue nothing tells apart when it holds jobs (or --follow would take
 * jobs still to come): never a guess followed by a write.
 */
export async function isBullSource(client: Redis | Cluster, prefix: string, topology: Topology, from: string, follow = false): Promise<boolean> {
  if (topology.queues[from]) return false;
  const { verdict, sampled } = await detectLayout(client, prefix, topology, from);
  const refusal = verdict.conflict || (verdict.undecided && (sampled > 0 || follow)) ? undecidedLine(from, verdict) : undefined;
  if (refusal) {
    const hint = verdict.conflict ? 'see `queuectl topology check` (queue-layout-conflict) for what to fix' : `legacy: { ${from}: { kind: bull } } for a Bull 3.x/4.x queue, kind: bullmq for a BullMQ one`;
    throw new UsageError(`migrate --from ${from}: ${refusal}; migrate moved nothing`, hint);
  }
  return verdict.read === 'bull';
}

/**
 * `--strategy drain` waits for the old workers, counted by BullMQ's client names, and judges
 * arrivals by BullMQ's keys: on a Bull queue it would say nobody consumes it while Bull workers do.
 * Refused for a Bull queue (declared or detected) and for one nothing tells apart that holds jobs.
 */
export async function refuseBullDrain(client: Redis | Cluster, prefix: string, topology: Topology, from: string): Promise<void> {
  if (topology.queues[from]) return;
  const { verdict, sampled } = await detectLayout(client, prefix, topology, from);
  if (verdict.read === 'bull' || verdict.conflict || (verdict.undecided && sampled > 0)) {
    const why = verdict.read === 'bull' && !verdict.conflict ? `"${from}" is a Bull queue, and drain counts only BullMQ's workers` : undecidedLine(from, verdict);
    throw new UsageError(`migrate --strategy drain: ${why}; nothing was deleted`, `move its jobs instead: queuectl migrate --from ${from}`);
  }
}
