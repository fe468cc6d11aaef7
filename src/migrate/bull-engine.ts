import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { UsageError } from '../errors.js';
import type { RedisMode } from '../redis/types.js';
import { loadLua } from '../util/lua.js';
import { sleep } from '../util/sleep.js';
import { dict } from '../util/dict.js';
import { emptyResult, type ApplyOptions, type ApplyResult } from './apply.js';
import { addBadKeys, badKeysOf, refusal } from './bad-keys.js';
import type { Engine } from './engine.js';
import { destinationKeys, hashTagOf, queuePrefix, type MovableState } from './keys.js';
import { addMove, addStay, addTo, emptyPlan, recordStays, type Plan } from './plan.js';
import type { Routing } from './routing.js';
import type { ScanOptions } from './scan.js';
import { countDestinations } from './verify.js';
import { readBullRepeatables } from './bull-repeat.js';

/**
 * `migrate --from <Bull queue>` (issue 20): the same run as every Redis move (move-run.ts: plan,
 * confirmation, journal, verify; the run's lease and journal in src/commands/migrate.ts), with
 * Bull's layout read by lua/bull-move-batch.lua, one atomic script per batch. Bull keeps waiting
 * and prioritized jobs in one list (`paused` while paused), so a list batch fills two destination
 * states; the plan, the counters and verify are per destination state, as for a BullMQ source.
 */

/** The Bull keys a run reads for the destination states in --states. */
type BullSource = 'wait' | 'paused' | 'delayed' | 'failed';
const DEST_STATES: MovableState[] = ['wait', 'prioritized', 'delayed', 'failed'];

export function bullSources(states: MovableState[]): BullSource[] {
  const out: BullSource[] = [];
  if (states.includes('wait') || states.includes('prioritized')) out.push('wait', 'paused');
  if (states.includes('delayed')) out.push('delayed');
  if (states.includes('failed')) out.push('failed');
  return out;
}

export const SCRIPT = 'queuectlBullMoveBatch';
/** moved, boundary, exhausted, stays (id, reason, name, state), perDest (4 per destination), badKeys, renamed, duplicates (dest, id, name, state), notes. */
export type BullReply = [number, string, number, string[], number[], string[], (string | number)[], (string | number)[], (string | number)[]];
export type Scripted = { [SCRIPT]: (...args: (string | number)[]) => Promise<BullReply> };

/** The Bull move script (lua/bull-move-batch.lua), for dlq's retry of Bull failed jobs too (src/dlq/bull-retry.ts). */
export function scripted(client: Redis | Cluster): Scripted {
  if (!(SCRIPT in client)) client.defineCommand(SCRIPT, { lua: loadLua(new URL('./lua/bull-move-batch.lua', import.meta.url)) });
  return client as unknown as Scripted;
}

function callArgs(prefix: string, routing: Routing, states: MovableState[], journalKey: string): { keysFor: (s: BullSource) => string[]; config: string; src: string } {
  const src = queuePrefix(prefix, routing.from);
  const destKeys = routing.dests.flatMap((d) => destinationKeys(prefix, d));
  const config = JSON.stringify({ dests: routing.dests.map((d) => queuePrefix(prefix, d)), names: routing.dests, routes: routing.routes, states: Object.fromEntries(states.map((s) => [s, true])) });
  return { src, config, keysFor: (s) => [src + s, src + 'priority', journalKey, ...destKeys, src + 'id'] };
}

/** Per-destination-state counts of one call (4 per destination) into a destination → state table. */
function eachCount(perDest: number[], dests: string[], add: (dest: string, state: MovableState, n: number) => void): number {
  let total = 0;
  perDest.forEach((n, i) => {
    if (n > 0) {
      add(dests[Math.floor(i / 4)], DEST_STATES[i % 4], n);
      total += n;
    }
  });
  return total;
}

