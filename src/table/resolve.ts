import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { redactUrl } from '../redis/url.js';
import { backendKindOf } from '../backend/target.js';
import { unknownQueueError } from '../util/queue-names.js';
import type { LegacyQueueSpec, Topology } from '../topology/types.js';
import { guessColumns } from './columns.js';
import { guessStatuses } from './statuses.js';
import { qualifiedName } from './identifier.js';
import { readStatusValues, readTableCatalog } from './catalog.js';
import { DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_PRIORITY, type Provenance, type TableSource, type TableSourceSpec } from './types.js';

/**
 * Declared table source → TableSource: connect to its database, find the table, guess what the
 * file leaves out (columns by name, status values from the enum type or the table's values).
 * Read-only. Bad declarations and guesses that cannot be settled are exit 2; a database that
 * does not answer is exit 3.
 */

/** The legacy entries that are table sources, by name. */
export function tableSourceNames(topology: Topology): string[] {
  return Object.values(topology.legacy).filter((l) => l.table !== undefined).map((l) => l.name).sort();
}

/** True when `name` is a legacy entry declaring a table (not a BullMQ queue). */
export function isTableSource(topology: Topology, name: string): boolean {
  return topology.legacy[name]?.table !== undefined;
}

/** Where a source's database is: --source-url, else its urlEnv, else DATABASE_URL. Never a blank value. */
export function sourceUrlOf(ctx: Pick<Context, 'globals' | 'env'>, entry: LegacyQueueSpec & { table: TableSourceSpec }): { url: string; from: string } {
  if (ctx.globals.sourceUrl !== undefined) return checked(ctx.globals.sourceUrl.trim(), '--source-url');
  const name = entry.table.urlEnv ?? 'DATABASE_URL';
  const value = ctx.env(name);
  if (value === undefined || value.trim() === '') {
    const why = value === undefined ? 'is not set' : 'is set but empty';
    throw new UsageError(`table source "${entry.name}": ${name} ${why}`, `export ${name}=postgres://… (the table's database), or pass --source-url`);
  }
  return checked(value.trim(), name);
}

function checked(url: string, from: string): { url: string; from: string } {
  if (backendKindOf(url) !== 'postgres') {
    throw new UsageError(`${from} must be a postgres:// URL for a table source, got ${redactUrl(url)}`, 'name the PostgreSQL database that holds the job table');
  }
  return { url, from };
}

/** Resolves the table source `name` of the topology. */
export async function resolveTableSource(ctx: Context, name: string): Promise<TableSource> {
  const { topology } = await ctx.topology();
  const entry = topology.legacy[name];
  if (!entry?.table) {
    throw unknownQueueError({ name, known: tableSourceNames(topology), isNot: 'is not a table source (a legacy entry with table:)', otherwise: 'declare it under legacy: with table: { name, urlEnv }' });
  }
  const spec = entry.table;
  const where = `legacy.${name}.table`;
  const { url } = sourceUrlOf(ctx, { ...entry, table: spec });
  const db = await ctx.sourcePostgres(url);
  const catalog = await readTableCatalog(db, spec.name);
  if (!catalog) {
    throw new UsageError(`${where}: no table ${spec.name} in database ${db.spec.database ?? ''} at ${db.spec.redacted}`, 'check table.name (as written in SQL, e.g. \'"WorkerJob"\') and the database URL');
  }
  const tableSql = qualifiedName(catalog.schema, catalog.name);
  const { columns, declared } = guessColumns(catalog.columns, spec.columns, where);
  const statusColumn = catalog.columns.find((c) => c.name === columns.status)!;
  const labels = statusColumn.enumLabels;
  const known = labels ?? (await readStatusValues(db, tableSql, columns.status));
  const { status, unmapped } = guessStatuses(known, spec.status, { closed: labels !== undefined, where });
  const fromData: Provenance['status'] = labels ? 'enum' : 'values';
  const provenance: Provenance = {
    declaredColumns: declared,
    status: spec.status && Object.keys(spec.status).length > 0 ? `declared+${fromData}` : fromData,
    priority: spec.priority ? 'declared' : 'default',
    lockTimeout: spec.lockTimeout !== undefined ? 'declared' : 'default',
  };
  return {
    name,
    table: { schema: catalog.schema, name: catalog.name, sql: tableSql },
    db,
    where: `table ${tableSql} in database "${db.spec.database ?? ''}" on ${db.spec.redacted}`,
    columns,
    columnTypes: Object.fromEntries(catalog.columns.map((c) => [c.name, c.type])),
    status,
    statusType: statusColumn.type,
    unmappedStatuses: unmapped,
    priority: spec.priority ?? DEFAULT_PRIORITY,
    lockTimeoutMs: spec.lockTimeout ?? DEFAULT_LOCK_TIMEOUT_MS,
    provenance,
  };
}
