import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullConnection, client, redisUrl, uniqueName } from './helpers/redis.js';
import { testContext } from './helpers/context.js';
import { run } from '../src/commands/inspect.js';
import { discoverQueues } from '../src/inspect/discover.js';
import { readQueues } from '../src/inspect/read-queues.js';
import type { RedisReader } from '../src/inspect/reads.js';
import { UsageError } from '../src/errors.js';
import { runCli } from './helpers/cli.js';
import { until } from './helpers/wait.js';

// One private prefix for the file, so discovery sees only these queues.
const prefix = uniqueName('insp');
const main = uniqueName('main');
const children = uniqueName('kids');
const paused = uniqueName('paused');
const legacy = uniqueName('legacy');
const stray = uniqueName('stray');
const connection = bullConnection();

let redis: Redis;
let reader: RedisReader;
let queue: Queue;
let worker: Worker;
let release: () => void = () => undefined;
const opened: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  redis = client();
  reader = { client: redis, mode: 'standalone', masters: async () => [redis] };
  queue = new Queue(main, { connection, prefix });
  opened.push(queue);
  const gate = new Promise<void>((resolve) => (release = resolve));
  // Active jobs wait on the gate; "boom" fails at once (attempts 1); "ok" completes.
  worker = new Worker(main, async (job: Job) => {
    if (job.name === 'boom') throw new Error('boom: the processor threw');
    if (job.name === 'block') await gate;
    return { done: job.name };
  }, { connection, prefix, concurrency: 2, name: 'inspect-test' });
  opened.push(worker);
  await queue.add('ok', { n: 1 });
  await queue.add('boom', { n: 2 }, { attempts: 1, jobId: 'boom-1' });
  await queue.add('block', { n: 3 });
  await queue.add('block', { n: 4 });
  await until(async () => {
    const c = await queue.getJobCounts('completed', 'failed', 'active');
    return c.completed === 1 && c.failed === 1 && c.active === 2;
  }, 'one completed, one failed, two active jobs');
  // Both slots are taken by blocked jobs, and pausing stops fetching: what is added next stays put.
  await worker.pause(true);
  await queue.add('later', { n: 5 });
  await queue.add('later', { n: 6 });
  await queue.add('later', { n: 7 });
  await queue.add('prio', { n: 8 }, { priority: 5 });
  await queue.add('prio', { n: 9 }, { priority: 1 });
  await queue.add('soon', { n: 10 }, { delay: 60_000 });
  const flow = new FlowProducer({ connection, prefix });
  opened.push(flow);
  await flow.add({ name: 'parent', queueName: main, data: {}, children: [{ name: 'child', queueName: children, data: {} }] });

  const pausedQueue = new Queue(paused, { connection, prefix });
  opened.push(pausedQueue);
  await pausedQueue.add('x', {});
  await pausedQueue.pause();
  const legacyQueue = new Queue(legacy, { connection, prefix });
  opened.push(legacyQueue);
  await legacyQueue.add('old', {}, { delay: 60_000 });
  const strayQueue = new Queue(stray, { connection, prefix });
  opened.push(strayQueue);
  await strayQueue.add('s', {});
}, 60_000);

afterAll(async () => {
  release();
  for (const o of opened.reverse()) await o.close().catch(() => undefined);
});

const yaml = () => `version: 1
prefix: "${prefix}"
queues:
  ${main}: { jobs: [ok, boom, block, later, prio, soon, parent], jobId: "j-{n}", alerts: { waiting: [2, 100], failed: [5, 10] } }
  ${paused}: { jobs: [x], dedup: none }
workers:
  w: { queues: [${main}, ${paused}] }
legacy:
  ${legacy}: { note: old shared queue }
`;

