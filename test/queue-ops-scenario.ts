import { expect } from 'vitest';
import type { Processor, Queue, QueueOptions, Worker } from 'bullmq';
import type { Context, GlobalOptions } from '../src/context.js';
import { QueuectlError, formatError } from '../src/errors.js';
import { testContext } from './helpers/context.js';
import { until } from './helpers/wait.js';

/**
 * One scenario for `queue …` and `job …`, run on a Redis node, a Redis Cluster and PostgreSQL
 * (queue-ops*.test.ts): real BullMQ jobs in every state, a real worker holding one job active,
 * each operation's effect read back through BullMQ's own API, dry runs and refusals changing nothing.
 */
export interface OpsBackend {
  /** Global options that point the commands at this backend (url, prefix). */
  globals: Partial<GlobalOptions> & { yaml?: string };
  /** The application's Queue; `opts` as the application would give them. */
  queue(name: string, opts?: Partial<QueueOptions>): Queue;
  worker(name: string, processor: Processor, concurrency: number): Worker;
}

type Run = (opts: any, ctx: Context, args: string[]) => Promise<number>;
export interface Outcome { code: number; stdout: string; stderr: string; json: any }

/** Runs a command as main.ts would: its exit code, or the exit code and one line of the error it threw. */
export async function runOp(backend: OpsBackend, load: () => Promise<{ run: Run }>, args: string[], opts: Record<string, unknown> = {}, globals: Partial<GlobalOptions> = {}): Promise<Outcome> {
  const t = testContext({ ...backend.globals, ...globals });
  let code: number;
  let error = '';
  try {
    code = await (await load()).run(opts, t.ctx, args);
  } catch (e) {
    if (!(e instanceof QueuectlError)) throw e;
    code = e.exitCode;
    error = formatError(e);
  } finally {
    await t.ctx.close();
  }
  const stdout = t.stdout();
  let json: unknown;
  try {
    json = globals.json ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr: t.stderr() + error, json };
}

const cmd = {
  pause: () => import('../src/commands/queue-pause.js'),
  resume: () => import('../src/commands/queue-resume.js'),
  promote: () => import('../src/commands/queue-promote.js'),
  clean: () => import('../src/commands/queue-clean.js'),
  obliterate: () => import('../src/commands/queue-obliterate.js'),
  find: () => import('../src/commands/job-find.js'),
  show: () => import('../src/commands/job-show.js'),
  retry: () => import('../src/commands/job-retry.js'),
  remove: () => import('../src/commands/job-remove.js'),
  jobPromote: () => import('../src/commands/job-promote.js'),
  logs: () => import('../src/commands/job-logs.js'),
};

/** BullMQ's Job.remove on a job a worker holds, through the commands' wrapper: the error it becomes. */
async function raceRemove(backend: OpsBackend, queue: Queue, id: string): Promise<QueuectlError> {
  const { bullmq, withJobSite } = await import('../src/jobs/open.js');
  const t = testContext(backend.globals);
  const job = (await queue.getJob(id))!;
  try {
    await withJobSite(t.ctx, (site) => bullmq(site, `remove ${queue.name}/${id}`, () => job.remove()));
  } catch (error) {
    if (error instanceof QueuectlError) return error;
    throw error;
  } finally {
    await t.ctx.close();
  }
  throw new Error('BullMQ removed an active job');
}

const state = async (queue: Queue, id: string) => (await queue.getJob(id)) ? queue.getJobState(id) : 'gone';

