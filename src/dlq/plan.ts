import { buildRouting, routeName } from '../migrate/routing.js';
import type { Topology } from '../topology/types.js';
import type { DlqItem } from './types.js';
import { colonsAccepted } from '../topology/rules/template.js';

export interface Refusal {
  ref: string;
  reason: string;
  /** What to do about it (the hint of the one-line error when the item was named). */
  hint?: string;
}

export interface RetryPlan {
  /** Oldest first: the order they are applied in. Retry plans set each item's `target`. */
  items: DlqItem[];
  refused: Refusal[];
}

const DISCARD_HINT = 'discard it with `queuectl dlq discard <ref> --reason …`';

/**
 * Where a dead-letter item goes back: its own queue when declared; for a legacy queue the queue
 * that now owns the job's name, routed as migrate routes it (or the legacy entry's `to`).
 */
function targetOf(item: DlqItem, topology: Topology): { target: string } | Omit<Refusal, 'ref'> {
  if (item.queue in topology.queues) return { target: item.queue };
  if (!(item.queue in topology.legacy)) {
    return { reason: `"${item.queue}" is not a declared queue: retry into it refused`, hint: 'declare the queue in the topology (or list it under legacy: to route its jobs by name), or discard the item' };
  }
  const routed = routeName(buildRouting(topology, { from: item.queue }), topology, item.name);
  if ('dest' in routed) return { target: routed.dest };
  return { reason: `"${item.queue}" is a legacy queue and no declared queue owns the job name "${item.name}"`, hint: `add "${item.name}" to a queue's jobs:, or ${DISCARD_HINT}` };
}

/**
 * Which items a retry may put back, and where. Pure. Refused: an item already retried or
 * discarded, one that does not fit its dead-letter queue's item shape, one whose queue is neither
 * declared nor legacy (or legacy with no owner for its name), one without a usable job id.
 */
export function planRetry(items: DlqItem[], topology: Topology): RetryPlan {
  const plan: RetryPlan = { items: [], refused: [] };
  for (const item of [...items].sort((a, b) => a.failedAt - b.failedAt)) {
    if (item.status !== 'pending') {
      plan.refused.push({ ref: item.ref, reason: `already ${item.status}` });
      continue;
    }
    // A Bull queue's failed job is retried into BullMQ, never in Bull's keys (where a prioritized
    // or paused job would land out of any Bull worker's sight): into the queue that owns its name,
    // routed as migrate routes it (or the legacy entry's to:), translated as migrate translates it.
    if (item.style === 'failed' && topology.legacy[item.queue]?.kind === 'bull') {
      const where = targetOf(item, topology);
      if ('target' in where) plan.items.push({ ...item, target: where.target });
      else plan.refused.push({ ref: item.ref, ...where });
      continue;
    }
    // A table row is retried in its own table (ready again), never moved: that is migrate's job.
    if (item.style === 'failed' || item.style === 'table') {
      plan.items.push({ ...item, target: item.queue });
      continue;
    }
    if (item.unreadable !== undefined) {
      plan.refused.push({ ref: item.ref, reason: `unreadable: the item does not fit its dead-letter queue's item shape (${item.unreadable})`, hint: `declare its shape under deadLetter.fields in the topology, or ${DISCARD_HINT}` });
      continue;
    }
    // BullMQ accepts ':' in a custom id only exactly twice (three parts), as lint does.
    if (!item.id || !colonsAccepted(item.id)) {
      plan.refused.push({ ref: item.ref, reason: `"${item.id}" is not a usable job id`, hint: DISCARD_HINT });
      continue;
    }
    const where = targetOf(item, topology);
    if ('target' in where) plan.items.push({ ...item, target: where.target });
    else plan.refused.push({ ref: item.ref, ...where });
  }
  return plan;
}

/** Discard takes any pending item, unreadable ones too. Pure. */
export function planDiscard(items: DlqItem[]): RetryPlan {
  const sorted = [...items].sort((a, b) => a.failedAt - b.failedAt);
  return {
    items: sorted.filter((i) => i.status === 'pending'),
    refused: sorted.filter((i) => i.status !== 'pending').map((i) => ({ ref: i.ref, reason: `already ${i.status}` })),
  };
}