describe('reading queues', () => {
  it('discovers every queue of the prefix with SCAN', async () => {
    expect(await discoverQueues([redis], prefix, { count: 10 })).toEqual([children, legacy, main, paused, stray].sort());
  });

  it('counts exactly what BullMQ counts, in every state', async () => {
    const [live] = await readQueues(reader, prefix, [{ name: main, kind: 'declared' }]);
    const bull = await queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'failed', 'completed', 'waiting-children', 'paused' as never);
    expect(live.counts).toEqual({
      waiting: bull.wait + bull.paused,
      prioritized: bull.prioritized,
      delayed: bull.delayed,
      active: bull.active,
      failed: bull.failed,
      completed: bull.completed,
      waitingChildren: bull['waiting-children'],
    });
    expect(live.counts).toEqual({ waiting: 3, prioritized: 2, delayed: 1, active: 2, failed: 1, completed: 1, waitingChildren: 1 });
    expect(live.exists).toBe(true);
    expect(live.bullmqVersion).toMatch(/^bullmq:/);
    expect(live.workers?.length).toBe(await queue.getWorkersCount());
    expect(live.workers?.map((w) => w.name)).toContain('inspect-test');
  });

  it('measures the oldest waiting job from the right end of wait', async () => {
    const waiting = await queue.getWaiting();
    const oldest = Math.min(...waiting.map((j) => j.timestamp));
    const now = oldest + 12_345;
    const [live] = await readQueues(reader, prefix, [{ name: main, kind: 'declared' }], { now: () => now });
    expect(live.oldestWaitingMs).toBe(12_345);
    const [none] = await readQueues(reader, prefix, [{ name: legacy, kind: 'legacy' }]);
    expect(none.oldestWaitingMs).toBeNull();
  });

  it('sees a paused queue and a declared queue that does not exist', async () => {
    const [p, absent] = await readQueues(reader, prefix, [{ name: paused, kind: 'declared' }, { name: 'nope', kind: 'declared' }]);
    expect(p.paused).toBe(true);
    expect(p.counts.waiting).toBe(1);
    expect(absent.exists).toBe(false);
    expect(absent.counts.waiting).toBe(0);
  });
});

