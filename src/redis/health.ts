import type { RedisHealth } from '../inspect/types.js';
import { isReplyError, toRedisError } from './errors.js';
import { compareVersions, configValue, keyspaceKeys, parseInfo, slotMasters, slotsCovered } from './info.js';
import type { Redis, RedisHandle } from './types.js';

/** What one master says about itself. Fields are undefined when Redis refused to tell (ACL, renamed CONFIG). */
export interface MasterFacts {
  address: string;
  version: string;
  usedMemory: number;
  /** 0 = no limit. */
  maxMemory: number;
  totalSystemMemory?: number;
  evictionPolicy?: string;
  /** Where evictionPolicy came from: CONFIG GET, or INFO memory when CONFIG is not allowed. */
  policySource?: 'config' | 'info';
  aofEnabled: boolean;
  /** CONFIG GET save (RDB schedule; '' = off); undefined when CONFIG is refused. */
  rdbSave?: string;
  connectedClients: number;
  keys: number;
  /** `cluster_state` from CLUSTER INFO (cluster only). */
  clusterState?: string;
}

export interface ClusterFacts {
  /** Slots with a master, per CLUSTER SLOTS (16384 when all are covered). */
  slotsCovered: number;
  /** Masters named by CLUSTER SLOTS, which may differ from the ones ioredis reached. */
  slotMasters: string[];
  /** Set when CLUSTER SLOTS was refused. */
  error?: string;
}

export interface ServerReport {
  mode: 'standalone' | 'cluster';
  masters: MasterFacts[];
  cluster?: ClusterFacts;
}

/** Reads INFO, CONFIG and (on a cluster) CLUSTER INFO/SLOTS from every master. Read-only. */
export async function readServerReport(handle: RedisHandle): Promise<ServerReport> {
  try {
    const masters = await handle.masters();
    const facts = await Promise.all(masters.map((node) => readMasterFacts(node, handle.mode === 'cluster')));
    const report: ServerReport = { mode: handle.mode, masters: facts };
    if (handle.mode === 'cluster') report.cluster = await readClusterFacts(masters[0]);
    return report;
  } catch (error) {
    throw toRedisError(error, handle.spec);
  }
}

/** The summary inspect shows (and its --json `redis` object). */
export async function readRedisHealth(handle: RedisHandle): Promise<RedisHealth> {
  return summarizeHealth(await readServerReport(handle));
}

/** Folds per-master facts into one line of health: the lowest version, summed memory, the riskiest policy. */
export function summarizeHealth(report: ServerReport): RedisHealth {
  const masters = report.masters;
  const versions = masters.map((m) => m.version).sort(compareVersions);
  const policies = [...new Set(masters.map((m) => m.evictionPolicy ?? 'unknown'))];
  return {
    version: versions[0] ?? 'unknown',
    mode: report.mode,
    usedMemory: masters.reduce((sum, m) => sum + m.usedMemory, 0),
    // One unlimited master makes the total unlimited.
    maxMemory: masters.some((m) => m.maxMemory === 0) ? 0 : masters.reduce((sum, m) => sum + m.maxMemory, 0),
    evictionPolicy: policies.find((p) => p !== 'noeviction') ?? policies[0] ?? 'unknown',
    nodes: masters.length,
  };
}

async function readMasterFacts(node: Redis, cluster: boolean): Promise<MasterFacts> {
  const info = parseInfo(await node.info());
  const facts: MasterFacts = {
    address: `${node.options.host ?? '?'}:${node.options.port ?? '?'}`,
    version: info.redis_version ?? 'unknown',
    usedMemory: Number(info.used_memory ?? 0),
    maxMemory: Number(info.maxmemory ?? 0),
    aofEnabled: info.aof_enabled === '1',
    connectedClients: Number(info.connected_clients ?? 0),
    keys: keyspaceKeys(info),
  };
  if (info.total_system_memory) facts.totalSystemMemory = Number(info.total_system_memory);
  const policy = await refusedAsUndefined(node.config('GET', 'maxmemory-policy'));
  const fromConfig = configValue(policy, 'maxmemory-policy');
  if (fromConfig !== undefined) {
    facts.evictionPolicy = fromConfig;
    facts.policySource = 'config';
  } else if (info.maxmemory_policy !== undefined) {
    facts.evictionPolicy = info.maxmemory_policy;
    facts.policySource = 'info';
  }
  facts.rdbSave = configValue(await refusedAsUndefined(node.config('GET', 'save')), 'save');
  if (cluster) {
    const clusterInfo = await refusedAsUndefined(node.cluster('INFO'));
    if (typeof clusterInfo === 'string') facts.clusterState = parseInfo(clusterInfo).cluster_state;
  }
  return facts;
}

async function readClusterFacts(node: Redis | undefined): Promise<ClusterFacts> {
  if (!node) return { slotsCovered: 0, slotMasters: [], error: 'no master reachable' };
  try {
    const reply = await node.cluster('SLOTS');
    return { slotsCovered: slotsCovered(reply), slotMasters: slotMasters(reply) };
  } catch (error) {
    if (!isReplyError(error)) throw error;
    return { slotsCovered: 0, slotMasters: [], error: (error as Error).message };
  }
}

/** Redis said no (ACL, renamed or disabled command): that is a fact to report, not a failure. */
export async function refusedAsUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (isReplyError(error)) return undefined;
    throw error;
  }
}
