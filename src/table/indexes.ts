import type { PostgresHandle } from '../backend/postgres/types.js';
import type { TableSource } from './types.js';

/**
 * Which of the design's indexes a job table has. Table reads stay index-backed only when they
 * exist; without them inspect and check still answer, with a plain warning that they scan.
 */
export interface TableIndex {
  name: string;
  /** Key columns in order; null for an expression. */
  columns: (string | null)[];
  /** The partial-index predicate, when there is one. */
  predicate: string | null;
}

export interface IndexFacts {
  indexes: TableIndex[];
  /** An index leading with the status column and holding runAt or priority (or a partial one on them): the claim query's. */
  claim: string | undefined;
  /** An index leading with (name, status) in either order: the per-family counts'. */
  family: string | undefined;
  /** An index leading with lockedAt, or with status then lockedAt: the stuck rows'. */
  locked: string | undefined;
}

export async function readIndexes(db: PostgresHandle, tableSql: string): Promise<TableIndex[]> {
  const rows = await db.query<{ name: string; columns: (string | null)[]; predicate: string | null }>(
    `SELECT c.relname AS name,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
                   WHERE k.n <= i.indnkeyatts ORDER BY k.n) AS columns,
            pg_get_expr(i.indpred, i.indrelid) AS predicate
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::regclass AND i.indisvalid
      ORDER BY c.relname`,
    [tableSql],
  );
  return rows;
}

/** Pure: which reads the indexes serve. */
export function indexFacts(source: Pick<TableSource, 'columns'>, indexes: TableIndex[]): IndexFacts {
  const { status, name, runAt, priority, lockedAt } = source.columns;
  const order = [runAt, priority].filter((c): c is string => c !== undefined);
  const claim = indexes.find((i) =>
    (i.columns[0] === status && i.columns.slice(1).some((c) => c !== null && order.includes(c)))
    || (i.predicate !== null && i.predicate.includes(status) && i.columns[0] !== null && order.includes(i.columns[0])));
  const family = indexes.find((i) => i.predicate === null && new Set(i.columns.slice(0, 2)).size === 2 && [name, status].every((c) => i.columns.slice(0, 2).includes(c)));
  const locked = lockedAt === undefined ? undefined : indexes.find((i) => i.columns[0] === lockedAt || (i.columns[0] === status && i.columns[1] === lockedAt));
  return { indexes, claim: claim?.name, family: family?.name, locked: locked?.name };
}

/** The warnings inspect and check print for a design without its indexes. */
export function indexWarnings(source: Pick<TableSource, 'columns' | 'table'>, facts: IndexFacts): string[] {
  const c = source.columns;
  const warnings: string[] = [];
  if (!facts.family) warnings.push(`${source.table.sql} has no index on (${c.name}, ${c.status}): per-family counts read the whole table — CREATE INDEX ON ${source.table.sql} ("${c.name}", "${c.status}")`);
  if (!facts.claim) {
    const cols = [c.status, c.runAt, c.priority].filter(Boolean).map((x) => `"${x}"`).join(', ');
    warnings.push(`${source.table.sql} has no index serving the claim query on ${cols}: ready-row reads scan the table (so do the application's claims) — CREATE INDEX ON ${source.table.sql} (${cols})`);
  }
  return warnings;
}
