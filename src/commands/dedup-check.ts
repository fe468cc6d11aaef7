import type { Context } from '../context.js';
import { assertKnownQueues } from '../util/queue-names.js';
import { ExitCode, UsageError } from '../errors.js';
import { planAll, runPlansOn } from '../dedup/run.js';
import { redisDedupSite } from '../dedup/redis-site.js';
import { postgresDedupSite } from '../dedup/postgres-site.js';
import { forBackend } from '../backend/select.js';
import { requireCompatibleSchema } from '../backend/postgres/schema.js';
import { renderDedupReport } from '../dedup/render.js';
import type { DedupReport } from '../dedup/types.js';

export interface DedupCheckOptions {
  /** --queue, repeatable or comma-separated. */
  queue?: string[];
  /** --copies, as commander hands it over. */
  copies?: string | number;
  live?: boolean;
  /** Not a flag: tests shorten the canary's settle bound. */
  settleMs?: number;
}

function parseCopies(raw: string | number | undefined): number {
  const copies = Number(raw ?? 5);
  if (!Number.isInteger(copies) || copies < 2 || copies > 100) {
    throw new UsageError(`--copies must be a whole number from 2 to 100, got "${String(raw)}"`, 'for example --copies 5');
  }
  return copies;
}

/**
 * `dedup-check`: proves that duplicate enqueues of one session make one job and one successful
 * execution, on a scratch prefix (or, with --live, with a far-delayed canary on the real queue).
 */
export async function run(opts: DedupCheckOptions, ctx: Context): Promise<number> {
  const copies = parseCopies(opts.copies);
  const live = Boolean(opts.live);
  const { topology } = await ctx.topology();
  const wanted = (opts.queue ?? []).flatMap((q) => q.split(',')).map((q) => q.trim()).filter(Boolean);
  assertKnownQueues(wanted, Object.keys(topology.queues), { flag: '--queue', isNot: 'is not a declared queue' });
  const specs = wanted.length ? [...new Set(wanted)].map((q) => topology.queues[q]) : Object.values(topology.queues);
  const plans = planAll(specs, copies, live);
  const { nsKind, ns, openSite } = await forBackend(ctx, {
    redis: async () => ({ nsKind: 'prefix', ns: await ctx.prefix(), openSite: async () => redisDedupSite(await ctx.redis()) }),
    postgres: async () => {
      const handle = await ctx.postgres();
      // --live adds to the real schema, which must be the one BullMQ expects; scratch runs build their own.
      if (live) await requireCompatibleSchema(handle);
      return { nsKind: 'schema', ns: handle.spec.schema, openSite: async () => postgresDedupSite(handle) };
    },
  })();

  const touched = plans.filter((p) => p.kind === 'check').map((p) => p.queue);
  if (live && touched.length > 0) {
    // Say what needs confirming in one line, rather than echoing the whole prompt in the error.
    if (!ctx.globals.yes && !ctx.prompt.interactive) {
      throw new UsageError('dedup-check --live adds (and removes) canary jobs on the live queues and needs a confirmation; stdin is not a terminal', 'rerun with --yes');
    }
    const yes = await ctx.prompt.confirm(
      `dedup-check --live adds ${copies} copies of a "queuectl.dedup-canary" job, delayed 10 years, to the live queue(s) ${touched.join(', ')} (${nsKind} "${ns}") and removes it again. Continue?`,
    );
    if (!yes) {
      ctx.out.note('dedup-check: cancelled, nothing was added');
      return ExitCode.checkFailed;
    }
  }

  const report = await runPlansOn(await openSite(), plans, {
    copies,
    live,
    prefix: ns,
    settleMs: opts.settleMs,
    signal: ctx.signal,
    onQueue: (queue) => {
      if (ctx.out.interactive) ctx.out.note(`checking ${queue}…`);
    },
  });
  for (const result of report.results) for (const warning of result.warnings) ctx.out.warn(`${result.queue}: ${warning}`);
  print(ctx, report);
  return report.results.every((r) => r.ok) ? ExitCode.ok : ExitCode.checkFailed;
}

function print(ctx: Context, report: DedupReport): void {
  if (ctx.out.json) ctx.out.printJson(report);
  else ctx.out.print(renderDedupReport(report, ctx.out.color));
}
