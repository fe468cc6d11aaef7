import type { Alerts, Threshold } from '../topology/types.js';
import type { LiveQueue, QueueCounts } from './types.js';
import { formatAge } from '../ui/format.js';

export type AlertLevel = 'ok' | 'warning' | 'critical';

export interface AlertResult {
  level: AlertLevel;
  /** Why, one short phrase per crossed threshold, e.g. `waiting 600 ≥ 500`. */
  reasons: string[];
}

const RANK: Record<AlertLevel, number> = { ok: 0, warning: 1, critical: 2 };

export function worstLevel(levels: AlertLevel[]): AlertLevel {
  return levels.reduce<AlertLevel>((worst, l) => (RANK[l] > RANK[worst] ? l : worst), 'ok');
}

/** Jobs a queue still holds (everything but completed): what makes a legacy queue need attention. */
export function heldJobs(counts: QueueCounts): number {
  return counts.waiting + counts.prioritized + counts.delayed + counts.active + counts.failed + counts.waitingChildren;
}

function levelFor(value: number, threshold: Threshold | undefined): AlertLevel {
  if (!threshold) return 'ok';
  if (value >= threshold[1]) return 'critical';
  if (value >= threshold[0]) return 'warning';
  return 'ok';
}

/**
 * The alert level of one queue against the topology's thresholds ([warning, critical], reached at
 * or above the value). A legacy queue that still holds jobs is at least a warning: it should be
 * drained or migrated. Pure.
 */
export function evaluateAlert(queue: Pick<LiveQueue, 'kind' | 'counts' | 'oldestWaitingMs'>, alerts: Alerts | undefined): AlertResult {
  const reasons: string[] = [];
  const levels: AlertLevel[] = [];
  const check = (label: string, value: number, threshold: Threshold | undefined, show: (n: number) => string = String) => {
    const level = levelFor(value, threshold);
    if (level !== 'ok' && threshold) {
      levels.push(level);
      reasons.push(`${label} ${show(value)} ≥ ${show(level === 'critical' ? threshold[1] : threshold[0])}`);
    }
  };
  check('waiting', queue.counts.waiting, alerts?.waiting);
  check('delayed', queue.counts.delayed, alerts?.delayed);
  check('active', queue.counts.active, alerts?.active);
  check('failed', queue.counts.failed, alerts?.failed);
  if (queue.oldestWaitingMs !== null) check('oldest wait', queue.oldestWaitingMs, alerts?.oldestWait, formatAge);
  if (queue.kind === 'legacy') {
    const held = heldJobs(queue.counts);
    if (held > 0) {
      levels.push('warning');
      reasons.push(`legacy queue holds ${held} job${held === 1 ? '' : 's'}`);
    }
  }
  return { level: worstLevel(levels), reasons };
}

