import type { Context } from '../context.js';
import { ExitCode, QueuectlError, UsageError, formatError } from '../errors.js';
import { tableSourceNames } from '../table/resolve.js';
import type { TableInspect } from '../table/inspect.js';
import type { Topology } from '../topology/types.js';
import { evaluateAlert } from '../inspect/alerts.js';
import { declaredLayout } from '../inspect/layout.js';
import { unknownQueueError } from '../util/queue-names.js';
import { escapeControls } from '../ui/escape.js';
import type { QueueTarget } from '../inspect/read-queues.js';
import { backendInspectDocument, renderBackendHealth, renderJob, renderQueueTable, type InspectRow } from '../inspect/render.js';
import type { QueueKind } from '../inspect/types.js';
import type { BackendHealth, InspectSource } from '../inspect/source.js';
import { forBackend, type PerBackend } from '../backend/select.js';
import { ratesSince, snapshot, watchLoop, type Snapshot } from '../inspect/watch.js';

/** inspect's reads, side by side: Redis (inspect/redis-source.ts) and PostgreSQL (inspect/postgres-source.ts). */
const inspectSources: PerBackend<(ctx: Context) => Promise<InspectSource>> = {
  redis: async (ctx) => (await import('../inspect/redis-source.js')).redisInspectSource(ctx),
  postgres: async (ctx) => (await import('../inspect/postgres-source.js')).postgresInspectSource(ctx),
};

/** How long a watch reuses the queues it discovered before walking the keyspace again. */
const REDISCOVER_MS = 30_000;

export interface InspectOptions {
  all?: boolean;
  /** Table sources: rows per status value as well. */
  byStatus?: boolean;
  /** true for `--watch` alone (2 s), or the seconds given. */
  watch?: boolean | string;
}

