import { describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { bullConnection, client, redisUrl, uniqueName } from './helpers/redis.js';
import { runCli } from './helpers/cli.js';
import { bullQueue, fillMixed, MIXED, topologyFile } from './bull-fixture.js';

// Bull 3.x/4.x queues as legacy sources, read-only part (issue 20): inspect and topology check
// read a real Bull queue by Bull's layout, tell it from a BullMQ one by its keys, and report a
// Bull and a BullMQ queue sharing one name under one prefix as the conflict it is.

interface QueueDoc {
  name: string;
  kind: string;
  exists: boolean;
  counts: Record<string, number>;
  paused: boolean;
  oldestWaitingMs: number | null;
  layout?: { read: string; from: string; signs: { bull: string[]; bullmq: string[] }; conflict?: string };
  bullCounts?: Record<string, number>;
}

async function inspectJson(file: string, ...names: string[]) {
  const result = await runCli(['inspect', ...names, '--json', '-c', file, '--redis', redisUrl()]);
  expect(result.code, result.stderr).toBe(0);
  const doc = JSON.parse(result.stdout) as { queues: QueueDoc[] };
  return (name: string) => doc.queues.find((q) => q.name === name)!;
}

async function checkJson(file: string) {
  const result = await runCli(['topology', 'check', '--json', '-c', file, '--redis', redisUrl()]);
  return { code: result.code, stderr: result.stderr, doc: JSON.parse(result.stdout) as { inSync: boolean; findings: { rule: string; severity: string; queue?: string; message: string }[] } };
}

describe('a Bull queue declared kind: bull', () => {
  it('inspect counts it by Bull\'s states, prioritized jobs once, with its oldest waiting job', async () => {
    const prefix = uniqueName('bull');
    await fillMixed('old-mail', prefix);
    const file = topologyFile(prefix, 'old-mail: { kind: bull }');
    const q = (await inspectJson(file))('old-mail');
    expect(q.kind).toBe('legacy');
    expect(q.counts).toEqual({ ...MIXED.counts, waitingChildren: 0 });
    expect(q.bullCounts).toEqual(MIXED.bullCounts);
    expect(q.paused).toBe(false);
    expect(q.layout).toEqual({ read: 'bull', from: 'declared', signs: { bull: ['priority zset'], bullmq: [] } });
    // The right end of Bull's wait list (its next job) was added moments ago.
    expect(q.oldestWaitingMs).toBeGreaterThanOrEqual(0);
    expect(q.oldestWaitingMs).toBeLessThan(60_000);
  });

  it('topology check reports legacy-has-jobs in Bull\'s terms, and no conflict', async () => {
    const prefix = uniqueName('bull');
    await fillMixed('old-mail', prefix);
    const { code, doc } = await checkJson(topologyFile(prefix, 'old-mail: { kind: bull }'));
    expect(code).toBe(1);
    const legacy = doc.findings.filter((f) => f.queue === 'old-mail');
    expect(legacy).toEqual([{
      rule: 'legacy-has-jobs',
      severity: 'error',
      queue: 'old-mail',
      message: 'legacy Bull queue still holds 9 jobs (Bull: 6 waiting, 2 prioritized (of the waiting), 2 delayed, 1 failed) — run: queuectl migrate --from old-mail --states wait,prioritized,delayed,failed (its --dry-run shows what would stay)',
    }]);
  });

  it('counts a paused Bull queue\'s jobs as paused', async () => {
    const prefix = uniqueName('bull');
    const queue = bullQueue('old-mail', prefix);
    await queue.pause();
    await queue.add('mail.send', { to: 'x' });
    await queue.add('mail.send', { to: 'y' }, { priority: 2 });
    const q = (await inspectJson(topologyFile(prefix, 'old-mail: { kind: bull }')))('old-mail');
    expect(q.paused).toBe(true);
    expect(q.bullCounts).toEqual({ waiting: 0, paused: 2, active: 0, delayed: 0, prioritized: 1, completed: 0, failed: 0 });
    expect(q.counts).toMatchObject({ waiting: 1, prioritized: 1 });
    expect(q.layout?.signs.bull).toEqual(['meta-paused key', 'priority zset']);
  });
});

describe('telling Bull from BullMQ by the keys', () => {
  it('detects a legacy queue with no kind as Bull from Bull-only keys, and says so', async () => {
    const prefix = uniqueName('bull');
    await fillMixed('old-mail', prefix);
    const file = topologyFile(prefix, 'old-mail: { note: written by Bull }');
    const q = (await inspectJson(file))('old-mail');
    expect(q.layout).toEqual({ read: 'bull', from: 'keys', signs: { bull: ['priority zset'], bullmq: [] } });
    expect(q.bullCounts).toEqual(MIXED.bullCounts);
    const human = await runCli(['inspect', '-c', file, '--redis', redisUrl()]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^old-mail\s+legacy \(bull\)\s+4\s+2\s+2\s+0\s+1\s+2\s+no/m);
    expect(human.stdout).toContain('  old-mail: Bull queue (detected: priority zset)');
  });

  it('detects a Bull queue with no Bull-only key from its jobs, counted as if declared', async () => {
    const prefix = uniqueName('bull');
    const queue = bullQueue('old-mail', prefix);
    await queue.add('mail.send', { to: 'a' });
    await queue.add('mail.send', { to: 'b' }, { delay: 3_600_000 });
    const detected = (await inspectJson(topologyFile(prefix, 'old-mail: {}')))('old-mail');
    const declared = (await inspectJson(topologyFile(prefix, 'old-mail: { kind: bull }')))('old-mail');
    // Bull fills opts.timestamp/delay/attempts in on every job (src/inspect/job-sample.ts).
    expect(detected.layout).toEqual({ read: 'bull', from: 'keys', signs: { bull: ["Bull's job opts (timestamp, delay, attempts filled in) on 2 of 2 sampled jobs"], bullmq: [] } });
    expect(detected.bullCounts).toEqual(declared.bullCounts);
    expect(declared.layout?.from).toBe('declared');
    expect(detected.counts).toEqual(declared.counts);
    expect(detected.counts).toMatchObject({ waiting: 1, delayed: 1 });
  });

  it('reads a BullMQ legacy queue as before: no layout, no Bull counts', async () => {
    const prefix = uniqueName('bull');
    const old = new Queue('old-mail', { connection: bullConnection(), prefix });
    try {
      await old.add('mail.send', { to: 'a' }, { priority: 3 });
      await old.add('mail.send', { to: 'b' });
    } finally {
      await old.close();
    }
    const q = (await inspectJson(topologyFile(prefix, 'old-mail: {}')))('old-mail');
    expect(q.layout).toBeUndefined();
    expect(q.bullCounts).toBeUndefined();
    expect(q.counts).toMatchObject({ waiting: 1, prioritized: 1 });
  });

  it('reports a Bull and a BullMQ queue of one name under one prefix as a conflict', async () => {
    const prefix = uniqueName('bull');
    await bullQueue('mail', prefix).add('mail.send', { to: 'old' }, { priority: 1 });
    const fresh = new Queue('mail', { connection: bullConnection(), prefix });
    try {
      await fresh.add('mail.send', { to: 'new' });
    } finally {
      await fresh.close();
    }
    const file = topologyFile(prefix, 'old-mail: { kind: bull }');
    const q = (await inspectJson(file))('mail');
    expect(q.layout?.conflict).toMatch(/^keys of both Bull \(priority zset\) and BullMQ \(meta\.version bullmq:[\d.]+, meta\.opts\.maxLenEvents\): two libraries share this queue's keys$/);
    const { code, doc } = await checkJson(file);
    expect(code).toBe(1);
    const conflict = doc.findings.find((f) => f.rule === 'queue-layout-conflict');
    expect(conflict).toMatchObject({ severity: 'error', queue: 'mail' });
    expect(conflict!.message).toMatch(/: two libraries share this queue's keys — both libraries' producers share its wait list and id counter, and each one's workers take the other's jobs: give the BullMQ queue another name or prefix$/);
  });

  it('reports a legacy entry declared kind: bull whose keys are BullMQ\'s', async () => {
    const prefix = uniqueName('bull');
    const old = new Queue('old-mail', { connection: bullConnection(), prefix });
    try {
      await old.add('mail.send', { to: 'a' });
    } finally {
      await old.close();
    }
    const { doc } = await checkJson(topologyFile(prefix, 'old-mail: { kind: bull }'));
    const conflict = doc.findings.find((f) => f.rule === 'queue-layout-conflict');
    expect(conflict?.message).toMatch(/^declared kind: bull, but its keys are BullMQ's \(meta\.version bullmq:[\d.]+, meta\.opts\.maxLenEvents\) — set kind: to the library that wrote it, or remove kind: and let queuectl tell from the keys$/);
  });
});

describe('a declared queue whose keys are Bull\'s', () => {
  it('is read as BullMQ and reported as a conflict: a Bull app still writes there', async () => {
    const prefix = uniqueName('bull');
    await bullQueue('mail', prefix).add('mail.send', { to: 'old' }, { priority: 1 });
    const file = topologyFile(prefix, 'old-mail: { kind: bull }');
    const q = (await inspectJson(file))('mail');
    expect(q.layout).toEqual({ read: 'bullmq', from: 'declared', signs: { bull: ['priority zset'], bullmq: [] }, conflict: 'declared as a BullMQ queue, but its keys are Bull\'s (priority zset)' });
    expect(q.bullCounts).toBeUndefined();
    const { doc } = await checkJson(file);
    expect(doc.findings.find((f) => f.rule === 'queue-layout-conflict')).toEqual({
      rule: 'queue-layout-conflict',
      severity: 'error',
      queue: 'mail',
      message: 'declared as a BullMQ queue, but its keys are Bull\'s (priority zset) — Bull wrote this queue: declare it under legacy: with kind: bull, and give the BullMQ queue another name or prefix',
    });
  });
});

describe('a Bull queue\'s keys of the wrong type', () => {
  it('is one line on stderr and exit 3, never a stack trace', async () => {
    const prefix = uniqueName('bull');
    await client().set(`${prefix}:old-mail:wait`, 'not a list');
    await client().set(`${prefix}:old-mail:id`, '1');
    const result = await runCli(['inspect', '--json', '-c', topologyFile(prefix, 'old-mail: { kind: bull }'), '--redis', redisUrl()]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      `queuectl: ${prefix}:old-mail:wait is not the list Bull keeps there (WRONGTYPE) — inspect that key with TYPE ${prefix}:old-mail:wait; something other than Bull wrote it`,
    ]);
  });
});
