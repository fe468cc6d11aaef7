import { createRequire } from 'node:module';
import { PostgresError } from './errors.js';
import type { PostgresHandle } from './types.js';

/** BullMQ's schema on this database versus the one the BullMQ queuectl ships expects. */
export interface SchemaState {
  schema: string;
  status: 'missing' | 'behind' | 'ahead' | 'current';
  /** The highest version in BullMQ's `migration` ledger; 0 when there is none. */
  version: number;
  /** LATEST_SCHEMA_VERSION of queuectl's BullMQ (its bundled migrations list). */
  expected: number;
  /** The ledger's min_client_version: the lowest BullMQ major that may use this schema. */
  minClientMajor: number;
  bullmqVersion: string;
  bullmqMajor: number;
}

/** What queuectl's BullMQ expects, read from node_modules/bullmq (loaded only by Postgres commands). */
async function expectedSchema(): Promise<{ expected: number; major: number; bullmqVersion: string }> {
  const bullmq = await import('bullmq');
  const require = createRequire(import.meta.url);
  const { version } = require('bullmq/package.json') as { version: string };
  return { expected: bullmq.LATEST_SCHEMA_VERSION, major: bullmq.BULLMQ_MAJOR_VERSION, bullmqVersion: version };
}

/**
 * Reads BullMQ's migration ledger the way BullMQ's assertSchemaCompatibility does, but without
 * failing: a missing schema or ledger is a state to report, and nothing is created or migrated.
 */
export async function readSchemaState(handle: PostgresHandle): Promise<SchemaState> {
  const schema = handle.spec.schema;
  const { expected, major, bullmqVersion } = await expectedSchema();
  const base = { schema, expected, bullmqVersion, bullmqMajor: major };
  const [found] = await handle.query<{ ledger: boolean }>(
    `SELECT to_regclass(format('%I.migration', $1::text)) IS NOT NULL AS ledger`,
    [schema],
  );
  if (!found?.ledger) return { ...base, status: 'missing', version: 0, minClientMajor: 0 };
  // to_jsonb(row): a ledger written before min_client_version existed still reads (as BullMQ does).
  const [row] = await handle.query<{ version: number; min_client: number }>(
    `SELECT COALESCE(MAX(version), 0)::int AS version,
            COALESCE(MAX((to_jsonb(m)->>'min_client_version')::int), 0)::int AS min_client
       FROM ${quoteIdent(schema)}.migration m`,
  );
  const version = row?.version ?? 0;
  const minClientMajor = row?.min_client ?? 0;
  const status = version === 0 ? 'missing' : minClientMajor > major || version > expected ? 'ahead' : version < expected ? 'behind' : 'current';
  return { ...base, status, version, minClientMajor };
}

/** One line for a schema queuectl cannot work on, or undefined when it can. Pure. */
export function schemaProblem(state: SchemaState, where: string): { message: string; hint: string } | undefined {
  const ours = `queuectl's BullMQ ${state.bullmqVersion} expects schema version ${state.expected}`;
  switch (state.status) {
    case 'current':
      return undefined;
    case 'missing':
      return {
        message: `no BullMQ schema "${state.schema}" on ${where} (no migration ledger; ${ours})`,
        hint: `pass --schema <name> if BullMQ lives elsewhere, else run BullMQ's runMigrations from your application, or \`queuectl doctor --migrate\` (asks first); nothing else in queuectl migrates`,
      };
    case 'behind':
      return {
        message: `BullMQ schema "${state.schema}" on ${where} is at version ${state.version}, ${ours} (${state.expected - state.version} pending migration${state.expected - state.version === 1 ? '' : 's'})`,
        hint: 'run BullMQ\'s runMigrations from your upgraded application, or `queuectl doctor --migrate` (asks first); nothing else in queuectl migrates',
      };
    case 'ahead':
      return {
        message: `BullMQ schema "${state.schema}" on ${where} is at version ${state.version}${state.minClientMajor > state.bullmqMajor ? ` (needs BullMQ ${state.minClientMajor}+)` : ''}, newer than ${ours}`,
        hint: 'upgrade queuectl to a release with a BullMQ that knows this schema (its runMigrations made it)',
      };
  }
}

/** For commands that read or change BullMQ's tables: a missing or other-version schema is exit 3. */
export async function requireCompatibleSchema(handle: PostgresHandle): Promise<SchemaState> {
  const state = await readSchemaState(handle);
  const problem = schemaProblem(state, handle.spec.redacted);
  if (problem) throw new PostgresError(problem.message, problem.hint);
  return state;
}

/** A schema name for SQL text; names were checked by BullMQ's own rule (url.ts), quoting keeps case. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
