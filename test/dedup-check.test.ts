import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { run } from '../src/commands/dedup-check.js';
import { countScratchKeys } from '../src/dedup/cleanup.js';
import { planAll, runPlans } from '../src/dedup/run.js';
import { InterruptedError, UsageError } from '../src/errors.js';
import type { DedupReport } from '../src/dedup/types.js';
import { testContext } from './helpers/context.js';
import { bullConnection, client, clusterClient, clusterUrl, startRedis, uniqueName } from './helpers/redis.js';
import type { RedisProcess } from './setup/redis-process.js';

/** Every test scans the whole server for scratch keys: none may survive a run. */
async function scratchKeysOn(url: string): Promise<string[]> {
  const found: string[] = [];
  for (const match of ['queuectl-dedup-*', '{queuectl-dedup-*']) {
    let cursor = '0';
    do {
      const [next, keys] = await client(url).scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

const contexts: ReturnType<typeof testContext>[] = [];
afterAll(async () => {
  await Promise.all(contexts.map((t) => t.ctx.close()));
});

async function dedupCheck(yaml: string, opts: Record<string, unknown> = {}, globals: Record<string, unknown> = {}) {
  const t = testContext({ yaml, json: true, ...globals });
  contexts.push(t);
  const code = await run({ settleMs: 10_000, ...opts }, t.ctx);
  return { code, report: t.json<DedupReport>(), stderr: t.stderr() };
}

const PASSING = `
version: 1
prefix: bull
defaults:
  attempts: 3
  backoff: { type: exponential, delay: 2s }
  removeOnComplete: { age: 1d, count: 1000 }
  removeOnFail: { age: 7d, count: 5000 }
queues:
  process: { jobs: [smartupload.process], jobId: "process-{sessionId}", concurrency: 4 }
  secondpass:
    jobs: [smartupload.secondPass]
    jobId: "secondpass-{org.id}-{sessionId}"
    backoff: { type: steps, steps: [30s, 2m, 5m] }
    deduplication: { id: "sp-{sessionId}", ttl: 5m }
  ocr:
    jobs: [ocr.process]
    jobId: "ocr-{fileId}"
    removeOnComplete: false
    payload:
      type: object
      properties: { fileId: { type: integer }, lang: { type: string }, requestId: { type: string } }
      required: [fileId, lang, requestId]
workers:
  w: { queues: [process, secondpass, ocr] }
`;

describe('dedup-check on a scratch prefix', () => {
  // A private server: the whole-server scan for scratch keys must not see the runs of other test
  // files (dedup-cli, the demo) going on at the same time on the shared one. helpers/redis.ts stops
  // it after the file, once the contexts are closed.
  let scratch: RedisProcess;
  beforeAll(async () => {
    scratch = await startRedis();
  });
  const onScratch = (yaml: string, opts: Record<string, unknown> = {}, globals: Record<string, unknown> = {}) => dedupCheck(yaml, opts, { redis: scratch.url, ...globals });
  const scratchKeysLeft = () => scratchKeysOn(scratch.url);

  it('passes a topology where every template dedups: one job, two attempts, exactly one completion, n-1 duplicates', async () => {
    const { code, report, stderr } = await onScratch(PASSING);
    expect(code, JSON.stringify(report)).toBe(0);
    expect(report.schema).toBe('queuectl/dedup-check@1');
    expect(report.results.map((r) => [r.queue, r.jobs, r.attempts, r.completions, r.ok])).toEqual([
      ['process', 1, 2, 1, true],
      ['secondpass', 1, 2, 1, true],
      ['ocr', 1, 2, 1, true],
    ]);
    expect(report.results[1].detail).toMatch(/deduplication key set/);
    // Retention that frees a completed id is a warning, not a failure.
    expect(stderr).toMatch(/warning: process: removeOnComplete frees a completed job's id/);
    expect(stderr).not.toMatch(/warning: ocr:/);
    expect(await scratchKeysLeft()).toEqual([]);
  });

  it('fails a template built on a per-request field: n copies make n jobs', async () => {
    const { code, report } = await onScratch(`
version: 1
queues:
  process:
    jobs: [smartupload.process]
    jobId: "process-{requestId}"
    attempts: 2
    payload:
      type: object
      properties: { sessionId: { type: string }, requestId: { type: string, description: "new per request" } }
      required: [sessionId, requestId]
`, { copies: '4' });
    expect(code).toBe(1);
    expect(report.results[0]).toMatchObject({ queue: 'process', jobs: 4, executions: 8, ok: false });
    expect(report.results[0].detail).toMatch(/^4 jobs from 4 copies of one session — jobId "process-\{requestId\}" reads requestId/);
    expect(await scratchKeysLeft()).toEqual([]);
  });

  it('skips dedup: none and fails a queue with no rule', async () => {
    const { code, report } = await onScratch(`
version: 1
queues:
  loose: { jobs: [loose.x], dedup: none }
  ruleless: { jobs: [ruleless.x], attempts: 2 }
`);
    expect(code).toBe(1);
    expect(report.results).toEqual([
      { queue: 'loose', jobs: 0, attempts: 0, completions: 0, executions: 0, ok: true, detail: 'dedup: none — not checked', warnings: [] },
      expect.objectContaining({ queue: 'ruleless', ok: false, detail: expect.stringMatching(/no jobId template and no "dedup: none"/) }),
    ]);
  });

  it('exits 0 when the only queue is dedup: none', async () => {
    const { code } = await onScratch('version: 1\nqueues:\n  loose: { jobs: [loose.x], dedup: none }\n');
    expect(code).toBe(0);
  });

  it('reports broken templates as failing queues with the reason', async () => {
    const { code, report } = await onScratch(`
version: 1
defaults: { attempts: 2 }
queues:
  integer: { jobs: [a], jobId: "{fileId}" }
  colon: { jobs: [b], jobId: "ocr:{fileId}" }
  zero: { jobs: [c], jobId: "0{fileId}" }
  undeclared:
    jobs: [d]
    jobId: "d-{sessionId}"
    payload: { type: object, properties: { fileId: { type: string } }, required: [fileId] }
  fine: { jobs: [e], jobId: "e-{sessionId}" }
`);
    expect(code).toBe(1);
    const detail = Object.fromEntries(report.results.map((r) => [r.queue, r.ok ? 'ok' : r.detail]));
    expect(detail).toEqual({
      integer: expect.stringMatching(/^jobId "\{fileId\}" can render an integer/),
      colon: expect.stringMatching(/^jobId "ocr:\{fileId\}" contains ":"/),
      zero: expect.stringMatching(/^jobId "0\{fileId\}" starts with "0"/),
      undeclared: 'jobId "d-{sessionId}" reads "sessionId", which the payload schema does not declare',
      fine: 'ok',
    });
  });

  it('fails a queue whose first failure is never retried (attempts 1)', async () => {
    const { code, report } = await onScratch('version: 1\nqueues:\n  once: { jobs: [a], jobId: "a-{sessionId}", attempts: 1 }\n');
    expect(code).toBe(1);
    expect(report.results[0]).toMatchObject({ jobs: 1, executions: 1, ok: false, detail: expect.stringMatching(/attempts 1: the failed first attempt is never retried/) });
  });

  it('checks only the queues named by --queue, and refuses an unknown one', async () => {
    const { report } = await onScratch(PASSING, { queue: ['process,ocr'], copies: '3' });
    expect(report.results.map((r) => r.queue)).toEqual(['process', 'ocr']);
    await expect(dedupCheck(PASSING, { queue: ['nope'] })).rejects.toThrow(UsageError);
    await expect(dedupCheck(PASSING, { copies: '1' })).rejects.toThrow(/--copies must be a whole number from 2 to 100/);
  });

  it('removes its scratch keys when interrupted mid-run', async () => {
    const t = testContext({ yaml: PASSING, redis: scratch.url });
    contexts.push(t);
    const { topology } = await t.ctx.topology();
    const handle = await t.ctx.redis();
    const abort = new AbortController();
    const plans = planAll(Object.values(topology.queues), 5, false);
    const running = runPlans(handle, plans, { copies: 5, live: false, prefix: 'bull', signal: abort.signal, onQueue: () => abort.abort() });
    await expect(running).rejects.toThrow(InterruptedError);
    expect(await scratchKeysLeft()).toEqual([]);
  });

  it('works on a Redis Cluster with a hash-tagged scratch prefix, and cleans every master', async () => {
    const t = testContext({ yaml: PASSING.replace('prefix: bull', 'prefix: "{bull}"'), json: true, redis: clusterUrl() });
    contexts.push(t);
    const code = await run({ settleMs: 10_000, copies: '3' }, t.ctx);
    expect(code, t.stdout()).toBe(0);
    const left = await Promise.all(clusterClient().nodes('master').map((n) => n.scan('0', 'MATCH', '{queuectl-dedup-*', 'COUNT', 10_000)));
    expect(left.flatMap(([, keys]) => keys)).toEqual([]);
    expect(await countScratchKeys(await t.ctx.redis(), '{queuectl-dedup-')).toBe(0);
  });
});

describe('dedup-check --live', () => {
  const liveYaml = (prefix: string, jobId = 'process-{sessionId}', extra = ', deduplication: { id: "p-{sessionId}" }') => `
version: 1
prefix: ${prefix}
queues:
  process: { jobs: [smartupload.process], jobId: "${jobId}", attempts: 3, backoff: { type: fixed, delay: 1s }${extra} }
`;

  it('needs a confirmation off a terminal', async () => {
    await expect(dedupCheck(liveYaml(uniqueName('live')), { live: true })).rejects.toMatchObject({ hint: 'rerun with --yes', message: expect.stringMatching(/needs a confirmation/) });
  });

  it('adds a far-delayed canary to the real queue, finds one job, and leaves nothing behind', async () => {
    const prefix = uniqueName('live');
    const real = new Queue('process', { connection: bullConnection(), prefix });
    await real.add('smartupload.process', { sessionId: 'real-1' }, { jobId: 'process-real-1' });
    const { code, report } = await dedupCheck(liveYaml(prefix), { live: true }, { yes: true });
    expect(code, JSON.stringify(report)).toBe(0);
    expect(report.results[0]).toMatchObject({ queue: 'process', jobs: 1, executions: 0, ok: true });
    expect(report.results[0].detail).toMatch(/^live: 1 canary job \(process-queuectl-canary-[0-9a-f]+\) from 5 copies \(4 reported duplicated\), removed/);
    // Only the real job remains; no canary hash, no delayed entry, no dedup key.
    expect(await real.getJobCounts('wait', 'delayed')).toEqual({ wait: 1, delayed: 0 });
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client().scan(cursor, 'MATCH', `${prefix}:process:*canary*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    expect(keys).toEqual([]);
    expect(await real.getJob('process-real-1')).toBeDefined();
    // The canary's ten-year delay marker is gone too: only the "job ready" marker of the real job.
    expect(await client().zrange(`${prefix}:process:marker`, 0, -1)).toEqual(['0']);
    await real.obliterate({ force: true });
    await real.close();
  });

  it('puts the delay marker back to the next real delayed job', async () => {
    const prefix = uniqueName('live');
    const real = new Queue('process', { connection: bullConnection(), prefix });
    const soon = await real.add('smartupload.process', { sessionId: 'later' }, { jobId: 'process-later', delay: 60_000 });
    const before = await client().zscore(`${prefix}:process:marker`, '1');
    const { code } = await dedupCheck(liveYaml(prefix), { live: true }, { yes: true });
    expect(code).toBe(0);
    expect(await client().zscore(`${prefix}:process:marker`, '1')).toBe(before);
    expect(await real.getJobCounts('delayed')).toEqual({ delayed: 1 });
    expect(soon.id).toBe('process-later');
    await real.obliterate({ force: true });
    await real.close();
  });

  it('fails, and still removes every canary, when the template varies per request', async () => {
    const prefix = uniqueName('live');
    const { code, report } = await dedupCheck(liveYaml(prefix, 'process-{requestId}', ''), { live: true, copies: '3' }, { yes: true });
    expect(code).toBe(1);
    expect(report.results[0]).toMatchObject({ jobs: 3, ok: false });
    const real = new Queue('process', { connection: bullConnection(), prefix });
    expect(await real.getJobCounts('wait', 'delayed', 'prioritized')).toEqual({ wait: 0, delayed: 0, prioritized: 0 });
    await real.obliterate({ force: true });
    await real.close();
  });
});
