import type { Cluster, Redis } from 'ioredis';
import type { Topology } from '../topology/types.js';
import { escapeGlob } from '../redis/scan.js';
import { STATE_READS } from '../inspect/read-queues.js';
import { execReads, toNumber, type ReadCommand } from '../inspect/reads.js';
import { destinationKeys, MOVABLE_STATES, queuePrefix, type MovableState } from './keys.js';
import { addMove, addStay, emptyPlan, recordIdOutcomes, recordStays, type LeftState, type Plan } from './plan.js';
import type { Routing } from './routing.js';
import { withMoveScript } from './apply.js';
import { addBadKeys, badKeysOf } from './bad-keys.js';

export interface ScanOptions {
  client: Redis | Cluster;
  prefix: string;
  topology: Topology;
  routing: Routing;
  states: MovableState[];
  /** Jobs classified per round trip (four times as many with a snapshot: each costs less). */
  batch: number;
  signal?: AbortSignal;
  /** How flow and lock keys are found: `auto` picks the cheaper way (see flagSnapshot). */
  keyCheck?: 'auto' | 'per-job' | 'snapshot';
}

/** Windows classified at once: they are read-only and independent, so round trips overlap. */
const IN_FLIGHT = 4;
/** Below this many jobs per-job checks cost well under a second: no snapshot. */
const SNAPSHOT_MIN_JOBS = 20_000;
/** SCAN visits every key, a job check looks up five: SCAN wins while the keyspace is this small. */
const SNAPSHOT_MAX_KEYS_PER_JOB = 4;
/** More flagged jobs than this and the JSON sent with every window would cost more than it saves. */
const SNAPSHOT_MAX_FLAGGED = 2_000;
const FLOW_SUFFIXES = [':dependencies', ':processed', ':failed', ':unsuccessful'];
/** Keys visited per SCAN call: ~1 µs each, so a call stays well under SLOWLOG's 10 ms. */
const SCAN_COUNT = 4_000;
/** With a snapshot a job costs about a quarter as much to classify: windows that much larger. */
const SNAPSHOT_WINDOW_FACTOR = 4;

/**
 * Builds the plan by classifying the source in windows, oldest first, with move-batch.lua in its
 * dry mode: the plan and the move decide with the same code, the script writes nothing, one round
 * trip covers a whole window, and only counts are kept, so memory is flat at any queue size.
 */
export async function scanPlan(options: ScanOptions): Promise<Plan> {
  const { prefix, routing, topology, states, client } = options;
  const script = withMoveScript(client);
  const plan = emptyPlan(routing, states);
  const src = queuePrefix(prefix, routing.from);
  const destKeys = routing.dests.flatMap((d) => destinationKeys(prefix, d));
  const config = JSON.stringify({ dests: routing.dests.map((d) => queuePrefix(prefix, d)), names: routing.dests, routes: routing.routes });
  const snapshot = await flagSnapshot(options, src);
  const window = snapshot ? options.batch * SNAPSHOT_WINDOW_FACTOR : options.batch;
  for (const state of states) {
    // The journal key is never written in dry mode; the source meta stands in for it.
    const keys = [src + state, src + 'events', src + 'meta', src + 'meta', ...destKeys, src + 'id'];
    for (let offset = 0, exhausted = false; !exhausted; offset += window * IN_FLIGHT) {
      if (options.signal?.aborted) return plan;
      const calls = Array.from({ length: IN_FLIGHT }, (_, k) => script.queuectlMoveBatch(keys.length, ...keys, state, src, window, '', '', config, String(offset + k * window), snapshot ?? ''));
      for (const [, , done, stays, perDest, bad, renamed, dups] of await Promise.all(calls)) {
        addBadKeys(plan.blocked, badKeysOf(bad));
        recordIdOutcomes(plan, routing.dests, state, renamed, dups);
        perDest.forEach((n, i) => n > 0 && addMove(plan, routing.dests[i], state, n));
        plan.scanned += recordStays(plan, stays, routing, topology, state) + perDest.reduce((a, n) => a + n, 0);
        if (done === 1) exhausted = true;
      }
    }
  }
  await addNeverMoving(client, plan, src, !routing.fromDeclared);
  return plan;
}

