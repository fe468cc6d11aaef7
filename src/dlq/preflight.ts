import type { Cluster, Redis } from 'ioredis';
import { RedisError } from '../errors.js';
import { execReads, type ReadCommand } from '../inspect/reads.js';
import { dlqScripts } from './scripts.js';
import type { DlqItem, DlqSource } from './types.js';

/**
 * What every dlq script touches, and the check it runs before its first write (Redis does not
 * roll back a script that fails half-way, so one wrong-type key would leave a batch half done).
 * The same key lists drive the script calls (KEYS, and their types as ARGV[1]) and the plan's
 * preflight, so a dry run reports exactly what the script would refuse.
 */

export type KeyType = 'list' | 'zset' | 'hash' | 'stream' | 'string';
/** `value`: the scripts also check what the key holds (a queue's meta fields, the `pc` counter). */
export interface ScriptKey { key: string; type: KeyType; value?: 'meta' | 'counter' }

/** A key that stops a retry or discard: `found` is its type (or a bad value), `expected` what BullMQ keeps there. */
export interface Blocking { key: string; found: string; expected: string }

const VALUES: Record<string, ScriptKey['value']> = { meta: 'meta', pc: 'counter' };
const spec = (q: string, parts: [string, KeyType][]): ScriptKey[] =>
  parts.map(([suffix, type]) => ({ key: q + suffix, type, ...(VALUES[suffix] ? { value: VALUES[suffix] } : {}) }));

/** `q` is the queue's key prefix, `<prefix>:<queue>:`. */
export const scriptKeys = {
  retryFailed: (q: string) => spec(q, [['failed', 'zset'], ['wait', 'list'], ['meta', 'hash'], ['active', 'list'], ['marker', 'zset'], ['prioritized', 'zset'], ['pc', 'string'], ['events', 'stream']]),
  retryAdd: (q: string) => spec(q, [['wait', 'list'], ['meta', 'hash'], ['active', 'list'], ['marker', 'zset'], ['events', 'stream'], ['id', 'string'],
    ['queuectl:dlq-retried', 'hash'], ['failed', 'zset'], ['prioritized', 'zset'], ['pc', 'string']]),
  discardFailed: (q: string) => spec(q, [['failed', 'zset'], ['events', 'stream'], ['meta', 'hash'], ['completed', 'zset'], ['delayed', 'zset'], ['prioritized', 'zset'], ['waiting-children', 'zset']]),
  mark: (q: string) => spec(q, [['meta', 'hash']]),
  /** Read (not written) by the dead-letter queue scan: a wrong type there would hide its items. */
  deadLetterStates: (q: string) => spec(q, [['wait', 'list'], ['paused', 'list'], ['prioritized', 'zset'], ['delayed', 'zset'], ['completed', 'zset']]),
};

/** KEYS and ARGV[1] (their types) of a script call. */
export function keysAndTypes(keys: ScriptKey[]): { keys: string[]; types: string } {
  return { keys: keys.map((k) => k.key), types: keys.map((k) => k.type).join(',') };
}

/** What the scripts check, gathered over a whole plan: keys by type (and value), and the job or item hashes per queue prefix. */
export interface PreflightInput {
  keys: ScriptKey[];
  jobHashes: Map<string, Set<string>>;
}

// 1,000 TYPEs a call keeps each call near a millisecond (5,000 showed in SLOWLOG on a loaded server).
const HASH_CHECK_CHUNK = 1000;

/**
 * Job and item hashes of another type. One read-only script call per queue and 1,000 keys (a
 * pipelined TYPE per key cost ~3 s for a 100,000-job retry); a server that refuses the script
 * (an ACL without scripting, keys of a queue in several slots) gets the pipeline instead.
 */
async function nonHashes(client: Redis | Cluster, jobHashes: Map<string, Set<string>>, skip: Set<string>): Promise<Blocking[]> {
  const blocking: Blocking[] = [];
  const scripts = dlqScripts(client);
  for (const keys of jobHashes.values()) {
    const list = [...keys].filter((key) => !skip.has(key));
    for (let at = 0; at < list.length; at += HASH_CHECK_CHUNK) {
      const chunk = list.slice(at, at + HASH_CHECK_CHUNK);
      let found: string[];
      try {
        found = (await scripts.findNonHashes(chunk, [])) as string[];
      } catch {
        const types = await execReads(client, chunk.map((key): ReadCommand => ['type', key]));
        found = chunk.flatMap((key, i) => (types[i] !== 'none' && types[i] !== 'hash' ? [key, String(types[i])] : []));
      }
      for (let i = 0; i + 1 < found.length; i += 2) blocking.push({ key: found[i], found: found[i + 1], expected: 'hash' });
    }
  }
  return blocking;
}

/**
 * The keys that would make a script refuse its call, read without writing (TYPE, HMGET, GET),
 * mirroring includes/preflight.lua: a key of another type, a meta field XADD or the concurrency
 * check rejects, a `pc` counter INCR rejects. Empty: every call can run to its end.
 */
