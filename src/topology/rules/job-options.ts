import { didYouMean } from '../problems.js';
import type { Rule, RuleFinding } from './types.js';

/**
 * `jobOptions.<job name>`: per-name options over the queue's. A key that is not one of the
 * queue's jobs configures nothing (a typo, or a name that moved to another queue), and an
 * override may undo what the reliability rules check on the queue (attempts, retention).
 */
export const jobOptions: Rule = (topology, _options, facts) => {
  const findings: RuleFinding[] = [];
  for (const queue of Object.values(topology.queues)) {
    if (!queue.jobOptions) continue;
    const owned = new Set(queue.jobs);
    // As on the queue itself: a dead-letter queue runs jobs once, and one no worker consumes parks them.
    const deadLetter = facts.deadLetterQueues.has(queue.name);
    const parked = deadLetter && !facts.workersOf.has(queue.name);
    for (const [job, options] of Object.entries(queue.jobOptions)) {
      const path = ['queues', queue.name, 'jobOptions', job];
      if (!owned.has(job)) {
        const guess = didYouMean(job, queue.jobs);
        findings.push({
          rule: 'job-options-unknown-job',
          severity: 'error',
          queue: queue.name,
          path,
          message: `jobOptions of "${queue.name}" names "${job}", which is not one of its jobs (${queue.jobs.join(', ')}); ${guess ? `did you mean "${guess}"?` : 'add it to jobs or fix the name'}`,
        });
        continue;
      }
      if (!deadLetter && options.attempts !== undefined && options.attempts <= 1) {
        findings.push({
          rule: 'no-retries',
          severity: 'error',
          queue: queue.name,
          path: [...path, 'attempts'],
          message: `jobs "${job}" of "${queue.name}" have attempts: 1, so one transient failure loses the job; set attempts: 3 or more, or drop the override`,
        });
      }
      for (const key of ['removeOnComplete', 'removeOnFail'] as const) {
        if (options[key] !== false || parked) continue;
        findings.push({
          rule: 'no-retention',
          severity: 'error',
          queue: queue.name,
          path: [...path, key],
          message: `jobs "${job}" of "${queue.name}" keep every ${key === 'removeOnComplete' ? 'completed' : 'failed'} job forever (${key}: false), which fills Redis memory; bound it ({ age: 7d, count: 5000 }) or drop the override`,
        });
      }
    }
  }
  return findings;
};
