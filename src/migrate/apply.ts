import { randomBytes } from 'node:crypto';
import { dict } from '../util/dict.js';
import type { Cluster, Redis } from 'ioredis';
import { destinationKeys, queuePrefix, type MovableState } from './keys.js';
import type { Routing } from './routing.js';
import { loadLua } from '../util/lua.js';
import { sleep } from '../util/sleep.js';
import { addBadKeys, badKeysOf, refusal } from './bad-keys.js';
import { addMove, recordIdOutcomes, recordStays, type Plan } from './plan.js';
import type { Topology } from '../topology/types.js';

/** destination → state → jobs. */
export type Moves = Record<string, Partial<Record<MovableState, number>>>;

export interface StayedJob {
  id: string;
  /** As the script saw it: `unrouted` means the name has no destination in this run. */
  reason: string;
  name: string;
}

export interface ApplyProgress {
  moved: number;
  state: MovableState;
  elapsedMs: number;
}

export interface ApplyOptions {
  client: Redis | Cluster;
  prefix: string;
  routing: Routing;
  states: MovableState[];
  journalKey: string;
  /** Jobs per script call (each call is one atomic step). */
  batch: number;
  /** Jobs per second, at most. */
  rate?: number;
  /** Keep moving arrivals until nothing moved for this long (the cutover window). */
  follow?: { quietMs: number; pollMs?: number };
  signal?: AbortSignal;
  onProgress?: (progress: ApplyProgress) => void;
  /**
   * A one-pass run: the move's own classification of every job it reads fills this plan (moves,
   * stays, renamed, duplicates), so nothing reads the source twice. Not with `follow` (each pass
   * re-reads what stays).
   */
  record?: { plan: Plan; topology: Topology };
}

export interface ApplyResult {
  moved: Moves;
  total: number;
  interrupted: boolean;
  /** A few jobs the script left in place (the final plan says how many and why). */
  stayed: StayedJob[];
  /** Jobs moved under a fresh id: their numeric id was taken in the destination (also in the journal). */
  renamed: RenamedJob[];
  /** Legacy copies removed because the destination holds the same job (same custom id, name and data). */
  duplicates: { queue: string; id: string; name: string }[];
  /** destination → state → duplicates removed (verify counts them as leaving the source). */
  removed: Moves;
}

export interface RenamedJob {
  queue: string;
  from: string;
  to: string;
}

/** A result before any call. */
export function emptyResult(): ApplyResult {
  return { moved: dict(), total: 0, interrupted: false, stayed: [], renamed: [], duplicates: [], removed: dict() };
}

const SCRIPT = 'queuectlMoveBatch';
const lua = () => loadLua(new URL('./lua/move-batch.lua', import.meta.url));
/** moved, boundary, exhausted, stays, movedPerDest, badKeys, renamed (dest, old, new), duplicates (dest, id, name). */
export type MoveReply = [number, string, number, string[], number[], string[], (string | number)[], (string | number)[]];
export type Scripted = { [SCRIPT]: (...args: (string | number)[]) => Promise<MoveReply> };

/** Loads the script once per client; ioredis sends EVALSHA and falls back to EVAL. */
export function withMoveScript(client: Redis | Cluster): Scripted {
  if (!(SCRIPT in client)) client.defineCommand(SCRIPT, { lua: lua() });
  return client as unknown as Scripted;
}

/**
 * Calls in flight at once. Each call reads its window when Redis runs it and decides every job
 * there itself, so a second call sent with the same boundary is as safe as a sequential one: it
 * takes the jobs after the first call's, or re-reads the first call's stays (reported twice, never
 * moved). It only keeps Redis busy while the first reply travels back (~6% of a run), so after a
 * call that left jobs in place the next one goes alone, past them.
 */
const IN_FLIGHT = 2;

/** Renamed jobs and removed duplicates of one call (flat dest index, id, new id / name). */
export function recordIdPolicy(result: ApplyResult, dests: string[], state: MovableState, renamed: (string | number)[], dups: (string | number)[]): void {
  for (let i = 0; i < renamed.length; i += 3) result.renamed.push({ queue: dests[Number(renamed[i]) - 1], from: String(renamed[i + 1]), to: String(renamed[i + 2]) });
  for (let i = 0; i < dups.length; i += 3) {
    const queue = dests[Number(dups[i]) - 1];
    result.duplicates.push({ queue, id: String(dups[i + 1]), name: String(dups[i + 2]) });
    const row = (result.removed[queue] ??= {});
    row[state] = (row[state] ?? 0) + 1;
  }
}

/**
 * One call's classification into a one-pass run's plan, as the dry run's scanPlan records it. A
 * call sent beside the one before it re-reads that call's stays (see IN_FLIGHT): those are
 * counted once. Returns this call's stays, for the next call of the same round.
 */
