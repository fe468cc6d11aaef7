import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { run } from '../src/commands/topology-check.js';
import { bullConnection, clusterClient, clusterUrl, redisUrl, startRedis, uniqueName } from './helpers/redis.js';
import { ocrProcYaml, testContext } from './helpers/context.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { until } from './helpers/wait.js';

/** BullMQ objects and contexts opened by a test, closed after it. */
const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close().catch(() => undefined)));
});

function queue(name: string, prefix: string, url?: string): Queue {
  const q = new Queue(name, { connection: bullConnection(url), prefix });
  opened.push(q);
  return q;
}

/** Runs `topology check` in-process; returns the exit code and what it printed. */
async function check(prefix: string, args: { deep?: boolean; sample?: string; json?: boolean; redis?: string; yaml?: string } = {}) {
  const t = testContext({ yaml: args.yaml ?? ocrProcYaml(prefix), json: args.json ?? false, ...(args.redis ? { redis: args.redis } : {}) });
  try {
    const code = await run({ deep: args.deep, sample: args.sample ?? '50' }, t.ctx);
    return { code, stdout: t.stdout(), stderr: t.stderr(), json: () => t.json() };
  } finally {
    await t.ctx.close();
  }
}

/** A clean setup: both declared queues hold their own jobs. */
async function cleanSetup(prefix: string, url?: string) {
  await queue('ocr', prefix, url).add('ocr.process', { fileId: 1 });
  await queue('proc', prefix, url).add('smartupload.process', { sessionId: 1 });
}

