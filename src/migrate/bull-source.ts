import type { Cluster, Redis } from 'ioredis';
import type { Topology } from '../topology/types.js';
import { bullmqSigns, bullSigns, evidenceReads, judgeLayout } from '../inspect/layout.js';
import { execReads } from '../inspect/reads.js';
import { UsageError } from '../errors.js';

/**
 * Whether `migrate --from` reads a Bull queue: the legacy entry's `kind`, else its keys, judged as
 * inspect and topology check judge them (src/inspect/layout.ts); a layout conflict is refused. A Bull queue with no Bull-only
 * key (never paused, never a prioritized job) needs `kind: bull`: read as BullMQ, its job hashes
 * would move with Bull's options and field names.
 */
export async function isBullSource(client: Redis | Cluster, prefix: string, topology: Topology, from: string): Promise<boolean> {
  if (topology.queues[from]) return false;
  const declared = topology.legacy[from]?.kind;
  const [meta, ...evidence] = await execReads(client, [['hmget', `${prefix}:${from}:meta`, 'version', 'opts.maxLenEvents'], ...evidenceReads(prefix, from)]);
  const [version, maxLenEvents] = Array.isArray(meta) ? meta : [];
  const verdict = judgeLayout(declared, { bull: bullSigns(evidence), bullmq: bullmqSigns(version, maxLenEvents) });
  // Moving by the wrong library's layout would carry the other's fields into BullMQ: refuse.
  if (verdict.conflict) throw new UsageError(`migrate --from ${from}: ${verdict.conflict}; migrate moved nothing`, 'see `queuectl topology check` (queue-layout-conflict) for what to fix');
  return verdict.read === 'bull';
}
