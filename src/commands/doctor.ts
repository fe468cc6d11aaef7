import chalk, { Chalk } from 'chalk';
import { renderTable } from '../ui/table.js';
import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';
import { evaluateChecks, worstStatus, type Check, type CheckStatus } from '../doctor/checks.js';
import { gatherFacts } from '../doctor/gather.js';

/** The `--json` document of `queuectl doctor`. */
export interface DoctorDocument {
  schema: 'queuectl/doctor@1';
  redis: string;
  checks: Check[];
}

/** `queuectl doctor`: read-only health checks. Exit 0 no failure (warnings allowed), 1 a check failed, 3 unreachable. */
export async function run(_opts: Record<string, unknown>, ctx: Context): Promise<number> {
  // The prefix comes first: a bad topology file is a usage error, found before any network wait.
  const prefix = await ctx.prefix();
  const handle = await ctx.redis();
  const checks = evaluateChecks(await gatherFacts(handle, prefix));
  if (ctx.out.json) {
    const document: DoctorDocument = { schema: 'queuectl/doctor@1', redis: handle.spec.redacted, checks };
    ctx.out.printJson(document);
  } else {
    ctx.out.print(renderDoctor(handle.spec.redacted, checks, ctx.out.color));
  }
  return worstStatus(checks) === 'fail' ? ExitCode.checkFailed : ExitCode.ok;
}

/** The human report: a table of checks and a one-line summary. */
export function renderDoctor(redacted: string, checks: Check[], color: boolean): string {
  const c = color ? chalk : new Chalk({ level: 0 });
  const paint: Record<CheckStatus, (s: string) => string> = { ok: c.green, warn: c.yellow, fail: c.red.bold };
  const rows = checks.map((check) => [check.id, paint[check.status](check.status === 'fail' ? 'FAIL' : check.status), check.detail]);
  const table = renderTable(['check', 'status', 'detail'], rows, { color, wrap: { 2: 80 } });
  const count = (s: CheckStatus) => checks.filter((x) => x.status === s).length;
  const failed = count('fail');
  const summary = `${count('ok')} ok, ${count('warn')} warning${count('warn') === 1 ? '' : 's'}, ${failed} failed`;
  return `Redis ${redacted}\n${table}\n${failed > 0 ? c.red(summary) : summary}`;
}
