import { randomBytes } from 'node:crypto';
import { Queue, Worker, type Processor, type WorkerOptions } from 'bullmq';
import type { BackendKind } from '../backend/target.js';
import type { GlobalOptions } from '../context.js';
import { connect } from '../redis/connection.js';
import { parseConnectionSpec, parseRedisUrl } from '../redis/url.js';
import type { Redis, RedisHandle } from '../redis/types.js';
import { findOnPath, redisServerMissing, startThrowawayRedis } from './redis-server.js';
import { escapeGlob, unlinkMatching } from '../redis/scan.js';

/** BullMQ's Queue and Worker where the demo runs: under a Redis key prefix, or in a PostgreSQL schema. */
export interface DemoBullmq {
  queue(name: string, opts?: { skipMetasUpdate?: boolean }): Queue;
  worker(name: string, processor: Processor, opts: Partial<WorkerOptions>): Worker;
}

/**
 * Where the demo runs, and how to undo everything it set up there. The Redis implementations are
 * below; the PostgreSQL ones (a throwaway cluster, or a scratch schema with --url) are in
 * ./postgres-environment.ts. The walk-through itself is the same on both.
 */
export interface DemoEnvironment {
  kind: BackendKind;
  bullmq: DemoBullmq;
  /** Set when the demo shares a server it did not start: the key prefix or schema everything lives under. */
  prefix?: string;
  /** Connection flags for the queuectl children, and the same as shown to the person (no secrets). */
  childArgs: string[];
  shownArgs: string[];
  /** Extra environment for the children (the URL goes here when it carries a password). */
  childEnv: NodeJS.ProcessEnv;
  /** One line saying where the demo runs. */
  where: string;
  /** Closes the connection and removes what the demo made: the server it started, or its prefix's keys. */
  stop(): Promise<void>;
  /** One line saying what stop() removed. */
  stopped: string;
}

function redisBullmq(handle: RedisHandle, prefix: string): DemoBullmq {
  const connection = handle.bullmqConnection() as never;
  return {
    queue: (name, opts = {}) => new Queue(name, { connection, prefix, ...opts }),
    worker: (name, processor, opts) => new Worker(name, processor, { ...opts, connection, prefix }),
  };
}

/**
 * With --redis: that server, under a fresh prefix `queuectl-demo-<random>` that is deleted at the
 * end (never a flush: the server is someone else's). Without: a throwaway redis-server of our own.
 */
export async function openEnvironment(globals: GlobalOptions, kind: BackendKind, topologyPrefix: string): Promise<DemoEnvironment> {
  if (kind === 'postgres') return (await import('./postgres-environment.js')).openPostgresEnvironment(globals);
  if (globals.redis) return shared(globals);
  const binary = findOnPath('redis-server');
  if (!binary) throw redisServerMissing();
  const server = await startThrowawayRedis(binary);
  // Last resort: if the process ends without the cleanup running, the server must not outlive it.
  const onExit = () => server.stopSync();
  process.on('exit', onExit);
  let handle: RedisHandle;
  try {
    handle = await connect(parseConnectionSpec({ url: server.url, timeoutMs: globals.timeout, env: {} }));
  } catch (error) {
    await server.stop();
    process.off('exit', onExit);
    throw error;
  }
  return {
    kind: 'redis',
    bullmq: redisBullmq(handle, topologyPrefix),
    childArgs: ['--redis', server.url],
    shownArgs: ['--redis', server.url],
    childEnv: {},
    where: `a throwaway redis-server (${binary}, pid ${server.pid}) on ${server.url}: no persistence, deleted at the end`,
    stop: async () => {
      await handle.close().catch(() => undefined);
      await server.stop();
      process.off('exit', onExit);
    },
    stopped: 'Stopped the throwaway redis-server and removed its directory.',
  };
}

async function shared(globals: GlobalOptions): Promise<DemoEnvironment> {
  const url = globals.redis as string;
  const spec = parseConnectionSpec({ url, passwordFile: globals.passwordFile, tlsCa: globals.tlsCa, tlsCert: globals.tlsCert, tlsKey: globals.tlsKey, timeoutMs: globals.timeout, env: {} });
  const handle = await connect(spec);
  const name = `queuectl-demo-${randomBytes(4).toString('hex')}`;
  // On a cluster every key of every queue must share one slot (BullMQ's scripts and migrate's move).
  const prefix = handle.mode === 'cluster' ? `{${name}}` : name;
  const secret = parseRedisUrl(url).password !== undefined;
  const extra = [
    ...(globals.passwordFile ? ['--password-file', globals.passwordFile] : []),
    ...(globals.tlsCa ? ['--tls-ca', globals.tlsCa] : []),
    ...(globals.tlsCert && globals.tlsKey ? ['--tls-cert', globals.tlsCert, '--tls-key', globals.tlsKey] : []),
    '--prefix', prefix,
  ];
  return {
    kind: 'redis',
    bullmq: redisBullmq(handle, prefix),
    prefix,
    // A password in the URL reaches the children through REDIS_URL, never on a command line.
    childArgs: [...(secret ? [] : ['--redis', url]), ...extra],
    shownArgs: ['--redis', spec.redacted, ...extra],
    childEnv: secret ? { REDIS_URL: url } : {},
    where: `${spec.redacted}, under the prefix ${prefix} (its keys are deleted at the end; nothing else is touched)`,
    stop: async () => {
      try {
        await deletePrefix(await handle.masters(), prefix);
      } finally {
        await handle.close().catch(() => undefined);
      }
    },
    stopped: `Deleted the demo's keys (prefix ${prefix}).`,
  };
}

/** Deletes every key under `prefix:` with SCAN and UNLINK on each master (never KEYS, never FLUSH). */
export async function deletePrefix(masters: Redis[], prefix: string): Promise<number> {
  return unlinkMatching(masters, `${escapeGlob(prefix)}:*`);
}
