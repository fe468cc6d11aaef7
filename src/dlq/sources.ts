import { UsageError } from '../errors.js';
import { assertKnownQueues } from '../util/queue-names.js';
import type { DeadLetterFields, Topology } from '../topology/types.js';
import { DEFAULT_FIELDS, readCarried } from './shape.js';
import { MARK_FIELDS, type DlqItem, type DlqSource, type DlqStatus } from './types.js';

/**
 * Where each declared queue's dead letters are (and a Bull legacy queue's failed set), grouped so that a dead-letter queue shared by
 * several queues is read once. `only` (from --queue) keeps the sources that hold those queues'
 * dead letters; a name that is neither a declared queue nor a dead-letter queue is a usage error.
 */
export function dlqSources(topology: Topology, only?: string[]): DlqSource[] {
  const failed: string[] = [];
  const dlqs = new Map<string, string[]>();
  const shapes = new Map<string, { fields?: DeadLetterFields; by: string }>();
  for (const queue of Object.values(topology.queues)) {
    const dl = queue.deadLetter ?? { kind: 'failed' as const };
    if (dl.kind === 'failed') {
      failed.push(queue.name);
      continue;
    }
    dlqs.set(dl.queue, [...(dlqs.get(dl.queue) ?? []), queue.name]);
    // One dead-letter queue holds one item shape: two feeding queues may not declare two.
    const first = shapes.get(dl.queue);
    if (!first) shapes.set(dl.queue, { fields: dl.fields, by: queue.name });
    else if (JSON.stringify(first.fields ?? null) !== JSON.stringify(dl.fields ?? null)) {
      throw new UsageError(`queues ${first.by} and ${queue.name} declare different deadLetter.fields for the dead-letter queue ${dl.queue}`, 'declare one item shape per dead-letter queue (e.g. in defaults.deadLetter)');
    }
  }
  // A Bull legacy queue (kind: bull, or detected: legacy-kinds.ts) keeps its failed jobs in a
  // failed set of the same shape: list, show, stats and discard read it; retry moves each into the
  // BullMQ queue owning its name (bull-retry.ts), so its names are read even for --all.
  const bull = Object.values(topology.legacy).filter((l) => l.kind === 'bull').map((l) => l.name);
  const sources: DlqSource[] = [
    ...failed.map((queue): DlqSource => ({ style: 'failed', queue })),
    ...bull.map((queue): DlqSource => ({ style: 'failed', queue, routed: true })),
    ...[...dlqs].map(([dlq, feeds]): DlqSource => {
      const fields = shapes.get(dlq)?.fields;
      return fields ? { style: 'queue', dlq, feeds, fields } : { style: 'queue', dlq, feeds };
    }),
  ];
  if (!only) return sources;
  const legacy = Object.keys(topology.legacy);
  const known = new Set([...Object.keys(topology.queues), ...dlqs.keys(), ...legacy]);
  assertKnownQueues(only, known, { flag: '--queue', isNot: 'is not a declared queue or dead-letter queue' });
  // A legacy queue's jobs may have been dead-lettered into any dead-letter queue.
  const anyLegacy = only.some((q) => legacy.includes(q));
  return sources.filter((s) => (s.style === 'failed' ? only.includes(s.queue) : anyLegacy || only.includes(s.dlq) || s.feeds.some((f) => only.includes(f))));
}

/** Fields read from a failed job's hash (style a), in this order. */
export const FAILED_FIELDS = ['name', 'failedReason', 'atm', 'attemptsMade', 'data'] as const;

/** Fields read from a dead-letter queue item's hash (style b), in this order. */
export const DLQ_FIELDS = ['name', 'data', 'timestamp', MARK_FIELDS.status] as const;

function orgOf(data: unknown): string | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const d = data as Record<string, unknown>;
  const org = d.orgId ?? d.organizationId;
  return org === undefined || org === null ? undefined : String(org);
}

function parseJson(text: string | null | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A style (a) item from the failed set's score (finishedOn) and the hash fields. Pure. */
export function parseFailedItem(queue: string, id: string, score: number, fields: (string | null)[]): DlqItem | undefined {
  const [name, failedReason, atm, attemptsMade, data] = fields;
  // A member whose hash is gone (removed meanwhile) is not an item.
  if (name === null && failedReason === null && atm === null) return undefined;
  const item: DlqItem = {
    ref: `${queue}/${id}`, style: 'failed', holder: queue, holderId: id, queue, id,
    name: name ?? '', failedReason: failedReason ?? '', attemptsMade: Number(atm ?? attemptsMade ?? 0) || 0,
    failedAt: score, status: 'pending',
  };
  const org = orgOf(parseJson(data));
  if (org !== undefined) item.orgId = org;
  return item;
}

/**
 * A style (b) item from a dead-letter queue job's hash fields (DLQ_FIELDS), read with the queue's
 * item shape. An item that does not fit it is returned with `unreadable` set. Pure.
 */
export function parseDlqItem(dlq: string, holderId: string, fields: (string | null)[], shape: DeadLetterFields = DEFAULT_FIELDS): DlqItem | undefined {
  const [jobName, data, timestamp, status] = fields;
  // No hash (removed meanwhile): not an item.
  if (jobName == null && data == null && timestamp == null) return undefined;
  const carried = readCarried(data, shape);
  const base = { ref: `${dlq}/${holderId}`, style: 'queue' as const, holder: dlq, holderId, status: toStatus(status) };
  if ('problem' in carried) {
    return { ...base, queue: '', id: '', name: jobName ?? '', failedReason: '', attemptsMade: 0, failedAt: Number(timestamp) || 0, unreadable: carried.problem };
  }
  const item: DlqItem = {
    ...base, queue: carried.queue, id: carried.id, name: carried.name ?? jobName ?? '', failedReason: carried.reason,
    attemptsMade: carried.attempts, failedAt: carried.failedAt ?? (Number(timestamp) || 0),
  };
  const org = orgOf(carried.payload) ?? orgOf(carried.data);
  if (org !== undefined) item.orgId = org;
  return item;
}

function toStatus(value: string | null | undefined): DlqStatus {
  return value === 'retried' || value === 'discarded' ? value : 'pending';
}

/** The item shape of a dead-letter queue, as its feeding queues declare it (dlqSources refuses two). */
export function shapeOf(topology: Topology, dlq: string): DeadLetterFields {
  for (const queue of Object.values(topology.queues)) {
    if (queue.deadLetter?.kind === 'queue' && queue.deadLetter.queue === dlq) return queue.deadLetter.fields ?? DEFAULT_FIELDS;
  }
  return DEFAULT_FIELDS;
}
