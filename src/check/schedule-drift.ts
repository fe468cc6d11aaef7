import { describeNext, describeSchedule, schedulerDiff, showValue } from '../schedules/compare.js';
import type { LiveScheduler } from '../schedules/types.js';
import type { LiveQueue } from '../inspect/types.js';
import type { Finding, Topology } from '../topology/types.js';

const FIX = 'run queuectl topology plan to see the change, topology apply to make it';

/**
 * Declared schedulers and pause state versus live ones, for `topology check`. A declared queue's
 * schedulers are all the file's to say: one the file does not list is `scheduler-undeclared` — the
 * stale schedule that keeps firing next to its replacement after a cron change — and `topology
 * apply` removes it. Pure.
 */
export function scheduleFindings(topology: Topology, schedulers: LiveScheduler[], queues: LiveQueue[]): Finding[] {
  const findings: Finding[] = [];
  for (const spec of Object.values(topology.queues)) {
    const live = schedulers.filter((s) => s.queue === spec.name);
    const declared = spec.schedulers ?? {};
    for (const s of live) {
      const own = declared[s.id];
      if (!own || s.legacy) {
        findings.push({ rule: 'scheduler-undeclared', severity: 'error', queue: spec.name, message: undeclaredMessage(s) });
        continue;
      }
      const changes = schedulerDiff(own, s);
      if (changes.length === 0) continue;
      const listed = changes.map((c) => `${c.field} ${showValue(c.field, c.from)} live, ${showValue(c.field, c.to)} declared`).join('; ');
      findings.push({ rule: 'scheduler-drift', severity: 'error', queue: spec.name, message: `scheduler "${s.id}" differs from the file: ${listed} — ${FIX}` });
    }
    for (const own of Object.values(declared)) {
      if (live.some((s) => s.id === own.id && !s.legacy)) continue;
      findings.push({ rule: 'scheduler-missing', severity: 'error', queue: spec.name, message: `scheduler "${own.id}" (${describeSchedule(own)}) is declared but not live — ${FIX}` });
    }
    const q = queues.find((x) => x.name === spec.name);
    if (spec.paused !== undefined && q && q.paused !== spec.paused) {
      findings.push({
        rule: 'paused-drift',
        severity: 'error',
        queue: spec.name,
        message: `queue is ${q.paused ? 'paused' : 'running'} but the file says paused: ${spec.paused} — ${FIX}`,
      });
    }
  }
  return findings;
}

/** Names the stale schedule exactly (pattern or every, job) and when it fires next. */
export function undeclaredMessage(s: LiveScheduler): string {
  const what = s.legacy ? `old-style repeatable job "${s.id}" (BullMQ ≤ 5)` : `scheduler "${s.id}"`;
  return `${what} is live but not declared: ${describeSchedule(s)}, fires next at ${describeNext(s.next)} — remove it with queuectl topology apply (or declare it under queues.${s.queue}.schedulers)`;
}
