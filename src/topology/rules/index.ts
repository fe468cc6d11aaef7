import type { Rule } from './types.js';
import { deadLetterTarget, jobNameOwners, legacyQueues, queueWorkers, workerQueues } from './ownership.js';
import { jobIdFields, jobIds, queueNames } from './names.js';
import { deadLetter, dedup, retention, retries } from './reliability.js';
import { clusterPrefix } from './cluster.js';
import { jobOptions } from './job-options.js';
import { schedulerJobs } from './schedulers.js';
import { tableSources } from './table.js';

export type { LintOptions, Rule, RuleFinding } from './types.js';

/** Every lint rule, in the order their findings are listed for one line of the file. */
export const rules: readonly Rule[] = [
  queueNames,
  jobNameOwners,
  queueWorkers,
  workerQueues,
  legacyQueues,
  deadLetterTarget,
  jobIds,
  jobIdFields,
  dedup,
  retries,
  retention,
  deadLetter,
  jobOptions,
  schedulerJobs,
  clusterPrefix,
  tableSources,
];

/** Every rule id with its severity, for docs and tests. */
export const ruleIds = [
  'job-name-many-owners',
  'queue-no-worker',
  'queue-many-workers',
  'worker-unknown-queue',
  'legacy-unknown-queue',
  'legacy-is-declared',
  'dead-letter-unknown-queue',
  'queue-name-invalid',
  'job-id-invalid',
  'job-id-field-unknown',
  'job-id-field-optional',
  'job-options-unknown-job',
  'scheduler-job-unowned',
  'dedup-missing',
  'no-retries',
  'no-backoff',
  'no-retention',
  'no-dead-letter',
  'dead-letter-removed',
  'dead-letter-retried',
  'prefix-no-hash-tag',
  'table-column-twice',
  'table-status-twice',
] as const;
