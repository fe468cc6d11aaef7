import type { Cluster, Redis } from 'ioredis';
import type { QueueLayoutName } from '../topology/types.js';
import type { LiveQueue, LiveWorker, QueueKind } from './types.js';
import { execReads, toNumber, toOptionalNumber, type ReadCommand, type RedisReader } from './reads.js';
import { bullLayout } from './bull-reads.js';
import { bullmqSigns, bullSigns, EVIDENCE_READS, evidenceReads, judgeLayout, mergeSigns, type LayoutFirstRound, type QueueLayoutReader } from './layout.js';
import { sampleJobs } from './job-sample.js';

export interface QueueTarget {
  name: string;
  kind: QueueKind;
  /** BullMQ for a declared queue, the `kind` of a legacy one; absent: told from the keys (src/inspect/layout.ts). */
  layout?: QueueLayoutName;
}

export interface ReadQueuesOptions {
  /** Queues per round of commands, so one reply never grows with the number of queues. */
  batchSize?: number;
  /** Clock for the oldest job's age (tests pin it). */
  now?: () => number;
  /** Skip CLIENT LIST (workers stay undefined). */
  workers?: boolean;
}

/**
 * The per-queue reads, in order. Only read commands, so a read-only ACL user can run inspect.
 * `paused` is the 5.x pause list (6.x keeps paused jobs in `wait`); its jobs count as waiting.
 */
export const STATE_READS = [
  ['llen', 'wait'], ['llen', 'paused'], ['llen', 'active'],
  ['zcard', 'prioritized'], ['zcard', 'delayed'], ['zcard', 'failed'], ['zcard', 'completed'],
  ['zcard', 'waiting-children'], ['scard', 'stalled'],
] as const;
// opts.maxLenEvents is read as a sign of BullMQ's layout only (layout.ts).
const META_FIELDS = ['paused', 'version', 'concurrency', 'max', 'duration', 'opts.maxLenEvents'] as const;

/** Builds the first round of reads for one queue: counts, meta, and the candidates for "oldest". */
export function queueReads(prefix: string, name: string): ReadCommand[] {
  const key = (suffix: string) => `${prefix}:${name}:${suffix}`;
  return [
    ...STATE_READS.map(([cmd, suffix]): ReadCommand => [cmd, key(suffix)]),
    ['hmget', key('meta'), ...META_FIELDS],
    ['exists', key('meta')],
    ['exists', key('id')],
    // Producers LPUSH and workers take from the right: the right end of `wait` is the oldest job.
    // A 5.x "0:<n>" marker may sit there; then the job before it is the oldest.
    ['lrange', key('wait'), -2, -1],
    ['lindex', key('paused'), -1],
    // Without waiting jobs, the next prioritized job to run is the lowest score.
    ['zrange', key('prioritized'), 0, 0],
  ];
}
const READS_PER_QUEUE = STATE_READS.length + 6;

interface FirstRound {
  queue: Omit<LiveQueue, 'oldestWaitingMs' | 'workers'>;
  /** Id of the job whose age is the oldest wait, if any. */
  oldestId?: string;
}

/** Turns one queue's first-round replies into counts, meta and the oldest candidate. Pure. */
export function parseQueueReads(target: QueueTarget, replies: unknown[]): FirstRound {
  const n = replies.slice(0, STATE_READS.length).map(toNumber);
  const [wait, pausedList, active, prioritized, delayed, failed, completed, waitingChildren, stalled] = n;
  const meta = (replies[STATE_READS.length] as (string | null)[] | null) ?? [];
  const [metaExists, idExists] = [replies[STATE_READS.length + 1], replies[STATE_READS.length + 2]].map(toNumber);
  const tail = ((replies[STATE_READS.length + 3] as string[] | null) ?? []).slice();
  // Markers in the wait list were deprecated in 5.x; BullMQ's getCounts does not count them.
  let markers = 0;
  while (tail.length > 0 && tail[tail.length - 1].startsWith('0:')) {
    tail.pop();
    markers += 1;
  }
  const waiting = Math.max(0, wait - markers) + pausedList;
  const oldestId = tail[tail.length - 1] ?? (replies[STATE_READS.length + 4] as string | null)
    ?? ((replies[STATE_READS.length + 5] as string[] | null) ?? [])[0];
  const counts = { waiting, prioritized, delayed, active, failed, completed, waitingChildren };
  const holds = Object.values(counts).some((c) => c > 0);
  return {
    queue: {
      name: target.name,
      kind: target.kind,
      exists: holds || metaExists > 0 || idExists > 0,
      counts,
      paused: meta[0] === '1' || pausedList > 0,
      bullmqVersion: meta[1] ?? undefined,
      meta: { concurrency: toOptionalNumber(meta[2]), max: toOptionalNumber(meta[3]), duration: toOptionalNumber(meta[4]) },
      stalled,
    },
    oldestId: waiting + prioritized > 0 ? oldestId : undefined,
  };
}

