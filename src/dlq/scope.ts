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
import { QueuectlError, UsageError, formatError } from '../errors.js';
import { resolveTableSource, tableSourceNames } from '../table/resolve.js';
import type { TableSource } from '../table/types.js';
import { tableDlqStore } from './table-store.js';
import { combinedStore } from './combined-store.js';
import { detectLegacyKinds, kindlessLegacy } from './legacy-kinds.js';

export interface DlqScope {
  topology: Topology;
  /** What dlq reads and writes on the backend of the URL in force. */
  store: DlqStore;
  sources: DlqSource[];
  filters: DlqFilters;
  now: number;
  /** Legacy queues dlq cannot tell Bull from BullMQ: name → why (src/dlq/legacy-kinds.ts); dlq never writes to them. */
  undecided: Map<string, string>;
}

/** Topology, prefix, filters (validated before connecting) and the sources they select. */
export async function openScope(ctx: Context, flags: FilterFlags): Promise<DlqScope> {
  const now = Date.now();
  const filters = parseFilters(flags, now);
  const { topology: declared } = await ctx.topology();
  // Legacy table sources have their own store (table-store.ts); the backend's is opened only when a BullMQ queue is in scope.
  const tableNames = tableSourceNames(declared);
  const named = filters.queues;
  const backendNamed = named?.filter((q) => !tableNames.includes(q));
  // A legacy queue with no kind: is told Bull or BullMQ from its keys and jobs, as migrate tells it (Redis only: Bull is).
  const { topology, undecided } = kindlessLegacy(declared, backendNamed).length === 0 || filters.tenant ? { topology: declared, undecided: new Map<string, string>() } : await forBackend(ctx, {
    redis: async () => detectLegacyKinds((await ctx.redis()).client, await ctx.prefix(), declared, backendNamed),
    postgres: async () => ({ topology: declared, undecided: new Map<string, string>() }),
  })();
  for (const [name, line] of undecided) {
    if (backendNamed?.includes(name)) throw new UsageError(`dlq: ${line}`, `legacy: { ${name}: { kind: bull } } for a Bull 3.x/4.x queue, kind: bullmq for a BullMQ one`);
    ctx.out.warn(`legacy queue ${name} left out: ${line}`);
  }
  if (filters.tenant && backendNamed?.length) {
    throw new UsageError(`--tenant applies to legacy table sources, not to ${backendNamed[0]}`, 'for BullMQ queues use --org <value>; or --queue <table source>');
  }
  const sources = filters.tenant || backendNamed?.length === 0 ? [] : dlqSources(topology, backendNamed);
  const tables = await openTables(ctx, named ? named.filter((q) => tableNames.includes(q)) : tableNames, named !== undefined);
  const backend = sources.length === 0 && (tables.length > 0 || named !== undefined) ? undefined : await forBackend(ctx, {
    redis: async () => redisDlqStore(await ctx.redis(), await ctx.prefix()),
    postgres: async () => postgresDlqStore(await ctx.postgres()),
  })();
  const store = combinedStore(backend, tables.length ? tableDlqStore(tables) : undefined, tables.map((t) => t.name));
  return { topology, store, sources, filters, now, undecided };
}

/**
 * The table sources in scope, resolved. One named with --queue must resolve; one in scope only
 * because the topology declares it is skipped with a warning when its database cannot be reached
 * (a `dlq list` about BullMQ queues does not need DATABASE_URL).
 */
async function openTables(ctx: Context, names: string[], named: boolean): Promise<TableSource[]> {
  const tables: TableSource[] = [];
  for (const name of names) {
    try {
      tables.push(await resolveTableSource(ctx, name));
    } catch (error) {
      if (named || !(error instanceof QueuectlError)) throw error;
      ctx.out.warn(`table source ${name} left out: ${formatError(error)}`);
    }
  }
  return tables;
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
