import type { QueueSpec } from '../types.js';
import type { Rule, RuleFinding } from './types.js';
import { jobIdProblem, parseIdTemplate, templateFields } from './template.js';

/** Names BullMQ refuses at runtime: better to learn it from validate than from Queue.add. */

/** queue-name-invalid: BullMQ throws on queue names with `:` (it separates key parts). */
export const queueNames: Rule = (topology) => {
  const findings: RuleFinding[] = [];
  for (const name of Object.keys(topology.queues)) {
    const path = ['queues', name];
    if (name.trim() === '') {
      findings.push({ rule: 'queue-name-invalid', severity: 'error', queue: name, path, message: `queue name "${name}" is empty; give the queue a name such as "orders"` });
    } else if (name.includes(':')) {
      const fixed = name.replaceAll(':', '-');
      findings.push({
        rule: 'queue-name-invalid',
        severity: 'error',
        queue: name,
        path,
        message: `queue name "${name}" contains ":", which BullMQ rejects (it separates Redis key parts); rename it to "${fixed}" here, in workers and in the code that creates the Queue and Worker`,
      });
    } else if (name !== name.trim()) {
      findings.push({ rule: 'queue-name-invalid', severity: 'error', queue: name, path, message: `queue name "${name}" starts or ends with whitespace; rename it to "${name.trim()}"` });
    }
  }
  return findings;
};

/** job-id-invalid: a template that renders an id BullMQ rejects fails every Queue.add. */
export const jobIds: Rule = (topology) => {
  const findings: RuleFinding[] = [];
  for (const queue of Object.values(topology.queues)) {
    for (const [template, path, isJobId] of idTemplates(queue)) {
      const parsed = parseIdTemplate(template);
      const problem = parsed.ok ? (isJobId ? jobIdProblem(parsed.parts) : undefined) : parsed.problem;
      if (!problem) continue;
      const hint = parsed.ok ? fixHint(queue.name, template) : 'write each field as {name}, e.g. "order-{orderId}"';
      findings.push({
        rule: 'job-id-invalid',
        severity: 'error',
        queue: queue.name,
        path,
        message: `id template "${template}" of "${queue.name}" ${problem}; ${hint}`,
      });
    }
  }
  return findings;
};

/** job-id-field-unknown / job-id-field-optional: an id field missing from job data renders "undefined" for every job. */
export const jobIdFields: Rule = (topology) => {
  const findings: RuleFinding[] = [];
  for (const queue of Object.values(topology.queues)) {
    const payload = queue.payload;
    if (!payload) continue;
    for (const [template, path] of idTemplates(queue)) {
      const parsed = parseIdTemplate(template);
      if (!parsed.ok) continue; // job-id-invalid reports it
      for (const field of templateFields(parsed.parts)) {
        const top = field.split('.')[0]!;
        if (!Object.hasOwn(payload.properties, top)) {
          findings.push({
            rule: 'job-id-field-unknown',
            severity: 'error',
            queue: queue.name,
            path,
            message: `id template "${template}" reads "${top}", which is not a property of the payload schema of "${queue.name}"; add it under payload.properties (and required) or fix the field name`,
          });
        } else if (!payload.required.includes(top)) {
          findings.push({
            rule: 'job-id-field-optional',
            severity: 'warning',
            queue: queue.name,
            path,
            message: `id template "${template}" reads "${top}", which the payload schema of "${queue.name}" does not require; jobs without it all get the same id — add "${top}" to payload.required`,
          });
        }
      }
    }
  }
  return findings;
};

/** The id templates of a queue with their file paths; the flag says whether it becomes a job id. */
function idTemplates(queue: QueueSpec): [string, (string | number)[], boolean][] {
  const out: [string, (string | number)[], boolean][] = [];
  if (queue.jobId !== undefined) out.push([queue.jobId, ['queues', queue.name, 'jobId'], true]);
  if (queue.deduplication) out.push([queue.deduplication.id, ['queues', queue.name, 'deduplication', 'id'], false]);
  return out;
}

function fixHint(queue: string, template: string): string {
  const cleaned = template.replaceAll(':', '-').replace(/^0+/, '');
  const base = queue.replaceAll(':', '-').split('-').pop() || 'job';
  const suggestion = /[A-Za-z_]/.test(cleaned.replace(/\{[^}]*\}/g, '')) ? cleaned : `${base}-${cleaned}`;
  return `use a text prefix and "-" separators, e.g. "${suggestion}"`;
}
