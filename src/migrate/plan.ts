import type { MovableState } from './keys.js';
import type { Topology } from '../topology/types.js';
import { routeName, type Routing } from './routing.js';
import { dict } from '../util/dict.js';
import type { BadKey } from './bad-keys.js';

/** Why a job stays in the source. All but `active` mean the legacy queue cannot be retired yet. */
export type StayReason = 'unowned' | 'active' | 'flow' | 'scheduler' | 'collision' | 'dedup-conflict' | 'locked' | 'missing-hash';
export const STAY_REASONS: StayReason[] = ['unowned', 'active', 'flow', 'scheduler', 'collision', 'dedup-conflict', 'locked', 'missing-hash'];
const EXAMPLES = 5;

export interface StayGroup {
  reason: StayReason;
  count: number;
  /** A few job ids, so the person can look at them (`inspect job`). */
  examples: string[];
  /** Count per job name. */
  names: Record<string, number>;
  /** Count per state the jobs are in (`wait`, `failed`, `active`, `waiting-children`…), when known. */
  states: Record<string, number>;
}

/** States a plan may leave without reading them: movable ones outside --states, and completed. */
export type LeftState = MovableState | 'completed';

/** What a migration will do. Pure data: printable, JSON-able, built by counting, never by listing jobs. */
export interface Plan {
  from: string;
  to?: string;
  states: MovableState[];
  names?: string[];
  /** destination → state → jobs that move. */
  moves: Record<string, Partial<Record<MovableState, number>>>;
  stays: Partial<Record<StayReason, StayGroup>>;
  /**
   * destination → state → jobs whose name routes there but that stay (flow, scheduler, collision…).
   * With `moves` it is every job headed for that destination, which is what a run conserves: a job
   * the plan counted as moving may turn out to stay when the move checks it (see verify.ts).
   */
  routedStays: Record<string, Partial<Record<MovableState, number>>>;
  /** Jobs left alone on purpose: owned by a declared source, or outside --names. */
  untouched: { owned: number; filtered: number };
  /**
   * Jobs in states this plan does not read, left where they are: movable states outside --states
   * (failed, by default), and a legacy source's completed jobs (history: no --states moves them).
   */
  outside: Partial<Record<LeftState, number>>;
  scanned: number;
  /** Keys the move would touch that do not hold what BullMQ keeps there: nothing moves until fixed. */
  blocked: BadKey[];
  /** Moving jobs whose numeric id the destination holds: they get its next id (counted in moves). */
  renamed: { count: number; examples: string[] };
  /** destination → state → legacy copies of jobs the destination holds (same custom id, name, data): removed, not moved. */
  duplicates: Record<string, Partial<Record<MovableState, number>>>;
  duplicateExamples: string[];
  /** A Bull source (bull-engine.ts): what the move translates and what it leaves to a scheduler. */
  bull?: BullPlanNotes;
}

/** What a plan of a Bull source says beyond the counts. */
export interface BullPlanNotes {
  /** Bull option → jobs that carry it where BullMQ has no exact equal (dropped, or different). */
  options: Record<string, number>;
  /** Bull repeatable jobs: never moved; each with the BullMQ job scheduler to declare instead. */
  repeatable: BullRepeatable[];
}

export interface BullRepeatable {
  /** Bull's key in its `repeat` zset (name:jobId:endDate:tz:cron|every). */
  key: string;
  name: string;
  /** The queue that owns the name, when one does. */
  queue?: string;
  /** The `schedulers:` entry to declare under that queue, as YAML flow text. */
  scheduler: string;
}

export function emptyPlan(routing: Routing, states: MovableState[]): Plan {
  return { from: routing.from, to: routing.to, states, names: routing.names, moves: dict(), stays: {}, routedStays: dict(), untouched: { owned: 0, filtered: 0 }, outside: {}, scanned: 0, blocked: [], renamed: { count: 0, examples: [] }, duplicates: dict(), duplicateExamples: [] };
}

export function addStay(plan: Plan, reason: StayReason, count: number, examples: string[], name?: string, state?: string): void {
  const group = (plan.stays[reason] ??= { reason, count: 0, examples: [], names: dict(), states: dict() });
  group.count += count;
  if (state !== undefined) group.states[state] = (group.states[state] ?? 0) + count;
  for (const id of examples) if (group.examples.length < EXAMPLES) group.examples.push(id);
  if (name !== undefined) group.names[name] = (group.names[name] ?? 0) + count;
}

export function addMove(plan: Plan, dest: string, state: MovableState, count = 1): void {
  addTo(plan.moves, dest, state, count);
}

/** Adds to one destination/state cell of `moves` or `routedStays`. */
export function addTo(cells: Plan['moves'], dest: string, state: MovableState, count: number): void {
  const row = (cells[dest] ??= {});
  row[state] = (row[state] ?? 0) + count;
}

/** Jobs that will move, in total and per destination. */
export function movingTotal(plan: Plan, dest?: string): number {
  let total = 0;
  for (const [queue, row] of Object.entries(plan.moves)) {
    if (dest !== undefined && queue !== dest) continue;
    for (const n of Object.values(row)) total += n ?? 0;
  }
  return total;
}

/** Stays that mean the run did not finish its job (exit 1): everything except jobs still running. */
export function problemStays(plan: Plan): StayGroup[] {
  return STAY_REASONS.filter((r) => r !== 'active').map((r) => plan.stays[r]).filter((g): g is StayGroup => g !== undefined && g.count > 0);
}

/**
 * Records the flat `id, reason, name` triples a classify pass (move-batch.lua or
 * cross-slot-take.lua) returns for the jobs of one state left in place; an unrouted name becomes
 * `unowned`, or an untouched job (the source owns it, or it is outside --names). Returns how many
 * triples it read.
 */
export function recordStays(plan: Plan, stays: string[], routing: Routing, topology: Topology, state: MovableState): number {
  for (let i = 0; i < stays.length; i += 3) {
    const [id, reason, name] = [stays[i], stays[i + 1], stays[i + 2]];
    const route = routeName(routing, topology, name);
    if (reason !== 'unrouted') {
      addStay(plan, reason as StayReason, 1, [id], name || undefined, state);
      if (name && 'dest' in route) addTo(plan.routedStays, route.dest, state, 1);
    } else if ('stay' in route) {
      if (route.stay === 'unowned') addStay(plan, 'unowned', 1, [id], name, state);
      else plan.untouched[route.stay] += 1;
    }
  }
  return stays.length / 3;
}

/** The id policy's outcomes of one classify pass: flat dest index, id, _ (renamed) and dest index, id, name (duplicates). */
export function recordIdOutcomes(plan: Plan, dests: string[], state: MovableState, renamed: (string | number)[] = [], dups: (string | number)[] = []): void {
  for (let i = 0; i < renamed.length; i += 3) {
    plan.renamed.count += 1;
    if (plan.renamed.examples.length < EXAMPLES) plan.renamed.examples.push(String(renamed[i + 1]));
  }
  for (let i = 0; i < dups.length; i += 3) {
    addTo(plan.duplicates, dests[Number(dups[i]) - 1], state, 1);
    if (plan.duplicateExamples.length < EXAMPLES) plan.duplicateExamples.push(String(dups[i + 1]));
  }
}

/** Legacy copies the run removes as duplicates, in total. */
export function duplicateTotal(plan: Plan): number {
  let total = 0;
  for (const row of Object.values(plan.duplicates)) for (const n of Object.values(row)) total += n ?? 0;
  return total;
}
