import type { Topology } from '../topology/types.js';
import { dict } from '../util/dict.js';
import { UsageError } from '../errors.js';
import { unknownQueueError } from '../util/queue-names.js';

/** Why a job with a given name does not move (decided by name alone). */
export type NameStay = 'unowned' | 'owned' | 'filtered';

export interface Routing {
  from: string;
  /** The source is a declared queue: only the jobs it does not own move (repairs misrouting). */
  fromDeclared: boolean;
  to?: string;
  names?: string[];
  /** Destination queues, in the order the Lua script indexes them (1-based there). */
  dests: string[];
  /** Job name → 1-based index into dests; "*" routes every name (only with --to and no --names). */
  routes: Record<string, number>;
}

export interface RoutingInput {
  from: string;
  to?: string;
  names?: string[];
}

/**
 * Decides where each job name goes: `--to` (or the legacy entry's `to`) sends everything to one
 * queue, otherwise each name goes to the declared queue that owns it.
 */
export function buildRouting(topology: Topology, input: RoutingInput): Routing {
  const { from, names } = input;
  const fromDeclared = from in topology.queues;
  if (!fromDeclared && !(from in topology.legacy)) {
    throw unknownQueueError({ name: from, known: [...Object.keys(topology.queues), ...Object.keys(topology.legacy)], flag: '--from', isNot: 'is neither a legacy nor a declared queue in the topology', otherwise: `add it under legacy: (e.g. "${from}: { note: ... }") or check the name` });
  }
  const to = input.to ?? topology.legacy[from]?.to;
  if (to !== undefined && !(to in topology.queues)) {
    throw unknownQueueError({ name: to, known: Object.keys(topology.queues), flag: input.to === undefined ? `legacy.${from}.to` : '--to', isNot: 'is not a declared queue', otherwise: `declare it under queues: or pick one of ${Object.keys(topology.queues).join(', ')}` });
  }
  if (to === from) throw new UsageError(`--from and --to are the same queue "${from}"`, 'name a different destination');

  const dests: string[] = [];
  // dict(): a job named "toString" must not find a route on Object.prototype.
  const routes = dict<number>();
  const indexOf = (queue: string) => {
    let i = dests.indexOf(queue);
    if (i < 0) i = dests.push(queue) - 1;
    return i + 1;
  };
  if (to !== undefined) {
    if (names) for (const name of names) routes[name] = indexOf(to);
    else routes['*'] = indexOf(to);
  } else {
    for (const queue of Object.values(topology.queues)) {
      if (queue.name === from) continue;
      for (const name of queue.jobs) if (!names || names.includes(name)) routes[name] = indexOf(queue.name);
    }
  }
  return { from, fromDeclared, to, names, dests, routes };
}

/** Where a job with this name goes, or why it stays. */
export function routeName(routing: Routing, topology: Topology, name: string): { dest: string } | { stay: NameStay } {
  if (routing.names && !routing.names.includes(name)) return { stay: 'filtered' };
  const index = routing.routes[name] ?? routing.routes['*'];
  if (index !== undefined) return { dest: routing.dests[index - 1] };
  const owned = topology.queues[routing.from]?.jobs.includes(name);
  return { stay: owned ? 'owned' : 'unowned' };
}