/** `queuectl inspect [queue…]` and `queuectl inspect job <queue> <id>`. Read-only: never writes to Redis. */
export async function run(opts: InspectOptions, ctx: Context, args: string[] = []): Promise<number> {
  if (args[0] === 'job') return inspectJob(ctx, args.slice(1));
  for (const name of args) {
    if (name === '' || name.includes(':')) throw new UsageError(`"${name}" is not a queue name (BullMQ queue names cannot be empty or contain ":")`, 'pass queue names as shown by `queuectl inspect --all`');
  }
  const intervalMs = watchInterval(opts.watch);
  if (intervalMs !== undefined && ctx.globals.json) {
    throw new UsageError('--watch and --json cannot be combined', 'use --json alone and poll it, or --watch for a live table');
  }

  const topology = (await ctx.topologyIfAny())?.topology;
  // Legacy table sources are read from their own database (src/table/), apart from the queues.
  const tableNames = topology ? tableSourceNames(topology) : [];
  const namedTables = args.filter((name) => tableNames.includes(name));
  args = args.filter((name) => !tableNames.includes(name));
  if (namedTables.length > 0 && intervalMs !== undefined) throw new UsageError('--watch does not cover table sources yet', `inspect ${namedTables[0]} without --watch`);
  if (namedTables.length > 0 && args.length === 0) return inspectTablesOnly(ctx, namedTables, Boolean(opts.byStatus));
  const tables = intervalMs === undefined && args.length === 0 ? tableNames : [];
  const source = await forBackend(ctx, inspectSources)(ctx);

  // Discovery costs the backend a walk (SCAN of the whole keyspace on Redis), so a watch
  // rediscovers only now and then instead of every tick.
  let discovered: { at: number; names: Promise<string[]> } | undefined;
  const discover = () => {
    if (!discovered || Date.now() - discovered.at > REDISCOVER_MS) {
      discovered = { at: Date.now(), names: source.discover() };
    }
    return discovered.names;
  };
  const collect = async (): Promise<{ rows: InspectRow[]; health: BackendHealth }> => {
    const healthRead = source.readHealth();
    healthRead.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled
    const targets = await chooseTargets(topology, args, Boolean(opts.all) || !topology, discover);
    const [queues, health] = await Promise.all([source.readQueues(targets), healthRead]);
    const rows = queues.map((queue) => ({ queue, alert: evaluateAlert(queue, topology?.queues[queue.name]?.alerts) }));
    return { rows, health };
  };

  // A named queue that names nothing, or a prefix that holds nothing, is said before any table.
  const checkNames = async (rows: InspectRow[]) => {
    if (!rows.some((r) => r.queue.exists)) {
      const verdict = await source.emptyVerdict();
      if (verdict.error) throw verdict.error;
      if (verdict.warning) ctx.out.warn(verdict.warning);
    }
    const unknown = rows.find((r) => r.queue.kind === 'undeclared' && !r.queue.exists && args.includes(r.queue.name));
    if (unknown) throw unknownQueueError({ name: unknown.queue.name, known: [...knownNames(topology), ...(await discover())] });
  };

  if (intervalMs === undefined) {
    const { rows, health } = await collect();
    await checkNames(rows);
    // After the queue reads: a table in the --url database shares its session, one query at a time.
    const tableReports = await readTables(ctx, tables, { byStatus: Boolean(opts.byStatus), named: false });
    if (ctx.globals.json) {
      ctx.out.printJson({ ...backendInspectDocument(rows, health), ...(tableReports.length ? { tables: tableReports } : {}) });
    } else {
      ctx.out.print(`${renderQueueTable(rows, { color: ctx.out.color })}\n\n${renderBackendHealth(health, { color: ctx.out.color })}`);
      await printTables(ctx, tableReports);
    }
    return 0;
  }

  let previous: Snapshot | undefined;
  // Redraw only when the table goes to a terminal; piped output gets one table per tick.
  const redraw = ctx.out.interactive && Boolean(process.stdout.isTTY);
  await watchLoop({
    intervalMs,
    signal: ctx.signal,
    redraw,
    // The redraw's own cursor sequences go out as they are; the frame was escaped below.
    write: (text) => (redraw ? ctx.out.printRaw(text) : ctx.out.print(text)),
    frame: async () => {
      const { rows, health } = await collect();
      if (!previous) await checkNames(rows);
      const current = snapshot(rows.map((r) => r.queue), Date.now());
      for (const row of rows) row.rates = ratesSince(previous, current, row.queue.name);
      previous = current;
      const stamp = `every ${intervalMs / 1000}s · ${new Date(current.at).toISOString()} · Ctrl-C to stop`;
      return escapeControls(`${stamp}\n${renderQueueTable(rows, { color: ctx.out.color, rates: true })}\n\n${renderBackendHealth(health, { color: ctx.out.color })}`, ctx.out.color);
    },
  });
  // --watch only ends on Ctrl-C: exit 130 like every interrupted command (contract), so a script
  // that wraps it can tell "stopped by the user" from "finished".
  return ctx.signal.aborted ? ExitCode.interrupted : ExitCode.ok;
}

/** `inspect <table source…>`: only the tables' databases are read, never the --url backend. */
async function inspectTablesOnly(ctx: Context, names: string[], byStatus: boolean): Promise<number> {
  const reports = await readTables(ctx, names, { byStatus, named: true });
  if (ctx.globals.json) ctx.out.printJson({ schema: 'queuectl/inspect@1', tables: reports });
  else await printTables(ctx, reports, false);
  return 0;
}

/**
 * Each table source's inspect report. A source named on the command line must resolve (exit 2/3
 * otherwise); one shown only because the topology declares it is a warning when it cannot be
 * read (DATABASE_URL unset where only the queues are of interest), never a failed inspect.
 */
async function readTables(ctx: Context, names: string[], options: { byStatus: boolean; named: boolean }): Promise<TableInspect[]> {
  if (names.length === 0) return [];
  const { resolveTableSource } = await import('../table/resolve.js');
  const { readTableInspect } = await import('../table/inspect.js');
  const reports: TableInspect[] = [];
  for (const name of names) {
    try {
      const report = await readTableInspect(await resolveTableSource(ctx, name), { byStatus: options.byStatus });
      for (const warning of report.warnings) ctx.out.warn(warning);
      reports.push(report);
    } catch (error) {
      if (options.named || !(error instanceof QueuectlError)) throw error;
      ctx.out.warn(`table source ${name} not shown: ${formatError(error)}`);
    }
  }
  return reports;
}

