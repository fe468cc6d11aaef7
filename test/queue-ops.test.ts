import { afterAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { bullConnection, clusterClient, clusterUrl, redisUrl, startRedis, uniqueName } from './helpers/redis.js';
import { runCli } from './helpers/cli.js';
import { queueOpsScenario, runOp, type OpsBackend } from './queue-ops-scenario.js';

const opened: { close(): Promise<unknown> }[] = [];
afterAll(async () => {
  await Promise.allSettled(opened.splice(0).map((o) => o.close()));
});
/** Clients of a private server, closed before it stops (else they reconnect and complain). */
const closing: (() => Promise<unknown>)[] = [];
const keep = <T extends { close(): Promise<unknown> }>(o: T) => (opened.push(o), o);

describe('queue and job operations on Redis', () => {
  it('a single node: every operation on real jobs in every state, read back through BullMQ', async () => {
    const prefix = uniqueName('qo'); // discovery sees only this test's queues
    const backend: OpsBackend = {
      globals: { redis: redisUrl(), prefix },
      queue: (name, opts) => keep(new Queue(name, { ...opts, connection: bullConnection(), prefix })),
      worker: (name, processor, concurrency) => keep(new Worker(name, processor, { connection: bullConnection(), prefix, concurrency })),
    };
    await queueOpsScenario(backend, uniqueName('mail'), uniqueName('other'));
  });

  it('a cluster: the same, with a hash-tagged prefix', async () => {
    const prefix = `{${uniqueName('qo')}}`;
    const backend: OpsBackend = {
      globals: { redis: clusterUrl(), prefix },
      queue: (name, opts) => keep(new Queue(name, { ...opts, connection: clusterClient(), prefix })),
      worker: (name, processor, concurrency) => keep(new Worker(name, processor, { connection: clusterClient(), prefix, concurrency })),
    };
    await queueOpsScenario(backend, uniqueName('mail'), uniqueName('other'));
  });

  it('the CLI: help leads with examples; off a terminal a destructive command without --yes is exit 2 and changes nothing', async () => {
    const prefix = uniqueName('qo');
    const name = uniqueName('q');
    const queue = keep(new Queue(name, { connection: bullConnection(), prefix }));
    await queue.add('a', {}, { jobId: 'j1' });
    for (const args of [['queue', 'clean'], ['queue', 'obliterate'], ['job', 'remove'], ['job', 'find']]) {
      const help = await runCli([...args, '--help']);
      expect(help.code).toBe(0);
      // The house layout (cli-help.ts): usage, the description, then Examples before any option.
      expect(help.stdout).toMatch(/^Usage: queuectl .*\n\n[^]*?\n\nExamples:\n {2}queuectl [^]*?\n\n(Arguments|Options):/);
    }
    const base = ['--url', redisUrl(), '--prefix', prefix];
    const noYes = await runCli(['queue', 'obliterate', name, ...base]);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toBe(`queuectl: obliterating ${name} needs a typed confirmation and stdin is not a terminal — rerun with --yes (or --confirm ${name})\n`);
    const remove = await runCli(['job', 'remove', `${name}/j1`, ...base]);
    expect(remove.code).toBe(2);
    expect(remove.stderr).toMatch(/needs a confirmation and stdin is not a terminal — rerun with --yes\n$/);
    expect(await queue.getJobState('j1')).toBe('waiting');
    // A --prefix that holds nothing is named as the mistake, not the queue.
    const wrongPrefix = await runCli(['queue', 'pause', name, '--url', redisUrl(), '--prefix', `${prefix}x`]);
    expect(wrongPrefix.code).toBe(2);
    expect(wrongPrefix.stderr).toMatch(/^queuectl: no BullMQ queue exists under prefix ".*x"; .*--prefix/);
    const done = await runCli(['job', 'remove', `${name}/j1`, '--yes', ...base]);
    expect(done.code).toBe(0);
    expect(await queue.getJob('j1')).toBeUndefined();
  });

  it('a Redis that stops answering mid-operation is exit 3 after --timeout, never a hang', async () => {
    const server = await startRedis();
    const admin = new Redis(server.url);
    try {
      const name = uniqueName('q');
      const queue = new Queue(name, { connection: bullConnection(server.url) });
      closing.push(() => queue.close(), () => admin.quit());
      await queue.add('a', {});
      // Reads still answer; BullMQ's pause script is a write and waits behind the pause.
      await admin.call('CLIENT', 'PAUSE', '30000', 'WRITE');
      const stuck = await runCli(['queue', 'pause', name, '--url', server.url, '--timeout', '1000'], { timeoutMs: 20_000 });
      expect(stuck.code).toBe(3);
      expect(stuck.stderr.trim().split('\n')).toHaveLength(1);
      expect(stuck.stderr).toMatch(/^queuectl: .*redis:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      await Promise.allSettled(closing.splice(0).map((close) => close()));
      await server.stop();
    }
  });

  it('queue names come from the topology too: a declared queue with no keys yet is accepted, a typo of it gets a did-you-mean', async () => {
    const prefix = uniqueName('qo');
    const yaml = `version: 1\nprefix: "${prefix}"\nqueues:\n  eccb-ocr: { jobs: [ocr.process] }\nlegacy:\n  eccb-smart-upload: { note: old }\n`;
    const backend: OpsBackend = { globals: { redis: redisUrl(), yaml }, queue: () => { throw new Error('unused'); }, worker: () => { throw new Error('unused'); } };
    const typo = await runOp(backend, () => import('../src/commands/queue-pause.js'), ['eccb-orc']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('"eccb-orc" is not a declared, legacy or live queue — did you mean "eccb-ocr"?');
    const legacyTypo = await runOp(backend, () => import('../src/commands/job-show.js'), ['eccb-smart-uplaod/1']);
    expect(legacyTypo.stderr).toContain('did you mean "eccb-smart-upload"?');
    const declared = await runOp(backend, () => import('../src/commands/queue-pause.js'), ['eccb-ocr'], { dryRun: true });
    expect(declared).toMatchObject({ code: 0, stdout: 'would pause eccb-ocr (was running)\ndry run: nothing changed\n' });
    expect((await runOp(backend, () => import('../src/commands/job-show.js'), ['eccb-ocr/42'])).stderr).toBe('job eccb-ocr/42 not found — `queuectl job find 42` looks in every queue');
  });

  it('a queue the topology declares needs no discovery: no SCAN of the keyspace', async () => {
    const server = await startRedis();
    try {
      const yaml = `version: 1\nqueues:\n  mail: { jobs: [send] }\n`;
      const queue = new Queue('mail', { connection: bullConnection(server.url) });
      const admin = new Redis(server.url);
      closing.push(() => queue.close(), () => admin.quit());
      await queue.add('send', {}, { jobId: 'j1' });
      const scans = async () => Number(/cmdstat_scan:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
      const before = await scans();
      const backend: OpsBackend = { globals: { redis: server.url, yaml }, queue: () => queue, worker: () => { throw new Error('unused'); } };
      expect((await runOp(backend, () => import('../src/commands/queue-pause.js'), ['mail'])).code).toBe(0);
      expect((await runOp(backend, () => import('../src/commands/job-show.js'), ['mail/j1'])).code).toBe(0);
      expect((await runOp(backend, () => import('../src/commands/job-promote.js'), ['mail/j1'])).code).toBe(1);
      expect(await scans()).toBe(before);
      expect(await queue.isPaused()).toBe(true);
      // An undeclared name is looked up live (and a typo of it gets its did-you-mean).
      expect((await runOp(backend, () => import('../src/commands/queue-resume.js'), ['mails'])).stderr).toContain('did you mean "mail"?');
      expect(await scans()).toBeGreaterThan(before);
    } finally {
      await Promise.allSettled(closing.splice(0).map((close) => close()));
      await server.stop();
    }
  });
});
