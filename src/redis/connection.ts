import { createConnection, type Socket } from 'node:net';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RedisError } from '../errors.js';
import { isAuthError, toRedisError } from './errors.js';
import type { ConnectionSpec, RedisHandle, RedisMode } from './types.js';
import { muteUnneededPasswordWarning, takeUnneededPasswordNotice } from './unneeded-password.js';

/** How long close() waits for QUIT to be answered before dropping the socket. */
const QUIT_GRACE_MS = 500;

/**
 * Opens a connection that fails within spec.timeoutMs (exit 3), never retrying forever: a refused
 * port, a wrong password, or a listener that accepts and never answers all end as one RedisError.
 */
export async function connect(spec: ConnectionSpec, notes: { warn?: (text: string) => void } = {}): Promise<RedisHandle> {
  const errors: Error[] = [];
  if (spec.password !== undefined) muteUnneededPasswordWarning();
  const client = spec.mode === 'cluster' ? new Cluster(spec.nodes, cliClusterOptions(spec)) : new Redis(cliRedisOptions(spec));
  // Without a listener ioredis prints "Unhandled error event" with a stack; we keep the errors to
  // explain a failed connect, and later errors surface through the rejected command instead.
  client.on('error', (error: Error) => errors.push(error));
  if (client instanceof Cluster) client.on('node error', (error: Error) => errors.push(error));
  try {
    await withDeadline(client.connect(), spec.timeoutMs);
    if (spec.db !== undefined && client instanceof Redis) await client.select(spec.db);
  } catch (error) {
    client.disconnect();
    // disconnect() only half-closes; a server that never answers would keep the socket (and the process) alive.
    (client as unknown as { stream?: Socket }).stream?.destroy();
    let cause = bestCause(errors, error as Error);
    // ioredis's Cluster hides why its seeds failed ("None of startup nodes is available"): ask TCP.
    if (client instanceof Cluster && !isAuthError(cause) && !(cause as NodeJS.ErrnoException).code) {
      cause = (await probeSeeds(spec)) ?? cause;
    }
    throw withProtocolHint(toRedisError(cause, spec), cause, spec);
  }
  errors.length = 0; // only the connect's errors matter; don't accumulate for the process's lifetime
  if (takeUnneededPasswordNotice()) {
    notes.warn?.(`${spec.redacted} does not require a password; the one given (--password-file or the URL) was not used — leave it out for this server`);
  }
  return new Handle(spec, client);
}

/** Settings shared by every client: where, who, TLS. */
export function baseRedisOptions(spec: ConnectionSpec): RedisOptions {
  const options: RedisOptions = { connectTimeout: spec.timeoutMs };
  if (spec.username !== undefined) options.username = spec.username;
  if (spec.password !== undefined) options.password = spec.password;
  // Only send SELECT when asked: it is refused by Redis Cluster and by narrow ACL users. ioredis
  // only emits a refused SELECT as an 'error' event and goes on in db 0, so connect() selects again
  // and awaits the answer: a database that does not exist fails before any command runs. BullMQ's
  // own clients get the same db, which that check has shown to exist.

  if (spec.db) options.db = spec.db;
  if (spec.tls) {
    options.tls = {};
    if (spec.tlsCa) options.tls.ca = spec.tlsCa;
    if (spec.tlsCert && spec.tlsKey) Object.assign(options.tls, { cert: spec.tlsCert, key: spec.tlsKey });
  }
  return options;
}

/** The CLI's own client: lazy, one attempt, bounded commands, so a dead Redis fails fast. */
function cliRedisOptions(spec: ConnectionSpec): RedisOptions {
  return {
    ...baseRedisOptions(spec),
    host: spec.nodes[0].host,
    port: spec.nodes[0].port,
    lazyConnect: true,
    commandTimeout: spec.timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 1,
    // Commands are only sent once connected; after a drop they should fail, not wait in a queue.
    enableOfflineQueue: false,
    // CLIENT SETINFO is a write to the connection's state that narrow ACL users may not run.
    disableClientInfo: true,
  };
}

function cliClusterOptions(spec: ConnectionSpec): ClusterOptions {
  return {
    lazyConnect: true,
    clusterRetryStrategy: () => null,
    slotsRefreshTimeout: spec.timeoutMs,
    maxRedirections: 4,
    // Node clients connect lazily on their first command, which must wait in the queue meanwhile.
    enableOfflineQueue: true,
    redisOptions: {
      ...baseRedisOptions(spec),
      commandTimeout: spec.timeoutMs,
      maxRetriesPerRequest: 1,
      disableClientInfo: true,
    },
  };
}