async function printTables(ctx: Context, reports: TableInspect[], gap = true): Promise<void> {
  if (reports.length === 0) return;
  const { renderTableInspect } = await import('../table/render-inspect.js');
  ctx.out.print(`${gap ? '\n' : ''}${reports.map((r) => renderTableInspect(r, { color: ctx.out.color })).join('\n\n')}`);
}

function watchInterval(watch: InspectOptions['watch']): number | undefined {
  if (watch === undefined || watch === false) return undefined;
  if (watch === true) return 2000;
  const seconds = Number(watch);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--watch takes a number of seconds, got "${watch}"`, 'for example --watch 5');
  }
  return Math.max(100, Math.round(seconds * 1000));
}

/**
 * Which queues to show: the named ones; else declared, then legacy, then (with --all, or with no
 * topology at all) every discovered queue the topology does not name.
 */
export async function chooseTargets(topology: Topology | undefined, names: string[], withDiscovered: boolean, discover: () => Promise<string[]>): Promise<QueueTarget[]> {
  const kindOf = (name: string): QueueKind => (topology?.queues[name] ? 'declared' : topology?.legacy[name] ? 'legacy' : 'undeclared');
  if (names.length > 0) return [...new Set(names)].map((name) => ({ name, kind: kindOf(name), ...declaredLayout(topology, name) }));
  const declared = Object.keys(topology?.queues ?? {}).sort();
  const legacy = Object.keys(topology?.legacy ?? {}).filter((n) => !topology?.queues[n] && !topology?.legacy[n]?.table).sort();
  const known = new Set([...declared, ...legacy]);
  const discovered = withDiscovered ? (await discover()).filter((n) => !known.has(n)) : [];
  return [
    ...declared.map((name) => ({ name, kind: 'declared' as const, ...declaredLayout(topology, name) })),
    ...legacy.map((name) => ({ name, kind: 'legacy' as const, ...declaredLayout(topology, name) })),
    ...discovered.map((name) => ({ name, kind: 'undeclared' as const })),
  ];
}

async function inspectJob(ctx: Context, args: string[]): Promise<number> {
  if (args.length !== 2) {
    throw new UsageError('inspect job needs a queue and a job id', 'queuectl inspect job <queue> <id>');
  }
  const [queue, id] = args;
  const source = await forBackend(ctx, inspectSources)(ctx);
  const job = await source.readJob(queue, id);
  if (!job) {
    const topology = (await ctx.topologyIfAny())?.topology;
    await assertQueueKnown(source, topology, queue);
    throw new UsageError(`job ${queue}/${id} not found`, `check the queue and id; \`queuectl inspect ${queue}\` shows the queue`);
  }
  if (ctx.globals.json) ctx.out.printJson({ schema: 'queuectl/inspect-job@1', job });
  else ctx.out.print(renderJob(job, { color: ctx.out.color }));
  return 0;
}

/** Declared and legacy queue names of the topology, if any. */
function knownNames(topology: Topology | undefined): string[] {
  return [...Object.keys(topology?.queues ?? {}), ...Object.keys(topology?.legacy ?? {})];
}

/** `inspect job <queue> <id>` with a queue that is neither declared, legacy nor live: exit 2 with a did-you-mean. */
async function assertQueueKnown(source: InspectSource, topology: Topology | undefined, queue: string): Promise<void> {
  if (knownNames(topology).includes(queue)) return;
  const [live] = await source.readQueues([{ name: queue, kind: 'undeclared' }], { workers: false });
  if (live?.exists) return;
  throw unknownQueueError({ name: queue, known: [...knownNames(topology), ...(await source.discover())] });
}
