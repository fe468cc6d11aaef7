/**
 * SQL identifiers of a table source. The file writes the table "as written in SQL"; queuectl
 * only ever interpolates identifiers it quoted itself from catalog names (quoteIdent), never the
 * file's text, so a table name cannot smuggle SQL into a query.
 */

const PART = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const TABLE_NAME = new RegExp(`^${PART}(?:\\.${PART})?$`);

/** True for `jobs`, `"WorkerJob"`, `app."JobQueue"`: one identifier, optionally schema-qualified. */
export function isTableName(text: string): boolean {
  return TABLE_NAME.test(text.trim());
}

/** PostgreSQL's quote_ident, always quoting: `WorkerJob` → `"WorkerJob"`, `a"b` → `"a""b"`. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"` from catalog names. */
export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}
