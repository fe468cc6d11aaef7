import { indexFacts, indexWarnings, readIndexes } from './indexes.js';
import { activeQuery, attemptsQuery, familyStatusQuery, readyQuery, roleOf, run, statusQuery } from './reads.js';
import { readOnly } from './session.js';
import { mappingReport, type MappingReport } from './mapping.js';
import type { StatusRole, TableSource } from './types.js';

/** What `inspect` shows of a table source: one row per family, then attempts and lock holders. */
export interface FamilyRow {
  family: string;
  /** Ready and due now. */
  ready: number;
  /** Ready but due later (runAt in the future). */
  scheduled: number;
  active: number;
  /** Active and locked longer than lockTimeout. */
  stuck: number;
  failed: number;
  dead: number;
  completed: number;
  /** Rows whose status maps to no role. */
  other: number;
  /** How long the oldest due ready row has waited, ms; null when none. */
  oldestReadyMs: number | null;
}

export interface TableInspect {
  source: string;
  table: string;
  where: string;
  families: FamilyRow[];
  /** Rows not completed, by attempts made. */
  attempts: { attempts: number; rows: number }[];
  /** Active rows per lockedBy. */
  holders: { lockedBy: string | null; rows: number; stuck: number; oldestLockMs: number | null }[];
  /** With --by-status: rows per status value and its role. */
  statuses?: { status: string; role: StatusRole | null; rows: number }[];
  warnings: string[];
  mapping: MappingReport;
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** Reads a table source for inspect, in one read-only transaction; the counts are one snapshot. */
export async function readTableInspect(source: TableSource, options: { byStatus?: boolean } = {}): Promise<TableInspect> {
  const db = source.db;
  const facts = indexFacts(source, await readIndexes(db, source.table.sql));
  return readOnly(db, async () => {
    const byFamily = new Map<string, FamilyRow>();
    const row = (family: string) => {
      let r = byFamily.get(family);
      if (!r) byFamily.set(family, (r = { family, ready: 0, scheduled: 0, active: 0, stuck: 0, failed: 0, dead: 0, completed: 0, other: 0, oldestReadyMs: null }));
      return r;
    };
    for (const c of await run<{ family: string; status: string; rows: number }>(db, familyStatusQuery(source))) {
      const role = roleOf(source, c.status);
      const r = row(c.family);
      if (role === undefined) r.other += c.rows;
      else if (role !== 'ready') r[role] += c.rows;
    }
    for (const c of await run<{ family: string; rows: number; scheduled: number; oldest_ms: number | null }>(db, readyQuery(source))) {
      const r = row(c.family);
      r.scheduled = c.scheduled;
      r.ready = c.rows - c.scheduled;
      r.oldestReadyMs = c.oldest_ms === null ? null : Math.max(0, Math.round(c.oldest_ms));
    }
    const holders = new Map<string | null, TableInspect['holders'][number]>();
    for (const c of await run<{ family: string; holder: string | null; rows: number; stuck: number; oldest_lock_ms: number | null }>(db, activeQuery(source))) {
      row(c.family).stuck += c.stuck;
      const h = holders.get(c.holder) ?? { lockedBy: c.holder, rows: 0, stuck: 0, oldestLockMs: null };
      h.rows += c.rows;
      h.stuck += c.stuck;
      const age = num(c.oldest_lock_ms);
      if (age !== null) h.oldestLockMs = Math.max(h.oldestLockMs ?? 0, Math.round(age));
      holders.set(c.holder, h);
    }
    const attemptsQ = attemptsQuery(source);
    const attempts = attemptsQ ? await run<{ attempts: number; rows: number }>(db, attemptsQ) : [];
    const report: TableInspect = {
      source: source.name,
      table: source.table.sql,
      where: source.where,
      families: [...byFamily.values()].sort((a, b) => a.family.localeCompare(b.family)),
      attempts,
      holders: [...holders.values()].sort((a, b) => b.rows - a.rows),
      warnings: [...indexWarnings(source, facts), ...unmappedWarning(source)],
      mapping: mappingReport(source),
    };
    if (options.byStatus) {
      report.statuses = (await run<{ status: string; rows: number }>(db, statusQuery(source)))
        .map((s) => ({ status: s.status, role: roleOf(source, s.status) ?? null, rows: s.rows }))
        .sort((a, b) => a.status.localeCompare(b.status));
    }
    return report;
  });
}

function unmappedWarning(source: TableSource): string[] {
  if (source.unmappedStatuses.length === 0) return [];
  return [`${source.table.sql}: status values ${source.unmappedStatuses.join(', ')} map to no role (counted as "other", never touched) — name them under status: if they mean ready, active, completed, failed or dead`];
}
