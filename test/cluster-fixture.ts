import type { Cluster } from 'ioredis';
import { clusterClient, uniqueName } from './helpers/redis.js';
import { seedLegacyMix, topologyFor, type MixExpected } from './migrate-fixture.js';
import type { Topology } from '../src/topology/types.js';

/** Queue names with their own hash tag, drawn until legacy, a and b sit in three different slots. */
export async function taggedNames(redis: Cluster): Promise<{ legacy: string; a: string; b: string }> {
  for (;;) {
    const names = { legacy: `{${uniqueName('legacy')}}`, a: `{${uniqueName('qa')}}`, b: `{${uniqueName('qb')}}` };
    const slots = await Promise.all(Object.values(names).map((n) => redis.cluster('KEYSLOT', `bull:${n}:wait`)));
    if (new Set(slots).size === 3) return names;
  }
}

export interface ClusterFixture {
  legacy: string;
  a: string;
  b: string;
  topology: Topology;
  expected: MixExpected;
  close(): Promise<void>;
}

/**
 * A legacy queue on the cluster with the mix of test/migrate-fixture.ts (seedLegacyMix): 30 jobs
 * per name, numeric ones carrying non-ASCII and NUL bytes, some delayed jobs due in ~1.5 s.
 */
export async function buildClusterFixture(): Promise<ClusterFixture> {
  const connection = clusterClient();
  const { legacy, a, b } = await taggedNames(connection);
  const mix = await seedLegacyMix(connection, legacy, b, { perName: 30, soonDelay: 1500, data: { text: 'é ✓ \u0000 bytes' } });
  return { legacy, a, b, topology: topologyFor(legacy, a, b), expected: mix.expected, close: mix.close };
}

/** Each job's hash and logs (cluster-safe: one key at a time). */
export async function snapshotJobs(redis: Cluster, queue: string, ids: string[]): Promise<Map<string, { hash: Record<string, string>; logs: string[] }>> {
  const out = new Map<string, { hash: Record<string, string>; logs: string[] }>();
  for (const id of ids) out.set(id, { hash: await redis.hgetall(`bull:${queue}:${id}`), logs: await redis.lrange(`bull:${queue}:${id}:logs`, 0, -1) });
  return out;
}

export function clusterYaml(legacy: string, a: string, b: string, prefix = 'bull'): string {
  return `version: 1\nprefix: "${prefix}"\nqueues:\n  "${a}": { jobs: [a.process], dedup: none }\n  "${b}": { jobs: [b.second], dedup: none }\nworkers:\n  w: { queues: ["${a}", "${b}"] }\nlegacy:\n  "${legacy}": { note: shared }\n`;
}

/** Every key on every master matching a pattern (SCAN, never KEYS). */
export async function scanAll(redis: Cluster, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of redis.nodes('master')) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
  }
  return keys;
}
