import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, repoRoot } from './helpers/cli.js';
import { startRedis, uniqueName } from './helpers/redis.js';
import type { RedisProcess } from './setup/redis-process.js';
import { journalWatch } from './helpers/journal.js';
import { yamlFor } from './migrate-fixture.js';
import { locateAll, readHashes, seedLegacy, type SeededJob } from './migrate-seed.js';
import { tempDir } from './helpers/temp.js';

// Crash safety over 50k jobs on a private redis-server (the shared one stays fast for other files):
// SIGKILL the migrate process at observed moments (connected; a random number of jobs moved), or
// kill its Redis connection, then rerun to the end and check every job: in exactly one place, in
// the state it had, hash intact.
const JOBS = 50_000;
const UNOWNED = 50;
const ALL_STATES = 'wait,prioritized,delayed,failed';

let server: RedisProcess;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

interface Attempt {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function migrate(args: string[], onStart?: (child: ReturnType<typeof spawn>) => void): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', QUEUECTL_DEBUG: '', REDIS_URL: undefined, QUEUECTL_CONFIG: undefined }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onStart?.(child);
  });
}

async function setup() {
  const legacy = uniqueName('legacy');
  const [a, b] = [uniqueName('qa'), uniqueName('qb')];
  const dir = tempDir('crash');
  const config = join(dir, 'queuectl.yaml');
  writeFileSync(config, yamlFor(legacy, a, b));
  const original = await seedLegacy(redis, { queue: legacy, jobs: JOBS, names: ['a.process', 'b.second'], unowned: UNOWNED });
  const base = ['migrate', '--from', legacy, '--yes', '--states', ALL_STATES, '-c', config, '--redis', server.url];
  return { legacy, a, b, original, base, config };
}

async function destinationTotal(queues: string[]): Promise<number> {
  const pipe = redis.pipeline();
  for (const q of queues) pipe.llen(`bull:${q}:wait`).zcard(`bull:${q}:prioritized`).zcard(`bull:${q}:delayed`).zcard(`bull:${q}:failed`);
  return ((await pipe.exec()) ?? []).reduce((sum, [, n]) => sum + Number(n), 0);
}

/** Every job in exactly one place, the state it had, its hash intact; unowned ones still at home. */
async function expectExact(s: Awaited<ReturnType<typeof setup>>): Promise<void> {
  const where = await locateAll(redis, 'bull', [s.legacy, s.a, s.b]);
  expect(where.size).toBe(s.original.size);
  const byQueue = new Map<string, SeededJob[]>([[s.legacy, []], [s.a, []], [s.b, []]]);
  const problems: string[] = [];
  for (const job of s.original.values()) {
    const at = where.get(job.id) ?? [];
    const home = job.name === 'a.process' ? s.a : job.name === 'b.second' ? s.b : s.legacy;
    if (at.length !== 1) { problems.push(`${job.id}: found ${at.length} times`); continue; }
    if (at[0].queue !== home || at[0].state !== job.state) problems.push(`${job.id}: in ${at[0].queue}/${at[0].state}, expected ${home}/${job.state}`);
    if ((job.state === 'delayed' || job.state === 'failed') && at[0].score !== job.score) problems.push(`${job.id}: score ${at[0].score} != ${job.score}`);
    if (job.state === 'prioritized' && Math.floor(Number(at[0].score) / 2 ** 32) !== Math.floor(Number(job.score) / 2 ** 32)) problems.push(`${job.id}: priority changed`);
    byQueue.get(home)!.push(job);
  }
  for (const [queue, jobs] of byQueue) {
    const hashes = await readHashes(redis, 'bull', queue, jobs.map((j) => j.id));
    for (const job of jobs) {
      const h = hashes.get(job.id)!;
      if (h.name !== job.name || h.data !== job.data) problems.push(`${job.id}: hash in ${queue} is ${JSON.stringify(h)}`);
    }
    if (queue !== s.legacy) {
      const leftovers = await readHashes(redis, 'bull', s.legacy, jobs.map((j) => j.id));
      for (const [id, h] of leftovers) if (h.name !== null) problems.push(`${id}: hash still in the source too`);
    }
  }
  expect(problems.slice(0, 10)).toEqual([]);
}

async function finishAndCheck(s: Awaited<ReturnType<typeof setup>>): Promise<void> {
  const last = await migrate([...s.base, '--json']);
  expect(last.code, last.stderr).toBe(1); // the unowned jobs stay: exit 1, reported
  const doc = JSON.parse(last.stdout);
  expect(doc.verified).toBe(true);
  expect(doc.skipped).toEqual([expect.objectContaining({ reason: 'unowned', count: UNOWNED })]);
  await expectExact(s);
  const status = await migrate(['migrate', 'status', '--json', '-c', s.config, '--redis', server.url]);
  const run = JSON.parse(status.stdout).runs.find((r: { id: string }) => r.id === doc.runId);
  expect(run).toMatchObject({ source: s.legacy, state: 'done', left: 0, finished: true, moved: JOBS });
}

/** When to strike: once the process is connected (start-up, plan), or once the journal says `moved` jobs have moved. */
type StrikeAt = { start: true } | { moved: number };

/** `moved` a random 1 to 2000 jobs past `done`, never all `JOBS`: where a kill lands mid-move. */
function randomThreshold(done: number): StrikeAt {
  return { moved: done + 1 + Math.floor(Math.random() * Math.min(2000, JOBS - done - 1)) };
}

