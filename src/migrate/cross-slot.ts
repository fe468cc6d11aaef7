import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { UsageError } from '../errors.js';
import { sleep } from '../util/sleep.js';
import { emptyResult, type ApplyOptions, type ApplyResult, type RenamedJob } from './apply.js';
import { holderIsGone, LEASE_MS, sourceKeys, type CrossSlotRun } from './cross-slot-keys.js';
import { isCopied, tidyCrossSlot } from './cross-slot-recover.js';
import { withCrossSlotScripts, type CrossSlotScripts } from './cross-slot-scripts.js';
import { destinationKeys, queuePrefix, type MovableState } from './keys.js';
import { refusal } from './bad-keys.js';

/**
 * The journaled copy-then-delete for a source and destinations in different Redis Cluster slots
 * (one hash tag per queue), where no single script can see both sides. Per batch:
 *   1. take   (source slot, atomic) jobs leave their source state and are parked in the run's
 *             flight area, recorded in the in-flight journal (state, score, order, destination by
 *             queue name: a rerun may read it under a topology edited since);
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
export { LEASE_MS, type CrossSlotRun } from './cross-slot-keys.js';
export { copiedIds, readFlights, recordDests, recoverCrossSlot, tidyCrossSlot, type FlightRecord, type Recovery } from './cross-slot-recover.js';

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

export interface Taken {
  token: string;
  /** Flat destination index, JSON blob of its jobs. */
  jobs: (number | Buffer)[];
  /** The source's id counter when the batch was taken (copy keeps destination counters ahead of it). */
  srcCounter: string;
}

