import { isReplyError, toRedisError } from '../redis/errors.js';
import { readServerReport } from '../redis/health.js';
import type { Redis, RedisHandle } from '../redis/types.js';
import type { DoctorFacts } from './checks.js';
import { escapeGlob } from '../redis/scan.js';

/**
 * Doctor's Redis reads. Everything here only reads (INFO, CONFIG GET, CLUSTER INFO/SLOTS, PING,
 * CLIENT LIST, SCAN, HGET), so it works, and changes nothing, under a read-only ACL user.
 */

const PINGS = 5;
/** SCAN bounds: a huge keyspace must not make doctor slow. */
const SCAN_COUNT = 1000;
const MAX_SCAN_CALLS_PER_MASTER = 200;
const MAX_META_KEYS = 5000;

export async function gatherFacts(handle: RedisHandle, prefix: string): Promise<DoctorFacts> {
  try {
    const pingsMs = await measurePings(handle);
    const report = await readServerReport(handle);
    const masters = await handle.masters();
    const [clientList, bullmq] = await Promise.all([readClientList(masters[0]), readBullmqVersions(masters, prefix)]);
    return { redacted: handle.spec.redacted, pingsMs, report, prefix, clientList, bullmq };
  } catch (error) {
    throw toRedisError(error, handle.spec);
  }
}

async function measurePings(handle: RedisHandle): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const started = process.hrtime.bigint();
    await handle.client.ping();
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return samples;
}

async function readClientList(node: Redis | undefined): Promise<DoctorFacts['clientList']> {
  if (!node) return { refused: 'no master reachable' };
  try {
    const list = (await node.client('LIST')) as string;
    return { clients: list.split('\n').filter((l) => l.trim() !== '').length };
  } catch (error) {
    if (!isReplyError(error)) throw error;
    return { refused: (error as Error).message.split('\n')[0].slice(0, 80) };
  }
}

/** `<prefix>:<queue>:meta` → queue, or undefined for keys that only look alike (job keys, `P::relay`). */
export function queueOfMetaKey(key: string, prefix: string): string | undefined {
  const start = `${prefix}:`;
  if (!key.startsWith(start) || !key.endsWith(':meta')) return undefined;
  const name = key.slice(start.length, -':meta'.length);
  return name === '' || name.includes(':') ? undefined : name;
}

async function readBullmqVersions(masters: Redis[], prefix: string): Promise<DoctorFacts['bullmq']> {
  const versions = new Map<string, string[]>();
  let truncated = false;
  let found = 0;
  const pattern = `${escapeGlob(prefix)}:*:meta`;
  for (const node of masters) {
    const keys: string[] = [];
    let cursor = '0';
    let calls = 0;
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      calls += 1;
      keys.push(...batch.filter((k) => queueOfMetaKey(k, prefix) !== undefined));
    } while (cursor !== '0' && calls < MAX_SCAN_CALLS_PER_MASTER && found + keys.length < MAX_META_KEYS);
    if (cursor !== '0') truncated = true;
    found += keys.length;
    if (keys.length === 0) continue;
    const pipeline = node.pipeline();
    for (const key of keys) pipeline.hget(key, 'version');
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([error, value], i) => {
      if (error) throw error;
      const version = typeof value === 'string' && value !== '' ? value : 'unknown (no meta.version)';
      const list = versions.get(version) ?? [];
      list.push(queueOfMetaKey(keys[i], prefix) as string);
      versions.set(version, list);
    });
    if (found >= MAX_META_KEYS) {
      truncated ||= node !== masters[masters.length - 1];
      break;
    }
  }
  for (const list of versions.values()) list.sort();
  return { versions, truncated };
}
