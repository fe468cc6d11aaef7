import type { Topology } from '../topology/types.js';
import type { DlqItem } from './types.js';

export interface RetryPlan {
  /** Oldest first: the order they are applied in. */
  items: DlqItem[];
  refused: { ref: string; reason: string }[];
}

/**
 * Which items a retry may put back. Pure. A dead-letter item whose original queue is not
 * declared, or that carries no original id, is refused; so is one already retried or discarded.
 */
export function planRetry(items: DlqItem[], topology: Topology): RetryPlan {
  const plan: RetryPlan = { items: [], refused: [] };
  for (const item of [...items].sort((a, b) => a.failedAt - b.failedAt)) {
    if (item.status !== 'pending') plan.refused.push({ ref: item.ref, reason: `already ${item.status}` });
    else if (item.style === 'queue' && !item.queue) plan.refused.push({ ref: item.ref, reason: 'the dead-letter item names no originalQueue' });
    else if (item.style === 'queue' && !topology.queues[item.queue]) plan.refused.push({ ref: item.ref, reason: `"${item.queue}" is not a declared queue: retry into it refused` });
    else if (item.style === 'queue' && (!item.id || item.id.includes(':'))) plan.refused.push({ ref: item.ref, reason: `"${item.id}" is not a usable job id` });
    else plan.items.push(item);
  }
  return plan;
}

/** Discard takes any pending item. Pure. */
export function planDiscard(items: DlqItem[]): RetryPlan {
  const sorted = [...items].sort((a, b) => a.failedAt - b.failedAt);
  return {
    items: sorted.filter((i) => i.status === 'pending'),
    refused: sorted.filter((i) => i.status !== 'pending').map((i) => ({ ref: i.ref, reason: `already ${i.status}` })),
  };
}
