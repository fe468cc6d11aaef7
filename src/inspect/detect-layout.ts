import type { Cluster, Redis } from 'ioredis';
import type { Topology } from '../topology/types.js';
import { bullmqSigns, bullSigns, evidenceReads, judgeLayout, mergeSigns, type LayoutVerdict } from './layout.js';
import { sampleJobs } from './job-sample.js';
import { execReads } from './reads.js';

/** A legacy queue's layout as migrate and dlq judge it, and how many of its jobs were sampled. */
export interface DetectedLayout {
  verdict: LayoutVerdict;
  /** Jobs found to sample (0: the queue holds none, so there is nothing to mistranslate yet). */
  sampled: number;
}

/**
 * Which library wrote a queue: the topology's `kind` (checked against the keys), else the keys'
 * signs (src/inspect/layout.ts) together with a sample of its jobs (src/inspect/job-sample.ts),
 * the same evidence inspect and topology check use. Read commands only; a few dozen at most.
 */
export async function detectLayout(client: Redis | Cluster, prefix: string, topology: Topology, name: string): Promise<DetectedLayout> {
  const declared = topology.queues[name] ? 'bullmq' : topology.legacy[name]?.kind;
  const [meta, ...evidence] = await execReads(client, [['hmget', `${prefix}:${name}:meta`, 'version', 'opts.maxLenEvents'], ...evidenceReads(prefix, name)]);
  const [version, maxLenEvents] = Array.isArray(meta) ? meta : [];
  const keySigns = { bull: bullSigns(evidence), bullmq: bullmqSigns(version, maxLenEvents) };
  // Declared, or Bull's by its keys (the jobs would not change that): no sample. Keys that say
  // BullMQ are checked against the jobs too: a BullMQ Queue opened on a Bull queue's name writes
  // BullMQ's meta over Bull's jobs, and moving those untranslated would corrupt them.
  if (declared || keySigns.bull.length > 0) return { verdict: judgeLayout(declared, keySigns), sampled: 0 };
  // No kind: the jobs are the rest of the evidence, and mixed evidence is a conflict, not a vote.
  const sample = (await sampleJobs(client, prefix, [name])).get(name)!;
  return { verdict: judgeLayout(undefined, mergeSigns(keySigns, sample.signs)), sampled: sample.sampled };
}
