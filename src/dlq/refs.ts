import { UsageError } from '../errors.js';
import { unknownQueueError } from '../util/queue-names.js';
import { execReads, type ReadCommand, type RedisReader } from '../inspect/reads.js';
import { collectItems } from './read.js';
import { DLQ_FIELDS, FAILED_FIELDS, parseDlqItem, parseFailedItem } from './sources.js';
import type { DlqItem, DlqSource, DlqStatus } from './types.js';

export const ALL: DlqStatus[] = ['pending', 'retried', 'discarded'];

/** `<queue>/<id>` split at the longest known queue name (ids may contain "/"); bare id otherwise. */
export function splitRef(ref: string, queues: string[]): { queue?: string; id: string } {
  const queue = queues.filter((q) => ref.startsWith(`${q}/`)).sort((a, b) => b.length - a.length)[0];
  return queue ? { queue, id: ref.slice(queue.length + 1) } : { id: ref };
}

/**
 * Every dead-letter item a reference can mean: `<queue>/<id>` names a failed job, a dead-letter
 * queue item, or (style b) the original queue (declared or `legacy`) and job id it carries; a
 * bare id is looked up everywhere. Items of any status are returned; callers decide what a retried item means.
 */
export async function candidates(reader: RedisReader, prefix: string, sources: DlqSource[], ref: string, legacy: string[] = []): Promise<{ found: DlqItem[]; live: string[] }> {
  const { queue, id } = splitRef(ref, [...refQueues(sources), ...legacy]);
  const found: DlqItem[] = [];
  /** Jobs that exist but are not dead letters (e.g. retried already and waiting). */
  const live: string[] = [];
  const probes: { source: DlqSource; cmds: ReadCommand[] }[] = [];
  for (const source of sources) {
    if (source.style === 'failed' && (queue === undefined || queue === source.queue)) {
      const base = `${prefix}:${source.queue}:`;
      probes.push({ source, cmds: [['zscore', `${base}failed`, id], ['hmget', base + id, ...FAILED_FIELDS]] });
    }
    if (source.style === 'queue' && (queue === undefined || queue === source.dlq)) {
      probes.push({ source, cmds: [['hmget', `${prefix}:${source.dlq}:${id}`, ...DLQ_FIELDS]] });
    }
  }
  const replies = await execReads(reader.client, probes.flatMap((p) => p.cmds));
  let at = 0;
  for (const { source, cmds } of probes) {
    const r = replies.slice(at, (at += cmds.length));
    if (source.style === 'failed') {
      const item = r[0] === null || r[0] === undefined ? undefined : parseFailedItem(source.queue, id, Number(r[0]), r[1] as (string | null)[]);
      if (item) found.push(item);
      else if ((r[1] as (string | null)[] | null)?.[0] != null) live.push(`${source.queue}/${id}`);
    } else {
      const item = parseDlqItem(source.dlq, id, (r[0] as (string | null)[] | null) ?? [], source.fields);
      if (item) found.push(item);
    }
  }
  // Style (b) items are also known by the job they carry: `<original queue>/<original id>` or that id.
  // A legacy queue's jobs may sit in any dead-letter queue.
  const carriers = sources.filter((s) => s.style === 'queue' && (queue === undefined || s.feeds.includes(queue) || legacy.includes(queue)));
  if (carriers.length) {
    const carried = await collectItems(reader, prefix, carriers, { filters: queue ? { queues: [queue] } : {}, statuses: ALL, window: 1000 });
    for (const item of carried) {
      if (item.id === id && (queue === undefined || item.queue === queue) && !found.some((f) => f.ref === item.ref)) found.push(item);
    }
  }
  return { found, live };
}

/** The queue names a `<queue>/<id>` reference may start with. */
export function refQueues(sources: DlqSource[]): string[] {
  return sources.flatMap((s) => (s.style === 'failed' ? [s.queue] : [s.dlq, ...s.feeds]));
}

/**
 * A reference that found nothing and whose `<queue>/` part is close to a known queue is a typo in
 * the queue: say so (exit 2, did-you-mean). Ids may contain "/", so a part that resembles no queue
 * is left to the "no dead letter with that id" message.
 */
function misspeltQueue(ref: string, sources: DlqSource[], legacy: string[]): void {
  const slash = ref.indexOf('/');
  if (slash <= 0) return;
  const names = [...refQueues(sources), ...legacy];
  if (splitRef(ref, names).queue !== undefined) return;
  const error = unknownQueueError({ name: ref.slice(0, slash), known: names, flag: `reference "${ref}":`, isNot: 'is not a declared queue or dead-letter queue' });
  if (error.hint?.startsWith('did you mean')) throw error;
}

/** Exactly one item per reference, or a usage error (exit 2) that lists what was found. */
export function resolveRefs(reader: RedisReader, prefix: string, sources: DlqSource[], refs: string[], legacy: string[] = []): Promise<{ items: DlqItem[]; live: string[] }> {
  return resolveWith((ref) => candidates(reader, prefix, sources, ref, legacy), sources, refs, legacy);
}

/** What one reference can mean on a backend (candidates() on Redis, its twin in postgres-store.ts). */
export type FindCandidates = (ref: string) => Promise<{ found: DlqItem[]; live: string[] }>;

/** resolveRefs over any backend's candidates: the same answers and errors everywhere. */
export async function resolveWith(find: FindCandidates, sources: DlqSource[], refs: string[], legacy: string[]): Promise<{ items: DlqItem[]; live: string[] }> {
  const items: DlqItem[] = [];
  const lives: string[] = [];
  for (const ref of refs) {
    const { found, live } = await find(ref);
    if (found.length === 0 && live.length === 1) {
      lives.push(live[0]);
      continue;
    }
    if (found.length === 0) {
      misspeltQueue(ref, sources, legacy);
      const where = sources.map((s) => (s.style === 'failed' ? `${s.queue} (failed set)` : `${s.dlq} (dead-letter queue)`)).join(', ');
      throw new UsageError(`unknown job reference "${ref}": no dead letter with that id in ${where || 'any declared queue'}`, 'find references with `queuectl dlq list`');
    }
    // A pending item wins over items of the same job that were already retried or discarded.
    const pending = found.filter((f) => f.status === 'pending');
    const pool = pending.length ? pending : found;
    if (pool.length > 1) {
      throw new UsageError(`ambiguous job reference "${ref}": it matches ${pool.map((f) => f.ref).join(', ')}`, 'use one of those <queue>/<id> references');
    }
    if (!items.some((i) => i.ref === pool[0].ref)) items.push(pool[0]);
  }
  return { items, live: lives };
}
