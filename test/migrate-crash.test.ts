import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, repoRoot } from './helpers/cli.js';
import { startRedis, uniqueName } from './helpers/redis.js';
import type { RedisProcess } from './setup/redis-process.js';
import { yamlFor } from './migrate-fixture.js';
import { locateAll, readHashes, seedLegacy, type SeededJob } from './migrate-seed.js';
import { tempDir } from './helpers/temp.js';

// Crash safety over 50k jobs on a private redis-server (the shared one stays fast for other files):
// SIGKILL the migrate process at random moments, or kill its Redis connection, then rerun to the
// end and check every job: in exactly one place, in the state it had, hash intact.
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
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', QUEUECTL_DEBUG: '', REDIS_URL: '', QUEUECTL_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
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

describe('migrate crash safety (50k jobs, real redis-server)', () => {
  it('SIGKILL at 20+ random moments during plan and apply, then a rerun: nothing lost, nothing twice', async () => {
    const s = await setup();
    const kills: { ms: number; moved: number; planned: boolean }[] = [];
    // --batch 200 and --rate keep each attempt long enough to be caught in the plan or mid-move.
    const args = [...s.base, '--batch', '200', '--rate', '2500'];
    for (let k = 0; k < 22; k++) {
      const before = await destinationTotal([s.a, s.b]);
      const ms = 150 + Math.floor(Math.random() * 1300);
      const attempt = await migrate(args, (child) => setTimeout(() => child.kill('SIGKILL'), ms));
      const moved = (await destinationTotal([s.a, s.b])) - before;
      kills.push({ ms, moved, planned: attempt.stderr.includes('destination') });
      if (process.env.CRASH_DEBUG) console.log(kills.at(-1));
      expect(attempt.signal === 'SIGKILL' || attempt.code === 1, attempt.stderr).toBe(true);
    }
    // Kills landed both before any move (startup or plan) and while batches were moving.
    expect(kills.filter((k) => k.planned && k.moved > 0).length, JSON.stringify(kills)).toBeGreaterThanOrEqual(5);
    expect(kills.filter((k) => !k.planned).length, JSON.stringify(kills)).toBeGreaterThanOrEqual(3);
    expect(await destinationTotal([s.a, s.b])).toBeLessThan(JOBS);
    await finishAndCheck(s);
  });

  it('Redis connection killed (CLIENT KILL) mid-run: exit 3 in one line, the rerun finishes exactly', async () => {
    const s = await setup();
    const killer = new Redis(server.url);
    const mine = new Set([String(await killer.client('ID')), String(await redis.client('ID'))]);
    let connectionKills = 0;
    for (let k = 0; k < 30 && connectionKills < 6; k++) {
      let stop = false;
      const attempt = await migrate([...s.base, '--json', '--batch', '200', '--rate', '8000'], (child) => {
        child.on('close', () => (stop = true));
        const tick = async () => {
          if (stop) return;
          const list = String(await killer.call('CLIENT', 'LIST', 'TYPE', 'normal'));
          const theirs = [...list.matchAll(/^id=(\d+) /gm)].map((m) => m[1]).filter((id) => !mine.has(id));
          for (const id of theirs) await killer.client('KILL', 'ID', id).catch(() => undefined);
          if (!stop) setTimeout(tick, 100 + Math.random() * 500);
        };
        setTimeout(tick, 200 + Math.random() * 600);
      });
      if (attempt.code === 3) {
        connectionKills++;
        // --json: the error is the only thing on stderr, one line, no stack.
        expect(attempt.stderr.trim().split('\n'), attempt.stderr).toHaveLength(1);
        expect(attempt.stderr).toMatch(/^queuectl: /);
        expect(attempt.stdout).toBe('');
      } else {
        expect([0, 1], attempt.stderr).toContain(attempt.code);
      }
    }
    killer.disconnect();
    expect(connectionKills).toBeGreaterThanOrEqual(5);
    await finishAndCheck(s);
  });
});