function addNotes(plan: Plan, notes: (string | number)[]): void {
  const bull = (plan.bull ??= { options: dict(), repeatable: [] });
  for (let i = 0; i < notes.length; i += 2) bull.options[String(notes[i])] = (bull.options[String(notes[i])] ?? 0) + Number(notes[i + 1]);
}

/** One call's stays: `outside` ones (destination state not in --states) are left-out counts, the rest stays as for BullMQ. */
function recordBullStays(plan: Plan, stays: string[], options: ScanOptions): number {
  const byState = new Map<MovableState, string[]>();
  for (let i = 0; i < stays.length; i += 4) {
    const state = (stays[i + 3] || 'wait') as MovableState;
    if (stays[i + 1] === 'outside') {
      plan.outside[state] = (plan.outside[state] ?? 0) + 1;
      continue;
    }
    const list = byState.get(state) ?? [];
    list.push(stays[i], stays[i + 1], stays[i + 2]);
    byState.set(state, list);
  }
  let n = 0;
  for (const [state, list] of byState) n += recordStays(plan, list, options.routing, options.topology, state);
  return n;
}

function recordDuplicates(plan: Plan, dests: string[], dups: (string | number)[]): void {
  for (let i = 0; i < dups.length; i += 4) {
    addTo(plan.duplicates, dests[Number(dups[i]) - 1], dups[i + 3] as MovableState, 1);
    if (plan.duplicateExamples.length < 5) plan.duplicateExamples.push(String(dups[i + 1]));
  }
}

/** The plan: every source key classified in windows by the move's own script, writing nothing. */
async function scanBull(options: ScanOptions, journalKey: string): Promise<Plan> {
  const { client, prefix, routing, states, batch, signal } = options;
  const plan = emptyPlan(routing, states);
  const run = scripted(client);
  const { keysFor, config, src } = callArgs(prefix, routing, states, journalKey);
  for (const source of bullSources(states)) {
    const keys = keysFor(source);
    for (let offset = 0, exhausted = false; !exhausted && !signal?.aborted; offset += batch) {
      const [, , done, stays, perDest, bad, renamed, dups, notes] = await run[SCRIPT](keys.length, ...keys, source, src, batch, '', '', config, String(offset));
      addBadKeys(plan.blocked, badKeysOf(bad as string[]));
      for (let i = 0; i < renamed.length; i += 3) {
        plan.renamed.count += 1;
        if (plan.renamed.examples.length < 5) plan.renamed.examples.push(String(renamed[i + 1]));
      }
      recordDuplicates(plan, routing.dests, dups);
      const moving = eachCount(perDest, routing.dests, (d, s, n) => addMove(plan, d, s, n));
      plan.scanned += recordBullStays(plan, stays, options) + moving;
      addNotes(plan, notes);
      exhausted = done === 1;
    }
  }
  await addBullNeverMoving(client, plan, src);
  const repeatable = await readBullRepeatables(client, prefix, routing.from, options.topology, routing.to);
  if (repeatable.length > 0) (plan.bull ??= { options: dict(), repeatable: [] }).repeatable = repeatable;
  return plan;
}

/** Active jobs (a Bull worker holds them until it finishes), completed ones, and states outside --states. */
async function addBullNeverMoving(client: Redis | Cluster, plan: Plan, src: string): Promise<void> {
  const pipe = client.pipeline().llen(src + 'active').lrange(src + 'active', -5, -1).zcard(src + 'completed');
  if (!plan.states.includes('delayed')) pipe.zcard(src + 'delayed');
  if (!plan.states.includes('failed')) pipe.zcard(src + 'failed');
  const replies = ((await pipe.exec()) ?? []).map((r) => r[1]);
  const [active, activeIds, completed, ...rest] = replies;
  if (Number(active) > 0) addStay(plan, 'active', Number(active), activeIds as string[], undefined, 'active');
  if (Number(completed) > 0) plan.outside.completed = Number(completed);
  let i = 0;
  if (!plan.states.includes('delayed') && Number(rest[i++]) > 0) plan.outside.delayed = Number(rest[i - 1]);
  if (!plan.states.includes('failed') && Number(rest[i++]) > 0) plan.outside.failed = Number(rest[i - 1]);
}

