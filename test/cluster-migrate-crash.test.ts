import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { run } from '../src/commands/migrate.js';
import { testContext } from './helpers/context.js';
import { bin } from './helpers/cli.js';
import { clusterClient, clusterUrl, startCluster } from './helpers/redis.js';
import { clusterYaml, scanAll, taggedNames } from './cluster-fixture.js';
import { until } from './helpers/wait.js';
import { tempDir } from './helpers/temp.js';

const opened: (Redis | Cluster)[] = [];
afterAll(() => opened.forEach((c) => c.disconnect()));

/** n jobs over two names: 60% waiting, 20% prioritized, 20% delayed; every other one a custom id. */
async function seed(connection: Cluster, legacy: string, n: number): Promise<Map<string, string>> {
  const q = new Queue(legacy, { connection });
  const names = new Map<string, string>();
  for (let start = 0; start < n; start += 1000) {
    const bulk = [];
    for (let i = start; i < Math.min(n, start + 1000); i++) {
      const opts: Record<string, unknown> = i % 5 === 3 ? { priority: 1 + (i % 7) } : i % 5 === 4 ? { delay: 600_000 } : {};
      if (i % 2 === 0) opts.jobId = `c-${i}`;
      bulk.push({ name: i % 3 === 0 ? 'b.second' : 'a.process', data: { i }, opts });
    }
    for (const job of await q.addBulk(bulk)) names.set(job.id!, job.name);
  }
  await q.close();
  return names;
}

/** Every job id in a queue's wait, prioritized and delayed (duplicates kept). */
async function idsOf(redis: Cluster, queue: string): Promise<string[]> {
  const p = `bull:${queue}:`;
  return [...(await redis.lrange(p + 'wait', 0, -1)), ...(await redis.zrange(p + 'prioritized', 0, -1)), ...(await redis.zrange(p + 'delayed', 0, -1))];
}

/** Destination sets equal the source set: each job exactly once, in the queue owning its name, hash present. */
async function expectExact(redis: Cluster, names: Map<string, string>, legacy: string, a: string, b: string): Promise<void> {
  expect(await idsOf(redis, legacy)).toEqual([]);
  const inA = await idsOf(redis, a);
  const inB = await idsOf(redis, b);
  const all = [...inA, ...inB];
  expect(all.length).toBe(names.size);
  expect(new Set(all).size).toBe(names.size);
  expect(inA.filter((id) => names.get(id) !== 'a.process')).toEqual([]);
  expect(inB.filter((id) => names.get(id) !== 'b.second')).toEqual([]);
  for (const id of [inA[0], inA[inA.length - 1], inB[0]]) expect(await redis.hget(`bull:${names.get(id) === 'a.process' ? a : b}:${id}`, 'name')).toBe(names.get(id));
  expect(await scanAll(redis, `bull:queuectl:xslot:*{${legacy.slice(1, -1)}}:j:*`)).toEqual([]);
}

/** Jobs left in the source's wait, prioritized and delayed (parked jobs are in none of them). */
async function sourceCount(redis: Cluster, queue: string): Promise<number> {
  const p = `bull:${queue}:`;
  const [w, pr, d] = await Promise.all([redis.llen(p + 'wait'), redis.zcard(p + 'prioritized'), redis.zcard(p + 'delayed')]);
  return w + pr + d;
}

/** Whether some migrate process holds the run's lease on `legacy` (taken for recovery and for moving). */
async function leaseHeld(redis: Cluster, legacy: string): Promise<boolean> {
  const pattern = `bull:queuectl:xslot:*{${legacy.slice(1, -1)}}:lease`;
  for (const node of redis.nodes('master')) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
      if (found.length > 0) return true;
      cursor = next;
    } while (cursor !== '0');
  }
  return false;
}

/**
 * Resolves at an observed moment of a run, or when `ended` says the process is gone: with
 * `fewer`, once the source holds at most `before - fewer` jobs (jobs are moving); else once the
 * run's lease is held (start-up: recovery or the first batch). Polls every 10 ms, at most 60 s.
 */
