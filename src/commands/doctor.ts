import chalk, { Chalk } from 'chalk';
import { renderTable } from '../ui/table.js';
import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';
import { worstStatus, type Check, type CheckStatus } from '../doctor/checks.js';
import { forBackend, type PerBackend } from '../backend/select.js';

/** The `--json` document of `queuectl doctor`. */
export interface DoctorDocument {
  schema: 'queuectl/doctor@1';
  backend: 'redis' | 'postgres';
  /** The redacted URL. */
  url: string;
  /** The redacted URL again, under the name Redis-era readers know (Redis only). */
  redis?: string;
  /** BullMQ's schema (PostgreSQL only). */
  postgresSchema?: string;
  checks: Check[];
}

interface DoctorReport {
  header: string;
  document: DoctorDocument;
}

/**
 * doctor's two backends: Redis (doctor/gather.ts → doctor/checks.ts) and PostgreSQL
 * (doctor/postgres-gather.ts → doctor/postgres-checks.ts).
 */
const doctors: PerBackend<(ctx: Context) => Promise<DoctorReport>> = {
  async redis(ctx) {
    const { gatherFacts } = await import('../doctor/gather.js');
    const { evaluateChecks } = await import('../doctor/checks.js');
    // The prefix comes first: a bad topology file is a usage error, found before any network wait.
    const prefix = await ctx.prefix();
    const handle = await ctx.redis();
    const checks = evaluateChecks(await gatherFacts(handle, prefix));
    const url = handle.spec.redacted;
    return { header: `Redis ${url}`, document: { schema: 'queuectl/doctor@1', backend: 'redis', url, redis: url, checks } };
  },
  async postgres(ctx) {
    const { gatherPostgresFacts } = await import('../doctor/postgres-gather.js');
    const { evaluatePostgresChecks } = await import('../doctor/postgres-checks.js');
    const handle = await ctx.postgres();
    const checks = evaluatePostgresChecks(await gatherPostgresFacts(handle));
    const url = handle.spec.redacted;
    const schema = handle.spec.schema;
    return { header: `PostgreSQL ${url} (schema ${schema})`, document: { schema: 'queuectl/doctor@1', backend: 'postgres', url, postgresSchema: schema, checks } };
  },
};

/** `queuectl doctor`: read-only health checks. Exit 0 no failure (warnings allowed), 1 a check failed, 3 unreachable. */
export async function run(_opts: Record<string, unknown>, ctx: Context): Promise<number> {
  const { header, document } = await forBackend(ctx, doctors)(ctx);
  if (ctx.out.json) ctx.out.printJson(document);
  else ctx.out.print(renderDoctor(header, document.checks, ctx.out.color));
  return worstStatus(document.checks) === 'fail' ? ExitCode.checkFailed : ExitCode.ok;
}

/** The human report: a table of checks and a one-line summary. */
export function renderDoctor(header: string, checks: Check[], color: boolean): string {
  const c = color ? chalk : new Chalk({ level: 0 });
  const paint: Record<CheckStatus, (s: string) => string> = { ok: c.green, warn: c.yellow, fail: c.red.bold };
  const rows = checks.map((check) => [check.id, paint[check.status](check.status === 'fail' ? 'FAIL' : check.status), check.detail]);
  const table = renderTable(['check', 'status', 'detail'], rows, { color, wrap: { 2: 80 } });
  const count = (s: CheckStatus) => checks.filter((x) => x.status === s).length;
  const failed = count('fail');
  const summary = `${count('ok')} ok, ${count('warn')} warning${count('warn') === 1 ? '' : 's'}, ${failed} failed`;
  return `${header}\n${table}\n${failed > 0 ? c.red(summary) : summary}`;
}
