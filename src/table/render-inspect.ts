import { renderTable } from '../ui/table.js';
import { formatAge } from '../ui/format.js';
import { renderMapping } from './mapping.js';
import type { TableInspect } from './inspect.js';

/** The human output of inspect for one table source: its mapping, families, attempts and lock holders. */
export function renderTableInspect(report: TableInspect, options: { color: boolean }): string {
  const parts = [renderMapping(report.mapping), ''];
  const rows = report.families.map((f) => [f.family, f.ready, f.scheduled, f.active, f.stuck, f.failed, f.dead, f.completed, f.oldestReadyMs === null ? '-' : formatAge(f.oldestReadyMs), ...(hasOther(report) ? [f.other] : [])]);
  const head = ['family', 'ready', 'scheduled', 'active', 'stuck', 'failed', 'dead', 'completed', 'oldest ready', ...(hasOther(report) ? ['other'] : [])];
  parts.push(rows.length ? renderTable(head, rows, { color: options.color, alignRight: [1, 2, 3, 4, 5, 6, 7, 8, 9] }) : '(no rows)');
  if (report.statuses) {
    parts.push('', renderTable(['status', 'role', 'rows'], report.statuses.map((s) => [s.status, s.role ?? '(unmapped)', s.rows]), { color: options.color, alignRight: [2] }));
  }
  if (report.attempts.length) parts.push('', `attempts (rows not completed): ${report.attempts.map((a) => `${a.attempts}×${a.rows}`).join('  ')}`);
  if (report.holders.length) {
    parts.push('', renderTable(['lockedBy', 'active', 'stuck', 'oldest lock'], report.holders.map((h) => [h.lockedBy ?? '(none)', h.rows, h.stuck, h.oldestLockMs === null ? '-' : formatAge(h.oldestLockMs)]), { color: options.color, alignRight: [1, 2, 3] }));
  }
  return parts.join('\n');
}

const hasOther = (report: TableInspect) => report.families.some((f) => f.other > 0);

/** The `tables` entry of the inspect --json document. */
export function tableInspectDocument(report: TableInspect) {
  return { ...report };
}
