import type { Rule, RuleFinding } from './types.js';

/**
 * Who owns what: each job name has one queue, each queue one worker, and every cross reference
 * (worker → queue, legacy `to`, dead-letter queue) names a declared queue.
 */

/** job-name-many-owners: migrate routes by job name, so a name needs exactly one destination. */
export const jobNameOwners: Rule = (topology) => {
  const owners = new Map<string, string[]>();
  for (const queue of Object.values(topology.queues)) {
    for (const job of new Set(queue.jobs)) owners.set(job, [...(owners.get(job) ?? []), queue.name]);
  }
  const findings: RuleFinding[] = [];
  for (const [job, queues] of owners) {
    if (queues.length < 2) continue;
    const second = queues[1]!;
    findings.push({
      rule: 'job-name-many-owners',
      severity: 'error',
      queue: second,
      path: ['queues', second, 'jobs', topology.queues[second]!.jobs.indexOf(job)],
      message: `job name "${job}" is owned by ${queues.length} queues (${queues.join(', ')}); keep it in the jobs list of exactly one queue`,
    });
  }
  return findings;
};

/** queue-no-worker / queue-many-workers: an unconsumed queue grows forever; two owners race. */
export const queueWorkers: Rule = (topology, _options, facts) => {
  const findings: RuleFinding[] = [];
  for (const queue of Object.values(topology.queues)) {
    const workers = facts.workersOf.get(queue.name) ?? [];
    if (workers.length === 0 && !facts.deadLetterQueues.has(queue.name)) {
      findings.push({
        rule: 'queue-no-worker',
        severity: 'error',
        queue: queue.name,
        path: ['queues', queue.name],
        message: `queue "${queue.name}" has no worker; add it to the queues list of the worker that consumes it (workers.<name>.queues)`,
      });
    } else if (workers.length > 1) {
      findings.push({
        rule: 'queue-many-workers',
        severity: 'error',
        queue: queue.name,
        path: ['workers', workers[1]!, 'queues'],
        message: `queue "${queue.name}" is consumed by ${workers.length} workers (${workers.join(', ')}); keep it under exactly one worker (scale with concurrency or replicas instead)`,
      });
    }
  }
  return findings;
};

/** worker-unknown-queue: a typo here means a worker listening on a queue nobody fills. */
export const workerQueues: Rule = (topology) => {
  const findings: RuleFinding[] = [];
  for (const worker of Object.values(topology.workers)) {
    worker.queues.forEach((name, index) => {
      if (topology.queues[name]) return;
      findings.push({
        rule: 'worker-unknown-queue',
        severity: 'error',
        path: ['workers', worker.name, 'queues', index],
        message: `worker "${worker.name}" consumes "${name}", which is not a declared queue; declare it under queues or fix the name`,
      });
    });
  }
  return findings;
};

/** legacy-unknown-queue / legacy-is-declared: a legacy queue is retired, its target is live. */
export const legacyQueues: Rule = (topology) => {
  const findings: RuleFinding[] = [];
  for (const legacy of Object.values(topology.legacy)) {
    if (topology.queues[legacy.name]) {
      findings.push({
        rule: 'legacy-is-declared',
        severity: 'error',
        queue: legacy.name,
        path: ['legacy', legacy.name],
        message: `"${legacy.name}" is both a legacy queue and a declared queue; remove it from one of the two (legacy means retired: migrate empties it)`,
      });
    }
    if (legacy.to !== undefined && !topology.queues[legacy.to]) {
      findings.push({
        rule: 'legacy-unknown-queue',
        severity: 'error',
        queue: legacy.name,
        path: ['legacy', legacy.name, 'to'],
        message: `legacy queue "${legacy.name}" routes to "${legacy.to}", which is not a declared queue; declare it under queues or fix the name`,
      });
    }
  }
  return findings;
};

/** dead-letter-unknown-queue: failed jobs would be sent to a queue nobody declared or watches. */
export const deadLetterTarget: Rule = (topology) => {
  const findings: RuleFinding[] = [];
  for (const queue of Object.values(topology.queues)) {
    const dl = queue.deadLetter;
    if (dl?.kind !== 'queue' || topology.queues[dl.queue]) continue;
    findings.push({
      rule: 'dead-letter-unknown-queue',
      severity: 'error',
      queue: queue.name,
      path: ['queues', queue.name, 'deadLetter', 'queue'],
      message: `dead-letter queue "${dl.queue}" of "${queue.name}" is not declared; declare it under queues (attempts: 1) or use deadLetter: failed`,
    });
  }
  return findings;
};
