import type { ServerReport } from '../redis/health.js';
import { CLUSTER_SLOTS, compareVersions } from '../redis/info.js';
import { formatBytes } from '../ui/format.js';

/** Pure: the facts doctor gathered in, the checks it reports out. No I/O, no printing. */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  id: string;
  status: CheckStatus;
  detail: string;
}

export interface DoctorFacts {
  redacted: string;
  /** Round-trip times of the PINGs, ms. */
  pingsMs: number[];
  report: ServerReport;
  prefix: string;
  /** Clients seen by CLIENT LIST on the first master, or why it was refused. */
  clientList: { clients: number } | { refused: string };
  /** `meta.version` values found → queue names. */
  bullmq: { versions: Map<string, string[]>; truncated: boolean };
}

const LATENCY_WARN_MS = 50;
const MEMORY_WARN = 0.8;
const MEMORY_FAIL = 0.95;

export function evaluateChecks(f: DoctorFacts): Check[] {
  const checks: Check[] = [
    { id: 'connectivity', status: 'ok', detail: `connected to ${f.redacted} (${f.report.mode})` },
    latency(f.pingsMs),
    version(f.report),
    evictionPolicy(f.report),
    persistence(f.report),
    memory(f.report),
    masters(f.report),
  ];
  if (f.report.mode === 'cluster') checks.push(clusterState(f.report), clusterSlots(f.report));
  checks.push(prefix(f.prefix, f.report.mode), bullmqVersions(f), clientList(f.clientList));
  return checks;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function latency(pings: number[]): Check {
  const med = median(pings);
  const detail = `PING median ${med.toFixed(2)} ms over ${pings.length} (max ${Math.max(...pings).toFixed(2)} ms)`;
  if (med > LATENCY_WARN_MS) return { id: 'latency', status: 'warn', detail: `${detail}: every job costs several round trips` };
  return { id: 'latency', status: 'ok', detail };
}

function version(report: ServerReport): Check {
  const versions = [...new Set(report.masters.map((m) => m.version))].sort(compareVersions);
  const lowest = versions[0] ?? 'unknown';
  const shown = versions.length > 1 ? `${versions.join(', ')} (mixed)` : lowest;
  if (lowest === 'unknown') return { id: 'redis-version', status: 'warn', detail: 'INFO did not report redis_version' };
  if (compareVersions(lowest, '5') < 0) return { id: 'redis-version', status: 'fail', detail: `Redis ${shown}: BullMQ refuses Redis below 5; upgrade to 6.2 or newer` };
  if (compareVersions(lowest, '6.2') < 0) return { id: 'redis-version', status: 'warn', detail: `Redis ${shown}: BullMQ needs 6.2 or newer for all features; upgrade` };
  return { id: 'redis-version', status: 'ok', detail: `Redis ${shown}` };
}

function evictionPolicy(report: ServerReport): Check {
  const unknown = report.masters.filter((m) => m.evictionPolicy === undefined);
  const bad = report.masters.filter((m) => m.evictionPolicy !== undefined && m.evictionPolicy !== 'noeviction');
  if (bad.length > 0) {
    const where = bad.map((m) => `${m.evictionPolicy} on ${m.address}`).join(', ');
    return {
      id: 'eviction-policy',
      status: 'fail',
      detail: `${where}: Redis may evict job keys under memory pressure; fix: CONFIG SET maxmemory-policy noeviction (and set it in redis.conf)`,
    };
  }
  if (unknown.length > 0) return { id: 'eviction-policy', status: 'warn', detail: `could not read maxmemory-policy on ${unknown.map((m) => m.address).join(', ')}` };
  return { id: 'eviction-policy', status: 'ok', detail: 'noeviction' };
}

function persistence(report: ServerReport): Check {
  const none: string[] = [];
  const unknown: string[] = [];
  const kinds = new Set<string>();
  for (const m of report.masters) {
    const rdb = m.rdbSave === undefined ? undefined : m.rdbSave.trim() !== '';
    if (m.aofEnabled) kinds.add('AOF');
    if (rdb) kinds.add('RDB');
    if (!m.aofEnabled && rdb === false) none.push(m.address);
    if (!m.aofEnabled && rdb === undefined) unknown.push(m.address);
  }
  if (none.length > 0) {
    return { id: 'persistence', status: 'warn', detail: `neither AOF nor RDB on ${none.join(', ')}: jobs vanish on restart (CONFIG SET appendonly yes)` };
  }
  if (unknown.length > 0) {
    return { id: 'persistence', status: 'warn', detail: `AOF off and RDB schedule unknown (CONFIG GET save refused) on ${unknown.join(', ')}` };
  }
  return { id: 'persistence', status: 'ok', detail: [...kinds].sort().join(' + ') };
}

function memory(report: ServerReport): Check {
  let worst: Check = { id: 'memory', status: 'ok', detail: '' };
  const details: string[] = [];
  for (const m of report.masters) {
    const where = report.masters.length > 1 ? ` on ${m.address}` : '';
    if (m.maxMemory === 0) {
      const host = m.totalSystemMemory ? ` of ${formatBytes(m.totalSystemMemory)} host RAM` : '';
      details.push(`${formatBytes(m.usedMemory)} used${host}, no maxmemory limit (maxmemory 0)${where}`);
      continue;
    }
    const ratio = m.usedMemory / m.maxMemory;
    const status = ratio > MEMORY_FAIL ? 'fail' : ratio > MEMORY_WARN ? 'warn' : 'ok';
    details.push(`${formatBytes(m.usedMemory)} of ${formatBytes(m.maxMemory)} (${Math.round(ratio * 100)}%)${where}`);
    if (rank(status) > rank(worst.status)) worst = { ...worst, status };
  }
  const advice = worst.status === 'ok' ? '' : ': raise maxmemory or trim retention (removeOnComplete/removeOnFail)';
  return { ...worst, detail: `${details.join('; ')}${advice}` };
}

function masters(report: ServerReport): Check {
  if (report.mode === 'standalone') return { id: 'masters', status: 'ok', detail: '1 (single node)' };
  const reached = report.masters.length;
  const declared = report.cluster?.slotMasters.length ?? reached;
  if (declared > reached) return { id: 'masters', status: 'warn', detail: `${reached} masters reachable, CLUSTER SLOTS names ${declared}` };
  return { id: 'masters', status: 'ok', detail: `${reached} masters` };
}

function clusterState(report: ServerReport): Check {
  const states = report.masters.map((m) => ({ address: m.address, state: m.clusterState }));
  const bad = states.filter((s) => s.state !== undefined && s.state !== 'ok');
  if (bad.length > 0) return { id: 'cluster-state', status: 'fail', detail: bad.map((s) => `cluster_state:${s.state} on ${s.address}`).join(', ') };
  if (states.some((s) => s.state === undefined)) return { id: 'cluster-state', status: 'warn', detail: 'CLUSTER INFO refused on some masters' };
  return { id: 'cluster-state', status: 'ok', detail: `cluster_state:ok on ${states.length} masters` };
}

function clusterSlots(report: ServerReport): Check {
  const cluster = report.cluster;
  if (!cluster || cluster.error) return { id: 'cluster-slots', status: 'warn', detail: `could not read CLUSTER SLOTS (${cluster?.error ?? 'no answer'})` };
  const detail = `${cluster.slotsCovered} of ${CLUSTER_SLOTS} slots covered`;
  if (cluster.slotsCovered < CLUSTER_SLOTS) return { id: 'cluster-slots', status: 'fail', detail: `${detail}: keys in the others fail with CLUSTERDOWN` };
  return { id: 'cluster-slots', status: 'ok', detail };
}

/** Redis hashes only what is inside the first `{…}` with something between the braces. */
export function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1;
}

