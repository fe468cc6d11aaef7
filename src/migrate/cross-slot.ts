import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { UsageError } from '../errors.js';
import { sleep } from '../util/sleep.js';
import type { ApplyOptions, ApplyResult } from './apply.js';
import { holderIsGone, type CrossSlotLayout } from './cross-slot-keys.js';
import { withCrossSlotScripts, type CrossSlotScripts } from './cross-slot-scripts.js';
import { destinationKeys, queuePrefix, type MovableState } from './keys.js';
import type { Routing } from './routing.js';

/**
 * The journaled copy-then-delete for a source and destinations in different Redis Cluster slots
 * (one hash tag per queue), where no single script can see both sides. Per batch:
 *   1. take   (source slot, atomic) jobs leave their source state and are parked in the run's
 *             flight area, recorded in the in-flight journal (state, score, order, destination);
 *   2. copy   (each destination slot, atomic, idempotent) the parked jobs enter the same state of
 *             their destination, recorded in its copied-hash with the flight's token;
 *   3. settle (source slot, atomic) parked copies are deleted, refused ones put back.
 * The journals hold one record per batch (its token), not per job. A crash between any two steps
 * leaves each job in exactly one of: its source state, parked, or its destination. A resumed run
 * first settles what is parked: copied (the destination's copied-hash holds the flight's verdicts)
 * → finish; not copied → put back, then re-planned and moved like any job. Every call is safe to
 * run twice (a command re-sent after a dropped connection): take answers what its token already
 * took, copy answers its recorded verdicts and writes nothing, settle replays its result.
 * A lease keeps a second process off the same run. Parked jobs are in no state and not under the
 * queue's prefix: no worker takes them and BullMQ's removeOrphanedJobs cannot delete them.
 */
export const LEASE_MS = 30_000;

export interface CrossSlotRun {
  layout: CrossSlotLayout;
  owner: string;
}

/** Takes the run's lease: at once from a holder known to be gone, else once the holder's lease lapses. */
export async function acquireLease(client: Redis | Cluster, run: CrossSlotRun, signal?: AbortSignal): Promise<void> {
  const scripts = withCrossSlotScripts(client);
  const deadline = Date.now() + LEASE_MS + 2_000;
  let takeover = '';
  for (;;) {
    const holder = await scripts.queuectlXLease(1, run.layout.lease, run.owner, LEASE_MS, takeover);
    if (holder === '') return;
    const who = holderIsGone(holder);
    if (who.gone) takeover = holder;
    else if (Date.now() > deadline || signal?.aborted) {
      const where = who.local ? `pid ${who.pid}` : `host ${holder.split('|')[0]}`;
      throw new UsageError(`another queuectl migrate (${where}) is working on this run`, 'wait for it to finish, or stop it and rerun');
    } else await sleep(500, signal); // a holder that stopped without releasing: its lease lapses
  }
}

export async function releaseLease(client: Redis | Cluster, run: CrossSlotRun): Promise<void> {
  await withCrossSlotScripts(client).queuectlXLease(1, run.layout.lease, run.owner, 0, '');
}

function sourceKeys(src: string, run: CrossSlotRun): string[] {
  return [run.layout.inflight, ...['wait', 'prioritized', 'delayed', 'failed', 'marker', 'events', 'meta'].map((s) => src + s), run.layout.lease];
}

/** One parked batch as the take script records it in the in-flight journal. */
export interface FlightRecord {
  s: MovableState;
  ids: string[];
  sc: string[];
  d: number[];
  e: string[];
  l: number[];
}

/** Every parked batch: token → record. */
export async function readFlights(client: Redis | Cluster, run: CrossSlotRun): Promise<Map<string, FlightRecord>> {
  const raw = await client.hgetall(run.layout.inflight);
  const flights = new Map<string, FlightRecord>();
  for (const [field, value] of Object.entries(raw)) if (field.startsWith('@:')) flights.set(field.slice(2), JSON.parse(value) as FlightRecord);
  return flights;
}