/**
 * Reads every target queue in rounds of `batchSize` queues: one round of counts per batch, one
 * of oldest-job timestamps, one CLIENT LIST per master in total. Cost grows with queues, not jobs.
 */
export async function readQueues(redis: RedisReader, prefix: string, targets: QueueTarget[], options: ReadQueuesOptions = {}): Promise<LiveQueue[]> {
  const batchSize = options.batchSize ?? 100;
  const now = options.now ?? Date.now;
  const workersPromise = options.workers === false
    ? Promise.resolve(undefined)
    : redis.masters().then((masters) => readWorkers(masters, prefix, targets.map((t) => t.name)));
  const queues: LiveQueue[] = [];
  for (let start = 0; start < targets.length; start += batchSize) {
    const batch = targets.slice(start, start + batchSize);
    const firsts = await readFirstRound(redis.client, prefix, batch);
    const withOldest = firsts.filter((f) => f.oldestId !== undefined);
    const stamps = await execReads(redis.client, withOldest.map((f): ReadCommand => ['hget', `${prefix}:${f.queue.name}:${f.oldestId}`, 'timestamp']));
    const ages = new Map(withOldest.map((f, i) => [f.queue.name, stamps[i]]));
    const at = now();
    for (const first of firsts) {
      const stamp = toOptionalNumber(ages.get(first.queue.name));
      queues.push({ ...first.queue, oldestWaitingMs: stamp === undefined ? null : Math.max(0, at - stamp) });
    }
  }
  const workers = await workersPromise;
  for (const queue of queues) queue.workers = workers?.get(queue.name) ?? (workers ? [] : undefined);
  return queues;
}

/** BullMQ's reads as a layout (Bull's is bull-reads.ts). */
const bullmqLayout: QueueLayoutReader = {
  name: 'bullmq',
  reads: queueReads,
  parse: (target, replies) => {
    const meta = (replies[STATE_READS.length] as (string | null)[] | null) ?? [];
    return { ...parseQueueReads(target, replies.slice(0, READS_PER_QUEUE)), bullmqSigns: bullmqSigns(meta[1], meta[5]) };
  },
};
const LAYOUTS: Record<QueueLayoutName, QueueLayoutReader> = { bullmq: bullmqLayout, bull: bullLayout };

/**
 * Each queue's first round with its layout's reader: the topology's `kind`, else BullMQ's. A
 * queue whose keys turn out to be Bull's (and no kind said otherwise) is read again with Bull's
 * reader: one more round, for those queues only.
 */
