import type { Context } from '../context.js';
import { ExitCode, QueuectlError, RedisError, UsageError } from '../errors.js';
import type { RedisHandle } from '../redis/types.js';
import { toRedisError } from '../redis/errors.js';
import type { Topology } from '../topology/types.js';
import { countWorkers, deleteQueueKeys, sampleQueue } from '../migrate/drain.js';
import { runDrain } from '../migrate/drain-run.js';
import { claimRun, closeJournal, listJournals, openJournal, resolveRun, type ResolvedRun } from '../migrate/journal.js';
import { acquireRunLease, type RunLease } from '../migrate/run-lease.js';
import { engineFor } from '../migrate/engine.js';
import { bullEngine } from '../migrate/bull-engine.js';
import { isBullSource, refuseBullDrain } from '../migrate/bull-source.js';
import { runIdOf } from '../migrate/keys.js';
import { parseMigrateOptions, type MigrateOptions } from '../migrate/options.js';
import { renderStatus } from '../migrate/render.js';
import { buildRouting, type Routing } from '../migrate/routing.js';
import { runMove, type MoveEngine } from '../migrate/move-run.js';
import { forBackend, type PerBackend } from '../backend/select.js';
import { isTableSource } from '../table/resolve.js';

type Runner = (raw: Record<string, unknown>, ctx: Context) => Promise<number>;

/** migrate, side by side: Redis below, PostgreSQL in src/migrate/postgres-run.ts (its engine: postgres-engine.ts). */
const moves: PerBackend<Runner> = {
  redis: (raw, ctx) => runOnRedis(raw, ctx),
  postgres: async (raw, ctx) => {
    const { POSTGRES_BATCH, runPostgresMigrate } = await import('../migrate/postgres-run.js');
    return runPostgresMigrate(parseMigrateOptions(raw, POSTGRES_BATCH), ctx);
  },
};
const statuses: PerBackend<Runner> = {
  redis: (raw, ctx) => statusOnRedis(raw, ctx),
  postgres: async (_raw, ctx) => (await import('../migrate/postgres-run.js')).runPostgresStatus(ctx),
};

/** `queuectl migrate`: plan, confirm, apply in atomic batches, verify. See src/migrate/index.ts. */
export async function run(raw: Record<string, unknown>, ctx: Context): Promise<number> {
  // To another server or backend: src/migrate/xmove/run.ts.
  if (raw.toUrl !== undefined) return (await import('../migrate/xmove/run.js')).runCrossMove(raw, ctx);
  // A legacy table source (legacy.<name>.table) moves rows, on either backend: src/migrate/table-run.ts.
  const loaded = typeof raw.from === 'string' && raw.strategy !== 'drain' ? await ctx.topologyIfAny() : undefined;
  if (loaded && isTableSource(loaded.topology, raw.from as string)) return (await import('../migrate/table-run.js')).runTableMigrate(raw, ctx);
  if (raw.mark !== undefined) throw new UsageError('--mark only applies to a table source (legacy.<name>.table)', 'drop --mark');
  return forBackend(ctx, moves)(raw, ctx);
}

async function runOnRedis(raw: Record<string, unknown>, ctx: Context): Promise<number> {
  const opts = parseMigrateOptions(raw);
  const { topology } = await ctx.topology();
  const routing = buildRouting(topology, opts);
  const prefix = await ctx.prefix();
  const handle = await ctx.redis();
  try {
    if (opts.strategy === 'drain') return await drain(opts, ctx, handle, prefix, topology);
    return await move(opts, ctx, handle, prefix, topology, routing);
  } catch (error) {
    if (error instanceof QueuectlError) throw error;
    throw toRedisError(error, handle.spec);
  }
}

/** `queuectl migrate status`: every run recorded under the prefix, with its progress. */
export async function runStatus(raw: Record<string, unknown>, ctx: Context): Promise<number> {
  const { tableRunsForStatus, renderTableRuns } = await import('../migrate/table-run.js');
  const tableRuns = await tableRunsForStatus(ctx);
  if (tableRuns.length === 0) return forBackend(ctx, statuses)(raw, ctx);
  // Queue runs and table runs in one document: the backend's status prints into a buffer first.
  const printed: unknown[] = [];
  const code = await forBackend(ctx, statuses)(raw, { ...ctx, out: Object.assign(Object.create(ctx.out), { printJson: (d: unknown) => printed.push(d) }) });
  const doc = (printed[0] ?? { schema: 'queuectl/migrate-status@1', runs: [] }) as Record<string, unknown>;
  ctx.out.printJson({ ...doc, tableRuns: tableRuns.map((r) => ({ ...r, finished: r.state === 'done' && r.claimed === r.delivered })) });
  ctx.out.print(renderTableRuns(tableRuns, ctx.out.color));
  return code;
}

async function statusOnRedis(_raw: Record<string, unknown>, ctx: Context): Promise<number> {
  const prefix = await ctx.prefix();
  const handle = await ctx.redis();
  try {
    const runs = await listJournals(await handle.masters(), prefix);
    ctx.out.printJson({ schema: 'queuectl/migrate-status@1', runs: runs.map(({ plan: _plan, key: _key, ...r }) => ({ ...r, finished: r.state === 'done' && r.left === 0 })) });
    ctx.out.print(renderStatus(runs, ctx.out.color));
    return ExitCode.ok;
  } catch (error) {
    throw toRedisError(error, handle.spec);
  }
}