function prefix(p: string, mode: ServerReport['mode']): Check {
  if (mode === 'standalone') return { id: 'prefix', status: 'ok', detail: `"${p}" (a hash tag is only needed on a cluster)` };
  if (hasHashTag(p)) return { id: 'prefix', status: 'ok', detail: `"${p}" has a hash tag` };
  return { id: 'prefix', status: 'warn', detail: `"${p}" has no hash tag: BullMQ fails with CROSSSLOT unless every queue name is hash-tagged; use "{${p}}"` };
}

function bullmqVersions(f: DoctorFacts): Check {
  const entries = [...f.bullmq.versions.entries()].sort((a, b) => b[1].length - a[1].length);
  const scanNote = f.bullmq.truncated ? ' (scan stopped early: more queues exist)' : '';
  if (entries.length === 0) return { id: 'bullmq-versions', status: 'ok', detail: `no queues found under prefix "${f.prefix}"${scanNote}` };
  const describe = ([v, queues]: [string, string[]]) => `${v} (${queues.length} queue${queues.length === 1 ? '' : 's'}${queues.length <= 3 ? `: ${queues.join(', ')}` : ''})`;
  if (entries.length === 1) return { id: 'bullmq-versions', status: 'ok', detail: `${describe(entries[0])}${scanNote}` };
  return { id: 'bullmq-versions', status: 'warn', detail: `mixed: ${entries.map(describe).join('; ')}: upgrade the older producers and workers${scanNote}` };
}

function clientList(result: DoctorFacts['clientList']): Check {
  if ('refused' in result) return { id: 'client-list', status: 'warn', detail: `CLIENT LIST refused (${result.refused}): workers cannot be shown` };
  return { id: 'client-list', status: 'ok', detail: `available (${result.clients} clients on the first master)` };
}

function rank(status: CheckStatus): number {
  return status === 'fail' ? 2 : status === 'warn' ? 1 : 0;
}

/** The worst status of a list of checks. */
export function worstStatus(checks: Check[]): CheckStatus {
  return checks.reduce<CheckStatus>((worst, c) => (rank(c.status) > rank(worst) ? c.status : worst), 'ok');
}

