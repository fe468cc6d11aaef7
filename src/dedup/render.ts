import { Chalk } from 'chalk';
import { renderTable } from '../ui/table.js';
import type { DedupReport } from './types.js';

/** The human table: queue, jobs, attempts, completions, ok, detail; then one summary line. */
export function renderDedupReport(report: DedupReport, color: boolean): string {
  const c = new Chalk({ level: color ? 1 : 0 });
  const rows = report.results.map((r) => [
    r.queue,
    r.jobs,
    r.attempts,
    r.completions,
    r.ok ? c.green('✓') : c.red('✗'),
    r.detail,
  ]);
  const table = renderTable(['queue', 'jobs', 'attempts', 'completions', 'ok', 'detail'], rows, { color, borders: false, wrap: { 5: 90 }, alignRight: [1, 2, 3] });
  const failed = report.results.filter((r) => !r.ok).length;
  const where = report.live ? 'on the live queues' : 'on a scratch prefix';
  const summary = failed === 0
    ? c.green(`dedup-check: all ${report.results.length} queue(s) pass (${report.copies} concurrent copies each, ${where})`)
    : c.red(`dedup-check: ${failed} of ${report.results.length} queue(s) fail (${report.copies} concurrent copies each, ${where})`);
  return `${table}\n\n${summary}`;
}