async function untilMoment(redis: Cluster, legacy: string, at: { before: number; fewer?: number }, ended: () => boolean): Promise<void> {
  await until(async () => ended() || (at.fewer === undefined ? await leaseHeld(redis, legacy) : (await sourceCount(redis, legacy)) <= at.before - at.fewer), `a moment of the run on ${legacy}`, 60_000, 10);
}

function spawnMigrate(url: string, config: string, legacy: string, batch: number, rate?: number) {
  const child = spawn(process.execPath, [bin, '--redis', url, '-c', config, 'migrate', '--from', legacy, '--yes', '--batch', String(batch), ...(rate ? ['--rate', String(rate)] : [])], {
    env: { ...process.env, NO_COLOR: '1', QUEUECTL_DEBUG: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let ended = false;
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  void exited.then(() => (ended = true));
  return { child, exited, ended: () => ended, stderr: () => stderr };
}

function configFile(yaml: string): string {
  const dir = tempDir('xslot');
  writeFileSync(join(dir, 'queuectl.yaml'), yaml);
  return join(dir, 'queuectl.yaml');
}

describe('cross-slot migrate survives crashes', () => {
  it('SIGKILL at observed moments (lease taken, random progress), at least 20 times, over 40k jobs: rerun to the end, nothing lost or doubled', async () => {
    const redis = clusterClient();
    const { legacy, a, b } = await taggedNames(redis);
    const names = await seed(redis, legacy, 40_000);
    const config = configFile(clusterYaml(legacy, a, b));
    let kills = 0;
    let parkedAtKill = 0;
    for (let attempt = 0; kills < 20 && attempt < 80; attempt++) {
      const before = await sourceCount(redis, legacy);
      // Throttled so each run lasts past the kill: kills land inside and between the three steps.
      const m = spawnMigrate(clusterUrl(), config, legacy, 100, attempt % 2 ? 3000 : 6000);
      // Every fifth run dies as soon as it holds the lease (recovery, or its first batch); the
      // others once a random 1-1500 jobs have left the source: observed moments, so a loaded
      // machine cannot turn kills into no-ops.
      const fewer = attempt % 5 === 4 ? undefined : 1 + Math.floor(Math.random() * Math.min(1500, before));
      await untilMoment(redis, legacy, { before, fewer }, m.ended);
      m.child.kill('SIGKILL');
      const code = await m.exited;
      if (code !== null) expect(code, m.stderr()).toBe(0); // it finished before the kill
      const after = await sourceCount(redis, legacy);
      if (code === null && after < before) kills++;
      if (code === null) {
        const flights = await scanAll(redis, `bull:queuectl:xslot:*{${legacy.slice(1, -1)}}:inflight`);
        for (const key of flights) if ((await redis.hkeys(key)).some((f) => f.startsWith('@:'))) parkedAtKill++;
      }
      if (after === 0 && code !== null) break;
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(parkedAtKill).toBeGreaterThan(0); // some kills left jobs parked mid-flight
    console.log(`SIGKILL: ${kills} kills mid-run; ${parkedAtKill} kill(s) left a parked batch for the rerun to recover`);
    const last = spawnMigrate(clusterUrl(), config, legacy, 1000);
    expect(await last.exited, last.stderr()).toBe(0);
    await expectExact(redis, names, legacy, a, b);
  }, 240_000);

  it('CLIENT KILL on the master holding the source slot: reruns finish exactly', async () => {
    // A private cluster: dropping every client of a master of the shared one would also cut the
    // connections of test files running at the same time.
    const cluster = await startCluster(3);
    const seeds = cluster.url.replace('redis+cluster://', '').split(',').map((hp) => ({ host: '127.0.0.1', port: Number(hp.split(':')[1]) }));
    const redis = new Cluster(seeds, { redisOptions: { maxRetriesPerRequest: null } });
    opened.push(redis);
    try {
      const { legacy, a, b } = await taggedNames(redis);
      const names = await seed(redis, legacy, 20_000);
      const slot = await redis.cluster('KEYSLOT', `bull:${legacy}:wait`);
      const shards = (await redis.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      const [, , [host, port]] = shards.find(([from, to]) => slot >= from && slot <= to)!;
      const killer = new Redis({ host, port });
      opened.push(killer);
      let failures = 0;
      let connectionKills = 0;
      let killedMidRun = 0;
      for (let attempt = 0; attempt < 30; attempt++) {
        const t = testContext({ yaml: clusterYaml(legacy, a, b), redis: cluster.url, json: true, yes: true });
        const kill = attempt < 6;
        // From an observed moment (the run holds its lease, or a random 1-1000 jobs have left the
        // source), drop every client connection of the source's master every 100 ms while it lasts.
        let ended = false;
        const before = await sourceCount(redis, legacy);
        const fewer = attempt % 3 === 0 ? undefined : 1 + Math.floor(Math.random() * Math.min(1000, before));
        const shooting = (async () => {
          if (!kill) return;
          await untilMoment(redis, legacy, { before, fewer }, () => ended);
          while (!ended) {
            const n = Number(await killer.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
            connectionKills += n;
            if (n > 0 && (await sourceCount(redis, legacy)) > 0) killedMidRun++;
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
        const code = await run({ from: legacy, batch: '100', rate: '8000' }, t.ctx).catch(() => 'failed' as const);
        ended = true;
        await shooting;
        await t.ctx.close().catch(() => undefined);
        if (code === 'failed') failures++;
        else if (!kill) {
          expect(code).toBe(0);
          break;
        }
      }
      expect(connectionKills).toBeGreaterThan(5);
      expect(killedMidRun).toBeGreaterThan(5);
      console.log(`CLIENT KILL: ${connectionKills} connections killed (${killedMidRun} times mid-run), ${failures} run(s) failed and were rerun`);
      await expectExact(redis, names, legacy, a, b);
    } finally {
      redis.disconnect();
      await cluster.stop();
    }
  }, 240_000);

  it('a master failing over (CLUSTER FAILOVER on its replica) mid-run loses nothing', async () => {
    const cluster = await startCluster(3, 1);
    try {
      const seeds = cluster.url.replace('redis+cluster://', '').split(',').map((hp) => ({ host: '127.0.0.1', port: Number(hp.split(':')[1]) }));
      const redis = new Cluster(seeds, { redisOptions: { maxRetriesPerRequest: null } });
      opened.push(redis);
      const { legacy, a, b } = await taggedNames(redis);
      const names = await seed(redis, legacy, 20_000);
      const slot = await redis.cluster('KEYSLOT', `bull:${legacy}:wait`);
      let replicaPort: number | undefined;
      for (const end = Date.now() + 20_000; replicaPort === undefined && Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
        const shards = (await redis.cluster('SLOTS')) as unknown as [number, number, ...[string, number][]][];
        replicaPort = shards.find(([from, to]) => slot >= from && slot <= to)?.[3]?.[1];
      }
      if (replicaPort === undefined) throw new Error('the source master has no replica');
      const replica = new Redis({ host: '127.0.0.1', port: replicaPort });
      opened.push(replica);
      const config = configFile(clusterYaml(legacy, a, b));

      const before = await sourceCount(redis, legacy);
      const first = spawnMigrate(cluster.url, config, legacy, 100, 8000);
      // Fail over once a random 1-2000 jobs have left the source: while jobs are moving, on any machine.
      await untilMoment(redis, legacy, { before, fewer: 1 + Math.floor(Math.random() * 2000) }, first.ended);
      expect(await replica.cluster('FAILOVER')).toBe('OK');
      const deadline = Date.now() + 20_000;
      while (((await replica.role()) as string[])[0] !== 'master') {
        if (Date.now() > deadline) throw new Error('replica was not promoted');
        await new Promise((r) => setTimeout(r, 100));
      }
      const leftAtPromotion = (await idsOf(redis, legacy)).length;
      const firstCode = await first.exited;
      expect(leftAtPromotion).toBeGreaterThan(0); // the failover happened while jobs were still moving
      let finalCode = firstCode;
      for (let i = 0; i < 5 && finalCode !== 0; i++) {
        const again = spawnMigrate(cluster.url, config, legacy, 1000);
        finalCode = await again.exited;
      }
      expect(finalCode).toBe(0);
      console.log(`FAILOVER: replica :${replicaPort} promoted with ${leftAtPromotion} jobs still in the source; first run exited ${firstCode}, final ${finalCode}`);
      await expectExact(redis, names, legacy, a, b);
    } finally {
      await cluster.stop();
    }
  }, 240_000);
});
