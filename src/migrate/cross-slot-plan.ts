import type { Cluster, Redis } from 'ioredis';
import { withCrossSlotScripts } from './cross-slot-scripts.js';
import { copiedIds, readFlights, type CrossSlotRun } from './cross-slot.js';
import { destinationKeys, queuePrefix, type MovableState } from './keys.js';
import { addMove, addStay, addTo, emptyPlan, recordIdOutcomes, recordStays, type Plan, type StayReason } from './plan.js';
import { routeName } from './routing.js';
import { addNeverMoving, type ScanOptions } from './scan.js';
import { addBadKeys, badKeysOf } from './bad-keys.js';
import type { Counts } from './verify.js';

/**
 * scanPlan for a cross-slot run: the take script's dry mode classifies each source window (one
 * round trip, same code as the move), then one probe per destination slot asks which of those ids
 * or deduplication keys the destination already holds. Jobs still parked by an earlier attempt
 * count as moves when not yet copied (a resumed run puts them back and moves them).
 */
export async function scanCrossSlot(options: ScanOptions, run: CrossSlotRun): Promise<Plan> {
  const { prefix, routing, topology, states, client } = options;
  const scripts = withCrossSlotScripts(client);
  const plan = emptyPlan(routing, states);
  const src = queuePrefix(prefix, routing.from);
  const routes = JSON.stringify(routing.routes);
  const probe = async (d: number, state: MovableState, triples: string[]) => {
    const keys = [...destinationKeys(prefix, routing.dests[d - 1]), run.layout.copiedOf(routing.dests[d - 1])];
    const [flat, bad] = (await scripts.queuectlXCopy(keys.length, ...keys, 'probe', state, queuePrefix(prefix, routing.dests[d - 1]), '', 0, ...triples)) as unknown as [string[], string[]];
    addBadKeys(plan.blocked, badKeysOf(bad));
    return flat;
  };
  for (const state of states) {
    for (let offset = 0; ; offset += options.batch) {
      if (options.signal?.aborted) return plan;
      const keys = [src + state, src + 'events', src + 'meta', run.layout.inflight, run.layout.lease, src + 'marker'];
      const [, , exhausted, staysRaw, jobsRaw, bad] = await scripts.queuectlXTakeBuffer(keys.length, ...keys, state, src, options.batch, '', '', routes, '', run.layout.flight, '', 0, String(offset));
      addBadKeys(plan.blocked, badKeysOf(bad));
      const stays = staysRaw.map(String);
      const jobs = (jobsRaw as Buffer[]).map((v) => (typeof v === 'number' ? v : String(v)));
      const byDest = new Map<number, string[]>();
      for (let i = 0; i < jobs.length; i += 4) {
        const d = Number(jobs[i + 1]);
        const triples = byDest.get(d) ?? [];
        triples.push(String(jobs[i]), String(jobs[i + 2]), String(jobs[i + 3]));
        byDest.set(d, triples);
      }
      const verdicts = await Promise.all([...byDest].map(async ([d, triples]) => [d, await probe(d, state, triples)] as const));
      for (const [d, flat] of verdicts) {
        for (let i = 0; i < flat.length; i += 2) {
          if (flat[i + 1] === 'renamed') recordIdOutcomes(plan, routing.dests, state, [d, flat[i], '']);
          if (flat[i + 1] === 'ok' || flat[i + 1] === 'copied' || flat[i + 1] === 'renamed') addMove(plan, routing.dests[d - 1], state);
          else if (flat[i + 1] === 'collision' && (await sameJob(client, src, queuePrefix(prefix, routing.dests[d - 1]), flat[i]))) {
            recordIdOutcomes(plan, routing.dests, state, [], [d, flat[i], '']);
          } else {
            // Headed there but staying, as the single-slot plan counts it (verify balances on it).
            addStay(plan, flat[i + 1] as StayReason, 1, [flat[i]], undefined, state);
            addTo(plan.routedStays, routing.dests[d - 1], state, 1);
          }
        }
      }
      plan.scanned += recordStays(plan, stays, routing, topology, state) + jobs.length / 4;
      if (exhausted === 1) break;
    }
  }
  await countParked(options, plan, run);
  await addNeverMoving(client, plan, src, !routing.fromDeclared);
  return plan;
}

/**
 * Parked jobs of an earlier attempt. Copied ones are already in their destination; the others will
 * be put back and re-planned, so they count where their NAME routes under the current topology
 * (the topology may have changed since they were taken); their id re-used in the source → they stay.
 */
async function countParked(options: ScanOptions, plan: Plan, run: CrossSlotRun): Promise<void> {
  const { client, prefix, routing, topology } = options;
  const src = queuePrefix(prefix, plan.from);
  for (const [token, record] of await readFlights(client, run)) {
    const copied = await copiedIds(client, run, token, record, routing.dests);
    for (const id of record.ids) {
      if (copied.has(id)) continue;
      if (await client.exists(src + id)) addStay(plan, 'collision', 1, [id]);
      else if (plan.states.includes(record.s)) {
        const name = (await client.hget(`${run.layout.flight}j:${id}`, 'name')) ?? '';
        const route = routeName(routing, topology, name);
        if ('dest' in route) addMove(plan, route.dest, record.s);
        else if (route.stay === 'unowned') addStay(plan, 'unowned', 1, [id], name);
        else plan.untouched[route.stay] += 1;
      }
    }
  }
}

/** countDestinations, one pipeline per destination (each queue is its own slot). */
export async function countCrossSlot(client: Redis | Cluster, prefix: string, dests: string[], states: MovableState[]): Promise<Counts> {
  const counts: Counts = {};
  for (const d of dests) {
    const p = queuePrefix(prefix, d);
    const pipe = client.pipeline();
    for (const s of states) (s === 'wait' ? pipe.llen(p + s) : pipe.zcard(p + s));
    const replies = (await pipe.exec()) ?? [];
    counts[d] = {};
    states.forEach((s, i) => (counts[d][s] = Number(replies[i]?.[1] ?? 0)));
  }
  return counts;
}

/**
 * Whether the destination holds the same job under a custom id (same name and data): the copy
 * script then removes the legacy copy as a duplicate. Asked only for the few ids that collide:
 * source and destination are different slots, so no one script sees both.
 */
async function sameJob(client: Redis | Cluster, src: string, dest: string, id: string): Promise<boolean> {
  if (/^\d{1,15}$/.test(id)) return false; // numeric ids are never duplicates (the probe says renamed)
  const [mine, theirs] = await Promise.all([client.hmget(src + id, 'name', 'data'), client.hmget(dest + id, 'name', 'data').catch(() => [null, null])]);
  return mine[0] !== null && mine[0] === theirs[0] && mine[1] === theirs[1];
}
