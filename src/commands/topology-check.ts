import { drift } from '../check/drift.js';
import { gatherLiveFacts } from '../check/gather.js';
import { buildReport, renderReport } from '../check/render.js';
import type { Context } from '../context.js';
import { ExitCode, InterruptedError, QueuectlError, UsageError } from '../errors.js';
import { toRedisError } from '../redis/errors.js';
import { emptyPrefixVerdict, probePrefixes } from '../redis/prefixes.js';

export interface CheckOptions {
  deep?: boolean;
  /** Commander hands the flag over as text (default '50'). */
  sample?: string;
}

/**
 * `topology check`, the CI drift gate: the declared topology versus live Redis. Reads only, so
 * it runs under a read-only ACL user. Exit 0 in sync (warnings allowed), 1 drift.
 */
export async function run(opts: CheckOptions, ctx: Context): Promise<number> {
  const sample = parseSample(opts.sample);
  const deep = opts.deep === true;
  const { topology } = await ctx.topology();
  // --prefix overrides the file's: the hash-tag rule must judge the prefix actually in use.
  const prefix = await ctx.prefix();
  const handle = await ctx.redis();
  if (deep && ctx.out.interactive) ctx.out.note('reading every job of every declared queue (--deep)…');
  let live;
  try {
    live = await gatherLiveFacts(handle, topology, prefix, { sample, deep, signal: ctx.signal });
    // Every queue absent: say plainly when the prefix itself holds nothing (a --prefix typo is exit 2).
    if (!live.queues.some((q) => q.exists)) {
      const verdict = emptyPrefixVerdict(prefix, await probePrefixes(await handle.masters(), prefix), ctx.globals.prefix !== undefined);
      if (verdict.error) throw verdict.error;
      if (verdict.warning) ctx.out.warn(verdict.warning);
    }
  } catch (error) {
    if (error instanceof QueuectlError) throw error;
    if (ctx.signal.aborted) throw new InterruptedError('topology check interrupted', 'it wrote nothing; rerun it');
    throw toRedisError(error, handle.spec);
  }
  const findings = drift({ ...topology, prefix }, live, { cluster: handle.mode === 'cluster' });
  const report = buildReport(findings);
  if (ctx.out.json) {
    ctx.out.printJson(report);
  } else {
    const scope = {
      queues: Object.keys(topology.queues).length,
      legacy: Object.keys(topology.legacy).length,
      redis: handle.spec.redacted,
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