async function readFirstRound(client: Redis | Cluster, prefix: string, batch: QueueTarget[]): Promise<LayoutFirstRound[]> {
  const read = async (targets: QueueTarget[], layouts: QueueLayoutReader[]) => {
    const perQueue = targets.map((t, i) => [...layouts[i].reads(prefix, t.name), ...evidenceReads(prefix, t.name)]);
    const replies = await execReads(client, perQueue.flat());
    let at = 0;
    return targets.map((target, i) => {
      const own = replies.slice(at, (at += perQueue[i].length));
      const first = layouts[i].parse(target, own, prefix);
      const verdict = judgeLayout(target.layout, { bull: bullSigns(own.slice(-EVIDENCE_READS)), bullmq: first.bullmqSigns });
      if (verdict.read === 'bull' || verdict.conflict) first.queue.layout = verdict;
      return { first, verdict };
    });
  };
  const layouts = batch.map((t) => LAYOUTS[t.layout ?? 'bullmq']);
  const results = await read(batch, layouts);
  // A legacy queue with no kind: and no Bull key sign: its jobs tell too (src/inspect/job-sample.ts),
  // as in migrate (src/inspect/detect-layout.ts), one bounded sample for those queues only.
  const silent = results.flatMap((r, i) => (batch[i].kind === 'legacy' && !batch[i].layout && r.verdict.signs.bull.length === 0 && r.first.queue.exists ? [i] : []));
  if (silent.length > 0) {
    const samples = await sampleJobs(client, prefix, silent.map((i) => batch[i].name));
    for (const i of silent) {
      const verdict = judgeLayout(undefined, mergeSigns(results[i].verdict.signs, samples.get(batch[i].name)!.signs));
      const shown = verdict.read === 'bull' || verdict.conflict || verdict.undecided;
      results[i] = { first: { ...results[i].first, queue: { ...results[i].first.queue, ...(shown ? { layout: verdict } : {}) } }, verdict };
    }
  }
  const again = results.flatMap((r, i) => (r.verdict.read === layouts[i].name ? [] : [i]));
  if (again.length > 0) {
    const reread = await read(again.map((i) => ({ ...batch[i], layout: results[i].verdict.read })), again.map((i) => LAYOUTS[results[i].verdict.read]));
    // Read with the detected layout, but the verdict keeps saying it was detected, not declared.
    again.forEach((i, j) => (results[i] = { first: { ...reread[j].first, queue: { ...reread[j].first.queue, layout: results[i].verdict } }, verdict: results[i].verdict }));
  }
  return results.map((r) => r.first);
}

/** BullMQ's connection name for a queue's workers: `<prefix>:<base64(name)>`, then `:w:<worker>` when named. */
export function workerClientName(prefix: string, queue: string): string {
  return `${prefix}:${Buffer.from(queue).toString('base64')}`;
}

/**
 * Parses CLIENT LIST output into the workers of each queue, as BullMQ's `getWorkers` matches them
 * (queue events connections end in `:qe` and are not workers). Pure.
 */
export function parseClientList(list: string, prefix: string, queues: string[]): Map<string, LiveWorker[]> {
  const byClientName = new Map(queues.map((q) => [workerClientName(prefix, q), q]));
  const result = new Map<string, LiveWorker[]>();
  for (const line of list.split(/\r?\n/)) {
    const fields = new Map(line.split(' ').map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq), kv.slice(eq + 1)] as const;
    }));
    const clientName = fields.get('name');
    if (!clientName) continue;
    // base64 never contains ':', so the first `:w:` after the prefix ends the queue part.
    const w = clientName.indexOf(':w:', prefix.length + 1);
    const queue = byClientName.get(w === -1 ? clientName : clientName.slice(0, w));
    if (queue === undefined) continue;
    const addr = fields.get('addr') ?? '';
    const worker = { name: w === -1 ? addr : clientName.slice(w + 3), addr, idleSeconds: toNumber(fields.get('idle')) };
    result.set(queue, [...(result.get(queue) ?? []), worker]);
  }
  return result;
}

/**
 * Workers per queue from one CLIENT LIST per master. On a cluster a worker's connection shows on
 * several nodes, so (like BullMQ) each queue takes the node that lists the most. Undefined when
 * CLIENT LIST is refused (some hosted Redis, or an ACL without +client|list).
 */
export async function readWorkers(masters: Redis[], prefix: string, queues: string[]): Promise<Map<string, LiveWorker[]> | undefined> {
  let lists: string[];
  try {
    lists = await Promise.all(masters.map((m) => m.client('LIST') as Promise<string>));
  } catch {
    return undefined;
  }
  const merged = new Map<string, LiveWorker[]>();
  for (const perNode of lists.map((l) => parseClientList(l, prefix, queues))) {
    for (const [queue, workers] of perNode) {
      if (workers.length > (merged.get(queue)?.length ?? 0)) merged.set(queue, workers);
    }
  }
  return merged;
}