/** What the copies of one batch did: ids to finish at the source, and the id policy's outcomes. */
export interface Copied {
  ids: string[];
  dests: string[];
  renamed: RenamedJob[];
  duplicates: { queue: string; id: string; name: string }[];
}
export type TakeResult = Taken & { taken: number; next: string; exhausted: boolean };

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
  const result = emptyResult();
  const dests = JSON.stringify(routing.dests); // recorded with each parked batch: its d indexes are read through it
  const forget = new Map<string, string[]>(); // per destination queue: tokens settled since its last copy call
  const started = Date.now();
  let quietSince = Date.now();

  const take = (state: MovableState, boundary: string) => takeBatch(scripts, run, { src, routes, dests, batch, tombstone }, state, boundary, result);

  for (;;) {
    let movedInPass = 0;
    for (const state of states) {
      let boundary = '';
      let exhausted = false;
      let pending: Taken | undefined;
      while (!exhausted || pending) {
        const stop = signal?.aborted === true;
        const [next, finish]: [TakeResult | undefined, Copied | undefined] = await Promise.all([
          exhausted || stop ? undefined : take(state, boundary),
          pending ? copyBatch(scripts, options, run, state, pending, forget, result) : undefined,
        ]);
        if (next) [boundary, exhausted] = [next.next, next.exhausted];
        if (pending && finish) {
          const settled = await settleBatch(scripts, options, run, pending, finish, boundary, forget);
          boundary = settled.boundary;
          let n = 0;
          // A duplicate was finished (its parked copy removed) but not copied: it left, it did not move.
          for (const dup of finish.duplicates) {
            settled.perDest.set(dup.queue, (settled.perDest.get(dup.queue) ?? 0) - 1);
            const row = (result.removed[dup.queue] ??= {});
            row[state] = (row[state] ?? 0) + 1;
          }
          settled.perDest.forEach((count, dest) => {
            if (count === 0) return;
            const row = (result.moved[dest] ??= {});
            row[state] = (row[state] ?? 0) + count;
            n += count;
          });
          result.total += n;
          movedInPass += n;
          result.renamed.push(...finish.renamed);
          result.duplicates.push(...finish.duplicates);
          if (n > 0 || finish.duplicates.length > 0) await journal(client, options.journalKey, state, settled.perDest, n, finish);
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
  await tidyCrossSlot(client, run, routing.dests);
  return result;
}

/**
 * Step 1: park up to a batch of one state's oldest jobs. The record keeps `dests` (the destination
 * names the route indexes point into), so a rerun never reads them through a topology since edited.
 */
export async function takeBatch(scripts: CrossSlotScripts, run: CrossSlotRun, call: { src: string; routes: string; dests: string; batch: number; tombstone: string }, state: MovableState, boundary: string, result: ApplyResult): Promise<TakeResult> {
  const { src } = call;
  const token = randomBytes(8).toString('hex');
  const keys = [src + state, src + 'events', src + 'meta', run.layout.inflight, run.layout.lease, src + 'marker', src + 'id'];
  const [taken, next, exhausted, stays, jobs, , srcCounter] = await scripts.queuectlXTakeBuffer(keys.length, ...keys, state, src, call.batch, boundary, call.tombstone, call.routes, token, run.layout.flight, run.owner, LEASE_MS, '', call.dests).catch(refusal);
  for (let i = 0; i < stays.length && result.stayed.length < 20; i += 3) result.stayed.push({ id: String(stays[i]), reason: String(stays[i + 1]), name: String(stays[i + 2]) });
  return { token, taken, next: next.toString(), exhausted: exhausted === 1, jobs, srcCounter: String(srcCounter ?? '0') };
}

/** Step 2 for one parked batch: one copy call per destination, in parallel. Returns the ids copied. */
export async function copyBatch(scripts: CrossSlotScripts, options: ApplyOptions, run: CrossSlotRun, state: MovableState, batch: Taken, forget: Map<string, string[]>, result: ApplyResult): Promise<Copied> {
  const { prefix, routing } = options;
  const dests: string[] = [];
  const calls: Promise<string[]>[] = [];
  for (let i = 0; i < batch.jobs.length; i += 2) {
    const dest = routing.dests[Number(batch.jobs[i]) - 1]; // the same routing this process took the batch with
    const keys = [...destinationKeys(prefix, dest), run.layout.copiedOf(dest)];
    const old = forget.get(dest) ?? [];
    forget.set(dest, []);
    dests.push(dest);
    calls.push(scripts.queuectlXCopy(keys.length, ...keys, 'copy', state, queuePrefix(prefix, dest), batch.token, old.length, ...old, batch.jobs[i + 1], batch.srcCounter));
  }
  const verdicts = await Promise.all(calls).catch(refusal);
  const out: Copied = { ids: [], dests, renamed: [], duplicates: [] };
  verdicts.forEach((flat, k) => {
    for (let i = 0; i < flat.length; i += 2) {
      const [id, verdict] = [flat[i], flat[i + 1]];
      if (isCopied(verdict)) out.ids.push(id);
      if (verdict.startsWith('renamed:')) out.renamed.push({ queue: dests[k], from: id, to: verdict.slice('renamed:'.length) });
      else if (verdict === 'duplicate') out.duplicates.push({ queue: dests[k], id, name: '' });
      else if (verdict !== 'ok' && result.stayed.length < 20) result.stayed.push({ id, reason: verdict, name: '' });
    }
  });
  return out;
}

/** Step 3: finish the copied jobs, put the refused ones back; returns moved per destination. */
async function settleBatch(scripts: CrossSlotScripts, options: ApplyOptions, run: CrossSlotRun, batch: Taken, copied: Copied, boundary: string, forget: Map<string, string[]>) {
  const src = queuePrefix(options.prefix, options.routing.from);
  const keys = sourceKeys(src, run);
  const [finished, , , settled] = await scripts.queuectlXSettle(keys.length, ...keys, src, run.layout.flight, batch.token, run.owner, LEASE_MS, boundary, '1', ...copied.ids).catch(refusal);
  for (const d of copied.dests) forget.get(d)?.push(batch.token);
  const perDest = new Map<string, number>(); // by destination name (its batch was taken with q)
  for (let i = 0; i < finished.length; i += 2) perDest.set(String(finished[i]), Number(finished[i + 1]));
  return { perDest, boundary: settled };
}

/** Progress counters of the run (their own slot: bumped after each settled batch). */
async function journal(client: Redis | Cluster, key: string, state: MovableState, perDest: Map<string, number>, n: number, copied: Copied): Promise<void> {
  const tx = client.multi().hincrby(key, 'moved', n);
  for (const [dest, count] of perDest) if (count > 0) tx.hincrby(key, `moved:${dest}:${state}`, count);
  // As move-batch.lua records them: id:<queue>:<old> = <new>, and the counts.
  for (const r of copied.renamed) tx.hset(key, `id:${r.queue}:${r.from}`, r.to);
  if (copied.renamed.length > 0) tx.hincrby(key, 'renamed', copied.renamed.length);
  if (copied.duplicates.length > 0) tx.hincrby(key, 'duplicates', copied.duplicates.length);
  await tx.hset(key, 'updated', Date.now()).exec();
}
