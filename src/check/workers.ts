import type { Redis } from 'ioredis';
import type { WorkerConnection } from './types.js';

/**
 * BullMQ names each worker's blocking connection `<prefix>:<base64(queue)>`, or
 * `<prefix>:<base64(queue)>:w:<worker name>` when the worker has a name (QueueEvents add `:qe`,
 * and are not consumers). Parsing every connection, not asking per known queue, is what finds
 * workers of queues that have no keys at all.
 */
export function parseWorkerConnections(clientList: string, prefix: string): WorkerConnection[] {
  const head = `${prefix}:`;
  const found: WorkerConnection[] = [];
  for (const line of clientList.split(/\r?\n/)) {
    const fields = new Map<string, string>();
    for (const pair of line.split(' ')) {
      const eq = pair.indexOf('=');
      if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const connName = fields.get('name');
    if (!connName?.startsWith(head)) continue;
    const rest = connName.slice(head.length);
    const colon = rest.indexOf(':');
    const encoded = colon === -1 ? rest : rest.slice(0, colon);
    const suffix = colon === -1 ? '' : rest.slice(colon);
    if (suffix !== '' && !suffix.startsWith(':w:')) continue;
    const queue = decodeQueueName(encoded);
    if (queue === undefined) continue;
    const addr = fields.get('addr') ?? '?';
    found.push({ queue, name: suffix ? suffix.slice(3) : addr, addr });
  }
  return found;
}

/** The queue name, or undefined when `encoded` is not the base64 BullMQ would have written. */
function decodeQueueName(encoded: string): string | undefined {
  if (encoded === '' || !/^[A-Za-z0-9+/]+=*$/.test(encoded)) return undefined;
  const name = Buffer.from(encoded, 'base64').toString('utf8');
  return Buffer.from(name, 'utf8').toString('base64') === encoded ? name : undefined;
}

/**
 * Worker connections on every master (a worker talks to the node holding its queue's slot).
 * Undefined when CLIENT LIST is refused (some hosted Redis disable it; an ACL may too).
 */
export async function readWorkerConnections(masters: Redis[], prefix: string): Promise<WorkerConnection[] | undefined> {
  try {
    const lists = await Promise.all(masters.map((m) => m.call('CLIENT', 'LIST') as Promise<string>));
    // On a cluster one worker may show on several nodes: like BullMQ's getWorkers, take for each
    // queue the node that lists the most connections rather than adding them up.
    const best = new Map<string, WorkerConnection[]>();
    for (const list of lists) {
      const perQueue = new Map<string, WorkerConnection[]>();
      for (const w of parseWorkerConnections(list, prefix)) perQueue.set(w.queue, [...(perQueue.get(w.queue) ?? []), w]);
      for (const [queue, conns] of perQueue) if (conns.length > (best.get(queue)?.length ?? 0)) best.set(queue, conns);
    }
    return [...best.values()].flat();
  } catch (error) {
    if (/unknown command|NOPERM|not allowed|disabled/i.test((error as Error).message)) return undefined;
    throw error;
  }
}