/** Ids of a parked batch its destinations already hold (their copy call's verdicts say "ok"). */
export async function copiedIds(client: Redis | Cluster, run: CrossSlotRun, token: string, record: FlightRecord): Promise<Set<string>> {
  const copied = new Set<string>();
  for (const d of new Set(record.d)) {
    const key = run.layout.copied[d - 1];
    const verdicts = key ? await client.hget(key, token) : null;
    if (!verdicts) continue;
    const flat = JSON.parse(verdicts) as string[] | Record<string, never>;
    if (Array.isArray(flat)) for (let i = 0; i < flat.length; i += 2) if (flat[i + 1] === 'ok') copied.add(flat[i]);
  }
  return copied;
}

/**
 * Settles whatever an earlier attempt left parked: copied → finished, else put back into the source.
 * Returns how many jobs were finished and put back, and ids that stay parked (their id was re-used).
 */
export async function recoverCrossSlot(client: Redis | Cluster, prefix: string, routing: Routing, run: CrossSlotRun): Promise<{ finished: number; returned: number; stuck: string[] }> {
  const scripts = withCrossSlotScripts(client);
  const src = queuePrefix(prefix, routing.from);
  const keys = sourceKeys(src, run);
  const total = { finished: 0, returned: 0, stuck: [] as string[] };
  for (const [token, record] of await readFlights(client, run)) {
    const finish = [...(await copiedIds(client, run, token, record))];
    const [finished, returned, stuck] = await scripts.queuectlXSettle(keys.length, ...keys, src, run.layout.flight, token, run.owner, LEASE_MS, '', '0', ...finish);
    total.finished += sumPairs(finished);
    total.returned += returned;
    total.stuck.push(...stuck);
  }
  return total;
}

/** Clears the run's bookkeeping; parked batches that could not go back (stuck) keep their records. */
export async function tidyCrossSlot(client: Redis | Cluster, run: CrossSlotRun): Promise<void> {
  const fields = (await client.hkeys(run.layout.inflight)).filter((f) => f.startsWith('f:'));
  for (let i = 0; i < fields.length; i += 1000) await client.hdel(run.layout.inflight, ...fields.slice(i, i + 1000));
  for (const key of new Set(run.layout.copied)) await client.del(key);
}

const sumPairs = (pairs: number[]) => pairs.reduce((sum, v, i) => (i % 2 === 1 ? sum + Number(v) : sum), 0);

interface Taken {
  token: string;
  /** Flat destination index, JSON blob of its jobs. */
  jobs: (number | Buffer)[];
}
type TakeResult = Taken & { taken: number; next: string; exhausted: boolean };

/**
 * Same contract as applyMoves: moves state by state, oldest first; on abort it settles the batch in
 * hand and stops. The next batch is taken (source node) while the previous one is copied
 * (destination nodes); settling then merges both boundaries, so jobs put back are never re-taken.
 */
export async function applyCrossSlot(options: ApplyOptions, run: CrossSlotRun): Promise<ApplyResult> {
  const { prefix, routing, states, signal, client } = options;
  const scripts = withCrossSlotScripts(client);
  const src = queuePrefix(prefix, routing.from);
  const routes = JSON.stringify(routing.routes);
  const tombstone = `queuectl:moving:${randomBytes(8).toString('hex')}`;
  const batch = options.rate ? Math.max(1, Math.min(options.batch, Math.ceil(options.rate / 10))) : options.batch;
  const result: ApplyResult = { moved: {}, total: 0, interrupted: false, stayed: [] };
  const forget = new Map<number, string[]>(); // per destination: tokens settled since its last copy call
  const started = Date.now();
  let quietSince = Date.now();

  const take = async (state: MovableState, boundary: string): Promise<TakeResult> => {
    const token = randomBytes(8).toString('hex');
    const keys = [src + state, src + 'events', src + 'meta', run.layout.inflight, run.layout.lease];
    const [taken, next, exhausted, stays, jobs] = await scripts.queuectlXTakeBuffer(keys.length, ...keys, state, src, batch, boundary, tombstone, routes, token, run.layout.flight, run.owner, LEASE_MS, '');
    for (let i = 0; i < stays.length && result.stayed.length < 20; i += 3) result.stayed.push({ id: String(stays[i]), reason: String(stays[i + 1]), name: String(stays[i + 2]) });
    return { token, taken, next: next.toString(), exhausted: exhausted === 1, jobs };
  };

  for (;;) {
    let movedInPass = 0;
    for (const state of states) {
      let boundary = '';
      let exhausted = false;
      let pending: Taken | undefined;
      while (!exhausted || pending) {
        const stop = signal?.aborted === true;
        const [next, finish]: [TakeResult | undefined, { ids: string[]; dests: number[] } | undefined] = await Promise.all([
          exhausted || stop ? undefined : take(state, boundary),
          pending ? copyBatch(scripts, options, run, state, pending, forget, result) : undefined,
        ]);
        if (next) [boundary, exhausted] = [next.next, next.exhausted];
        if (pending && finish) {
          const settled = await settleBatch(scripts, options, run, pending, finish, boundary, forget);
          boundary = settled.boundary;
          let n = 0;
          settled.perDest.forEach((count, d) => {
            const row = (result.moved[routing.dests[d - 1]] ??= {});
            row[state] = (row[state] ?? 0) + count;
            n += count;
          });
          result.total += n;
          movedInPass += n;
          if (n > 0) await journal(client, options.journalKey, state, routing, settled.perDest, n);
        }
        pending = next && next.taken > 0 ? next : undefined;
        if (stop && !pending) return { ...result, interrupted: true };
        options.onProgress?.({ moved: result.total, state, elapsedMs: Date.now() - started });
        if (options.rate) await sleep((result.total / options.rate) * 1000 - (Date.now() - started), signal);
      }
    }
    if (!options.follow) break;
    if (movedInPass > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= options.follow.quietMs) break;
    else await sleep(options.follow.pollMs ?? 500, signal);
  }
  await tidyCrossSlot(client, run);
  return result;
}

