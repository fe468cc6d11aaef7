import type { Cluster, Redis } from 'ioredis';
import { RedisError } from '../errors.js';
import type { RedisHandle } from '../redis/types.js';

/** What the readers need from a connection; a RedisHandle has it, and tests can adapt plain clients. */
export type RedisReader = Pick<RedisHandle, 'client' | 'mode' | 'masters'>;

/** One read command: name then arguments, e.g. `['llen', 'bull:q:wait']`. */
export type ReadCommand = [string, ...(string | number)[]];

/** Result of one command: its value, or null when Redis refused it for this key (e.g. WRONGTYPE). */
export type ReadResult = unknown;

/**
 * Sends many read commands in one go and returns their results in order. On one node it is one
 * pipeline (one write, one pass over the replies). On a cluster, keys of different queues live in
 * different slots, and an ioredis Cluster pipeline must stay on one node, so the commands are
 * issued concurrently instead: ioredis writes each to its node's socket without waiting for the
 * previous reply, which costs the same round trips as a pipeline per node.
 */
export async function execReads(client: Redis | Cluster, commands: ReadCommand[]): Promise<ReadResult[]> {
  if (commands.length === 0) return [];
  const settled: [Error | null, unknown][] = isCluster(client)
    ? await Promise.all(commands.map(([name, ...args]) =>
      client.call(name, ...args).then((v): [null, unknown] => [null, v], (e: Error): [Error, null] => [e, null])))
    : ((await client.pipeline(commands).exec()) ?? []) as [Error | null, unknown][];
  return settled.map(([error, value], i) => {
    if (!error) return value;
    // A key of an unexpected type is data we cannot read, not a failure of the whole inspect.
    if (/^WRONGTYPE/.test(error.message)) return null;
    throw new RedisError(`${commands[i][0].toUpperCase()} failed: ${error.message}`, 'check the Redis user\'s ACL permissions and the server logs');
  });
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** HMGET / HGETALL-style helpers that tolerate nulls. */
export function toNumber(value: unknown): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

export function toOptionalNumber(value: unknown): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
