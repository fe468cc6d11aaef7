import type { Context } from '../context.js';
import { mapRedisErrors } from '../inspect/redis-source.js';
import { emptyPrefixVerdict, probePrefixes } from '../redis/prefixes.js';
import type { Topology } from '../topology/types.js';
import { gatherLiveFacts } from './gather.js';
import type { CheckSource } from './source.js';

/** check's reads on Redis: SCAN, pipelined reads, INFO, CLIENT LIST (the PostgreSQL twin is postgres-source.ts). */
export async function redisCheckSource(ctx: Context, fileTopology: Topology): Promise<CheckSource> {
  // --prefix overrides the file's: the hash-tag rule must judge the prefix actually in use.
  const prefix = await ctx.prefix();
  const handle = await ctx.redis();
  const topology = { ...fileTopology, prefix };
  return {
    where: handle.spec.redacted,
    topology,
    driftOptions: { cluster: handle.mode === 'cluster' },
    gather: (options) => mapRedisErrors(handle.spec, () => gatherLiveFacts(handle, topology, prefix, options)),
    emptyVerdict: () => mapRedisErrors(handle.spec, async () =>
      emptyPrefixVerdict(prefix, await probePrefixes(await handle.masters(), prefix), ctx.globals.prefix !== undefined)),
  };
}