describe('topology check against live Redis', () => {
  it('exits 0 on a clean setup and says what it checked', async () => {
    const prefix = uniqueName('p');
    await cleanSetup(prefix);
    const result = await check(prefix);
    expect(result.stdout).toMatch(/^in sync: 2 queues, 1 legacy queue checked against redis:\/\/127\.0\.0\.1:\d+; job names sampled/);
    expect(result.code).toBe(0);
  });

  it('warns but passes when a declared queue has no keys yet', async () => {
    const prefix = uniqueName('p');
    await queue('ocr', prefix).add('ocr.process', {});
    const result = await check(prefix, { json: true });
    expect(result.code).toBe(0);
    expect(result.json()).toEqual({
      schema: 'queuectl/topology-check@1',
      inSync: true,
      findings: [expect.objectContaining({ rule: 'queue-absent', severity: 'warning', queue: 'proc' })],
    });
  });

  it('fails on a legacy queue still holding jobs', async () => {
    const prefix = uniqueName('p');
    await cleanSetup(prefix);
    await queue('shared', prefix).addBulk([{ name: 'ocr.process', data: {} }, { name: 'smartupload.process', data: {}, opts: { delay: 60_000 } }]);
    const result = await check(prefix);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ERROR +legacy-has-jobs +shared +legacy queue still holds 2 jobs \(1 waiting, 1 delayed\) — run: queuectl migrate --from shared \(its --dry-run shows what would stay: names no queue owns need an owner, or the old workers to finish them before migrate --strategy drain removes the queue\)$/m);
    expect(result.stdout).toMatch(/^drift: 1 error, 0 warnings — /m);
  });

  it('fails on an undeclared queue', async () => {
    const prefix = uniqueName('p');
    await cleanSetup(prefix);
    await queue('stray', prefix).add('stray.job', {});
    const result = await check(prefix, { json: true });
    expect(result.code).toBe(1);
    expect(result.json().findings).toEqual([expect.objectContaining({ rule: 'queue-undeclared', severity: 'error', queue: 'stray' })]);
  });

  it('fails on a job in a queue that does not own its name, with examples and the fix', async () => {
    const prefix = uniqueName('p');
    await cleanSetup(prefix);
    const wrong = await queue('ocr', prefix).add('smartupload.process', { sessionId: 2 }, { jobId: 'wrong-1' });
    const result = await check(prefix);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `ERROR    job-misrouted  ocr  at least 1 job named smartupload.process (e.g. ${wrong.id}), owned by proc — run: queuectl migrate --from ocr`,
    );
  });

  it('--deep finds a misrouted job in the middle of a long list that the sample misses', async () => {
    const prefix = uniqueName('p');
    await cleanSetup(prefix);
    const ocr = queue('ocr', prefix);
    const good = (n: number) => Array.from({ length: n }, (_, i) => ({ name: 'ocr.process', data: { i } }));
    await ocr.addBulk(good(1200));
    await ocr.add('smartupload.process', {}, { jobId: 'hidden' });
    await ocr.addBulk(good(1200));
    const sampled = await check(prefix, { sample: '50' });
    expect(sampled.code).toBe(0);
    const deep = await check(prefix, { deep: true, json: true });
    expect(deep.code).toBe(1);
    const [finding] = deep.json().findings;
    expect(finding).toMatchObject({ rule: 'job-misrouted', queue: 'ocr' });
    expect(finding.message).toMatch(/^1 job named smartupload\.process \(e\.g\. hidden\)/);
  });

  it('fails on a worker consuming an undeclared queue (even one with no jobs)', async () => {
    const prefix = uniqueName('p');
    await cleanSetup(prefix);
    const worker = new Worker('ghost', async () => undefined, { connection: bullConnection(), prefix, name: 'ghost-worker' });
    opened.push(worker);
    await worker.waitUntilReady();
    // The blocking connection names itself when it connects, a moment after ready.
    let result = await check(prefix, { json: true });
    await until(async () => (result = await check(prefix, { json: true })).code !== 0, 'the worker to show in CLIENT LIST', 30_000, 100);
    expect(result.code).toBe(1);
    const findings = result.json().findings;
    expect(findings).toContainEqual(expect.objectContaining({ rule: 'worker-undeclared-queue', severity: 'error', queue: 'ghost' }));
    expect(findings.find((f: { rule: string }) => f.rule === 'worker-undeclared-queue').message).toContain('ghost-worker');
  });

  it('fails when meta concurrency differs from the file', async () => {
    const prefix = uniqueName('p');
    await cleanSetup(prefix);
    await queue('ocr', prefix).setGlobalConcurrency(5);
    await queue('proc', prefix).setGlobalRateLimit(10, 1000);
    const result = await check(prefix);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ERROR +meta-concurrency-drift +ocr +live global concurrency is 5, the file says 2 — /m);
    expect(result.stdout).toMatch(/^ERROR +meta-ratelimit-drift +proc +live rate limit is 10 per 1000 ms, the file says none — /m);
  });

  it('fails on an eviction policy other than noeviction', async () => {
    const server = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
    try {
      const prefix = uniqueName('p');
      await cleanSetup(prefix, server.url);
      const result = await check(prefix, { redis: server.url, json: true });
      expect(result.code).toBe(1);
      expect(result.json().findings).toEqual([expect.objectContaining({ rule: 'eviction-policy', severity: 'error' })]);
    } finally {
      await Promise.all(opened.splice(0).map((o) => o.close().catch(() => undefined)));
      await server.stop();
    }
  });

  it('rejects a bad --sample with a usage error', async () => {
    await expect(check(uniqueName('p'), { sample: 'lots' })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('on a cluster: finds misrouted jobs under a hash-tag prefix, and fails a prefix without one', async () => {
    const prefix = `{${uniqueName('p')}}`;
    const connection = clusterClient();
    const ocr = new Queue('ocr', { connection, prefix });
    const proc = new Queue('proc', { connection, prefix });
    opened.push(ocr, proc);
    await ocr.add('ocr.process', {});
    await ocr.add('smartupload.process', {}, { jobId: 'wrong-c' });
    await proc.add('smartupload.process', {});
    const tagged = await check(prefix, { redis: clusterUrl(), json: true });
    expect(tagged.json().findings).toEqual([expect.objectContaining({ rule: 'job-misrouted', queue: 'ocr' })]);
    expect(tagged.code).toBe(1);

    const plain = uniqueName('p');
    const untagged = await check(plain, { redis: clusterUrl(), json: true });
    expect(untagged.code).toBe(1);
    expect(untagged.json().findings.map((f: { rule: string; severity: string }) => `${f.severity}:${f.rule}`)).toEqual([
      'error:prefix-no-hash-tag',
      'warning:queue-absent',
      'warning:queue-absent',
    ]);
  });

  it('as a CLI: the JSON document alone on stdout, exit 1 on drift, redacted URL', async () => {
    const prefix = uniqueName('p');
    await cleanSetup(prefix);
    await queue('shared', prefix).add('ocr.process', {});
    const file = join(tempDir('check'), 'queuectl.yaml');
    writeFileSync(file, ocrProcYaml(prefix));
    const url = redisUrl().replace('redis://', 'redis://default:hunter2@');
    const json = await runCli(['topology', 'check', '-c', file, '--redis', redisUrl(), '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ schema: 'queuectl/topology-check@1', inSync: false, findings: [{ rule: 'legacy-has-jobs', queue: 'shared' }] });
    const human = await runCli(['topology', 'check', '-c', file, '--redis', url]);
    expect(human.stdout).not.toContain('hunter2');
    expect(human.stdout).toContain('checked against redis://default:***@');
  });
});
