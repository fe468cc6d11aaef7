import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';
import { hashTagOf, queuePrefix } from './keys.js';
import type { Routing } from './routing.js';

/**
 * Where a cross-slot run keeps its state. Every key carries the hash tag of the slot it must live
 * in, and none sits under a queue's own prefix, so no BullMQ script and no queue discovery sees it:
 *   source slot:      <prefix>:queuectl:xslot:<run>:{<source tag>}:inflight   "@:<token>" -> parked batch
 *                     <prefix>:queuectl:xslot:<run>:{<source tag>}:lease
 *                     <prefix>:queuectl:xslot:<run>:{<source tag>}:j:<id>     parked job hash (+ :logs)
 *   destination slot: <prefix>:queuectl:xslot:<run>:{<dest tag>}:copied:<dest> <token> -> copy verdicts
 * The copied-hash is named by the destination QUEUE, not by its position in the routing: the run id
 * does not depend on the topology, so a rerun after the topology file was edited (queues added,
 * removed, reordered) must still find every copy an earlier attempt made. One hash per queue (not
 * per tag) also keeps two destinations that share a tag from answering each other's verdicts.
 */
export interface CrossSlotLayout {
  /** Prefix of the parked job keys (ends with ':'). */
  flight: string;
  inflight: string;
  lease: string;
  /** The copied-hash of a destination queue (any queue, declared now or not). */
  copiedOf(queue: string): string;
  /** Copied-hash key of releases before the per-queue names (one per tag): read for old records only. */
  legacyCopiedOf(queue: string): string;
}

/** How long a run's lease lasts without renewal (every step renews it). */
export const LEASE_MS = 30_000;

export interface CrossSlotRun {
  layout: CrossSlotLayout;
  owner: string;
}

/** The source-slot keys the settle script takes, in its order. */
export function sourceKeys(src: string, run: CrossSlotRun): string[] {
  return [run.layout.inflight, ...['wait', 'prioritized', 'delayed', 'failed', 'marker', 'events', 'meta'].map((s) => src + s), run.layout.lease];
}

const base = (prefix: string, runId: string, tag: string) => `${prefix}:queuectl:xslot:${runId}:{${tag}}:`;

/** The tag a queue's keys hash by, or undefined when they have none (BullMQ cannot run there). */
function tagOf(prefix: string, queue: string): string | undefined {
  const key = queuePrefix(prefix, queue);
  const tag = hashTagOf(key);
  return tag === key ? undefined : tag;
}

/**
 * On a cluster: undefined when the source, its destinations and the run's journal share one slot
 * (the single-script move works), else the layout of the journaled copy-then-delete. Throws when
 * the queues have no hash tag at all, since BullMQ itself fails there with CROSSSLOT.
 */
export function crossSlotLayout(prefix: string, routing: Routing, journalKey: string, runId: string): CrossSlotLayout | undefined {
  const queues = [routing.from, ...routing.dests];
  const tags = queues.map((q) => tagOf(prefix, q));
  if (tags.some((t) => t === undefined)) {
    const untagged = queues.filter((_, i) => tags[i] === undefined);
    throw new UsageError(`on Redis Cluster, the keys of ${untagged.join(', ')} have no hash tag, so BullMQ cannot use them (CROSSSLOT)`, 'use a hash-tag prefix (prefix: "{bull}") or hash-tagged queue names ("{eccb-ocr}")');
  }
  if (new Set([...tags, hashTagOf(journalKey)]).size === 1) return undefined;
  if (prefix.includes('{')) {
    throw new UsageError(`prefix "${prefix}" has an unusable hash tag`, 'use a prefix of the form "{name}" or none');
  }
  const src = base(prefix, runId, tags[0]!);
  const destBase = (queue: string) => base(prefix, runId, tagOf(prefix, queue) ?? queue);
  return {
    flight: src,
    inflight: src + 'inflight',
    lease: src + 'lease',
    copiedOf: (queue) => `${destBase(queue)}copied:${queue}`,
    legacyCopiedOf: (queue) => `${destBase(queue)}copied`,
  };
}

/** Identifies this process as a lease holder: host, pid, and a nonce per run attempt. */
export function leaseOwner(): string {
  return `${hostname()}|${process.pid}|${randomBytes(4).toString('hex')}`;
}

/** Whether a lease holder is certainly gone: this host, and its pid is this process or no more. */
export function holderIsGone(holder: string): { gone: boolean; local: boolean; pid: number } {
  const [host, pidText] = holder.split('|');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid)) return { gone: false, local: false, pid };
  if (pid === process.pid) return { gone: true, local: true, pid };
  try {
    process.kill(pid, 0);
    return { gone: false, local: true, pid };
  } catch (error) {
    return { gone: (error as NodeJS.ErrnoException).code === 'ESRCH', local: true, pid };
  }
}
