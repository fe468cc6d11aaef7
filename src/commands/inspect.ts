import type { Context } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import type { Topology } from '../topology/types.js';
import { evaluateAlert } from '../inspect/alerts.js';
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
    if (ctx.globals.json) {
      ctx.out.printJson(backendInspectDocument(rows, health));
    } else {
      ctx.out.print(`${renderQueueTable(rows, { color: ctx.out.color })}\n\n${renderBackendHealth(health, { color: ctx.out.color })}`);
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
  if (names.length > 0) return [...new Set(names)].map((name) => ({ name, kind: kindOf(name) }));
  const declared = Object.keys(topology?.queues ?? {}).sort();
  const legacy = Object.keys(topology?.legacy ?? {}).filter((n) => !topology?.queues[n]).sort();
  const known = new Set([...declared, ...legacy]);
  const discovered = withDiscovered ? (await discover()).filter((n) => !known.has(n)) : [];
  return [
    ...declared.map((name) => ({ name, kind: 'declared' as const })),
    ...legacy.map((name) => ({ name, kind: 'legacy' as const })),
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
