import type { Redis } from 'ioredis';
import type { RedisMode } from '../redis/types.js';
import type { RedisHealth } from './types.js';

/**
 * A minimal INFO reader for inspect (src/redis/health.ts did not exist when this was written).
 * INFO is a read command, so it works for a read-only ACL user; CONFIG GET is not needed because
 * INFO memory carries maxmemory and maxmemory_policy.
 */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** Worst first: anything that may evict BullMQ keys is worse than noeviction. */
function pickPolicy(policies: string[]): string {
  return policies.find((p) => p !== 'noeviction') ?? policies[0] ?? 'unknown';
}

/** Health across masters: the lowest version, summed memory, the one policy that is not noeviction. */
export function combineHealth(infos: Record<string, string>[], mode: RedisMode): RedisHealth {
  const versions = infos.map((i) => i.redis_version ?? 'unknown').sort(compareVersions);
  return {
    version: versions[0] ?? 'unknown',
    mode,
    usedMemory: infos.reduce((sum, i) => sum + Number(i.used_memory ?? 0), 0),
    maxMemory: infos.some((i) => Number(i.maxmemory ?? 0) === 0) ? 0 : infos.reduce((sum, i) => sum + Number(i.maxmemory ?? 0), 0),
    evictionPolicy: pickPolicy(infos.map((i) => i.maxmemory_policy ?? 'unknown')),
    nodes: infos.length,
  };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] || 0) - (pb[i] || 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Reads INFO server and INFO memory from every master (two sections: Redis 6 takes one per call). */
export async function readRedisHealth(masters: Redis[], mode: RedisMode): Promise<RedisHealth> {
  const infos = await Promise.all(masters.map(async (node) => {
    const [server, memory] = await Promise.all([node.info('server'), node.info('memory')]);
    return { ...parseInfo(server), ...parseInfo(memory) };
  }));
  return combineHealth(infos, mode);
}
