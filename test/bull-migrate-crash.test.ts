import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, repoRoot } from './helpers/cli.js';
import { client, redisUrl, uniqueName } from './helpers/redis.js';
import { journalWatch } from './helpers/journal.js';
import { tempDir } from './helpers/temp.js';
import { bullQueue } from './bull-fixture.js';

// migrate --from a Bull queue, SIGKILLed at observed progress (the journal's `moved` counter,
// bumped by each batch's own script) again and again, then run to the end: every Bull job is in
// exactly one place, in the destination state its Bull state maps to, hash translated once (a job
// no worker took has no attempts field in either library).

const JOBS = 6000;

function stateOf(i: number): 'wait' | 'prioritized' | 'delayed' {
  return i % 10 < 6 ? 'wait' : i % 10 < 8 ? 'prioritized' : 'delayed';
}
function nameOf(i: number): string {
  return i % 7 === 0 ? '__default__' : i % 2 ? 'mail.send' : 'mail.digest';
}

function run(args: string[], killAt?: () => Promise<boolean>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', REDIS_URL: undefined, QUEUECTL_CONFIG: undefined }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let ended = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      ended = true;
      resolve({ code, signal, stdout, stderr });
    });
    if (killAt) void (async () => {
      while (!ended && !(await killAt())) await new Promise((r) => setTimeout(r, 5));
      if (!ended) child.kill('SIGKILL');
    })();
  });
}

describe('migrate --from a Bull queue, killed at observed progress', () => {
  it('SIGKILL 15 times mid-move, then a rerun: nothing lost, nothing twice, every hash translated', async () => {
    const prefix = uniqueName('bmc');
    const bull = bullQueue('old-mail', prefix);
    for (let start = 0; start < JOBS; start += 500) {
      await bull.addBulk(Array.from({ length: 500 }, (_, k) => {
        const i = start + k;
        const state = stateOf(i);
        return { name: nameOf(i), data: { n: i }, opts: { attempts: 2, ...(state === 'prioritized' ? { priority: 1 + (i % 3) } : {}), ...(state === 'delayed' ? { delay: 3_600_000 + i } : {}) } };
      }));
    }
    await bull.close();
    const redis = client();
    const dueBefore = new Map<string, string>();
    const delayedBefore = await redis.zrange(`${prefix}:old-mail:delayed`, 0, -1, 'WITHSCORES');
    for (let i = 0; i < delayedBefore.length; i += 2) dueBefore.set(delayedBefore[i], delayedBefore[i + 1]);
    const file = join(tempDir('bullcrash'), 'queuectl.yaml');
    writeFileSync(file, `version: 1\nprefix: "${prefix}"\nqueues:\n  mail: { jobs: [mail.send, mail.digest], dedup: none }\n  misc: { jobs: [__default__], dedup: none }\nlegacy:\n  old-mail: { kind: bull }\n`);
    const journal = journalWatch(redis, 'old-mail', { prefix, rescanMs: 50 });
    const args = ['migrate', '--from', 'old-mail', '--yes', '-c', file, '--redis', redisUrl(), '--batch', '50', '--rate', '3000'];
    const kills: { at: number; moved: number }[] = [];
    for (let k = 0; k < 15; k++) {
      const done = await journal.moved();
      const at = done + 1 + Math.floor(Math.random() * 250);
      const attempt = await run(args, async () => (await journal.moved()) >= at);
      expect(attempt.signal === 'SIGKILL' || attempt.code === 0, attempt.stderr).toBe(true);
      kills.push({ at, moved: await journal.moved() });
      if (attempt.signal !== 'SIGKILL') break;
    }
    const killed = kills.filter((k, i) => i < kills.length - 1 || k.moved < JOBS);
    expect(killed.length, JSON.stringify(kills)).toBeGreaterThanOrEqual(10);
    const last = await run([...args, '--json']);
    expect(last.code, last.stderr).toBe(0);
    expect(JSON.parse(last.stdout).verified).toBe(true);

    // Every job exactly once, where its Bull state maps, with BullMQ's fields.
    const src = `${prefix}:old-mail:`;
    expect(await redis.llen(src + 'wait')).toBe(0);
    expect(await redis.zcard(src + 'priority')).toBe(0);
    expect(await redis.zcard(src + 'delayed')).toBe(0);
    const seen = new Map<number, string[]>();
    const problems: string[] = [];
    for (const queue of ['mail', 'misc']) {
      const p = `${prefix}:${queue}:`;
      const places: [string, string[]][] = [['wait', await redis.lrange(p + 'wait', 0, -1)], ['prioritized', await redis.zrange(p + 'prioritized', 0, -1)], ['delayed', await redis.zrange(p + 'delayed', 0, -1)]];
      for (const [state, ids] of places) {
        const pipe = redis.pipeline();
        for (const id of ids) pipe.hmget(p + id, 'name', 'data', 'atm', 'attemptsMade', 'opts');
        const hashes = ((await pipe.exec()) ?? []).map((r) => r[1] as (string | null)[]);
        hashes.forEach(([name, data, atm, old, opts], j) => {
          const n = JSON.parse(data ?? '{"n":-1}').n as number;
          seen.set(n, [...(seen.get(n) ?? []), `${queue}/${state}`]);
          if (state !== stateOf(n) || name !== nameOf(n) || queue !== (nameOf(n) === '__default__' ? 'misc' : 'mail')) problems.push(`${n} (${ids[j]}): ${queue}/${state} ${name}`);
          if (atm !== null || old !== null || JSON.parse(opts ?? '{}').attempts !== 2) problems.push(`${n}: hash not translated`);
        });
      }
    }
    // Due times exact (Bull's delayed score, kept), and FIFO within each priority.
    const delayedAfter = [...await redis.zrange(`${prefix}:mail:delayed`, 0, -1, 'WITHSCORES'), ...await redis.zrange(`${prefix}:misc:delayed`, 0, -1, 'WITHSCORES')];
    for (let i = 0; i < delayedAfter.length; i += 2) if (dueBefore.get(delayedAfter[i]) !== delayedAfter[i + 1]) problems.push(`${delayedAfter[i]}: due ${delayedAfter[i + 1]}, was ${dueBefore.get(delayedAfter[i])}`);
    expect(delayedAfter.length / 2).toBe(dueBefore.size);
    for (const queue of ['mail', 'misc']) {
      const z = await redis.zrange(`${prefix}:${queue}:prioritized`, 0, -1, 'WITHSCORES');
      const last = new Map<number, number>();
      for (let i = 0; i < z.length; i += 2) {
        const priority = Math.floor(Number(z[i + 1]) / 2 ** 32);
        const n = JSON.parse((await redis.hget(`${prefix}:${queue}:${z[i]}`, 'data')) ?? '{}').n as number;
        if (priority !== 1 + (n % 3)) problems.push(`${n}: priority ${priority}`);
        if ((last.get(priority) ?? -1) > n) problems.push(`${n}: after ${last.get(priority)} in priority ${priority}`);
        last.set(priority, n);
      }
    }
    for (let i = 0; i < JOBS; i++) if ((seen.get(i) ?? []).length !== 1) problems.push(`${i}: found ${(seen.get(i) ?? []).length} times`);
    expect(problems.slice(0, 10)).toEqual([]);
    expect(await journal.moved()).toBe(JOBS);
    console.log(`Bull move SIGKILL: ${killed.length} kills mid-move at ${kills.map((k) => k.moved).join(', ')}`);
    redis.disconnect();
  }, 240_000);
});