async function move(opts: MigrateOptions, ctx: Context, handle: RedisHandle, prefix: string, topology: Topology, routing: Routing): Promise<number> {
  const intent = runIdOf({ prefix, from: opts.from, to: routing.to, names: opts.names, states: opts.states });
  if (opts.dryRun) return moveRun(opts, ctx, handle, prefix, topology, routing, intent, await resolveRun(handle.client, prefix, intent));
  const { run, lease } = await holdRun(handle.client, prefix, intent, ctx);
  try {
    return await moveRun(opts, ctx, handle, prefix, topology, routing, intent, run);
  } finally {
    if (lease.lost()) ctx.out.warn(`another process took run ${run.runId} over while this one stalled (no lease renewal for 30s): \`queuectl migrate status\` shows where the run stands`);
    await lease.release();
  }
}

/**
 * The run this process works on, with its lease: a second process on the same run is refused up
 * front, before it plans or touches the journal. The run is resolved again once the lease is
 * ours, since it may have finished while we waited for it.
 */
async function holdRun(client: RedisHandle['client'], prefix: string, intent: string, ctx: Context): Promise<{ run: ResolvedRun; lease: RunLease }> {
  const note = (m: string) => ctx.out.note(m);
  let run = await resolveRun(client, prefix, intent);
  for (;;) {
    const lease = await acquireRunLease(client, prefix, run.runId, { signal: ctx.signal, note });
    const now = await resolveRun(client, prefix, intent);
    if (now.runId === run.runId) return { run, lease };
    await lease.release();
    run = now;
  }
}

async function moveRun(opts: MigrateOptions, ctx: Context, handle: RedisHandle, prefix: string, topology: Topology, routing: Routing, intent: string, run: ResolvedRun): Promise<number> {
  const client = handle.client;
  const { runId, key: journalKey } = run;
  // A Bull source: its own script (src/migrate/bull-engine.ts). On a cluster with one hash tag per
  // queue, the journaled copy-then-delete (src/migrate/cross-slot.ts).
  const engine = (await isBullSource(client, prefix, topology, opts.from, opts.follow)) ? bullEngine(handle.mode, prefix, routing, journalKey, topology) : engineFor(handle.mode, prefix, routing, journalKey, runId);
  const { states, batch, rate } = opts;
  const moveOptions = { client, prefix, routing, states, journalKey, signal: ctx.signal };
  const onePass = engine.startOnePass;
  const redis: MoveEngine = {
    prepare: () => engine.prepare(client, (m) => ctx.out.note(m), ctx.signal),
    scan: () => engine.scan({ client, prefix, topology, routing, states, batch, signal: ctx.signal }),
    startOnePass: onePass && (() => onePass(moveOptions)),
    count: () => engine.count(client, prefix, routing.dests, states),
    async open(plan, planned) {
      await claimRun(client, prefix, intent, runId);
      await openJournal(client, journalKey, { id: runId, source: opts.from, to: routing.to, names: opts.names, states, plan, planned });
    },
    move: ({ record, onProgress }) => engine.apply({
      ...moveOptions, batch, rate, follow: opts.follow ? { quietMs: opts.quietMs } : undefined, onProgress, record: record && { plan: record, topology },
    }),
    close: (state, left, note) => closeJournal(client, journalKey, state, left, note),
    dryRunError: (error) => scriptsRefused(error, handle),
  };
  return runMove(opts, ctx, redis, run);
}

/** The Redis side of `--strategy drain` (the watch and the delete are in src/migrate/drain-run.ts). */
async function drain(opts: MigrateOptions, ctx: Context, handle: RedisHandle, prefix: string, topology: Topology): Promise<number> {
  await refuseBullDrain(handle.client, prefix, topology, opts.from);
  const masters = await handle.masters();
  return runDrain(opts, ctx, {
    sample: () => sampleQueue(handle.client, prefix, opts.from),
    workers: () => countWorkers(masters, prefix, opts.from),
    bookkeeping: async () => "the queue's own keys (meta, id, events…)",
    unit: 'keys',
    workersUnknown: 'CLIENT LIST refused',
    remove: () => deleteQueueKeys(masters, prefix, opts.from),
  });
}

/**
 * The plan classifies jobs with the move's own Lua script in a mode that writes nothing, so the
 * dry run needs script permission: a user limited to reads gets that said, not a bare NOPERM.
 */
function scriptsRefused(error: unknown, handle: RedisHandle): RedisError | undefined {
  const raw = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  if (!/\bNOPERM\b/.test(raw) || !/eval|script/i.test(raw)) return undefined;
  return new RedisError(
    `migrate --dry-run classifies jobs with its move script, run in a mode that writes nothing, and the Redis user of ${handle.spec.redacted} may not run scripts (${raw.replace(/^NOPERM\s*/, '')})`,
    'allow this user EVALSHA and EVAL (ACL SETUSER <user> +evalsha +eval), or use `queuectl topology check` and `queuectl inspect` for a read-only look',
  );
}
