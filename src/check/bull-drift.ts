import type { LiveQueue } from '../inspect/types.js';
import type { Finding } from '../topology/types.js';
import { migrateCommand, statesToMove } from '../migrate/advice.js';

/**
 * topology check's findings about which library wrote a queue (src/inspect/layout.ts): the
 * conflict of Bull and BullMQ keys on one queue, and a Bull legacy queue's jobs in Bull's terms.
 */

/** queue-layout-conflict: signs of both libraries on one queue, or a declared kind its keys deny. */
export function layoutConflict(q: LiveQueue): Finding[] {
  if (!q.layout?.conflict) return [];
  const { bull, bullmq } = q.layout.signs;
  // Both libraries default to the prefix "bull": one name there is one wait list and one id counter.
  const next = bull.length > 0 && bullmq.length > 0
    ? 'both libraries\' producers share its wait list and id counter, and each one\'s workers take the other\'s jobs: give the BullMQ queue another name or prefix'
    : q.kind === 'declared'
      ? 'Bull wrote this queue: declare it under legacy: with kind: bull, and give the BullMQ queue another name or prefix'
      : 'set kind: to the library that wrote it, or remove kind: and let queuectl tell from the keys';
  return [{ rule: 'queue-layout-conflict', severity: 'error', queue: q.name, message: `${q.layout.conflict} — ${next}` }];
}

/**
 * queue-layout-undecided: a legacy queue without kind: that holds jobs and shows no sign of either
 * library in its keys or sampled jobs; migrate and dlq writes refuse it until its kind is declared.
 */
export function layoutUndecided(q: LiveQueue): Finding[] {
  if (q.kind !== 'legacy' || !q.layout?.undecided || !q.exists) return [];
  const held = Object.values(q.counts).reduce((a, b) => a + b, 0);
  if (held === 0) return [];
  return [{
    rule: 'queue-layout-undecided',
    severity: 'error',
    queue: q.name,
    message: `legacy queue holds ${held} job${held === 1 ? '' : 's'} and shows no sign of Bull or BullMQ in its keys or sampled jobs, so migrate and dlq will not write to it — declare kind: bull or kind: bullmq under legacy: in the topology`,
  }];
}

/** legacy-has-jobs for a Bull queue: counted by Bull's states, with the migrate command that moves them (src/migrate/bull-engine.ts). */
export function bullLegacyJobs(q: LiveQueue): Finding[] {
  const c = q.counts;
  const b = q.bullCounts!;
  const pending = c.waiting + c.prioritized + c.delayed + c.active + c.failed;
  if (!q.exists || pending === 0) return [];
  const parts: [number, string][] = [
    [b.waiting, 'waiting'], [b.paused, 'paused'], [b.prioritized, `prioritized (of the waiting${b.paused > 0 ? ' and paused' : ''})`],
    [b.delayed, 'delayed'], [b.active, 'active'], [b.failed, 'failed'],
  ];
  const shown = parts.filter(([n]) => n > 0).map(([n, s]) => `${n} ${s}`).join(', ');
  const movable = c.waiting + c.prioritized + c.delayed + c.failed;
  const activeNote = c.active > 0 ? `; ${c.active} active: let the old Bull workers finish those` : '';
  const next = movable === 0
    ? 'let the old Bull workers finish them; nothing else is needed until then'
    : `run: ${migrateCommand(q.name, { states: statesToMove({ wait: c.waiting, prioritized: c.prioritized, delayed: c.delayed, failed: c.failed }) })} (its --dry-run shows what would stay${activeNote})`;
  return [{
    rule: 'legacy-has-jobs',
    severity: 'error',
    queue: q.name,
    message: `legacy Bull queue still holds ${pending} job${pending === 1 ? '' : 's'} (Bull: ${shown}) — ${next}`,
  }];
}