function recordCall(record: NonNullable<ApplyOptions['record']>, routing: Routing, state: MovableState, earlier: string[], stays: string[], perDest: number[], renamed: (string | number)[], dups: (string | number)[]): string[] {
  const { plan, topology } = record;
  const seen = new Map<string, number>();
  for (let i = 0; i < earlier.length; i += 3) seen.set(earlier[i], (seen.get(earlier[i]) ?? 0) + 1);
  const fresh: string[] = [];
  for (let i = 0; i < stays.length; i += 3) {
    const again = seen.get(stays[i]) ?? 0;
    if (again > 0) seen.set(stays[i], again - 1);
    else fresh.push(stays[i], stays[i + 1], stays[i + 2]);
  }
  recordIdOutcomes(plan, routing.dests, state, renamed, dups);
  perDest.forEach((n, i) => n > 0 && addMove(plan, routing.dests[i], state, n));
  plan.scanned += recordStays(plan, fresh, routing, topology, state) + perDest.reduce((a, n) => a + n, 0);
  return stays;
}

/**
 * Before the first write of a one-pass run: every key each state's batches touch besides the
 * jobs' own (source state, events, meta and id, the journal, each destination's ten keys), checked
 * by move-batch.lua in its check mode; what is wrong goes to `plan.blocked`. The jobs' own keys
 * are checked by each batch, which is refused whole when one is wrong.
 */
export async function checkMoveKeys(options: Pick<ApplyOptions, 'client' | 'prefix' | 'routing' | 'states' | 'journalKey'>, plan: Plan): Promise<void> {
  const { prefix, routing } = options;
  const client = withMoveScript(options.client);
  const src = queuePrefix(prefix, routing.from);
  const destKeys = routing.dests.flatMap((d) => destinationKeys(prefix, d));
  const config = JSON.stringify({ dests: routing.dests.map((d) => queuePrefix(prefix, d)), names: routing.dests, routes: routing.routes });
  const replies = await Promise.all(options.states.map((state) => {
    const keys = [src + state, src + 'events', src + 'meta', options.journalKey, ...destKeys, src + 'id'];
    return client[SCRIPT](keys.length, ...keys, state, src, 0, '', '', config, 'check', '');
  }));
  for (const reply of replies) addBadKeys(plan.blocked, badKeysOf(reply[5]));
}

/**
 * Moves jobs state by state, oldest first, one atomic script call per batch. Stops between two
 * calls on abort, so whatever happened is consistent and a rerun continues it.
 */
export async function applyMoves(options: ApplyOptions): Promise<ApplyResult> {
  const { prefix, routing, states, signal } = options;
  const client = withMoveScript(options.client);
  const src = queuePrefix(prefix, routing.from);
  const destKeys = routing.dests.flatMap((d) => destinationKeys(prefix, d));
  const config = JSON.stringify({ dests: routing.dests.map((d) => queuePrefix(prefix, d)), names: routing.dests, routes: routing.routes });
  // Marks list slots being cut out; ':' keeps it from ever being a real job id.
  const tombstone = `queuectl:moving:${randomBytes(8).toString('hex')}`;
  const batch = options.rate ? Math.max(1, Math.min(options.batch, Math.ceil(options.rate / 10))) : options.batch;
  const result = emptyResult();
  const started = Date.now();
  let quietSince = Date.now();

  for (;;) {
    let movedInPass = 0;
    for (const state of states) {
      const keys = [src + state, src + 'events', src + 'meta', options.journalKey, ...destKeys, src + 'id'];
      let boundary = '';
      let keptSome = false;
      for (let exhausted = false; !exhausted; ) {
        if (signal?.aborted) return { ...result, interrupted: true };
        const depth: number = options.rate || keptSome ? 1 : IN_FLIGHT;
        keptSome = false;
        const calls = Array.from({ length: depth }, () => client[SCRIPT](keys.length, ...keys, state, src, batch, boundary, tombstone, config, ''));
        let earlier: string[] = [];
        for (const [n, next, done, stays, perDest, , renamed, dups] of await Promise.all(calls).catch(refusal)) {
          if (options.record) earlier = recordCall(options.record, routing, state, earlier, stays, perDest, renamed, dups);
          recordIdPolicy(result, routing.dests, state, renamed, dups);
          perDest.forEach((count, i) => {
            if (count > 0) {
              const row = (result.moved[routing.dests[i]] ??= {});
              row[state] = (row[state] ?? 0) + count;
            }
          });
          result.total += n;
          movedInPass += n;
          keptSome ||= stays.length > 0;
          for (let i = 0; i < stays.length && result.stayed.length < 20; i += 3) {
            if (!result.stayed.some((s) => s.id === stays[i])) result.stayed.push({ id: stays[i], reason: stays[i + 1], name: stays[i + 2] });
          }
          // The calls ran in order: the last one's boundary is the furthest.
          boundary = next;
          if (done === 1) exhausted = true;
        }
        options.onProgress?.({ moved: result.total, state, elapsedMs: Date.now() - started });
        if (options.rate) await sleep((result.total / options.rate) * 1000 - (Date.now() - started), signal);
      }
    }
    if (!options.follow) return result;
    if (movedInPass > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= options.follow.quietMs) return result;
    else await sleep(options.follow.pollMs ?? 500, signal);
  }
}

