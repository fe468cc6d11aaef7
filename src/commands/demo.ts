import { isAbsolute, join, relative } from 'node:path';
import type { Command } from '../vendor/commander.js';
import type { Context } from '../context.js';
import { backendKindOf, type BackendKind } from '../backend/target.js';
import { ExitCode, UsageError } from '../errors.js';
import { buildProgram } from '../cli.js';
import { loadTopologyFile } from '../topology/load.js';
import { packageRoot } from '../demo/child.js';
import { openEnvironment, type DemoEnvironment } from '../demo/environment.js';
import { describeFinish } from '../demo/finish.js';
import { buildMix, countByName, DEFAULT_MIX, LEGACY_QUEUE, UNOWNED_NAME } from '../demo/mix.js';
import { pauser } from '../demo/pause.js';
import { seedLegacy, type OldWorkers } from '../demo/seed.js';
import { demoSteps } from '../demo/steps.js';
import { summarize, walk } from '../demo/walk.js';
import { openTableDemo, type TableDemo } from '../demo/table-demo.js';

export interface DemoOptions {
  /** --jobs: how many jobs the legacy queue starts with. */
  jobs?: string;
  /** --backend: redis (default) or postgres; a --url decides it when given. */
  backend?: string;
  /** --from-table: the WorkerJob table split into per-family queues (PostgreSQL only). */
  fromTable?: boolean;
}

const EXAMPLE = join(packageRoot, 'examples', 'eccb-smart-upload.yaml');
const OLD_WORKERS = 2;
const OLD_JOB_MS = 400;
/** Bound for the old deployment's last jobs (12 jobs of 400 ms on 2 workers take ~3 s). */
const FINISH_TIMEOUT_MS = 20_000;

/**
 * `queuectl demo`: a throwaway Redis (or --redis under a scratch prefix), the ECCB legacy queue
 * filled the way the old producers did, old workers running, then the walk-through: each step is
 * the real bin/queuectl, its output shown as is and its exit code checked. Exit 0 when every step
 * did what it should, 1 otherwise; whatever the demo started is stopped on every path.
 */
export async function run(opts: DemoOptions, ctx: Context): Promise<number> {
  if (ctx.globals.json) throw new UsageError('demo is a guided walk-through and has no --json output', 'run it without --json');
  if (ctx.globals.config) throw new UsageError('demo always uses the bundled examples/eccb-smart-upload.yaml', 'run it without -c');
  if (ctx.globals.prefix) throw new UsageError('demo chooses its own prefix (queuectl-demo-<random> with --redis)', 'run it without --prefix');
  if (ctx.globals.schema) throw new UsageError('demo chooses its own schema (queuectl_demo_<random> with --url postgres://…)', 'run it without --schema');
  const kind = chooseBackend(opts.backend ?? (opts.fromTable && !ctx.globals.redis ? 'postgres' : undefined), ctx.globals.redis);
  const total = Number(opts.jobs ?? DEFAULT_MIX.total);
  if (opts.fromTable) {
    if (kind !== 'postgres') throw new UsageError('demo --from-table runs on PostgreSQL (the table and BullMQ in one database)', 'drop --backend redis, or give --url postgres://…');
    if (!Number.isInteger(total) || total < 200 || total > 200_000) throw new UsageError(`--jobs must be a whole number from 200 to 200000, got "${opts.jobs}"`, 'for example --jobs 5000');
    return runTableDemo(ctx, total);
  }
  if (!Number.isInteger(total) || total < 200 || total > 200_000) {
    throw new UsageError(`--jobs must be a whole number from 200 to 200000, got "${opts.jobs}"`, 'for example --jobs 5000');
  }
  const { topology } = await loadTopologyFile(EXAMPLE);
  const owners = Object.fromEntries(Object.values(topology.queues).flatMap((q) => q.jobs.map((name) => [name, q.name])));
  const mix = buildMix({ ...DEFAULT_MIX, total });
  const print = (line: string) => ctx.out.print(line);

  const env = await openEnvironment(ctx.globals, kind, topology.prefix);
  let workers: OldWorkers | undefined;
  try {
    print(`queuectl demo: the ECCB Smart Upload split, on ${env.where}.`);
    workers = await seedLegacy(mix, {
      bullmq: env.bullmq,
      workers: OLD_WORKERS,
      jobMs: OLD_JOB_MS,
      signal: ctx.signal,
    });
    print(describeSeed(mix.corrupt.length, countByName(mix.bulk), OLD_WORKERS, OLD_JOB_MS));
    print('Each step below says what it shows, then runs the real queuectl and checks its exit code.');
    const config = shownPath(EXAMPLE, process.cwd());
    const outcomes = await walk({
      steps: demoSteps({
        unowned: mix.bulk.filter((j) => !owners[j.name]).length,
        corrupt: mix.corrupt.length,
        owners,
        store: kind === 'postgres' ? 'PostgreSQL' : 'Redis',
      }),
      base: ['-c', config, ...env.childArgs],
      shownBase: ['-c', config, ...env.shownArgs],
      cwd: process.cwd(),
      env: childEnv(env, ctx.out.color),
      signal: ctx.signal,
      color: ctx.out.color,
      print,
      pause: ctx.prompt.interactive && !ctx.globals.yes ? pauser(process.stdin, process.stderr, ctx.signal) : undefined,
      available: commandExists,
      actions: {
        'finish-legacy-work': async () => {
          if (!workers) throw new Error('the old workers are not running');
          const report = await workers.finish(UNOWNED_NAME, FINISH_TIMEOUT_MS, ctx.signal);
          await workers.close();
          workers = undefined;
          return describeFinish(report, UNOWNED_NAME, OLD_WORKERS);
        },
      },
    });
    const summary = summarize(outcomes);
    print('');
    for (const line of summary.lines) print(line);
    return summary.ok ? ExitCode.ok : ExitCode.checkFailed;
  } finally {
    await workers?.close();
    await env.stop();
    ctx.out.note(env.stopped);
  }
}

