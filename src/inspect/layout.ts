import type { QueueLayoutName, Topology } from '../topology/types.js';
import type { ReadCommand } from './reads.js';
import type { QueueTarget } from './read-queues.js';
import type { LiveQueue } from './types.js';

/**
 * Which library wrote a queue's keys: BullMQ, or Bull 3.x/4.x (both default to the prefix
 * `bull`, so the same name under the same prefix is the same keys). The two layouts share most
 * keys (wait/active lists, delayed/completed/failed zsets, job hashes, `id`) but not all:
 *
 * - BullMQ (every version) writes `meta.opts.maxLenEvents` with a queue's first job (its add
 *   scripts call getOrSetMaxEvents) and `meta.version` when a Queue connects. Bull never writes
 *   either: its only `meta` field is `paused`, "for forwards compatibility" (bull pause-5.lua).
 * - Bull alone keeps a `meta-paused` string while paused (getTargetQueueList) and a `priority`
 *   zset beside the wait list for prioritized jobs (addJobWithPriority); BullMQ 4+ has
 *   `prioritized` instead, and never either Bull key.
 *
 * A Bull queue with neither sign (no pause, no priority) has its jobs to tell: a legacy queue with
 * no `kind:` and no key sign has a few job hashes sampled (src/inspect/job-sample.ts: Bull fills
 * opts.timestamp/delay/attempts in, BullMQ does not). Still no sign: `undecided` (read as BullMQ
 * for counting; migrate and dlq writes refuse it). Signs of both libraries on one queue are a
 * conflict, reported as such (two libraries sharing one queue's keys).
 */

/** Reads every layout appends to its own, one command each, so evidence costs two per queue. */
export function evidenceReads(prefix: string, name: string): ReadCommand[] {
  return [['exists', `${prefix}:${name}:meta-paused`], ['zcard', `${prefix}:${name}:priority`]];
}
export const EVIDENCE_READS = 2;

/** What the keys say about their writer; each sign names the key that shows it. */
export interface LayoutSigns {
  bull: string[];
  bullmq: string[];
}

/** Bull's signs from the evidence replies; BullMQ's come from the layout's own `meta` read. */
export function bullSigns(replies: unknown[]): string[] {
  const signs: string[] = [];
  if (Number(replies[0] ?? 0) > 0) signs.push('meta-paused key');
  if (Number(replies[1] ?? 0) > 0) signs.push('priority zset');
  return signs;
}

/** BullMQ's signs from `meta`'s version and opts.maxLenEvents fields. */
export function bullmqSigns(version: unknown, maxLenEvents: unknown): string[] {
  const signs: string[] = [];
  if (typeof version === 'string' && version !== '') signs.push(`meta.version ${version}`);
  if (maxLenEvents !== null && maxLenEvents !== undefined) signs.push('meta.opts.maxLenEvents');
  return signs;
}

/** How a queue is read and why; `conflict` says what contradicts it (reported by topology check). */
export interface LayoutVerdict {
  read: QueueLayoutName;
  /** `declared`: the topology's `kind`; `keys`: detected from signs (or BullMQ for want of any). */
  from: 'declared' | 'keys';
  signs: LayoutSigns;
  conflict?: string;
  /** No `kind:` and no sign of either library: read as BullMQ, but nothing says it is. */
  undecided?: boolean;
}

/** Merges two sets of signs (the keys', then a job sample's). */
export function mergeSigns(a: LayoutSigns, b: LayoutSigns): LayoutSigns {
  return { bull: [...a.bull, ...b.bull], bullmq: [...a.bullmq, ...b.bullmq] };
}

/** The one line migrate and dlq refuse an undecided or conflicting legacy queue with. */
export function undecidedLine(name: string, verdict: LayoutVerdict): string | undefined {
  if (verdict.conflict) return `"${name}": ${verdict.conflict}`;
  if (verdict.undecided) return `"${name}" shows no sign of Bull or BullMQ in its keys or sampled jobs: declare kind: bull or kind: bullmq under legacy: in the topology`;
  return undefined;
}

/** Decides the layout from the topology's `kind` (if any) and the signs. Pure. */
export function judgeLayout(declared: QueueLayoutName | undefined, signs: LayoutSigns): LayoutVerdict {
  const both = signs.bull.length > 0 && signs.bullmq.length > 0;
  const detected: QueueLayoutName = signs.bull.length > 0 && !both ? 'bull' : 'bullmq';
  const verdict: LayoutVerdict = { read: declared ?? detected, from: declared ? 'declared' : 'keys', signs };
  const list = (s: string[]) => s.join(', ');
  if (!declared && signs.bull.length + signs.bullmq.length === 0) verdict.undecided = true;
  if (both) {
    verdict.conflict = `keys of both Bull (${list(signs.bull)}) and BullMQ (${list(signs.bullmq)}): two libraries share this queue's keys`;
  } else if (declared === 'bull' && signs.bullmq.length > 0) {
    verdict.conflict = `declared kind: bull, but its keys are BullMQ's (${list(signs.bullmq)})`;
  } else if (declared === 'bullmq' && signs.bull.length > 0) {
    verdict.conflict = `declared as a BullMQ queue, but its keys are Bull's (${list(signs.bull)})`;
  }
  return verdict;
}

/** The plain sentence for a detected layout, e.g. "Bull queue (detected: priority zset)". */
export function describeLayout(verdict: LayoutVerdict): string {
  const library = verdict.read === 'bull' ? 'Bull' : 'BullMQ';
  if (verdict.undecided) return 'Bull or BullMQ: no sign of either library in its keys or sampled jobs (declare kind: bull or kind: bullmq)';
  return verdict.from === 'declared' ? `${library} queue (kind: ${verdict.read} in the topology)` : `${library} queue (detected: ${verdict.signs[verdict.read].join(', ')})`;
}

/**
 * One library's per-queue reads, side by side: BullMQ's in read-queues.ts, Bull's in
 * bull-reads.ts. readQueues picks one per queue and never asks which it holds.
 */
export interface QueueLayoutReader {
  name: QueueLayoutName;
  /** Read commands for one queue (the evidence reads are appended by the caller). */
  reads(prefix: string, name: string): ReadCommand[];
  /** Parses the replies of `reads` then of evidenceReads, in that order. Pure. */
  parse(target: QueueTarget, replies: unknown[], prefix: string): LayoutFirstRound;
}

/** A layout's first-round result: the queue, the id whose timestamp is the oldest wait, BullMQ's signs. */
export interface LayoutFirstRound {
  queue: Omit<LiveQueue, 'oldestWaitingMs' | 'workers'>;
  oldestId?: string;
  bullmqSigns: string[];
}

/**
 * The `layout` of a queue target: BullMQ for a declared queue (queuectl declares BullMQ queues, so
 * Bull's keys there are a conflict), a legacy entry's `kind` when the topology gives one.
 */
export function declaredLayout(topology: Topology | undefined, name: string): { layout?: QueueLayoutName } {
  const kind = topology?.queues[name] ? 'bullmq' : topology?.legacy[name]?.kind;
  return kind ? { layout: kind } : {};
}