export async function findBlocking(client: Redis | Cluster, input: PreflightInput): Promise<Blocking[]> {
  const expected = new Map<string, string>();
  const valueOf = new Map<string, ScriptKey['value']>();
  for (const { key, type, value } of input.keys) {
    expected.set(key, type);
    if (value) valueOf.set(key, value);
  }
  const keys = [...expected.keys()];
  const types = await execReads(client, keys.map((key): ReadCommand => ['type', key]));
  const blocking: Blocking[] = [];
  keys.forEach((key, i) => {
    const found = String(types[i]);
    if (found !== 'none' && found !== expected.get(key)) blocking.push({ key, found, expected: expected.get(key)! });
  });
  // A job id such as "wait" names a queue key: checked above with its own type.
  blocking.push(...(await nonHashes(client, input.jobHashes, new Set(keys))));
  const bad = new Set(blocking.map((b) => b.key));
  const metas = keys.filter((k) => valueOf.get(k) === 'meta' && !bad.has(k));
  const counters = keys.filter((k) => valueOf.get(k) === 'counter' && !bad.has(k));
  const values = await execReads(client, [
    ...metas.map((k): ReadCommand => ['hmget', k, 'concurrency', 'opts.maxLenEvents']),
    ...counters.map((k): ReadCommand => ['get', k]),
  ]);
  metas.forEach((key, i) => {
    const [concurrency, maxLen] = (values[i] as (string | null)[] | null) ?? [];
    if (maxLen != null && !(/^\d+$/.test(maxLen) && maxLen.length < 19)) blocking.push({ key, found: `field opts.maxLenEvents "${maxLen.slice(0, 40)}"`, expected: 'a whole number' });
    else if (concurrency != null && !Number.isFinite(Number(concurrency))) blocking.push({ key, found: `field concurrency "${concurrency.slice(0, 40)}"`, expected: 'a number' });
  });
  counters.forEach((key, i) => {
    const value = values[metas.length + i] as string | null;
    if (value !== null && !(/^-?\d+$/.test(value) && value.length < 19)) blocking.push({ key, found: `string "${value.slice(0, 40)}"`, expected: 'an integer' });
  });
  return blocking;
}

/** "bull:q:wait is a string where BullMQ keeps a list", or "bull:q:meta holds field … where BullMQ keeps a whole number". */
export function describeBlocking(b: Blocking): string {
  return /^\w+$/.test(b.found) ? `${b.key} is a ${b.found} where BullMQ keeps a ${b.expected}` : `${b.key} holds ${b.found} where BullMQ keeps ${b.expected}`;
}

/** The one-line error (exit 3) for a plan or a script call a key blocks. */
export function blockedError(b: Blocking, verb: 'retry' | 'discard', done: number): RedisError {
  const before = done ? `; ${done} ${verb === 'retry' ? 'retried' : 'discarded'} before it, the rest untouched` : `; nothing ${verb === 'retry' ? 'retried' : 'discarded'}`;
  return new RedisError(`${describeBlocking(b)}${before}`, `repair or delete that key, then rerun (\`queuectl dlq ${verb} --dry-run\` lists every such key)`);
}

/** The refusal of includes/preflight.lua, from a script's error reply. */
export function blockingOf(error: unknown): Blocking | undefined {
  const message = error instanceof Error ? error.message : '';
  const at = message.indexOf('QUEUECTL_BLOCKED ');
  if (at < 0) return undefined;
  try {
    return JSON.parse(message.slice(at + 'QUEUECTL_BLOCKED '.length)) as Blocking;
  } catch {
    return undefined;
  }
}

/**
 * Every key a retry or discard of these items may touch: the script keys of each source in scope
 * (so a failed set of the wrong type is reported, not read as empty), of each target queue, and
 * each job or item hash.
 */
export function planKeys(prefix: string, sources: DlqSource[], items: DlqItem[], verb: 'retry' | 'discard'): PreflightInput {
  const q = (queue: string) => `${prefix}:${queue}:`;
  const keys: ScriptKey[] = [];
  const jobHashes = new Map<string, Set<string>>();
  const hash = (queue: string, id: string) => {
    const set = jobHashes.get(queue) ?? jobHashes.set(queue, new Set()).get(queue)!;
    set.add(q(queue) + id);
  };
  for (const source of sources) {
    if (source.style === 'failed') keys.push(...(verb === 'retry' ? scriptKeys.retryFailed : scriptKeys.discardFailed)(q(source.queue)));
    else keys.push(...scriptKeys.mark(q(source.dlq)), ...scriptKeys.deadLetterStates(q(source.dlq)));
  }
  const targets = new Set<string>();
  for (const item of items) {
    hash(item.holder, item.holderId);
    if (item.style === 'queue' && verb === 'retry') {
      const target = item.target ?? item.queue;
      targets.add(target);
      hash(target, item.id);
    } else if (verb === 'retry' && item.target && item.target !== item.queue) {
      // A Bull failed job retried into the BullMQ queue owning its name (bull-retry.ts): the
      // target's keys are written too (its id may be taken there: the job then gets a new id).
      targets.add(item.target);
    }
  }
  for (const target of targets) keys.push(...scriptKeys.retryAdd(q(target)));
  return { keys, jobHashes };
}