/** BullMQ's blocking connections need maxRetriesPerRequest null and no command timeout. */
function bullmqRedisOptions(spec: ConnectionSpec): RedisOptions {
  return { ...baseRedisOptions(spec), host: spec.nodes[0].host, port: spec.nodes[0].port, maxRetriesPerRequest: null };
}

function bullmqClusterOptions(spec: ConnectionSpec): ClusterOptions {
  return { redisOptions: { ...baseRedisOptions(spec), maxRetriesPerRequest: null } };
}

class Handle implements RedisHandle {
  readonly mode: RedisMode;
  /** Clients made for BullMQ or duplicate(); closed with the handle. */
  private readonly extra: (Redis | Cluster)[] = [];

  constructor(
    readonly spec: ConnectionSpec,
    readonly client: Redis | Cluster,
  ) {
    this.mode = spec.mode;
  }

  async masters(): Promise<Redis[]> {
    if (this.client instanceof Cluster) return this.client.nodes('master');
    return [this.client];
  }

  bullmqConnection(): RedisOptions | Cluster {
    if (this.spec.mode === 'standalone') return bullmqRedisOptions(this.spec);
    return this.track(new Cluster(this.spec.nodes, bullmqClusterOptions(this.spec)));
  }

  duplicate(): Redis | Cluster {
    // Same address and credentials, but BullMQ-friendly (workers block, so no command timeout).
    if (this.spec.mode === 'standalone') return this.track(new Redis(bullmqRedisOptions(this.spec)));
    return this.track(new Cluster(this.spec.nodes, bullmqClusterOptions(this.spec)));
  }

  async close(): Promise<void> {
    const all = [...this.extra.splice(0), this.client];
    await Promise.allSettled(all.map(closeClient));
  }

  private track<T extends Redis | Cluster>(client: T): T {
    client.on('error', () => undefined); // reconnects are ioredis's business; never crash the process
    this.extra.push(client);
    return client;
  }
}

/** QUIT politely, but never wait more than a short grace for the answer. */
async function closeClient(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, QUIT_GRACE_MS);
  });
  await Promise.race([client.quit().catch(() => undefined), grace]);
  clearTimeout(timer);
  client.disconnect();
}

/**
 * A server that is up but speaks the other protocol looks unreachable: a plain one never answers a
 * TLS hello (timeout), a TLS-only one drops a plain client (reset). "Is it running?" misleads then.
 */
function withProtocolHint(error: RedisError, cause: Error, spec: ConnectionSpec): RedisError {
  const code = (cause as NodeJS.ErrnoException).code;
  const dropped = code === 'ECONNRESET' || /Connection is closed/i.test(cause.message);
  const check = 'check --redis or REDIS_URL';
  if (spec.tls && (dropped || code === 'ETIMEDOUT')) {
    return new RedisError(error.message, `is it running, and does it speak TLS? use redis:// for a server without TLS; ${check}`);
  }
  if (!spec.tls && dropped) return new RedisError(error.message, `is it running? if it only speaks TLS, use rediss://; ${check}`);
  return error;
}

/** The network error every seed gives (e.g. all refuse), or undefined when some seed accepts TCP. */
async function probeSeeds(spec: ConnectionSpec): Promise<Error | undefined> {
  const results = await Promise.all(spec.nodes.map((node) => probeTcp(node.host, node.port, Math.min(spec.timeoutMs, 1000))));
  return results.every((r) => r !== undefined) ? results[0] : undefined;
}

function probeTcp(host: string, port: number, ms: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (result: Error | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(ms, () => done(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error) => done(error));
  });
}

/** Rejects with an ETIMEDOUT error when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`timed out after ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The most telling reason among what went wrong while connecting: auth first, then the network. */
function bestCause(seen: Error[], thrown: Error): Error {
  // Cluster errors wrap the node's reply ("Failed to refresh slots cache." → lastNodeError).
  const errors = seen.flatMap((e) => [e, (e as { lastNodeError?: Error }).lastNodeError ?? []].flat());
  const reply = errors.find((e) => e.name === 'ReplyError');
  const rank = (e: Error) => (/WRONGPASS|invalid username-password/i.test(e.message) ? 0 : /AUTH <password>/.test(e.message) ? 1 : /NOAUTH/.test(e.message) ? 2 : 3);
  const auth = errors.filter(isAuthError).sort((a, b) => rank(a) - rank(b))[0];
  if (auth) return auth;
  if (isAuthError(thrown)) return thrown;
  const network = errors.find((e) => (e as NodeJS.ErrnoException).code);
  return network ?? reply ?? thrown;
}
