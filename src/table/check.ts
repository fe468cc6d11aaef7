import type { Context } from '../context.js';
import type { Finding, Topology } from '../topology/types.js';
import { resolveTableSource, tableSourceNames } from './resolve.js';
import { formatDuration } from '../topology/durations.js';
import { indexFacts, readIndexes, type IndexFacts } from './indexes.js';
import { activeQuery, exceededQuery, familyStatusQuery, priorityQuery, roleOf, run } from './reads.js';
import { readOnly } from './session.js';
import type { TableSource } from './types.js';

/**
 * What `topology check` adds for a legacy table source: families no queue owns, no index for the
 * claim query, stuck rows, rows past maxAttempts, priorities outside the declared range. Facts are
 * read in one read-only transaction (a SELECT-only role is enough); the findings are pure.
 */
export interface TableCheckFacts {
  source: string;
  table: string;
  lockTimeoutMs: number;
  priorityRange?: [number, number];
  /** Rows per family that are not completed (what a move would carry), and the completed ones. */
  families: { family: string; open: number; completed: number }[];
  stuck: { family: string; rows: number }[];
  exceeded: { family: string; rows: number; worst: number }[];
  priorities: { family: string; low: number | null; high: number | null }[];
  indexes: IndexFacts;
  /** Names of the columns, for messages. */
  columns: { status: string; runAt?: string; priority?: string; attemptsMade?: string; maxAttempts?: string };
}

export async function gatherTableFacts(source: TableSource, priorityRange?: [number, number]): Promise<TableCheckFacts> {
  const db = source.db;
  const indexes = indexFacts(source, await readIndexes(db, source.table.sql));
  return readOnly(db, async () => {
    const families = new Map<string, { family: string; open: number; completed: number }>();
    for (const r of await run<{ family: string; status: string; rows: number }>(db, familyStatusQuery(source))) {
      const f = families.get(r.family) ?? { family: r.family, open: 0, completed: 0 };
      if (roleOf(source, r.status) === 'completed') f.completed += r.rows;
      else f.open += r.rows;
      families.set(r.family, f);
    }
    const stuck = new Map<string, number>();
    for (const r of await run<{ family: string; stuck: number }>(db, activeQuery(source))) stuck.set(r.family, (stuck.get(r.family) ?? 0) + r.stuck);
    const exceededQ = exceededQuery(source);
    const priorityQ = priorityRange ? priorityQuery(source) : undefined;
    return {
      source: source.name,
      table: source.table.sql,
      lockTimeoutMs: source.lockTimeoutMs,
      ...(priorityRange ? { priorityRange } : {}),
      families: [...families.values()].sort((a, b) => a.family.localeCompare(b.family)),
      stuck: [...stuck].filter(([, rows]) => rows > 0).map(([family, rows]) => ({ family, rows })),
      exceeded: exceededQ ? await run<{ family: string; rows: number; worst: number }>(db, exceededQ) : [],
      priorities: priorityQ ? await run<{ family: string; low: number | null; high: number | null }>(db, priorityQ) : [],
      indexes,
      columns: { status: source.columns.status, runAt: source.columns.runAt, priority: source.columns.priority, attemptsMade: source.columns.attemptsMade, maxAttempts: source.columns.maxAttempts },
    };
  });
}

/** The table-* findings for one source. Pure. `to`: the legacy entry's single destination, if any. */
export function tableFindings(facts: TableCheckFacts, topology: Topology, to?: string): Finding[] {
  const findings: Finding[] = [];
  const at = (rule: string, message: string, severity: Finding['severity'] = 'error') => findings.push({ rule, severity, queue: facts.source, message });
  const owners = new Map<string, string>();
  for (const q of Object.values(topology.queues)) for (const job of q.jobs) owners.set(job, q.name);
  if (to === undefined) {
    const unowned = facts.families.filter((f) => f.open > 0 && !owners.has(f.family));
    for (const f of unowned) {
      at('table-family-unowned', `family "${f.family}" has ${f.open} row${f.open === 1 ? '' : 's'} (not completed) in ${facts.table} but no queue owns it — add "${f.family}" to a queue's jobs: (migrate routes by family)`);
    }
  }
  const c = facts.columns;
  if (!facts.indexes.claim) {
    const cols = [c.status, c.runAt, c.priority].filter(Boolean).map((x) => `"${x}"`).join(', ');
    at('table-index-missing', `${facts.table} has no index serving the claim query (status, then due time / priority): every claim and every queuectl read scans the table — CREATE INDEX CONCURRENTLY ON ${facts.table} (${cols})`);
  }
  if (!facts.indexes.family) {
    at('table-index-missing', `${facts.table} has no index on ("${c.status}" and the family column): per-family counts scan the table`, 'warning');
  }
  for (const s of facts.stuck) {
    at('table-stuck-rows', `${s.rows} "${s.family}" row${s.rows === 1 ? ' is' : 's are'} active but locked longer than ${formatDuration(facts.lockTimeoutMs)} — their worker is gone; \`queuectl stuck --source ${facts.source} --release\` makes them ready again`);
  }
  for (const e of facts.exceeded) {
    at('table-attempts-exceeded', `${e.rows} "${e.family}" row${e.rows === 1 ? '' : 's'} not completed with "${c.attemptsMade}" above "${c.maxAttempts}" (up to ${e.worst} over) — retried by hand past their limit; look at them with \`queuectl dlq list --queue ${facts.source}\``);
  }
  if (facts.priorityRange) {
    const [lo, hi] = facts.priorityRange;
    for (const p of facts.priorities) {
      if (p.low === null || p.high === null || (p.low >= lo && p.high <= hi)) continue;
      at('table-priority-range', `ready "${p.family}" rows have "${c.priority}" from ${p.low} to ${p.high}, outside the declared priorityRange [${lo}, ${hi}] — fix the producer or widen priorityRange (a move maps priorities by rank)`);
    }
  }
  return findings;
}

/** Every table source of the topology, resolved, read and judged (in file order of their names). */
export async function checkTableSources(ctx: Context, topology: Topology): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const name of tableSourceNames(topology)) {
    const entry = topology.legacy[name]!;
    const source = await resolveTableSource(ctx, name);
    findings.push(...tableFindings(await gatherTableFacts(source, entry.table?.priorityRange), topology, entry.to));
  }
  return findings;
}
