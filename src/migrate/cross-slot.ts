import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { UsageError } from '../errors.js';
import { sleep, type ApplyOptions, type ApplyResult } from './apply.js';
import { BOOKKEEPING, holderIsGone, type CrossSlotLayout } from './cross-slot-keys.js';
import { copyArgs, withCrossSlotScripts, type CrossSlotScripts, type TakenJob } from './cross-slot-scripts.js';
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
 * A crash between any two steps leaves each job in exactly one of: its source state, parked, or its
 * destination. A resumed run first settles what is parked: copied (the destination's copied-hash has
 * the flight's token) → finish; not copied → put back, then re-planned and moved like any job.
 * Every call is safe to run twice (a command re-sent after a dropped connection): take answers
 * what its token already took, copy skips what its token already copied, settle replays its result.
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

/**
 * Settles whatever an earlier attempt left parked: copied → finished, else put back into the source.
 * Returns how many jobs were finished and put back, and ids that stay parked (their id was re-used).
 */
export async function recoverCrossSlot(client: Redis | Cluster, prefix: string, routing: Routing, run: CrossSlotRun): Promise<{ finished: number; returned: number; stuck: string[] }> {
  const scripts = withCrossSlotScripts(client);
  const raw = await client.hgetall(run.layout.inflight);
  const byDest = new Map<number, { id: string; token: string }[]>();
  for (const [field, value] of Object.entries(raw)) {
    if (BOOKKEEPING.test(field)) continue;
    const [, , dest, token] = value.split('|');
    const list = byDest.get(Number(dest)) ?? [];
    list.push({ id: field, token });
    byDest.set(Number(dest), list);
  }
  const finish: string[] = [];
  const back: string[] = [];
  for (const [dest, list] of byDest) {
    // An index past today's destinations (the topology changed since): never copied by this run's dests.
    const copied = run.layout.copied[dest - 1];
    const marks = copied ? await client.hmget(copied, ...list.map((e) => e.id)) : [];
    list.forEach((e, i) => (marks[i] === e.token ? finish : back).push(e.id));
  }
  if (finish.length + back.length === 0) return { finished: 0, returned: 0, stuck: [] };
  const src = queuePrefix(prefix, routing.from);
  const keys = sourceKeys(src, run);
  const [finished, returned, stuck] = await scripts.queuectlXSettle(keys.length, ...keys, src, run.layout.flight, '', run.owner, LEASE_MS, '', '', finish.length, ...finish, ...back);
  return { finished: sumPairs(finished), returned, stuck };
}

/** Clears the run's bookkeeping once nothing is parked that was copied (stuck jobs keep their entries). */
export async function tidyCrossSlot(client: Redis | Cluster, run: CrossSlotRun): Promise<void> {
  const fields = (await client.hkeys(run.layout.inflight)).filter((f) => BOOKKEEPING.test(f));
  for (let i = 0; i < fields.length; i += 1000) await client.hdel(run.layout.inflight, ...fields.slice(i, i + 1000));
  for (const key of new Set(run.layout.copied)) await client.del(key);
}

const sumPairs = (pairs: number[]) => pairs.reduce((sum, v, i) => (i % 2 === 1 ? sum + Number(v) : sum), 0);

/** Same contract as applyMoves: moves state by state, oldest first, stops between batches on abort. */
export async function applyCrossSlot(options: ApplyOptions, run: CrossSlotRun): Promise<ApplyResult> {
  const { prefix, routing, states, signal, client } = options;
  const scripts = withCrossSlotScripts(client);
  const src = queuePrefix(prefix, routing.from);
  const routes = JSON.stringify(routing.routes);
  const tombstone = `queuectl:moving:${randomBytes(8).toString('hex')}`;
  const batch = options.rate ? Math.max(1, Math.min(options.batch, Math.ceil(options.rate / 10))) : options.batch;
  const result: ApplyResult = { moved: {}, total: 0, interrupted: false, stayed: [] };
  const forget = new Map<number, string[]>(); // per destination: id, token pairs settled since its last copy
  const started = Date.now();
  let quietSince = Date.now();

  for (;;) {
    let movedInPass = 0;
    for (const state of states) {
      let boundary = '';
      for (;;) {
        if (signal?.aborted) return { ...result, interrupted: true };
        const token = randomBytes(8).toString('hex');
        const takeKeys = [src + state, src + 'events', src + 'meta', run.layout.inflight, run.layout.lease];
        const [taken, next, exhausted, stays, jobs] = await scripts.queuectlXTakeBuffer(takeKeys.length, ...takeKeys, state, src, batch, boundary, tombstone, routes, token, run.layout.flight, run.owner, LEASE_MS, '');
        for (let i = 0; i < stays.length && result.stayed.length < 20; i += 3) result.stayed.push({ id: String(stays[i]), reason: String(stays[i + 1]), name: String(stays[i + 2]) });
        boundary = next.toString();
        if (taken > 0) {
          const { perDest, settledBoundary } = await copyAndSettle(scripts, options, run, state, token, jobs as TakenJob[], boundary, forget, result);
          boundary = settledBoundary;
          let n = 0;
          perDest.forEach((count, d) => {
            const row = (result.moved[routing.dests[d - 1]] ??= {});
            row[state] = (row[state] ?? 0) + count;
            n += count;
          });
          result.total += n;
          movedInPass += n;
          if (n > 0) await journal(client, options.journalKey, state, routing, perDest, n);
        }
        options.onProgress?.({ moved: result.total, state, elapsedMs: Date.now() - started });
        if (options.rate) await sleep((result.total / options.rate) * 1000 - (Date.now() - started), signal);
        if (exhausted === 1) break;
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

/** Steps 2 and 3 for one taken batch: one copy call per destination (in parallel), one settle call. */
async function copyAndSettle(scripts: CrossSlotScripts, options: ApplyOptions, run: CrossSlotRun, state: MovableState, token: string, jobs: TakenJob[], boundary: string, forget: Map<number, string[]>, result: ApplyResult) {
  const { prefix, routing } = options;
  const src = queuePrefix(prefix, routing.from);
  const byDest = new Map<number, TakenJob[]>();
  for (const job of jobs) byDest.set(job[1], [...(byDest.get(job[1]) ?? []), job]);
  const verdicts = await Promise.all(
    [...byDest].map(async ([d, list]) => {
      const dest = routing.dests[d - 1];
      const keys = [...destinationKeys(prefix, dest), run.layout.copied[d - 1]];
      const old = forget.get(d) ?? [];
      forget.set(d, []);
      return scripts.queuectlXCopy(keys.length, ...keys, 'copy', state, queuePrefix(prefix, dest), token, old.length / 2, ...old, ...copyArgs(list));
    }),
  );
  const finish: string[] = [];
  const back: string[] = [];
  const destOf = new Map(jobs.map((j) => [j[0].toString(), j[1]]));
  for (const flat of verdicts) {
    for (let i = 0; i < flat.length; i += 2) {
      const [id, verdict] = [flat[i], flat[i + 1]];
      if (verdict === 'ok' || verdict === 'copied') finish.push(id);
      else {
        back.push(id);
        if (result.stayed.length < 20) result.stayed.push({ id, reason: verdict, name: '' });
      }
    }
  }
  const keys = sourceKeys(src, run);
  const [finished, , , settledBoundary] = await scripts.queuectlXSettle(keys.length, ...keys, src, run.layout.flight, token, run.owner, LEASE_MS, boundary, state, finish.length, ...finish, ...back);
  for (const id of finish) forget.get(destOf.get(id)!)?.push(id, token);
  const perDest = new Map<number, number>();
  for (let i = 0; i < finished.length; i += 2) perDest.set(Number(finished[i]), Number(finished[i + 1]));
  return { perDest, settledBoundary };
}

/** Progress counters of the run (their own slot: bumped after each settled batch). */
async function journal(client: Redis | Cluster, key: string, state: MovableState, routing: Routing, perDest: Map<number, number>, n: number): Promise<void> {
  const tx = client.multi().hincrby(key, 'moved', n);
  for (const [d, count] of perDest) tx.hincrby(key, `moved:${routing.dests[d - 1]}:${state}`, count);
  await tx.hset(key, 'updated', Date.now()).exec();
}
