import type { SchemaState } from '../backend/postgres/schema.js';
import { schemaProblem } from '../backend/postgres/schema.js';
import { median, type Check } from './checks.js';
import { formatAgePrecise } from '../ui/format.js';

/** Pure: doctor's PostgreSQL facts in, checks out (the Redis twin is checks.ts). No I/O, no printing. */

export interface PostgresDoctorFacts {
  redacted: string;
  user: string;
  database: string;
  /** Round-trip times of `SELECT 1`, ms. */
  pingsMs: number[];
  serverVersion: string;
  serverVersionNum: number;
  /** BullMQ's floor and recommendation (MINIMUM_/RECOMMENDED_POSTGRES_VERSION in bullmq's migrator). */
  minimumMajor: number;
  recommendedMajor: number;
  maxConnections: number;
  reservedConnections: number;
  /** Client sessions on the whole server, this one included. */
  usedConnections: number;
  /** The oldest open transaction of another session, or undefined when none is visible. */
  oldestTransaction?: { pid: number; ageSeconds: number; state: string; applicationName: string; user: string };
  schema: SchemaState;
}

const LATENCY_WARN_MS = 20;
const CONNECTIONS_WARN = 0.8;
const CONNECTIONS_FAIL = 0.95;
const TRANSACTION_WARN_S = 5 * 60;
const TRANSACTION_FAIL_S = 60 * 60;

export function evaluatePostgresChecks(f: PostgresDoctorFacts): Check[] {
  return [
    { id: 'connectivity', status: 'ok', detail: `connected to ${f.redacted} as ${f.user}, database ${f.database}` },
    latency(f.pingsMs),
    serverVersion(f),
    bullmqSchema(f),
    connections(f),
    oldestTransaction(f.oldestTransaction),
  ];
}

function latency(pings: number[]): Check {
  const med = median(pings);
  const detail = `SELECT 1 median ${med.toFixed(2)} ms over ${pings.length} (max ${Math.max(...pings).toFixed(2)} ms)`;
  if (med > LATENCY_WARN_MS) return { id: 'latency', status: 'warn', detail: `${detail}: every job costs several round trips` };
  return { id: 'latency', status: 'ok', detail };
}

function serverVersion(f: PostgresDoctorFacts): Check {
  const major = Math.floor(f.serverVersionNum / 10000);
  const shown = `PostgreSQL ${f.serverVersion}`;
  if (major < f.minimumMajor) return { id: 'postgres-version', status: 'fail', detail: `${shown}: BullMQ refuses PostgreSQL below ${f.minimumMajor}; upgrade` };
  if (major < f.recommendedMajor) return { id: 'postgres-version', status: 'warn', detail: `${shown}: BullMQ recommends ${f.recommendedMajor} or newer` };
  return { id: 'postgres-version', status: 'ok', detail: shown };
}

function bullmqSchema(f: PostgresDoctorFacts): Check {
  const problem = schemaProblem(f.schema, f.redacted);
  if (problem) return { id: 'bullmq-schema', status: 'fail', detail: `${problem.message} — ${problem.hint}` };
  return {
    id: 'bullmq-schema',
    status: 'ok',
    detail: `schema "${f.schema.schema}" at version ${f.schema.version}, as queuectl's BullMQ ${f.schema.bullmqVersion} expects (no pending migrations)`,
  };
}

function connections(f: PostgresDoctorFacts): Check {
  const usable = Math.max(f.maxConnections - f.reservedConnections, 1);
  const share = f.usedConnections / usable;
  const free = usable - f.usedConnections;
  const detail = `${f.usedConnections} of ${usable} usable connections in use (max_connections ${f.maxConnections}, ${f.reservedConnections} reserved), ${free} free`;
  // Each BullMQ worker holds a pooled connection plus a LISTEN connection of its own.
  if (share >= CONNECTIONS_FAIL) return { id: 'connections', status: 'fail', detail: `${detail}: new workers will be refused; raise max_connections or use a pooler` };
  if (share >= CONNECTIONS_WARN) return { id: 'connections', status: 'warn', detail: `${detail}: little headroom for more workers (each takes 2)` };
  return { id: 'connections', status: 'ok', detail };
}

function oldestTransaction(t: PostgresDoctorFacts['oldestTransaction']): Check {
  if (!t) return { id: 'oldest-transaction', status: 'ok', detail: 'no other open transaction' };
  const who = `pid ${t.pid}${t.applicationName ? ` (${t.applicationName})` : ''}, user ${t.user}, ${t.state}`;
  const detail = `open for ${formatAgePrecise(t.ageSeconds * 1000)}: ${who}`;
  const why = 'it holds back vacuum, so finished jobs leave dead rows that slow every claim';
  if (t.ageSeconds >= TRANSACTION_FAIL_S) return { id: 'oldest-transaction', status: 'fail', detail: `${detail}; ${why}` };
  if (t.ageSeconds >= TRANSACTION_WARN_S) return { id: 'oldest-transaction', status: 'warn', detail: `${detail}; ${why}` };
  return { id: 'oldest-transaction', status: 'ok', detail };
}

