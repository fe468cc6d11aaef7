import type { PostgresHandle } from '../backend/postgres/types.js';
import { quoteIdent } from './identifier.js';
import type { CatalogColumn } from './types.js';

/** What the catalog says about a job table: where it is and its columns. Read-only queries. */
export interface TableCatalog {
  schema: string;
  name: string;
  columns: CatalogColumn[];
}

/** The table `written` (as in SQL, resolved on the session's search_path), or undefined when there is none. */
export async function readTableCatalog(db: PostgresHandle, written: string): Promise<TableCatalog | undefined> {
  const found = await db.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
    [written],
  );
  if (found.length === 0) return undefined;
  const rows = await db.query<{ name: string; type: string; labels: string[] | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END AS labels
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [written],
  );
  const columns = rows.map((r): CatalogColumn => (r.labels ? { name: r.name, type: r.type, enumLabels: r.labels } : { name: r.name, type: r.type }));
  return { schema: found[0].schema, name: found[0].name, columns };
}

/**
 * The distinct values of a text status column, by a loose index scan (one index probe per value
 * when an index leads with the column; a bounded scan otherwise). At most `limit` values.
 */
export async function readStatusValues(db: PostgresHandle, tableSql: string, column: string, limit = 50): Promise<string[]> {
  const col = quoteIdent(column);
  const rows = await db.query<{ value: string }>(
    `WITH RECURSIVE seen(value) AS (
       (SELECT ${col} FROM ${tableSql} WHERE ${col} IS NOT NULL ORDER BY ${col} LIMIT 1)
       UNION ALL
       SELECT (SELECT ${col} FROM ${tableSql} WHERE ${col} > seen.value ORDER BY ${col} LIMIT 1) FROM seen WHERE seen.value IS NOT NULL
     )
     SELECT value::text AS value FROM seen WHERE value IS NOT NULL LIMIT ${Number(limit)}`,
  );
  return rows.map((r) => r.value);
}