/**
 * Jobs that never move, for both plans: still being processed, or parents waiting for their
 * children; and the jobs the plan leaves unread (`outside`), so it can say which --states moves
 * them. A declared source's completed jobs are its own history and are not counted.
 */
export async function addNeverMoving(client: Redis | Cluster, plan: Plan, src: string, legacy = true): Promise<void> {
  const left: LeftState[] = [...MOVABLE_STATES.filter((s) => !plan.states.includes(s)), ...(legacy ? ['completed' as const] : [])];
  const pipe = client.pipeline().llen(src + 'active').lrange(src + 'active', -5, -1).zcard(src + 'waiting-children').zrange(src + 'waiting-children', 0, 4).type(src + 'active').type(src + 'waiting-children');
  for (const state of left) (state === 'wait' ? pipe.llen(src + state) : pipe.zcard(src + state));
  const replies = (await pipe.exec()) ?? [];
  const [active, activeIds, children, childIds, activeType, childType, ...counts] = replies.map((r) => r[1]);
  // Not keys migrate writes, but ones it must read to tell what stays: the plan names them too.
  if (replies[0]?.[0]) plan.blocked.push({ key: src + 'active', found: String(activeType), want: 'list' });
  if (replies[2]?.[0]) plan.blocked.push({ key: src + 'waiting-children', found: String(childType), want: 'zset' });
  if (Number(active) > 0) addStay(plan, 'active', Number(active), activeIds as string[], undefined, 'active');
  if (Number(children) > 0) addStay(plan, 'flow', Number(children), childIds as string[], undefined, 'waiting-children');
  left.forEach((state, i) => Number(counts[i]) > 0 && (plan.outside[state] = Number(counts[i])));
}

/**
 * On a large source in a keyspace that is mostly its own, one SCAN of the keyspace finds every
 * job with a flow or lock key far faster than looking up five keys per job (SCAN: ~0.6 µs a key;
 * five lookups: ~4 µs a job). Returns the dry-run argument of move-batch.lua (ARGV[8]), or
 * undefined to check per job. A key created after the SCAN passed is missed by the plan only: the
 * move checks every job itself, and verify() balances jobs it kept in place.
 */
async function flagSnapshot(options: ScanOptions, src: string): Promise<string | undefined> {
  const { client, routing, prefix, states } = options;
  const mode = options.keyCheck ?? 'auto';
  if (mode === 'per-job' || (client as Redis).isCluster) return undefined;
  const node = client as Redis;
  const numbers = async (commands: ReadCommand[]) => (await execReads(node, commands)).map(toNumber);
  const sizes = numbers([...states.map((s): ReadCommand => [s === 'wait' ? 'llen' : 'zcard', src + s]), ['dbsize']]);
  // inspect's per-state counts of each destination: when all are 0, no id can collide there.
  const occupancy = numbers(routing.dests.flatMap((d) => STATE_READS.map(([command, key]): ReadCommand => [command, queuePrefix(prefix, d) + key])));
  const [counts, held] = await Promise.all([sizes, occupancy]);
  const dbsize = counts.pop() ?? 0;
  const jobs = counts.reduce((a, n) => a + n, 0);
  if (mode === 'auto' && (jobs < SNAPSHOT_MIN_JOBS || dbsize > SNAPSHOT_MAX_KEYS_PER_JOB * jobs)) return undefined;
  // A Map, not an object: a job id may be "__proto__" or "constructor".
  const flagged = new Map<string, 'flow' | 'locked'>();
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(src)}*:*`, 'COUNT', SCAN_COUNT);
    cursor = next;
    for (const key of keys) {
      const flow = FLOW_SUFFIXES.find((s) => key.endsWith(s));
      if (!flow && !key.endsWith(':lock')) continue;
      const id = key.slice(src.length, key.length - (flow ?? ':lock').length);
      // A flow key decides over a lock: the job stays as a flow job either way.
      if (flow || !flagged.has(id)) flagged.set(id, flow ? 'flow' : 'locked');
    }
    if (flagged.size > SNAPSHOT_MAX_FLAGGED) return undefined;
  } while (cursor !== '0');
  // Per destination (in routing order): can an id collide there at all?
  const n = STATE_READS.length;
  const check = routing.dests.map((_, i) => held.slice(i * n, i * n + n).some((count) => count > 0));
  return JSON.stringify({ flagged: Object.fromEntries(flagged), check });
}