/**
 * Calls in flight at once, as apply.ts sends them: each reads its window when Redis runs it, so a
 * second call with the same boundary takes the jobs after the first call's, or re-reads the first
 * call's stays (counted once below); after a call that left jobs in place the next goes alone.
 */
const IN_FLIGHT = 2;

/** One call's classification into a one-pass run's plan; `earlier`: the stays of the call before it in the same round. */
function recordCall(record: NonNullable<ApplyOptions['record']>, options: ApplyOptions, earlier: string[], reply: BullReply): string[] {
  const { plan, topology } = record;
  const [, , , stays, perDest, , renamed, dups, notes] = reply;
  const seen = new Map<string, number>();
  for (let i = 0; i < earlier.length; i += 4) seen.set(earlier[i], (seen.get(earlier[i]) ?? 0) + 1);
  const fresh: string[] = [];
  for (let i = 0; i < stays.length; i += 4) {
    const again = seen.get(stays[i]) ?? 0;
    if (again > 0) seen.set(stays[i], again - 1);
    else fresh.push(stays[i], stays[i + 1], stays[i + 2], stays[i + 3]);
  }
  for (let i = 0; i < renamed.length; i += 3) {
    plan.renamed.count += 1;
    if (plan.renamed.examples.length < 5) plan.renamed.examples.push(String(renamed[i + 1]));
  }
  recordDuplicates(plan, options.routing.dests, dups);
  const moving = eachCount(perDest, options.routing.dests, (d, st, n) => addMove(plan, d, st, n));
  plan.scanned += recordBullStays(plan, fresh, { ...options, topology, batch: options.batch }) + moving;
  addNotes(plan, notes);
  return stays;
}

/** Moves batch by batch, oldest first, until every source key is exhausted (with --follow: until quiet). */
async function applyBull(options: ApplyOptions): Promise<ApplyResult> {
  const { prefix, routing, states, signal, journalKey } = options;
  const run = scripted(options.client);
  const { keysFor, config, src } = callArgs(prefix, routing, states, journalKey);
  const tombstone = `queuectl:moving:${randomBytes(8).toString('hex')}`;
  const batch = options.rate ? Math.max(1, Math.min(options.batch, Math.ceil(options.rate / 10))) : options.batch;
  const result = emptyResult();
  const started = Date.now();
  let quietSince = Date.now();
  for (;;) {
    let movedInPass = 0;
    for (const source of bullSources(states)) {
      const keys = keysFor(source);
      let boundary = '';
      let keptSome = false;
      for (let exhausted = false; !exhausted; ) {
        if (signal?.aborted) return { ...result, interrupted: true };
        const depth: number = options.rate || keptSome ? 1 : IN_FLIGHT;
        keptSome = false;
        const calls: Promise<BullReply>[] = Array.from({ length: depth }, () => run[SCRIPT](keys.length, ...keys, source, src, batch, boundary, tombstone, config, ''));
        let earlier: string[] = [];
        for (const reply of await Promise.all(calls).catch(refusal)) {
          const [n, next, done, stays, perDest, , renamed, dups] = reply;
          if (options.record) earlier = recordCall(options.record, options, earlier, reply);
          eachCount(perDest, routing.dests, (d, st, c) => {
            const row = (result.moved[d] ??= {});
            row[st] = (row[st] ?? 0) + c;
          });
          for (let i = 0; i < renamed.length; i += 3) result.renamed.push({ queue: routing.dests[Number(renamed[i]) - 1], from: String(renamed[i + 1]), to: String(renamed[i + 2]) });
          for (let i = 0; i < dups.length; i += 4) {
            const queue = routing.dests[Number(dups[i]) - 1];
            result.duplicates.push({ queue, id: String(dups[i + 1]), name: String(dups[i + 2]) });
            const row = (result.removed[queue] ??= {});
            const st = dups[i + 3] as MovableState;
            row[st] = (row[st] ?? 0) + 1;
          }
          for (let i = 0; i < stays.length && result.stayed.length < 20; i += 4) {
            if (stays[i + 1] !== 'outside' && !result.stayed.some((x) => x.id === stays[i])) result.stayed.push({ id: stays[i], reason: stays[i + 1], name: stays[i + 2] });
          }
          result.total += n;
          movedInPass += n;
          keptSome ||= stays.length > 0;
          // The calls ran in order: the last one's boundary is the furthest.
          boundary = next;
          if (done === 1) exhausted = true;
        }
        options.onProgress?.({ moved: result.total, state: source === 'paused' ? 'wait' : source, elapsedMs: Date.now() - started });
        if (options.rate) await sleep((result.total / options.rate) * 1000 - (Date.now() - started), signal);
      }
    }
    if (!options.follow) return result;
    if (movedInPass > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= options.follow.quietMs) return result;
    else await sleep(options.follow.pollMs ?? 500, signal);
  }
}