export async function queueOpsScenario(backend: OpsBackend, q: string, other: string): Promise<void> {
  // The application keeps 77 events (meta opts.maxLenEvents): no queuectl operation may reset it.
  const queue = backend.queue(q, { streams: { events: { maxLen: 77 } } });
  const second = backend.queue(other);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const worker = backend.worker(q, async (job) => {
    await job.log(`start ${job.id}`);
    if (job.data.kind === 'hold') await held;
    if (job.data.kind === 'fail') throw new Error(`boom ${job.id}`);
    await job.log(`done ${job.id}`);
    return 'ok';
  }, 1);
  const op = (load: () => Promise<{ run: Run }>, args: string[], opts: Record<string, unknown> = {}, globals: Partial<GlobalOptions> = {}) => runOp(backend, load, args, opts, globals);
  try {
    // Finished jobs first, then one held active (concurrency 1), then jobs that stay put behind it.
    await queue.add('send', {}, { jobId: 'c1' });
    await queue.add('send', {}, { jobId: 'c2' });
    await queue.add('send', {}, { jobId: 'c3' });
    await queue.add('send', { kind: 'fail' }, { jobId: 'f1', attempts: 1 });
    await until(async () => (await queue.getCompletedCount()) === 3 && (await queue.getFailedCount()) === 1, '3 completed, 1 failed');
    await queue.add('send', { kind: 'hold' }, { jobId: 'a1' });
    await until(async () => (await state(queue, 'a1')) === 'active', 'a1 active on the worker');
    await queue.add('send', {}, { jobId: 'w1' });
    await queue.add('send', {}, { jobId: 'p1', priority: 3 });
    await queue.add('send', {}, { jobId: 'd1', delay: 3_600_000 });
    await queue.add('send', {}, { jobId: 'd2', delay: 3_600_000 });
    await queue.add('send', {}, { jobId: 'x1', delay: 3_600_000 });
    await second.add('other', {}, { jobId: 'x1' });
    expect(await queue.getJobCounts()).toMatchObject({ completed: 3, failed: 1, active: 1, waiting: 1, prioritized: 1, delayed: 3 });

    // job find: every queue that holds the id, with its state; none: exit 1
    const found = await op(cmd.find, ['x1'], {}, { json: true });
    expect(found.code).toBe(0);
    expect(found.json.matches.map((m: any) => [m.ref, m.state]).sort()).toEqual([[`${other}/x1`, 'waiting'], [`${q}/x1`, 'delayed']].sort());
    const missing = await op(cmd.find, ['nope'], {}, { json: true });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no job with id "nope" in any of the \d+ queues on/);

    // job show: inspect's reader; a typo in the queue is exit 2 with a did-you-mean, a missing id exit 2
    const shown = await op(cmd.show, [`${q}/f1`], {}, { json: true });
    expect(shown.json.schema).toBe('queuectl/job@1');
    expect(shown.json.job).toMatchObject({ queue: q, id: 'f1', state: 'failed', failedReason: 'boom f1' });
    const typo = await op(cmd.show, [`${q}x/f1`]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(`did you mean "${q}"?`);
    expect((await op(cmd.show, [`${q}/nope`])).stderr).toContain(`job ${q}/nope not found`);
    expect((await op(cmd.show, ['f1'])).code).toBe(2);

    // job logs
    const logs = await op(cmd.logs, [`${q}/c1`], {}, { json: true });
    expect(logs.json).toMatchObject({ schema: 'queuectl/job-logs@1', count: 2, logs: ['start c1', 'done c1'] });
    expect((await op(cmd.logs, [`${q}/c1`], { tail: '1' })).stdout).toBe('done c1\n');

    // job remove: an active job on a real worker is refused (exit 1), and stays active
    const active = await op(cmd.remove, [`${q}/a1`], {}, { yes: true });
    expect(active.code).toBe(1);
    expect(active.stderr).toMatch(/job .*\/a1 is active: only .* jobs can be removed — a worker holds it/);
    expect(await state(queue, 'a1')).toBe('active');
    // Should a worker take a job between queuectl's check and its call, BullMQ's own refusal is one line too.
    const raced = await raceRemove(backend, queue, 'a1');
    expect(raced).toMatchObject({ exitCode: 1 });
    expect(raced.message).toMatch(/^BullMQ refused to remove .*a1: Job a1 (could not be removed because it is locked|is locked)/);
    expect(await state(queue, 'a1')).toBe('active');
    // dry run and no --yes off a terminal change nothing; the prompt names the target
    expect((await op(cmd.remove, [`${q}/w1`], { dryRun: true })).stdout).toContain(`would remove ${q}/w1 (send): waiting → removed`);
    const unconfirmed = await op(cmd.remove, [`${q}/w1`]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(new RegExp(`Remove job ${q}/w1 .* on \\S+ \\((db 0|cluster|schema \\w+)[^)]*\\)\\? needs a confirmation and stdin is not a terminal — rerun with --yes`));
    expect(await state(queue, 'w1')).toBe('waiting');
    const removed = await op(cmd.remove, [`${q}/w1`], {}, { yes: true, json: true });
    expect(removed.json).toMatchObject({ schema: 'queuectl/job-op@1', op: 'remove', before: 'waiting', after: null, changed: true });
    expect(await state(queue, 'w1')).toBe('gone');
    expect((await op(cmd.remove, [`${q}/w1`], {}, { yes: true })).code).toBe(2);

    // job retry: failed → waiting with attempts reset; dry run writes nothing; a delayed job is refused
    expect((await op(cmd.retry, [`${q}/f1`], { dryRun: true })).code).toBe(0);
    expect(await state(queue, 'f1')).toBe('failed');
    expect((await op(cmd.retry, [`${q}/d1`])).code).toBe(1);
    const retried = await op(cmd.retry, [`${q}/f1`], {}, { json: true });
    expect(retried.json).toMatchObject({ op: 'retry', before: 'failed', after: 'waiting' });
    expect((await queue.getJob('f1'))!.attemptsMade).toBe(0);

    // job promote and queue promote: delayed → waiting
    expect((await op(cmd.jobPromote, [`${q}/d1`], { dryRun: true })).code).toBe(0);
    expect(await state(queue, 'd1')).toBe('delayed');
    expect((await op(cmd.jobPromote, [`${q}/d1`])).code).toBe(0);
    expect(await state(queue, 'd1')).toBe('waiting');
    expect((await op(cmd.jobPromote, [`${q}/d1`])).code).toBe(1);
    expect((await op(cmd.promote, [q, 'd2', 'c1'])).code).toBe(1); // c1 is not delayed: nothing moves
    expect(await state(queue, 'd2')).toBe('delayed');
    const plan = await op(cmd.promote, [q], { all: true, dryRun: true }, { json: true });
    expect(plan.json).toMatchObject({ op: 'promote', dryRun: true, planned: 2, promoted: 0 });
    expect(await queue.getDelayedCount()).toBe(2);
    const promoted = await op(cmd.promote, [q], { all: true }, { json: true });
    expect(promoted.json).toMatchObject({ planned: 2, promoted: 2 });
    expect(await queue.getDelayedCount()).toBe(0);
    expect(await state(queue, 'x1')).toBe('waiting');

    // queue pause / resume, with a did-you-mean for a typo
    expect((await op(cmd.pause, [q], { dryRun: true })).stdout).toContain(`would pause ${q} (was running)`);
    expect(await queue.isPaused()).toBe(false);
    const paused = await op(cmd.pause, [q, other], {}, { json: true });
    expect(paused.json).toMatchObject({ schema: 'queuectl/queue-op@1', op: 'pause', queues: [{ queue: q, paused: true, changed: true }, { queue: other, paused: true, changed: true }] });
    expect(await queue.isPaused()).toBe(true);
    expect(await second.isPaused()).toBe(true);
    expect((await op(cmd.pause, [q])).stdout).toContain('already paused');
    const misspelt = await op(cmd.pause, [`${q}s`]);
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toContain(`did you mean "${q}"?`);
    expect((await op(cmd.resume, [q, other])).code).toBe(0);
    expect(await queue.isPaused()).toBe(false);
    expect(await second.isPaused()).toBe(false);

    // queue clean: the plan counts exactly what goes; no --yes is exit 2; --limit removes the oldest first
    const cleanPlan = await op(cmd.clean, [q], { state: 'completed', olderThan: '0', dryRun: true }, { json: true });
    expect(cleanPlan.json).toMatchObject({ op: 'clean', dryRun: true, planned: 3, removed: 0 });
    expect(cleanPlan.json.firstIds.sort()).toEqual(['c1', 'c2', 'c3']);
    expect((await op(cmd.clean, [q], { state: 'completed', olderThan: '0' })).code).toBe(2);
    expect((await op(cmd.clean, [q], { state: 'completed', olderThan: '1h' }, { yes: true, json: true })).json).toMatchObject({ planned: 0, removed: 0 });
    expect(await queue.getCompletedCount()).toBe(3);
    const one = await op(cmd.clean, [q], { state: 'completed', olderThan: '0', limit: '1' }, { yes: true, json: true });
    expect(one.json).toMatchObject({ planned: 1, removed: 1 });
    expect(await state(queue, one.json.firstIds[0])).toBe('gone');
    expect(await queue.getCompletedCount()).toBe(2);
    expect((await op(cmd.clean, [q], { state: 'completed', olderThan: '0' }, { yes: true, json: true })).json).toMatchObject({ planned: 2, removed: 2 });
    expect(await queue.getCompletedCount()).toBe(0);
    expect((await op(cmd.clean, [q], { state: 'complete', olderThan: '0' })).stderr).toContain('did you mean "completed"?');

    expect((await queue.getMeta()).maxLenEvents).toBe(77);

    // queue obliterate: refused while a job is active (and left running, not paused), then done
    const busy = await op(cmd.obliterate, [q], {}, { yes: true });
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('1 job active');
    expect(await queue.isPaused()).toBe(false);
    release();
    await until(async () => (await queue.getActiveCount()) === 0 && (await state(queue, 'a1')) === 'completed', 'a1 finished');
    await worker.close();
    const before = await queue.getJobCounts();
    const dry = await op(cmd.obliterate, [q], { dryRun: true }, { json: true });
    expect(dry.json).toMatchObject({ op: 'obliterate', dryRun: true, existed: true, obliterated: false });
    expect((await op(cmd.obliterate, [q])).code).toBe(2);
    expect((await op(cmd.obliterate, [q], { confirm: other })).code).toBe(2);
    expect(await queue.getJobCounts()).toEqual(before);
    const gone = await op(cmd.obliterate, [q], {}, { yes: true, json: true });
    expect({ ...gone.json, before, stderr: gone.stderr }).toMatchObject({ obliterated: true, deleted: Object.values(before).reduce((a, b) => a + b, 0) });
    expect(Object.values(await queue.getJobCounts()).every((n) => n === 0)).toBe(true);
    expect(await second.getJob('x1')).toBeDefined(); // the other queue is untouched
  } finally {
    release();
    await worker.close().catch(() => undefined);
  }
}
