import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { findPostgresBinDir, startThrowawayPostgres, type ThrowawayPostgres } from '../src/demo/postgres-server.js';
import { migrateBullmq } from './helpers/postgres.js';
import { freePort } from './helpers/redis.js';
import { tempDir } from './helpers/temp.js';
import { until } from './helpers/wait.js';
import { closeAll, consume, expectExactlyOnce, names, progressOf, seedAndConsume, startMigrate, topologyFile, type Where } from './xmove-fixture.js';


/**
 * migrate --to-url while the link and the servers fail under it: in one run, the CLI's connection
 * is killed on the source (CLIENT KILL / pg_terminate_backend), then on the destination, then the
 * source server restarts, then the destination server does; real workers consume the destination
 * throughout. The run reconnects, repeats the step it was in (each is idempotent by its token),
 * finishes with exit 0, and every job ran exactly once.
 */
const run = promisify(execFile);
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await closeAll();
  for (const stop of stops.splice(0)) await stop().catch(() => undefined);
});

/** A private redis-server with an fsync-always AOF, so a kill -9 and restart keeps every write. */
async function persistentRedis() {
  const port = await freePort();
  const dir = tempDir('xredis');
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    await until(async () => {
      const c = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return (await c.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        c.disconnect();
      }
    }, `redis-server on ${port}`, 20_000, 50);
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  stops.push(kill);
  return {
    url,
    async restart() {
      await kill();
      await start();
    },
    /** Kills the connections of clients without a name (queuectl's; BullMQ names its workers' own). */
    async killClients() {
      const c = new Redis(url);
      try {
        const me = await c.client('ID');
        const list = String(await c.client('LIST')).split('\n').filter(Boolean);
        for (const line of list) {
          const f = Object.fromEntries(line.split(' ').map((kv) => kv.split('=') as [string, string]));
          if (f.name === '' && Number(f.id) !== Number(me)) await c.client('KILL', 'ID', f.id).catch(() => undefined);
        }
      } finally {
        c.disconnect();
      }
    },
  };
}

async function privatePostgres() {
  const binDir = await findPostgresBinDir();
  if (!binDir) throw new Error('PostgreSQL binaries not found');
  const server: ThrowawayPostgres = await startThrowawayPostgres(binDir, { base: tempDir('xpg') });
  stops.push(() => server.stop());
  await migrateBullmq(server.url);
  const asPostgres = (cmd: string, args: string[]): [string, string[]] => (userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', join(binDir, cmd), ...args]] : [join(binDir, cmd), args]);
  return {
    url: server.url,
    async restart() {
      // -l: the new postmaster must not keep pg_ctl's output pipes (execFile would wait on them forever).
      await run(...asPostgres('pg_ctl', ['restart', '-D', server.dataDir, '-l', join(dirname(server.dataDir), 'restart.log'), '-m', 'fast', '-w', '-t', '60']));
    },
    async killClients() {
      const c = new pg.Client({ connectionString: server.url });
      await c.connect();
      try {
        await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'queuectl' AND pid <> pg_backend_pid()`);
      } finally {
        await c.end();
      }
    },
  };
}

type Server = Awaited<ReturnType<typeof persistentRedis>> | Awaited<ReturnType<typeof privatePostgres>>;

describe('migrate --to-url under lost connections and restarted servers', () => {
  for (const direction of ['redis→postgres', 'postgres→redis'] as const) {
    it(`${direction}: connection killed on each side, each server restarted, workers consuming; one run finishes, every job exactly once`, async () => {
      const [redisServer, pgServer] = await Promise.all([persistentRedis(), privatePostgres()]);
      const [src, dst]: [Server, Server] = direction === 'redis→postgres' ? [redisServer, pgServer] : [pgServer, redisServer];
      const from: Where = { kind: direction === 'redis→postgres' ? 'redis' : 'postgres', url: src.url };
      const to: Where = { kind: direction === 'redis→postgres' ? 'postgres' : 'redis', url: dst.url };
      const n = names();
      const runs = await seedAndConsume(from, to, n, 300);
      const progress = progressOf(from, n.legacy);
      const cli = startMigrate(['migrate', '--from', n.legacy, '--to-url', to.url, '--batch', '10', '--yes', '-c', topologyFile(n), '--url', from.url]);
      let exited = false;
      void cli.done.then(() => (exited = true));
      const faults: [number, () => Promise<void>][] = [
        [30, () => src.killClients()],
        [70, () => dst.killClients()],
        [120, () => src.restart()],
        // The destination's workers finish what they hold first: a job a worker holds while its own
        // server restarts is BullMQ's to run again (stalled), which would say nothing about the move.
        [180, async () => {
          await Promise.race([closeAll(), new Promise((r) => setTimeout(r, 10_000))]);
          await dst.restart();
          consume(to, n, runs);
        }],
      ];
      const done: number[] = [];
      for (const [at, fault] of faults) {
        await until(async () => exited || (await progress().catch(() => 0)) >= at, `progress ${at}`, 120_000, 15);
        if (exited) break;
        await fault();
        done.push(at);
      }
      const code = await cli.done;
      expect(cli.err()).not.toMatch(/\n\s+at .*\.js/);
      expect(code, cli.err()).toBe(0);
      expect(done).toEqual([30, 70, 120, 180]);
      // BullMQ's own workers need not survive a server restart: fresh ones finish the queues (same tally).
      await Promise.race([closeAll(), new Promise((r) => setTimeout(r, 10_000))]);
      consume(to, n, runs);
      await expectExactlyOnce(from, to, n, runs, 300);
    }, 600_000);
  }
});