/**
 * A one-pass run (--yes, no --follow): the move's own classification is the plan. Before the
 * first write, the keys every batch touches are checked by the script's check mode (what is wrong
 * goes to `plan.blocked`, and nothing moves); what never moves and the repeatable jobs are added.
 */
async function startBullOnePass(options: Omit<ApplyOptions, 'batch'>, topology: ScanOptions['topology']): Promise<{ plan: Plan; jobs: number }> {
  const { client, prefix, routing, states, journalKey } = options;
  const plan = emptyPlan(routing, states);
  const run = scripted(client);
  const { keysFor, config, src } = callArgs(prefix, routing, states, journalKey);
  const sources = bullSources(states);
  for (const source of sources) {
    const keys = keysFor(source);
    const reply = await run[SCRIPT](keys.length, ...keys, source, src, 0, '', '', config, 'check');
    addBadKeys(plan.blocked, badKeysOf(reply[5] as string[]));
  }
  await addBullNeverMoving(client, plan, src);
  const repeatable = await readBullRepeatables(client, prefix, routing.from, topology, routing.to);
  if (repeatable.length > 0) (plan.bull ??= { options: dict(), repeatable: [] }).repeatable = repeatable;
  const pipe = client.pipeline();
  for (const source of sources) (source === 'wait' || source === 'paused' ? pipe.llen(src + source) : pipe.zcard(src + source));
  const sizes = ((await pipe.exec()) ?? []).map((r) => Number(r[1] ?? 0));
  return { plan, jobs: sizes.reduce((a, n) => a + n, 0) };
}

/**
 * The Bull engine. On Redis Cluster every key of a batch must share one slot: Bull itself needs a
 * hash-tag prefix (`{bull}`), and then the destinations and journal under that prefix share it.
 * Queue names carrying their own tags would need the cross-slot protocol, which parks BullMQ jobs
 * as they are: refused, in one line.
 */
export function bullEngine(mode: RedisMode, prefix: string, routing: Routing, journalKey: string, topology: ScanOptions['topology']): Engine {
  if (mode === 'cluster') {
    const tag = hashTagOf(queuePrefix(prefix, routing.from));
    const apart = [...routing.dests.map((d) => queuePrefix(prefix, d)), journalKey].filter((k) => hashTagOf(k) !== tag);
    if (apart.length > 0) {
      throw new UsageError(`migrate from the Bull queue ${routing.from} needs its keys, its destinations' and the journal's in one hash slot, and ${apart[0]}… hashes apart from ${queuePrefix(prefix, routing.from)}…`, 'use a hash-tag prefix such as "{bull}" for both the Bull and the BullMQ queues (Bull itself needs one on a cluster), with untagged queue names');
    }
  }
  return {
    crossSlot: false,
    prepare: async () => undefined,
    scan: (options) => scanBull(options, journalKey),
    count: countDestinations,
    apply: applyBull,
    startOnePass: (options) => startBullOnePass(options, topology),
  };
}
