import { formatDuration } from '../topology/durations.js';
import { COLUMN_ROLES, STATUS_ROLES, type TableSource } from './types.js';

/**
 * The chosen mapping of a table source, as `topology validate --live` and `inspect` print it and
 * as their --json documents carry it: the user sees what was guessed and can pin it in the file.
 */
export interface MappingReport {
  source: string;
  table: string;
  where: string;
  columns: Record<string, { column: string; guessed: boolean }>;
  status: Record<string, string>;
  statusFrom: TableSource['provenance']['status'];
  unmappedStatuses: string[];
  priority: { direction: TableSource['priority']; guessed: boolean };
  lockTimeoutMs: number;
  lockTimeoutDefault: boolean;
}

export function mappingReport(source: TableSource): MappingReport {
  const columns: MappingReport['columns'] = {};
  for (const role of COLUMN_ROLES) {
    const column = source.columns[role];
    if (column !== undefined) columns[role] = { column, guessed: !source.provenance.declaredColumns.includes(role) };
  }
  const status: Record<string, string> = {};
  for (const role of STATUS_ROLES) {
    const value = source.status[role];
    if (value !== undefined) status[role] = value;
  }
  return {
    source: source.name,
    table: source.table.sql,
    where: source.where,
    columns,
    status,
    statusFrom: source.provenance.status,
    unmappedStatuses: source.unmappedStatuses,
    priority: { direction: source.priority, guessed: source.provenance.priority === 'default' },
    lockTimeoutMs: source.lockTimeoutMs,
    lockTimeoutDefault: source.provenance.lockTimeout === 'default',
  };
}

/** Lines such as `  columns: id=id name=type* …  (* guessed)`, ready to paste back into the file. */
export function renderMapping(report: MappingReport): string {
  const cols = Object.entries(report.columns).map(([role, c]) => `${role}=${c.column}${c.guessed ? '*' : ''}`);
  const statuses = Object.entries(report.status).map(([role, value]) => `${role}=${value}`);
  const lines = [
    `${report.source}: ${report.where}`,
    `  columns: ${cols.join(' ')}   (* guessed from column names)`,
    `  status:  ${statuses.join(' ')}   (from ${statusOrigin(report.statusFrom)})`,
    `  priority: ${report.priority.direction}${report.priority.guessed ? ' (default)' : ''}   lockTimeout: ${formatDuration(report.lockTimeoutMs)}${report.lockTimeoutDefault ? ' (default)' : ''}`,
  ];
  if (report.unmappedStatuses.length > 0) {
    lines.push(`  unmapped status values (never touched): ${report.unmappedStatuses.join(', ')}`);
  }
  return lines.join('\n');
}

function statusOrigin(from: MappingReport['statusFrom']): string {
  switch (from) {
    case 'enum': return 'the column\'s enum type';
    case 'values': return 'the values in the table';
    case 'declared': return 'the topology';
    case 'declared+enum': return 'the topology and the enum type';
    case 'declared+values': return 'the topology and the values in the table';
  }
}
