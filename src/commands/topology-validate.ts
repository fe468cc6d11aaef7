import type { ChalkInstance } from 'chalk';
import type { Context } from '../context.js';
import { ExitCode } from '../errors.js';
import { isValid, lint } from '../topology/lint.js';
import type { Finding, Topology } from '../topology/types.js';
import type { MappingReport } from '../table/mapping.js';

/** The `--json` document of `topology validate` (stable: queuectl/topology-validate@1). */
export interface ValidateReport {
  schema: 'queuectl/topology-validate@1';
  file: string;
  valid: boolean;
  errors: number;
  warnings: number;
  findings: Finding[];
  /** With --live: the mapping chosen for each legacy table source (columns and statuses guessed where the file is silent). */
  tables?: MappingReport[];
}

/**
 * `topology validate`: the static check. Loading already fails with exit 2 on an unreadable or
 * schema-invalid file; here the lint rules decide between 0 (warnings allowed) and 1.
 */
export async function run(opts: { live?: boolean }, ctx: Context): Promise<number> {
  const { topology, source } = await ctx.topology();
  // Only the --redis flag: the cluster rule is advisory offline, and the Context has no env.
  const findings = lint(topology, { redisUrl: ctx.globals.redis, live: false }, source);
  const report = buildReport(source.file, findings);
  // --live reads each table source's catalog: a column or status it cannot settle is exit 2 here, not mid-migration.
  if (opts.live && report.valid) report.tables = await liveTables(ctx, topology);
  if (ctx.out.json) {
    ctx.out.printJson(report);
  } else {
    ctx.out.print(await renderReport(report, topology, ctx.out.color));
    if (report.tables?.length) {
      const { renderMapping } = await import('../table/mapping.js');
      ctx.out.print(['', 'table sources (live):', ...report.tables.map(renderMapping)].join('\n'));
    }
  }
  return report.valid ? ExitCode.ok : ExitCode.checkFailed;
}

async function liveTables(ctx: Context, topology: Topology): Promise<MappingReport[]> {
  const { resolveTableSource, tableSourceNames } = await import('../table/resolve.js');
  const { mappingReport } = await import('../table/mapping.js');
  const reports: MappingReport[] = [];
  for (const name of tableSourceNames(topology)) reports.push(mappingReport(await resolveTableSource(ctx, name)));
  return reports;
}

export function buildReport(file: string, findings: Finding[]): ValidateReport {
  const errors = findings.filter((f) => f.severity === 'error').length;
  return {
    schema: 'queuectl/topology-validate@1',
    file,
    valid: isValid(findings),
    errors,
    warnings: findings.length - errors,
    findings,
  };
}

/** Colours without loading chalk when there are none (CI and pre-commit hooks write to a pipe). */
type Paint = Pick<ChalkInstance, 'red' | 'yellow' | 'green'>;
const plain: Paint = { red: String, yellow: String, green: String } as unknown as Paint;

/**
 * The human output: a findings table (when there are any) and one summary line. `topology
 * validate` is a CI and pre-commit step: chalk and the table load only when they are used.
 */
export async function renderReport(report: ValidateReport, topology: Topology, color: boolean): Promise<string> {
  const c: Paint = color ? new (await import('chalk')).Chalk({ level: 1 }) : plain;
  const parts: string[] = [];
  if (report.findings.length > 0) {
    const { renderTable } = await import('../ui/table.js');
    const rows = report.findings.map((f) => [
      f.rule,
      f.severity === 'error' ? c.red(f.severity) : c.yellow(f.severity),
      where(f),
      f.message,
    ]);
    parts.push(renderTable(['rule', 'severity', 'where', 'message'], rows, { color, borders: false, wrap: { 3: 70 } }));
    parts.push('');
  }
  parts.push(summary(report, topology, c));
  return parts.join('\n');
}

function where(f: Finding): string {
  if (f.path === undefined) return f.line === undefined ? '' : `line ${f.line}`;
  return f.line === undefined ? f.path : `${f.path}:${f.line}`;
}

function summary(report: ValidateReport, topology: Topology, c: Paint): string {
  const warnings = plural(report.warnings, 'warning');
  if (!report.valid) return `${report.file}: ${c.red(plural(report.errors, 'error'))}, ${warnings}`;
  const counts = [
    plural(Object.keys(topology.queues).length, 'queue'),
    plural(Object.keys(topology.workers).length, 'worker'),
    plural(Object.keys(topology.legacy).length, 'legacy queue'),
  ].join(', ');
  const note = report.warnings > 0 ? ` (${c.yellow(warnings)})` : '';
  return `${report.file} ${c.green('valid')}${note}: ${counts}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
