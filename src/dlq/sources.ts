import { assertKnownQueues } from '../util/queue-names.js';
import type { Topology } from '../topology/types.js';
import { MARK_FIELDS, type DeadLetterPayload, type DlqItem, type DlqSource, type DlqStatus } from './types.js';

/**
 * Where each declared queue's dead letters are, grouped so that a dead-letter queue shared by
 * several queues is read once. `only` (from --queue) keeps the sources that hold those queues'
 * dead letters; a name that is neither a declared queue nor a dead-letter queue is a usage error.
 */
export function dlqSources(topology: Topology, only?: string[]): DlqSource[] {
  const failed: string[] = [];
  const dlqs = new Map<string, string[]>();
  for (const queue of Object.values(topology.queues)) {
    const dl = queue.deadLetter ?? { kind: 'failed' as const };
    if (dl.kind === 'failed') failed.push(queue.name);
    else dlqs.set(dl.queue, [...(dlqs.get(dl.queue) ?? []), queue.name]);
  }
  const sources: DlqSource[] = [
    ...failed.map((queue): DlqSource => ({ style: 'failed', queue })),
    ...[...dlqs].map(([dlq, feeds]): DlqSource => ({ style: 'queue', dlq, feeds })),
  ];
  if (!only) return sources;
  const known = new Set([...Object.keys(topology.queues), ...dlqs.keys()]);
  assertKnownQueues(only, known, { flag: '--queue', isNot: 'is not a declared queue or dead-letter queue' });
  return sources.filter((s) => (s.style === 'failed' ? only.includes(s.queue) : only.includes(s.dlq) || s.feeds.some((f) => only.includes(f))));
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

function toMillis(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const n = Number(value);
    if (Number.isFinite(n) && value.trim() !== '') return n;
    const t = Date.parse(value);
    if (Number.isFinite(t)) return t;
  }
  return undefined;
}

/** A style (b) item from a dead-letter queue job's hash fields. Pure. */
export function parseDlqItem(dlq: string, holderId: string, fields: (string | null)[]): DlqItem | undefined {
  const [jobName, data, timestamp, status] = fields;
  if (data === null || data === undefined) return undefined;
  const payload = (parseJson(data) ?? {}) as DeadLetterPayload;
  const item: DlqItem = {
    ref: `${dlq}/${holderId}`, style: 'queue', holder: dlq, holderId,
    queue: String(payload.originalQueue ?? ''), id: String(payload.originalJobId ?? ''),
    name: payload.name ?? jobName ?? '',
    failedReason: payload.error?.message ?? '',
    attemptsMade: Number(payload.attempts ?? 0) || 0,
    failedAt: toMillis(payload.failedAt) ?? (Number(timestamp) || 0),
    status: toStatus(status ?? payload.status),
  };
  const org = orgOf(payload) ?? orgOf(payload.jobData);
  if (org !== undefined) item.orgId = org;
  return item;
}

function toStatus(value: string | null | undefined): DlqStatus {
  return value === 'retried' || value === 'discarded' ? value : 'pending';
}
