import { Chalk } from 'chalk';
import type { Finding, Severity } from '../topology/types.js';
import { inSync } from './drift.js';

/** The `--json` document of `topology check` (stable: queuectl/topology-check@1). */
export interface CheckReport {
  schema: 'queuectl/topology-check@1';
  inSync: boolean;
  findings: { rule: string; severity: Severity; queue?: string; message: string }[];
}

/** What the summary line says was checked. */
export interface CheckScope {
  queues: number;
  legacy: number;
  /** Legacy table sources, checked against their own databases. */
  tables?: number;
  /** Redacted URL: the only form ever printed. */
  redis: string;
  /** Undefined with --deep; else jobs read from each end of each state. */
  sample?: number;
}

export function buildReport(findings: Finding[]): CheckReport {
  return {
    schema: 'queuectl/topology-check@1',
    inSync: inSync(findings),
    findings: findings.map(({ rule, severity, queue, message }) => ({
      rule,
      severity,
      ...(queue === undefined ? {} : { queue }),
      message,
    })),
  };
}

/**
 * The human report, made for CI logs: one grep-able line per finding
 * (`ERROR    job-misrouted  eccb-ocr  3 jobs named … — run: …`), errors before warnings,
 * columns aligned, then one summary line. Colour only when asked for (a terminal).
 */
export function renderReport(report: CheckReport, scope: CheckScope, color: boolean): string {
  const c = new Chalk({ level: color ? 1 : 0 });
  const ruleWidth = Math.max(0, ...report.findings.map((f) => f.rule.length));
  const queueWidth = Math.max(1, ...report.findings.map((f) => (f.queue ?? '-').length));
  const lines: string[] = [];
  let previous: Severity | undefined;
  for (const f of report.findings) {
    // A blank line between the error group and the warning group.
    if (previous !== undefined && previous !== f.severity) lines.push('');
    previous = f.severity;
    const label = f.severity === 'error' ? c.red.bold('ERROR  ') : c.yellow('WARNING');
    lines.push(`${label}  ${f.rule.padEnd(ruleWidth)}  ${c.bold((f.queue ?? '-').padEnd(queueWidth))}  ${f.message}`);
  }
  if (lines.length > 0) lines.push('');
  lines.push(summaryLine(report, scope, c));
  return lines.join('\n');
}

function summaryLine(report: CheckReport, scope: CheckScope, c: InstanceType<typeof Chalk>): string {
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.length - errors;
  const tables = scope.tables ? `, ${plural(scope.tables, 'table source')}` : '';
  const checked = `${plural(scope.queues, 'queue')}, ${plural(scope.legacy, 'legacy queue')}${tables} checked against ${scope.redis}`;
  const how = scope.sample === undefined ? 'every job read' : `job names sampled (first and last ${scope.sample} per state; --deep reads all)`;
  if (!report.inSync) {
    return `${c.red.bold('drift:')} ${plural(errors, 'error')}, ${plural(warnings, 'warning')} — ${checked}; ${how}`;
  }
  const note = warnings > 0 ? ` (${c.yellow(plural(warnings, 'warning'))})` : '';
  return `${c.green.bold('in sync:')} ${checked}${note}; ${how}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
