import type { LintFacts, Rule, RuleFinding } from './types.js';

/**
 * What every production queue needs: idempotent ids, retries with backoff, bounded retention and
 * somewhere for jobs that never succeed. A dead-letter queue is the exception to retries: it parks
 * jobs, so it must run them once.
 */

/** dedup-missing: without a deterministic id a retried producer enqueues the same work twice. */
export const dedup: Rule = (topology) =>
  Object.values(topology.queues)
    .filter((q) => q.jobId === undefined && q.dedup !== 'none')
    .map((q) => ({
      rule: 'dedup-missing',
      severity: 'error',
      queue: q.name,
      path: ['queues', q.name],
      message: `queue "${q.name}" has no jobId rule; add a deterministic id from job data (jobId: "<kind>-{someId}") or opt out explicitly with dedup: none`,
    }));

/** no-retries / no-backoff / dead-letter-retried. */
export const retries: Rule = (topology, _options, facts) => {
  const findings: RuleFinding[] = [];
  for (const q of Object.values(topology.queues)) {
    const attempts = q.attempts ?? 1;
    if (facts.deadLetterQueues.has(q.name)) {
      if (attempts > 1) {
        findings.push({
          rule: 'dead-letter-retried',
          severity: 'error',
          queue: q.name,
          path: ['queues', q.name, 'attempts'],
          message: `"${q.name}" is a dead-letter queue but retries its jobs (attempts: ${attempts}); set attempts: 1 on it so dead letters stay parked until someone runs dlq retry`,
        });
      }
      continue; // a dead-letter queue is meant to run once: no-retries and no-backoff do not apply
    }
    if (attempts <= 1) {
      findings.push({
        rule: 'no-retries',
        severity: 'error',
        queue: q.name,
        path: ['queues', q.name, 'attempts'],
        message: `queue "${q.name}" ${q.attempts === undefined ? 'sets no attempts' : 'has attempts: 1'}, so one transient failure loses the job; set attempts: 3 or more (here or in defaults)`,
      });
    } else if (!q.backoff) {
      findings.push({
        rule: 'no-backoff',
        severity: 'warning',
        queue: q.name,
        path: ['queues', q.name, 'backoff'],
        message: `queue "${q.name}" retries ${attempts} times with no delay in between; add backoff: { type: exponential, delay: 2s }`,
      });
    }
  }
  return findings;
};

/**
 * A dead-letter queue that no worker consumes parks its items in `waiting` until `dlq retry`:
 * they never complete or fail, so retention and a dead-letter path of its own mean nothing there.
 */
const parked = (name: string, facts: LintFacts) => facts.deadLetterQueues.has(name) && !facts.workersOf.has(name);

/** no-retention / dead-letter-removed. */
export const retention: Rule = (topology, _options, facts) => {
  const findings: RuleFinding[] = [];
  for (const q of Object.values(topology.queues)) {
    for (const key of ['removeOnComplete', 'removeOnFail'] as const) {
      if (parked(q.name, facts)) break;
      const value = q[key];
      if (value !== undefined && value !== false) continue;
      findings.push({
        rule: 'no-retention',
        severity: 'error',
        queue: q.name,
        path: ['queues', q.name, key],
        message: `queue "${q.name}" keeps every ${key === 'removeOnComplete' ? 'completed' : 'failed'} job forever, which fills Redis memory; set ${key}: { age: ${key === 'removeOnComplete' ? '1d' : '7d'}, count: ${key === 'removeOnComplete' ? 1000 : 5000} } (here or in defaults)`,
      });
    }
    if (q.deadLetter?.kind === 'failed' && q.removeOnFail === true) {
      findings.push({
        rule: 'dead-letter-removed',
        severity: 'error',
        queue: q.name,
        path: ['queues', q.name, 'removeOnFail'],
        message: `queue "${q.name}" uses its failed set as dead-letter path but removeOnFail: true deletes failed jobs at once; bound it instead (removeOnFail: { age: 7d, count: 5000 }) or use deadLetter: { queue: <dlq> }`,
      });
    }
  }
  return findings;
};

/** no-dead-letter: a job that exhausts its attempts must land somewhere someone looks. */
export const deadLetter: Rule = (topology, _options, facts) =>
  Object.values(topology.queues)
    .filter((q) => !q.deadLetter && !parked(q.name, facts))
    .map((q) => ({
      rule: 'no-dead-letter',
      severity: 'error',
      queue: q.name,
      path: ['queues', q.name, 'deadLetter'],
      message: `queue "${q.name}" has no dead-letter path; set deadLetter: failed (keep failed jobs, bounded by removeOnFail) or deadLetter: { queue: <dlq> } (here or in defaults)`,
    }));
