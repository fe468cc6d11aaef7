import { hostname, userInfo } from 'node:os';
import type { Context } from '../context.js';
import type { Topology } from '../topology/types.js';
import { parseFilters, type FilterFlags } from './filters.js';
import { createProgress, type ProgressReporter } from '../ui/progress.js';
import { dlqSources } from './sources.js';
import type { DlqFilters, DlqSource } from './types.js';
import type { DlqStore } from './store.js';
import { redisDlqStore } from './redis-store.js';
import { postgresDlqStore } from './postgres-store.js';
import { forBackend } from '../backend/select.js';

export interface DlqScope {
  topology: Topology;
  /** What dlq reads and writes on the backend of the URL in force. */
  store: DlqStore;
  sources: DlqSource[];
  filters: DlqFilters;
  now: number;
}

/** Topology, prefix, filters (validated before connecting) and the sources they select. */
export async function openScope(ctx: Context, flags: FilterFlags): Promise<DlqScope> {
  const now = Date.now();
  const filters = parseFilters(flags, now);
  const { topology } = await ctx.topology();
  const sources = dlqSources(topology, filters.queues);
  const store = await forBackend(ctx, {
    redis: async () => redisDlqStore(await ctx.redis(), await ctx.prefix()),
    postgres: async () => postgresDlqStore(await ctx.postgres()),
  })();
  return { topology, store, sources, filters, now };
}

/** `user@host`, recorded with every retry mark and discard. */
export function whoAmI(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `${user}@${hostname()}`;
}

/**
 * dlq retry/discard progress through the one progress module (src/ui/progress.ts), as migrate's:
 * call `update(done, total)` per batch and `done()` at the end.
 */
export function progressReporter(ctx: Context, verb: 'retried' | 'discarded'): { update: (done: number, total: number) => void; done: () => void } {
  let reporter: ProgressReporter | undefined;
  return {
    update(done, total) {
      reporter ??= createProgress(ctx.out, total, { verb });
      reporter.update({ moved: done });
    },
    done: () => reporter?.done(),
  };
}
