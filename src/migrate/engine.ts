import type { Cluster, Redis } from 'ioredis';
import type { RedisMode } from '../redis/types.js';
import { applyMoves, checkMoveKeys, type ApplyOptions, type ApplyResult } from './apply.js';
import { acquireLease, applyCrossSlot, recoverCrossSlot, releaseLease, type CrossSlotRun } from './cross-slot.js';
import { crossSlotLayout, leaseOwner } from './cross-slot-keys.js';
import { countCrossSlot, scanCrossSlot } from './cross-slot-plan.js';
import { queuePrefix, type MovableState } from './keys.js';
import { emptyPlan, type Plan } from './plan.js';
import type { Routing } from './routing.js';
import { addNeverMoving, scanPlan, type ScanOptions } from './scan.js';
import { execReads, toNumber } from '../inspect/reads.js';
import { countDestinations, type Counts } from './verify.js';

/**
 * How a run plans, counts and moves on Redis: one atomic script per batch, or the cross-slot
 * protocol. On PostgreSQL: postgres-engine.ts (one transaction per batch), run by postgres-run.ts.
 */
export interface Engine {
  crossSlot: boolean;
  /** Before planning a real run: settle what an interrupted attempt left parked (cross-slot only). */
  prepare(client: Redis | Cluster, note: (message: string) => void, signal?: AbortSignal): Promise<void>;
  scan(options: ScanOptions): Promise<Plan>;
  count(client: Redis | Cluster, prefix: string, dests: string[], states: MovableState[]): Promise<Counts>;
  /** Applies `options.record` (a one-pass run, see move-run.ts); absent: this engine plans first. */
  apply(options: ApplyOptions): Promise<ApplyResult>;
  startOnePass?(options: Omit<ApplyOptions, 'batch'>): Promise<{ plan: Plan; jobs: number }>;
}

/**
 * A one-pass run's starting plan on one slot: what never moves (as scanPlan adds it), and the keys
 * every batch touches checked before the first write; `jobs`: the source states' sizes.
 */
async function startOnePass(options: Omit<ApplyOptions, 'batch'>): Promise<{ plan: Plan; jobs: number }> {
  const { client, prefix, routing, states } = options;
  const plan = emptyPlan(routing, states);
  const src = queuePrefix(prefix, routing.from);
  // In the dry run's order, so the first key named is the same.
  await checkMoveKeys(options, plan);
  await addNeverMoving(client, plan, src, !routing.fromDeclared);
  const sizes = await execReads(client, states.map((s) => [s === 'wait' ? 'llen' : 'zcard', src + s]));
  return { plan, jobs: sizes.reduce((a: number, n) => a + toNumber(n), 0) };
}

const singleSlot: Engine = { crossSlot: false, prepare: async () => undefined, scan: scanPlan, count: countDestinations, apply: applyMoves, startOnePass };

/**
 * On one node, or a cluster where source, destinations and journal share a hash tag: the
 * single-script move. On a cluster with one tag per queue: the journaled copy-then-delete
 * (src/migrate/cross-slot.ts). Throws a UsageError when the queues have no hash tag at all.
 */
export function engineFor(mode: RedisMode, prefix: string, routing: Routing, journalKey: string, runId: string): Engine {
  if (mode !== 'cluster') return singleSlot;
  const layout = crossSlotLayout(prefix, routing, journalKey, runId);
  if (!layout) return singleSlot;
  const run: CrossSlotRun = { layout, owner: leaseOwner() };
  return {
    crossSlot: true,
    async prepare(client, note, signal) {
      await acquireLease(client, run, signal);
      try {
        const { finished, returned, undeclared, stuck } = await recoverCrossSlot(client, prefix, routing, run);
        if (finished + returned > 0) note(`Settled ${finished + returned} job(s) an interrupted run left in flight: ${finished} finished in their destination, ${returned} put back into ${routing.from}.`);
        if (undeclared > 0) note(`${undeclared} of them were headed to a queue the topology no longer routes to: they stay in ${routing.from} unless their name routes elsewhere now.`);
        if (stuck.length > 0) note(`${stuck.length} job(s) stay parked because ${routing.from} holds their id again (e.g. ${stuck.slice(0, 3).join(', ')}).`);
      } finally {
        await releaseLease(client, run).catch(() => undefined);
      }
    },
    scan: (options) => scanCrossSlot(options, run),
    count: countCrossSlot,
    async apply(options) {
      await acquireLease(options.client, run, options.signal);
      try {
        return await applyCrossSlot(options, run);
      } finally {
        await releaseLease(options.client, run).catch(() => undefined);
      }
    },
  };
}