/** The ids of the Redis connections not in `mine`: the migrate process's. */
async function theirConnections(mine: Set<string>): Promise<string[]> {
  const list = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'normal'));
  return [...list.matchAll(/^id=(\d+) /gm)].map((m) => m[1]).filter((id) => !mine.has(id));
}

/**
 * Runs migrate and strikes at an observed moment, never after a guessed delay: polls every 10 ms
 * until `at` holds, then calls `strike` every `everyMs` until it returns true or the process ends.
 * Resolves when the process has ended.
 */
function migrateStruckAt(args: string[], at: StrikeAt, watch: { journal: ReturnType<typeof journalWatch>; mine: Set<string> }, strike: (child: ChildProcess) => Promise<boolean>, everyMs = 10): Promise<Attempt> {
  const reached = async () => ('moved' in at ? (await watch.journal.moved()) >= at.moved : (await theirConnections(watch.mine)).length > 0);
  return migrate(args, (child) => {
    let ended = false;
    child.on('close', () => (ended = true));
    void (async () => {
      while (!ended && !(await reached())) await new Promise((r) => setTimeout(r, 10));
      while (!ended && !(await strike(child))) await new Promise((r) => setTimeout(r, everyMs));
    })();
  });
}

describe('migrate crash safety (50k jobs, real redis-server)', () => {
  it('SIGKILL at 22 observed moments (start-up, then random progress thresholds), then a rerun: nothing lost, nothing twice', async () => {
    const s = await setup();
    const journal = journalWatch(redis, s.legacy);
    const mine = new Set([String(await redis.client('ID'))]);
    const kills: { at: string; moved: number; killed: boolean }[] = [];
    // --batch 200 and --rate keep each attempt slow enough that a kill on a threshold lands before
    // the next few batches; the thresholds (at most 2000 jobs on, 18 times) leave most jobs unmoved.
    const args = [...s.base, '--batch', '200', '--rate', '2500'];
    for (let k = 0; k < 22; k++) {
      const before = await destinationTotal([s.a, s.b]);
      const done = await journal.moved();
      // Every fifth attempt dies as soon as it is connected (start-up or plan); the others once a
      // random number of jobs (1 to 2000, never all that is left) has moved in this attempt.
      const at: StrikeAt = k % 5 === 2 ? { start: true } : randomThreshold(done);
      const attempt = await migrateStruckAt(args, at, { journal, mine }, async (child) => child.kill('SIGKILL'));
      const moved = (await destinationTotal([s.a, s.b])) - before;
      kills.push({ at: 'moved' in at ? `moved>=${at.moved}` : 'start', moved, killed: attempt.signal === 'SIGKILL' });
      if (process.env.CRASH_DEBUG) console.log(kills.at(-1));
      expect(attempt.signal === 'SIGKILL' || attempt.code === 1, attempt.stderr).toBe(true);
    }
    const report = JSON.stringify(kills);
    const midMove = kills.filter((k) => k.at !== 'start' && k.killed && k.moved > 0);
    const early = kills.filter((k) => k.at === 'start' && k.killed && k.moved === 0);
    console.log(`SIGKILL: ${midMove.length} of 18 kills landed mid-move, ${early.length} of 4 before any move`);
    // Most kills land while batches are moving (each one after this attempt moved jobs, with jobs
    // left), and some before any move; the journal never ran ahead of the queues.
    expect(midMove.length, report).toBeGreaterThanOrEqual(15);
    expect(early.length, report).toBeGreaterThanOrEqual(2);
    expect(await destinationTotal([s.a, s.b])).toBeLessThan(JOBS);
    expect(await journal.moved()).toBe(await destinationTotal([s.a, s.b]));
    await finishAndCheck(s);
  }, 240_000);

  it('Redis connection killed (CLIENT KILL) at observed moments: exit 3 in one line, the rerun finishes exactly', async () => {
    const s = await setup();
    const journal = journalWatch(redis, s.legacy);
    const mine = new Set([String(await redis.client('ID'))]);
    const outcomes: { at: string; code: number | null }[] = [];
    // Once the moment is reached (connected and planning, or a random number of jobs moved), every
    // connection of the process is dropped, again every 100 ms until it gives up.
    const dropTheirs = async () => {
      for (const id of await theirConnections(mine)) await redis.client('KILL', 'ID', id).catch(() => undefined);
      return false;
    };
    for (let k = 0; k < 8; k++) {
      const at: StrikeAt = k % 3 === 0 ? { start: true } : randomThreshold(await journal.moved());
      const attempt = await migrateStruckAt([...s.base, '--json', '--batch', '200', '--rate', '8000'], at, { journal, mine }, dropTheirs, 100);
      outcomes.push({ at: 'moved' in at ? `moved>=${at.moved}` : 'start', code: attempt.code });
      if (attempt.code === 3) {
        // --json: the error is the only thing on stderr, one line, no stack.
        expect(attempt.stderr.trim().split('\n'), attempt.stderr).toHaveLength(1);
        expect(attempt.stderr).toMatch(/^queuectl: /);
        expect(attempt.stdout).toBe('');
      } else {
        expect([0, 1], attempt.stderr).toContain(attempt.code);
      }
    }
    console.log(`CLIENT KILL: ${outcomes.filter((o) => o.code === 3).length} of ${outcomes.length} runs ended with exit 3`);
    expect(outcomes.filter((o) => o.code === 3).length, JSON.stringify(outcomes)).toBeGreaterThanOrEqual(6);
    await finishAndCheck(s);
  }, 240_000);
});
