import type { Rule, RuleFinding } from './types.js';

/**
 * scheduler-job-unowned: a scheduler's template produces jobs of one name into its own queue; a
 * name that queue does not own would be misrouted by design (and `topology check` would then
 * report every job it makes as job-misrouted).
 */
export const schedulerJobs: Rule = (topology) => {
  const findings: RuleFinding[] = [];
  for (const queue of Object.values(topology.queues)) {
    for (const scheduler of Object.values(queue.schedulers ?? {})) {
      if (queue.jobs.includes(scheduler.job.name)) continue;
      const owner = Object.values(topology.queues).find((q) => q.jobs.includes(scheduler.job.name));
      findings.push({
        rule: 'scheduler-job-unowned',
        severity: 'error',
        queue: queue.name,
        path: ['queues', queue.name, 'schedulers', scheduler.id],
        message: `scheduler "${scheduler.id}" makes jobs named "${scheduler.job.name}", which queue "${queue.name}" does not own${owner ? ` (${owner.name} does: declare the scheduler there)` : ''} — add the name to its jobs list, or set job.name to one it owns`,
      });
    }
  }
  return findings;
};