/** `demo --from-table`: the WorkerJob table split into per-family BullMQ queues (src/demo/table-demo.ts). */
async function runTableDemo(ctx: Context, rows: number): Promise<number> {
  const print = (line: string) => ctx.out.print(line);
  const env = await openEnvironment(ctx.globals, 'postgres', 'bull');
  let table: TableDemo | undefined;
  try {
    const schema = env.childArgs[env.childArgs.indexOf('--schema') + 1];
    table = await openTableDemo(String(env.childEnv.QUEUECTL_URL), schema, ctx.globals, rows);
    print(`queuectl demo --from-table: a job table split into BullMQ queues, on ${env.where}.`);
    print(table.describe);
    const outcomes = await walk({
      steps: table.steps,
      base: ['-c', table.config, ...env.childArgs],
      shownBase: ['-c', table.config, ...env.shownArgs],
      cwd: process.cwd(),
      env: { ...childEnv(env, ctx.out.color), ...table.childEnv },
      signal: ctx.signal,
      color: ctx.out.color,
      print,
      pause: ctx.prompt.interactive && !ctx.globals.yes ? pauser(process.stdin, process.stderr, ctx.signal) : undefined,
      available: commandExists,
      actions: { 'finish-legacy-work': async () => [] },
    });
    const summary = summarize(outcomes);
    print('');
    for (const line of summary.lines) print(line);
    return summary.ok ? ExitCode.ok : ExitCode.checkFailed;
  } finally {
    await table?.stop();
    await env.stop();
    ctx.out.note(env.stopped);
  }
}

/** --backend, or the scheme of --url when given; the two must agree. */
export function chooseBackend(flag: string | undefined, url: string | undefined): BackendKind {
  if (flag !== undefined && flag !== 'redis' && flag !== 'postgres') {
    throw new UsageError(`--backend must be redis or postgres, got "${flag}"`, 'for example --backend postgres');
  }
  const fromUrl = url ? backendKindOf(url) : undefined;
  if (flag && fromUrl && flag !== fromUrl) {
    throw new UsageError(`--backend ${flag} does not match --url, which is ${fromUrl === 'postgres' ? 'PostgreSQL' : 'Redis'}`, 'leave --backend out when giving --url, or give a URL of that kind');
  }
  return (flag as BackendKind | undefined) ?? fromUrl ?? 'redis';
}

function describeSeed(corrupt: number, names: Record<string, number>, workers: number, jobMs: number): string {
  const live = Object.values(names).reduce((a, n) => a + n, 0);
  const n = (count: number) => count.toLocaleString('en-US');
  const parts = Object.entries(names).sort((a, b) => b[1] - a[1]).map(([name, count]) => `${n(count)} ${name}`);
  // The parts add up to the total said first: live jobs plus the corrupt ones (once "5,000 jobs: …" summed to 4,960).
  return [
    `Filled the legacy queue ${LEGACY_QUEUE} with ${n(live + corrupt)} jobs: ${n(live)} as the old producers wrote them (${parts.join(', ')};`,
    `some delayed, some prioritized) and ${n(corrupt)} corrupt uploads that the old workers already failed.`,
    `${workers} old workers consume ${LEGACY_QUEUE}, one job at a time, ${jobMs} ms each.`,
  ].join('\n');
}

/** The example as a person in this directory would type it: relative when inside, else absolute. */
export function shownPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function childEnv(env: DemoEnvironment, color: boolean): NodeJS.ProcessEnv {
  // QUEUECTL_URL goes too: it would win over the REDIS_URL a secret URL reaches the children through.
  const base: NodeJS.ProcessEnv = { ...process.env, QUEUECTL_URL: undefined, REDIS_URL: undefined, QUEUECTL_CONFIG: undefined, ...env.childEnv };
  // The children write to pipes; keep the demo's own colour decision for them.
  if (color) return { ...base, FORCE_COLOR: '1', NO_COLOR: undefined };
  return { ...base, NO_COLOR: '1', FORCE_COLOR: undefined };
}

/** True when this build declares the command path: read from the program itself, not a list. */
function commandExists(path: string[]): boolean {
  let commands: readonly Command[] = buildProgram('0.0.0', () => undefined as never, () => undefined).commands;
  for (const name of path) {
    const found = commands.find((c) => c.name() === name);
    if (!found) return false;
    commands = found.commands;
  }
  return true;
}
