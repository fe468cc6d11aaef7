import type { Cluster, Redis } from 'ioredis';
import { LEASE_MS, sourceKeys, type CrossSlotRun } from './cross-slot-keys.js';
import { withCrossSlotScripts } from './cross-slot-scripts.js';
import { queuePrefix, type MovableState } from './keys.js';
import type { Routing } from './routing.js';
import { refusal } from './bad-keys.js';

/** A copy verdict whose job the destination now holds (or already held, as a duplicate): settle finishes it. */
export const isCopied = (verdict: string): boolean => verdict === 'ok' || verdict === 'duplicate' || verdict.startsWith('renamed:');

/**
 * Recovery of a cross-slot run (see cross-slot.ts): what an interrupted attempt left parked is read
 * from the in-flight journal and settled. Each record names its destinations (q), so nothing here
 * depends on the order of the queues in the topology, which may have been edited since.
 */
/** One parked batch as the take script records it in the in-flight journal. */
export interface FlightRecord {
  s: MovableState;
  ids: string[];
  sc: string[];
  /** 1-based index into q per job. */
  d: number[];
  /** The destination queue names of the attempt that took the batch (absent in older records). */
  q?: string[];
  e: string[];
  l: number[];
}

/**
 * The queue each parked job of a record was headed to, by name. A record without q (written before
 * names were kept) can only be read through the current routing's order, as it was then.
 */
export function recordDests(record: FlightRecord, current: string[]): (string | undefined)[] {
  const names = record.q ?? current;
  return record.d.map((d) => names[d - 1]);
}

/** The copied-hash a record's copy into `queue` wrote its verdicts to. */
const copiedKey = (run: CrossSlotRun, record: FlightRecord, queue: string) => (record.q ? run.layout.copiedOf(queue) : run.layout.legacyCopiedOf(queue));

/** Every parked batch: token → record. */
export async function readFlights(client: Redis | Cluster, run: CrossSlotRun): Promise<Map<string, FlightRecord>> {
  const raw = await client.hgetall(run.layout.inflight);
  const flights = new Map<string, FlightRecord>();
  for (const [field, value] of Object.entries(raw)) if (field.startsWith('@:')) flights.set(field.slice(2), JSON.parse(value) as FlightRecord);
  return flights;
}

/**
 * Ids of a parked batch its destinations already hold (their copy call's verdicts say "ok"). Each
 * destination is looked up by the name the record holds, whether or not the topology still
 * declares it: a copy that happened is a fact, and putting that job back would double it.
 */
export async function copiedIds(client: Redis | Cluster, run: CrossSlotRun, token: string, record: FlightRecord, current: string[]): Promise<Set<string>> {
  const copied = new Set<string>();
  for (const queue of new Set(recordDests(record, current))) {
    const verdicts = queue === undefined ? null : await client.hget(copiedKey(run, record, queue), token);
    if (!verdicts) continue;
    const flat = JSON.parse(verdicts) as string[] | Record<string, never>;
    if (Array.isArray(flat)) for (let i = 0; i < flat.length; i += 2) if (isCopied(flat[i + 1])) copied.add(flat[i]);
  }
  return copied;
}

export interface Recovery {
  finished: number;
  returned: number;
  /** Of those returned: jobs whose recorded destination the topology no longer routes to. */
  undeclared: number;
  stuck: string[];
}

/**
 * Settles whatever an earlier attempt left parked: copied → finished, else put back into the source.
 * Recovery never copies: a job put back is re-planned by its NAME under the current topology, so
 * one whose recorded destination was removed stays in the source (and the plan reports it).
 * Returns how many jobs were finished and put back, and ids that stay parked (their id was re-used).
 */
export async function recoverCrossSlot(client: Redis | Cluster, prefix: string, routing: Routing, run: CrossSlotRun): Promise<Recovery> {
  const scripts = withCrossSlotScripts(client);
  const src = queuePrefix(prefix, routing.from);
  const keys = sourceKeys(src, run);
  const total: Recovery = { finished: 0, returned: 0, undeclared: 0, stuck: [] };
  for (const [token, record] of await readFlights(client, run)) {
    const copied = await copiedIds(client, run, token, record, routing.dests);
    const dests = recordDests(record, routing.dests);
    const gone = new Set(record.ids.filter((id, k) => !copied.has(id) && !routing.dests.includes(dests[k] ?? '')));
    const [finished, returned, stuck] = await scripts.queuectlXSettle(keys.length, ...keys, src, run.layout.flight, token, run.owner, LEASE_MS, '', '0', ...copied).catch(refusal);
    total.finished += sumPairs(finished);
    total.returned += returned;
    total.undeclared += [...gone].filter((id) => !stuck.includes(id)).length;
    total.stuck.push(...stuck);
    // Settled: its verdicts are no longer needed, even in a destination this run no longer tidies.
    if (stuck.length === 0) for (const queue of new Set(dests)) if (queue !== undefined) await client.hdel(copiedKey(run, record, queue), token);
  }
  return total;
}

/** Clears the run's bookkeeping; parked batches that could not go back (stuck) keep their records. */
export async function tidyCrossSlot(client: Redis | Cluster, run: CrossSlotRun, dests: string[]): Promise<void> {
  const fields = (await client.hkeys(run.layout.inflight)).filter((f) => f.startsWith('f:'));
  for (let i = 0; i < fields.length; i += 1000) await client.hdel(run.layout.inflight, ...fields.slice(i, i + 1000));
  for (const queue of dests) await client.del(run.layout.copiedOf(queue), run.layout.legacyCopiedOf(queue));
}

const sumPairs = (pairs: (string | number)[]) => pairs.reduce<number>((sum, v, i) => (i % 2 === 1 ? sum + Number(v) : sum), 0);

