import { randomBytes } from 'node:crypto';
import type { Topology } from '../../topology/types.js';
import { acquireLease, readFlights, releaseLease, type CrossSlotRun } from '../cross-slot.js';
import { LEASE_MS, leaseOwner, sourceKeys } from '../cross-slot-keys.js';
import { withCrossSlotScripts } from '../cross-slot-scripts.js';
import { claimRun, closeJournal, listJournals, openJournal, resolveRun } from '../journal.js';
import { hashTagOf, journalKey, queuePrefix, type MovableState } from '../keys.js';
import { addMove, emptyPlan, recordStays, type Plan } from '../plan.js';
import type { Routing } from '../routing.js';
import { addNeverMoving } from '../scan.js';
import { addBadKeys, badKeyError, badKeysOf, refusal } from '../bad-keys.js';
import type { Flight, Held, Settled, SourceHolder } from './types.js';
import type { RedisSession } from './sessions.js';

/**
 * The Redis source of a cross-server move: cross-slot-take.lua parks each batch in the run's
 * flight area on the source (jobs out of every state and off the queue's prefix: no worker, no
 * BullMQ script and no producer re-using the id can reach them), with one in-flight record per
 * batch; cross-slot-settle.lua then deletes the delivered ones and puts the rest back where they
 * were. The same scripts as a cross-slot move on one cluster: here the copy runs on another server.
 */
export function redisSource(session: RedisSession, prefix: string, routing: Routing, topology: Topology, label: string): SourceHolder {
  const src = queuePrefix(prefix, routing.from);
  const tag = hashTagOf(src);
  const routes = JSON.stringify(routing.routes);
  const dests = JSON.stringify(routing.dests);
  const tombstone = `queuectl:moving:${randomBytes(8).toString('hex')}`;
  let run: CrossSlotRun | undefined;
  let runId = '';
  const scripts = () => withCrossSlotScripts(session.client);
  const need = () => {
    if (!run) throw new Error('redis source: no holding area bound');
    return run;
  };

  return {
    label,
    bind(id: string) {
      const flight = `${prefix}:queuectl:xmove:${id}:{${tag}}:`;
      const notUsed = () => '';
      run = { owner: leaseOwner(), layout: { flight, inflight: flight + 'inflight', lease: flight + 'lease', copiedOf: notUsed, legacyCopiedOf: notUsed } };
    },
    async resolveRun(intent) {
      return resolveRun(session.client, prefix, intent);
    },
    async lock(id, signal) {
      runId = id;
      const r = need();
      await acquireLease(session.client, r, signal);
      // Every take and settle renews it too; this covers a long delivery on the other end.
      const renew = setInterval(() => void scripts().queuectlXLease(1, r.layout.lease, r.owner, LEASE_MS, '').catch(() => undefined), LEASE_MS / 3);
      renew.unref();
      return {
        async release() {
          clearInterval(renew);
          await releaseLease(session.client, r).catch(() => undefined);
        },
      };
    },
    async openJournal(intent, j) {
      await claimRun(session.client, prefix, intent, j.id);
      await openJournal(session.client, journalKey(prefix, j.id), { id: j.id, source: j.source, to: j.to, names: j.names, states: j.states, plan: j.plan, planned: j.planned });
    },
    async closeJournal(id, state, left, note) {
      await closeJournal(session.client, journalKey(prefix, id), state, left, note);
    },
    async listJournals() {
      return listJournals(await session.handle.masters(), prefix);
    },
    async plan(states, batch, signal) {
      return planRedis(session, prefix, routing, topology, states, batch, signal);
    },
    async take(state, after, batch, token) {
      const r = need();
      const keys = [src + state, src + 'events', src + 'meta', r.layout.inflight, r.layout.lease, src + 'marker', src + 'id'];
      const [taken, next, exhausted, stays, jobs, , srcCounter] = await scripts().queuectlXTakeBuffer(keys.length, ...keys, state, src, batch, after, tombstone, routes, token, r.layout.flight, r.owner, LEASE_MS, '', dests).catch(refusal);
      const blobs = new Map<string, string | Buffer>();
      for (let i = 0; i < jobs.length; i += 2) blobs.set(routing.dests[Number(jobs[i]) - 1], jobs[i + 1] as Buffer);
      const stayed: Held['stays'] = [];
      for (let i = 0; i < stays.length; i += 3) stayed.push({ id: String(stays[i]), reason: String(stays[i + 1]), name: String(stays[i + 2]) });
      return { token, state, taken, blobs, srcCounter: String(srcCounter ?? '0'), next: next.toString(), exhausted: exhausted === 1, stays: stayed };
    },
    async settle(held, deliveredIds, after, counters) {
      const r = need();
      const keys = sourceKeys(src, r);
      const [finished, returned, stuck, next] = await scripts().queuectlXSettle(keys.length, ...keys, src, r.layout.flight, held.token, r.owner, LEASE_MS, after, '1', ...deliveredIds).catch(refusal);
      const out: Settled = { finished: new Map(), returned: Number(returned), stuck: stuck.map(String), next: String(next) };
      for (let i = 0; i < finished.length; i += 2) out.finished.set(String(finished[i]), Number(finished[i + 1]));
      // Progress counters lag the queues by at most this batch after a crash; the queues stay exact.
      const key = journalKey(prefix, runId);
      const tx = session.client.multi();
      let n = 0;
      for (const [dest, row] of Object.entries(counters.moved)) {
        for (const [st, c] of Object.entries(row)) {
          if (!c) continue;
          tx.hincrby(key, `moved:${dest}:${st}`, c);
          n += c;
        }
      }
      tx.hincrby(key, 'moved', n);
      for (const rn of counters.renamed) tx.hset(key, `id:${rn.queue}:${rn.from}`, rn.to);
      if (counters.renamed.length > 0) tx.hincrby(key, 'renamed', counters.renamed.length);
      if (counters.duplicates.length > 0) tx.hincrby(key, 'duplicates', counters.duplicates.length);
      await tx.hset(key, 'updated', Date.now()).exec();
      return out;
    },
    async flights() {
      const out: Flight[] = [];
      for (const [token, record] of await readFlights(session.client, need())) {
        const names = record.q ?? routing.dests;
        out.push({ token, state: record.s, ids: record.ids, dests: record.d.map((d) => names[d - 1]) });
      }
      return out;
    },
    reconnect: () => session.reconnect(),
    close: () => session.handle.close(),
  };
}

