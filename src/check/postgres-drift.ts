import { formatAgePrecise } from '../ui/format.js';
import type { Finding, Topology } from '../topology/types.js';
import type { PostgresCheckFacts } from './types.js';

/**
 * `topology check`'s PostgreSQL-only findings (drift.ts adds them when the facts come from
 * PostgreSQL). Pure. A missing or other-version schema never gets here: it is exit 3 before any
 * read, as for every command (contract, "Backends and connections").
 */
export function postgresFindings(topology: Topology, f: PostgresCheckFacts): Finding[] {
  return [...connectionsHeadroom(topology, f), ...longTransactions(f), ...jobTableBloat(f)];
}

/** Each BullMQ Worker on PostgreSQL holds a pooled query connection plus a LISTEN connection of its own. */
export const CONNECTIONS_PER_WORKER = 2;
const TRANSACTION_WARN_S = 5 * 60;
const TRANSACTION_ERROR_S = 60 * 60;
/** Dead rows above this share of the job table (once it has some size): autovacuum is behind. */
const BLOAT_WARN = 0.2;
const BLOAT_MIN_ROWS = 1000;

/**
 * The declared workers need their connections: more than the server has at all is an error (they
 * can never all run); more than what is free now is a warning, since a rolling deploy starts the
 * new workers while the old ones still hold theirs.
 */
function connectionsHeadroom(topology: Topology, f: PostgresCheckFacts): Finding[] {
  const consumers = Object.values(topology.workers).reduce((n, w) => n + w.queues.length, 0);
  if (consumers === 0) return [];
  const needed = consumers * CONNECTIONS_PER_WORKER;
  const usable = Math.max(f.maxConnections - f.reservedConnections, 1);
  const free = usable - f.usedConnections;
  const what = `the declared workers (${consumers} queue consumer${consumers === 1 ? '' : 's'}) need at least ${needed} connections (${CONNECTIONS_PER_WORKER} each: a pooled one and a LISTEN one)`;
  const server = `max_connections ${f.maxConnections}, ${f.reservedConnections} reserved, ${f.usedConnections} in use`;
  if (needed > usable) {
    return [{ rule: 'connections-headroom', severity: 'error', message: `${what}, more than the ${usable} usable on ${f.where} (${server}) — raise max_connections or put a pooler in front` }];
  }
  if (needed > free) {
    return [{ rule: 'connections-headroom', severity: 'warning', message: `${what}, but only ${Math.max(free, 0)} are free on ${f.where} (${server}): a rolling deploy runs old and new workers side by side — raise max_connections or close idle sessions` }];
  }
  return [];
}

/** An open transaction holds back vacuum: finished jobs stay as dead rows that every claim steps over. */
function longTransactions(f: PostgresCheckFacts): Finding[] {
  return f.transactions
    .filter((t) => t.ageSeconds >= TRANSACTION_WARN_S)
    .map((t) => ({
      rule: 'long-transaction',
      severity: t.ageSeconds >= TRANSACTION_ERROR_S ? 'error' as const : 'warning' as const,
      message: `pid ${t.pid}${t.applicationName ? ` (${t.applicationName})` : ''}, user ${t.user}, has had a transaction open for ${formatAgePrecise(t.ageSeconds * 1000)} (${t.state}) — it holds back vacuum of the job table; end it (pg_terminate_backend(${t.pid})) and fix the client that leaves it open`,
    }));
}

function jobTableBloat(f: PostgresCheckFacts): Finding[] {
  const { liveRows, deadRows, lastAutovacuum } = f.jobTable;
  const total = liveRows + deadRows;
  if (total < BLOAT_MIN_ROWS || deadRows / total <= BLOAT_WARN) return [];
  return [{
    rule: 'job-table-bloat',
    severity: 'warning',
    message: `${Math.round((100 * deadRows) / total)}% of ${f.schema}.job is dead rows (${deadRows} dead, ${liveRows} live; last autovacuum ${lastAutovacuum ?? 'never'}) — autovacuum is behind or held back by a long transaction; look for one, or VACUUM ${f.schema}.job`,
  }];
}
