import type { LiveQueue } from '../inspect/types.js';
import type { Finding } from '../topology/types.js';

/**
 * topology check's findings about which library wrote a queue (src/inspect/layout.ts): the
 * conflict of Bull and BullMQ keys on one queue, and a Bull legacy queue's jobs in Bull's terms.
 */

/** queue-layout-conflict: signs of both libraries on one queue, or a declared kind its keys deny. */
export function layoutConflict(q: LiveQueue): Finding[] {
  if (!q.layout?.conflict) return [];
  return [{
    rule: 'queue-layout-conflict',
    severity: 'error',
    queue: q.name,
    message: `${q.layout.conflict} — a Bull and a BullMQ queue of one name under one prefix overwrite each other's jobs: give the new queue another name or prefix, and set the legacy entry's kind to the library that wrote it`,
  }];
}

/** legacy-has-jobs for a Bull queue: counted by Bull's states; migrate does not read Bull yet. */
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
  return [{
    rule: 'legacy-has-jobs',
    severity: 'error',
    queue: q.name,
    message: `legacy Bull queue still holds ${pending} job${pending === 1 ? '' : 's'} (Bull: ${shown}) — queuectl does not move Bull jobs yet: keep the old Bull workers running until it is empty`,
  }];
}
