import chalk, { Chalk } from 'chalk';
import { renderTable } from '../ui/table.js';
import type { Context } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
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
const doctors: PerBackend<(ctx: Context, opts: DoctorOptions) => Promise<DoctorReport>> = {
  async redis(ctx, opts) {
    if (opts.migrate) throw new UsageError('--migrate is for BullMQ on PostgreSQL', 'BullMQ on Redis has no schema to migrate: leave --migrate out');
    const { gatherFacts } = await import('../doctor/gather.js');
    const { evaluateChecks } = await import('../doctor/checks.js');
    // The prefix comes first: a bad topology file is a usage error, found before any network wait.
    const prefix = await ctx.prefix();
    const handle = await ctx.redis();
    const checks = evaluateChecks(await gatherFacts(handle, prefix));
    const url = handle.spec.redacted;
    return { header: `Redis ${url}`, document: { schema: 'queuectl/doctor@1', backend: 'redis', url, redis: url, checks } };
  },
  async postgres(ctx, opts) {
    const { gatherPostgresFacts } = await import('../doctor/postgres-gather.js');
    const { evaluatePostgresChecks } = await import('../doctor/postgres-checks.js');
    const handle = await ctx.postgres();
    if (opts.migrate) await migrateAfterConfirmation(ctx, handle);
    const checks = evaluatePostgresChecks(await gatherPostgresFacts(handle));
    const url = handle.spec.redacted;
    const schema = handle.spec.schema;
    return { header: `PostgreSQL ${url} (schema ${schema})`, document: { schema: 'queuectl/doctor@1', backend: 'postgres', url, postgresSchema: schema, checks } };
  },
};

export interface DoctorOptions {
  /** PostgreSQL: run BullMQ's migrations first, after confirmation. */
  migrate?: boolean;
}

/**
 * `doctor --migrate`: the one place queuectl changes BullMQ's schema, with BullMQ's own
 * runMigrations, after a confirmation that names the target and the versions.
 */
async function migrateAfterConfirmation(ctx: Context, handle: PostgresHandle): Promise<void> {
  const { readSchemaState } = await import('../backend/postgres/schema.js');
  const { PostgresError } = await import('../backend/postgres/errors.js');
  const state = await readSchemaState(handle);
  const where = `${handle.spec.redacted} (schema ${state.schema})`;
  if (state.status === 'current') {
    ctx.out.note(`BullMQ schema already at version ${state.version} on ${where}: nothing to migrate`);
    return;
  }
  if (state.status === 'ahead') {
    throw new PostgresError(`BullMQ schema on ${where} is at version ${state.version}, newer than the ${state.expected} queuectl's BullMQ ${state.bullmqVersion} knows`, 'BullMQ never migrates down: upgrade queuectl instead');
  }
  const from = state.status === 'missing' ? 'no schema' : `version ${state.version}`;
  if (!(await ctx.prompt.confirm(`Run BullMQ ${state.bullmqVersion}'s migrations on ${where}: ${from} → version ${state.expected}?`))) {
    ctx.out.note('nothing migrated');
    return;
  }
  const { runBullmqMigrations } = await import('../backend/postgres/migrate.js');
  const reached = await runBullmqMigrations(handle.spec);
  ctx.out.note(`migrated BullMQ schema on ${where}: ${from} → version ${reached}`);
}

/** `queuectl doctor`: read-only health checks. Exit 0 no failure (warnings allowed), 1 a check failed, 3 unreachable. */
export async function run(opts: DoctorOptions, ctx: Context): Promise<number> {
  const { header, document } = await forBackend(ctx, doctors)(ctx, opts);
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