describe('queuectl inspect', () => {
  it('prints the contract JSON with kinds and alerts', async () => {
    const t = testContext({ yaml: yaml(), json: true, all: true } as never);
    expect(await run({ all: true }, t.ctx, [])).toBe(0);
    await t.ctx.close();
    const doc = t.json();
    expect(doc.schema).toBe('queuectl/inspect@1');
    expect(Object.keys(doc.redis)).toEqual(expect.arrayContaining(['version', 'mode', 'usedMemory', 'maxMemory', 'evictionPolicy']));
    expect(doc.redis.mode).toBe('standalone');
    const byName = Object.fromEntries(doc.queues.map((q: any) => [q.name, q]));
    expect(doc.queues.map((q: any) => q.name)).toEqual([main, paused, legacy, children, stray]);
    expect(byName[main]).toMatchObject({ kind: 'declared', alert: 'warning', paused: false, workers: 1 });
    expect(byName[main].counts).toMatchObject({ waiting: 3, prioritized: 2, delayed: 1, active: 2, failed: 1, completed: 1 });
    expect(typeof byName[main].oldestWaitingMs).toBe('number');
    expect(byName[paused]).toMatchObject({ kind: 'declared', paused: true, alert: 'ok' });
    expect(byName[legacy]).toMatchObject({ kind: 'legacy', alert: 'warning' });
    expect(byName[stray]).toMatchObject({ kind: 'undeclared', alert: 'ok', workers: 0 });
  });

  it('shows declared and legacy queues only, unless --all', async () => {
    const t = testContext({ yaml: yaml(), json: true });
    await run({}, t.ctx, []);
    await t.ctx.close();
    expect(t.json().queues.map((q: any) => q.kind)).toEqual(['declared', 'declared', 'legacy']);
  });

  it('shows every discovered queue as undeclared with no topology file', async () => {
    const t = testContext({ json: true, prefix });
    await run({}, t.ctx, []);
    await t.ctx.close();
    const queues = t.json().queues;
    expect(queues.map((q: any) => q.name).sort()).toEqual([children, legacy, main, paused, stray].sort());
    expect(new Set(queues.map((q: any) => q.kind))).toEqual(new Set(['undeclared']));
  });

  it('renders a table with only the named queues, and Redis health', async () => {
    const t = testContext({ yaml: yaml() });
    await run({}, t.ctx, [main]);
    await t.ctx.close();
    const out = t.stdout();
    expect(out).toContain(main);
    expect(out).not.toContain(stray);
    expect(out).toMatch(/oldest wait/);
    expect(out).toMatch(/warning/);
    expect(out).toMatch(/Redis \d+\.\d+/);
    expect(out).toMatch(/eviction noeviction/);
  });

  it('never calls KEYS', async () => {
    const probe = client();
    const before = await probe.info('commandstats');
    const t = testContext({ yaml: yaml(), json: true });
    await run({ all: true }, t.ctx, []);
    await t.ctx.close();
    const after = await probe.info('commandstats');
    const keysCalls = (text: string) => Number(/cmdstat_keys:calls=(\d+)/.exec(text)?.[1] ?? 0);
    expect(keysCalls(after)).toBe(keysCalls(before));
    expect(after).toMatch(/cmdstat_scan:calls=\d+/);
  });

  it('shows a failed job with its stack trace', async () => {
    const t = testContext({ yaml: yaml(), json: true });
    await run({}, t.ctx, ['job', main, 'boom-1']);
    await t.ctx.close();
    const { schema, job } = t.json();
    expect(schema).toBe('queuectl/inspect-job@1');
    expect(job).toMatchObject({ id: 'boom-1', name: 'boom', state: 'failed', attemptsMade: 1, data: { n: 2 }, failedReason: 'boom: the processor threw' });
    expect(job.stacktrace[0]).toMatch(/^Error: boom: the processor threw\n\s+at /);
    expect(job.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    const text = testContext({ yaml: yaml() });
    await run({}, text.ctx, ['job', main, 'boom-1']);
    await text.ctx.close();
    expect(text.stdout()).toMatch(/state:\s+failed/);
    expect(text.stdout()).toMatch(/stack trace:\n\s+Error: boom/);
  });

  it('knows the state of active, delayed and prioritized jobs', async () => {
    const active = (await queue.getActive())[0];
    const delayed = (await queue.getDelayed())[0];
    const prio = (await queue.getPrioritized())[0];
    for (const [id, state] of [[active.id, 'active'], [delayed.id, 'delayed'], [prio.id, 'prioritized']]) {
      const t = testContext({ yaml: yaml(), json: true });
      await run({}, t.ctx, ['job', main, id!]);
      await t.ctx.close();
      expect(t.json().job.state).toBe(state);
      if (state === 'delayed') expect(Date.parse(t.json().job.dueAt)).toBe(delayed.timestamp + delayed.delay);
    }
  });

  it('an unknown job is a usage error (exit 2)', async () => {
    const t = testContext({ yaml: yaml() });
    const error = await run({}, t.ctx, ['job', main, 'no-such-job']).catch((e) => e);
    await t.ctx.close();
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(`job ${main}/no-such-job not found`);
  });

  it('watches until Ctrl-C, printing one table per tick off a terminal, with rates', async () => {
    const stop = new AbortController();
    const t = testContext({ yaml: yaml(), signal: stop.signal });
    // Ctrl-C once two frames are out (observed, not timed).
    const watching = run({ watch: '0.2' }, t.ctx, [main]);
    let settled = false;
    void watching.catch(() => undefined).finally(() => (settled = true));
    await until(() => settled || t.stdout().split(/^every 0.2s/m).length - 1 >= 2, 'two watch frames');
    stop.abort();
    expect(await watching, 'Ctrl-C ends --watch with 130, as every interrupted command').toBe(130);
    await t.ctx.close();
    const frames = t.stdout().split(/^every 0.2s/m).length - 1;
    expect(frames).toBeGreaterThanOrEqual(2);
    expect(t.stdout()).toContain('waiting Δ/s');
    expect(t.stdout()).not.toMatch(/\x1b\[/);
  });
});

describe('bin/queuectl inspect', () => {
  it('exits 2 with one line for an unknown job, 0 with JSON for a queue', async () => {
    const missing = await runCli(['inspect', 'job', main, 'no-such-job', '--redis', redisUrl(), '--prefix', prefix]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`queuectl: job ${main}/no-such-job not found — check the queue and id; \`queuectl inspect ${main}\` shows the queue\n`);
    const ok = await runCli(['inspect', main, '--json', '--redis', redisUrl(), '--prefix', prefix]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).queues[0]).toMatchObject({ name: main, kind: 'undeclared' });
    const bad = await runCli(['inspect', '--watch', 'soon', '--redis', redisUrl()]);
    expect(bad.code).toBe(2);
  });
});