/** Step 2 for one parked batch: one copy call per destination, in parallel. Returns the ids copied. */
async function copyBatch(scripts: CrossSlotScripts, options: ApplyOptions, run: CrossSlotRun, state: MovableState, batch: Taken, forget: Map<number, string[]>, result: ApplyResult): Promise<{ ids: string[]; dests: number[] }> {
  const { prefix, routing } = options;
  const dests: number[] = [];
  const calls: Promise<string[]>[] = [];
  for (let i = 0; i < batch.jobs.length; i += 2) {
    const d = Number(batch.jobs[i]);
    const dest = routing.dests[d - 1];
    const keys = [...destinationKeys(prefix, dest), run.layout.copied[d - 1]];
    const old = forget.get(d) ?? [];
    forget.set(d, []);
    dests.push(d);
    calls.push(scripts.queuectlXCopy(keys.length, ...keys, 'copy', state, queuePrefix(prefix, dest), batch.token, old.length, ...old, batch.jobs[i + 1]));
  }
  const verdicts = await Promise.all(calls);
  const ids: string[] = [];
  for (const flat of verdicts) {
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i + 1] === 'ok') ids.push(flat[i]);
      else if (result.stayed.length < 20) result.stayed.push({ id: flat[i], reason: flat[i + 1], name: '' });
    }
  }
  return { ids, dests };
}

/** Step 3: finish the copied jobs, put the refused ones back; returns moved per destination. */
async function settleBatch(scripts: CrossSlotScripts, options: ApplyOptions, run: CrossSlotRun, batch: Taken, copied: { ids: string[]; dests: number[] }, boundary: string, forget: Map<number, string[]>) {
  const src = queuePrefix(options.prefix, options.routing.from);
  const keys = sourceKeys(src, run);
  const [finished, , , settled] = await scripts.queuectlXSettle(keys.length, ...keys, src, run.layout.flight, batch.token, run.owner, LEASE_MS, boundary, '1', ...copied.ids);
  for (const d of copied.dests) forget.get(d)?.push(batch.token);
  const perDest = new Map<number, number>();
  for (let i = 0; i < finished.length; i += 2) perDest.set(Number(finished[i]), Number(finished[i + 1]));
  return { perDest, boundary: settled };
}

/** Progress counters of the run (their own slot: bumped after each settled batch). */
async function journal(client: Redis | Cluster, key: string, state: MovableState, routing: Routing, perDest: Map<number, number>, n: number): Promise<void> {
  const tx = client.multi().hincrby(key, 'moved', n);
  for (const [d, count] of perDest) tx.hincrby(key, `moved:${routing.dests[d - 1]}:${state}`, count);
  await tx.hset(key, 'updated', Date.now()).exec();
}
