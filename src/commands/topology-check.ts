import { forBackend, type PerBackend } from '../backend/select.js';
import { drift, sortFindings } from '../check/drift.js';
import { buildReport, renderReport } from '../check/render.js';
import type { CheckSource } from '../check/source.js';
import type { Context } from '../context.js';
import { ExitCode, InterruptedError, UsageError } from '../errors.js';
import type { Topology } from '../topology/types.js';

/** check's reads, side by side: Redis (check/redis-source.ts) and PostgreSQL (check/postgres-source.ts). */
const checkSources: PerBackend<(ctx: Context, topology: Topology) => Promise<CheckSource>> = {
  redis: async (ctx, topology) => (await import('../check/redis-source.js')).redisCheckSource(ctx, topology),
  postgres: async (ctx, topology) => (await import('../check/postgres-source.js')).postgresCheckSource(ctx, topology),
};

export interface CheckOptions {
  deep?: boolean;
  /** Commander hands the flag over as text (default '50'). */
  sample?: string;
}

/**
 * `topology check`, the CI drift gate: the declared topology versus live Redis or PostgreSQL. Reads
 * only, so it runs under a read-only ACL user or a SELECT-only role. Exit 0 in sync (warnings
 * allowed), 1 drift.
 */
export async function run(opts: CheckOptions, ctx: Context): Promise<number> {
  const sample = parseSample(opts.sample);
  const deep = opts.deep === true;
  const { topology } = await ctx.topology();
  const source = await forBackend(ctx, checkSources)(ctx, topology);
  if (deep && ctx.out.interactive) ctx.out.note('reading every job of every declared queue (--deep)…');
  let live;
  try {
    live = await source.gather({ sample, deep, signal: ctx.signal });
    // Every queue absent: say plainly when the namespace itself holds nothing (a --prefix typo is exit 2).
    if (!live.queues.some((q) => q.exists)) {
      const verdict = await source.emptyVerdict();
      if (verdict.error) throw verdict.error;
      if (verdict.warning) ctx.out.warn(verdict.warning);
    }
  } catch (error) {
    // A read cut short by Ctrl-C surfaces as a connection error: it is an interruption.
    if (ctx.signal.aborted && !(error instanceof InterruptedError)) throw new InterruptedError('topology check interrupted', 'it wrote nothing; rerun it');
    throw error;
  }
  // Legacy table sources are judged from their own database (src/table/check.ts), after the queues.
  const { checkTableSources } = await import('../table/check.js');
  const { tableSourceNames } = await import('../table/resolve.js');
  const tables = tableSourceNames(topology).length;
  const findings = sortFindings([...drift(source.topology, live, source.driftOptions), ...(await checkTableSources(ctx, topology))]);
  const report = buildReport(findings);
  if (ctx.out.json) {
    ctx.out.printJson(report);
  } else {
    const scope = {
      queues: Object.keys(topology.queues).length,
      legacy: Object.keys(topology.legacy).length - tables,
      tables,
      redis: source.where,
      ...(deep ? {} : { sample }),
    };
    ctx.out.print(renderReport(report, scope, ctx.out.color));
  }
  return report.inSync ? ExitCode.ok : ExitCode.checkFailed;
}

function parseSample(value: string | undefined): number {
  if (value === undefined) return 50;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`--sample must be a whole number of jobs, at least 1 (got "${value}")`, 'e.g. --sample 50, or --deep to read every job');
  }
  return n;
}
