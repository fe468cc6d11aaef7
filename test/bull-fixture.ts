import Bull from 'bull';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { redisUrl } from './helpers/redis.js';
import { tempDir } from './helpers/temp.js';
import { until } from './helpers/wait.js';

/**
 * Real Bull 4.x queues for the Bull-source tests (issue 20): every key is written by the `bull`
 * package itself, never by hand, so the tests read Bull's layout as Bull writes it.
 */

const opened: Bull.Queue[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((q) => q.close().catch(() => undefined)));
});

/** A Bull queue on the test server under `prefix` (closed after the test). */
export function bullQueue(name: string, prefix: string): Bull.Queue {
  const { hostname, port } = new URL(redisUrl());
  const queue = new Bull(name, { redis: { host: hostname, port: Number(port) }, prefix });
  opened.push(queue);
  return queue;
}

/** What `fillMixed` leaves, in queuectl's one-state-per-job counts and in Bull's own. */
export const MIXED = {
  counts: { waiting: 4, prioritized: 2, delayed: 2, active: 0, failed: 1, completed: 2 },
  bullCounts: { waiting: 6, paused: 0, active: 0, delayed: 2, prioritized: 2, completed: 2, failed: 1 },
};

/**
 * Fills a Bull queue the way an application would: a Bull worker completes two jobs and fails
 * one (attempts 1) and is closed; then a producer adds three named waiting jobs, one with Bull's
 * `__default__` name, two prioritized and two delayed by an hour.
 */
export async function fillMixed(name: string, prefix: string): Promise<void> {
  const worker = bullQueue(name, prefix);
  void worker.process('*', 1, async (job) => {
    if (job.data.fail) throw new Error('smtp refused');
    return { sent: true };
  });
  await worker.add('mail.send', { to: 'a' });
  await worker.add('mail.send', { to: 'b' });
  await worker.add('mail.send', { to: 'c', fail: true }, { attempts: 1 });
  await until(async () => {
    const c = await worker.getJobCounts();
    return c.completed === 2 && c.failed === 1;
  }, 'the Bull worker to finish three jobs');
  await worker.close();

  const producer = bullQueue(name, prefix);
  for (const to of ['d', 'e', 'f']) await producer.add('mail.send', { to });
  await producer.add({ to: 'default-name' });
  await producer.add('mail.send', { to: 'vip' }, { priority: 1 });
  await producer.add('mail.digest', { to: 'later' }, { priority: 5 });
  await producer.add('mail.send', { to: 'tomorrow' }, { delay: 3_600_000 });
  await producer.add('mail.digest', { to: 'tomorrow' }, { delay: 3_600_000 });
}

/** A topology file declaring `legacy` entries (YAML text after `legacy:`) under `prefix`. */
export function topologyFile(prefix: string, legacy: string): string {
  const dir = tempDir('bull');
  const file = join(dir, 'queuectl.yaml');
  writeFileSync(file, [
    'version: 1',
    `prefix: "${prefix}"`,
    'defaults: { attempts: 3, backoff: 1s, removeOnComplete: 100, removeOnFail: 1000, deadLetter: failed }',
    'queues:',
    '  mail: { jobs: [mail.send, mail.digest], jobId: "mail-{to}" }',
    'workers:',
    '  mailer: { queues: [mail] }',
    'legacy:',
    ...legacy.split('\n').map((line) => `  ${line}`),
    '',
  ].join('\n'));
  return file;
}