/** Windows the plan keeps in flight: the next is classified while the last reply travels and is read. */
const PLAN_IN_FLIGHT = 2;

/**
 * The plan, from the source alone: the take script's dry mode classifies each window (writes
 * nothing) and answers counts per destination, not one entry per job. Windows are read by offset,
 * PLAN_IN_FLIGHT at a time, so Redis never waits on the client between two of them.
 */
async function planRedis(session: RedisSession, prefix: string, routing: Routing, topology: Topology, states: MovableState[], batch: number, signal: AbortSignal): Promise<Plan> {
  const scripts = withCrossSlotScripts(session.client);
  const plan = emptyPlan(routing, states);
  const src = queuePrefix(prefix, routing.from);
  const routes = JSON.stringify(routing.routes);
  const dry = `${prefix}:queuectl:xmove:plan:{${hashTagOf(src)}}:`;
  for (const state of states) {
    const keys = [src + state, src + 'events', src + 'meta', dry + 'inflight', dry + 'lease', src + 'marker'];
    const window = (offset: number) => scripts.queuectlXTakeBuffer(keys.length, ...keys, state, src, batch, '', '', routes, '', dry, '', 0, String(offset), 'count');
    const inFlight = Array.from({ length: PLAN_IN_FLIGHT }, (_, k) => window(k * batch));
    for (let offset = PLAN_IN_FLIGHT * batch; ; offset += batch) {
      const [, , exhausted, staysRaw, countsRaw, bad] = await inFlight.shift()!;
      addBadKeys(plan.blocked, badKeysOf(bad));
      let counted = 0;
      for (let i = 0; i < countsRaw.length; i += 2) {
        const n = Number(countsRaw[i + 1]);
        addMove(plan, routing.dests[Number(countsRaw[i]) - 1], state, n);
        counted += n;
      }
      plan.scanned += recordStays(plan, staysRaw.map(String), routing, topology, state) + counted;
      if (exhausted === 1 || signal.aborted) break;
      inFlight.push(window(offset));
    }
    // Windows sent past the end answer nothing; they are awaited so none is left unhandled.
    await Promise.allSettled(inFlight);
    if (signal.aborted) return plan;
  }
  await addNeverMoving(session.client, plan, src, !routing.fromDeclared);
  if (plan.blocked.length > 0) throw badKeyError(plan.blocked, 'plan');
  return plan;
}
