import type { Cluster, Redis } from 'ioredis';
import type { Topology } from '../topology/types.js';
import { dlqScripts } from './scripts.js';
import { jobOptsFor } from './job-opts.js';
import type { DlqItem } from './types.js';
import { sleep } from '../util/sleep.js';

export interface ApplyOptions {
  client: Redis | Cluster;
  prefix: string;
  topology: Topology;
  /** Items per script call: each call is one atomic step. */
  batch?: number;
  /** Items per second, at most. */
  rate?: number;
  signal?: AbortSignal;
  /** `user@host`, recorded on marks and discard records. */
  who: string;
  onProgress?: (done: number, total: number) => void;
}

export interface ApplyOutcome {
  /** Items retried or discarded by this run. */
  done: number;
  /** Items left as they were, counted per reason. */
  skipped: Record<string, number>;
  interrupted: boolean;
}

/** Where the reasons for discards are kept: one stream per prefix, trimmed to about this many. */
export const DISCARD_LOG_MAXLEN = 10_000;
export const discardLogKey = (prefix: string) => `${prefix}:queuectl:dlq:discarded`;

// Small enough that one script call stays under ~10 ms of Redis time (SLOWLOG's usual threshold),
// so a bulk retry never stalls the producers and workers sharing this Redis.
const DEFAULT_BATCH = 250;
const k = (prefix: string, queue: string) => `${prefix}:${queue}:`;

/** Consecutive runs of items held by the same queue, cut into batches (the order is kept). */
function batches(items: DlqItem[], size: number): DlqItem[][] {
  const out: DlqItem[][] = [];
  for (const item of items) {
    const last = out[out.length - 1];
    if (last && last.length < size && last[0].holder === item.holder && last[0].style === item.style) last.push(item);
    else out.push([item]);
  }
  return out;
}

async function loop(items: DlqItem[], options: ApplyOptions, step: (batch: DlqItem[], outcome: ApplyOutcome) => Promise<void>): Promise<ApplyOutcome> {
  const size = options.rate ? Math.max(1, Math.min(options.batch ?? DEFAULT_BATCH, Math.ceil(options.rate / 10))) : options.batch ?? DEFAULT_BATCH;
  const outcome: ApplyOutcome = { done: 0, skipped: {}, interrupted: false };
  const started = Date.now();
  let processed = 0;
  for (const batch of batches(items, size)) {
    if (options.signal?.aborted) return { ...outcome, interrupted: true };
    await step(batch, outcome);
    processed += batch.length;
    options.onProgress?.(processed, items.length);
    if (options.rate) await sleep((processed / options.rate) * 1000 - (Date.now() - started), options.signal);
  }
  return outcome;
}

function skip(outcome: ApplyOutcome, reason: string, count: number): void {
  if (count > 0) outcome.skipped[reason] = (outcome.skipped[reason] ?? 0) + count;
}

/**
 * Retries items in batches, oldest first as given. Every batch is one script call per queue, so
 * an interrupted run leaves each item either retried or untouched, and a rerun finishes the rest.
 */
export function applyRetry(items: DlqItem[], options: ApplyOptions): Promise<ApplyOutcome> {
  const { client, prefix, topology } = options;
  const scripts = dlqScripts(client);
  return loop(items, options, async (batch, outcome) => {
    const holder = batch[0].holder;
    if (batch[0].style === 'failed') {
      const q = k(prefix, holder);
      const keys = ['failed', 'wait', 'meta', 'active', 'marker', 'prioritized', 'pc', 'events'].map((s) => q + s);
      const [retried, notFailed, gone, inFlow] = (await scripts.retryFailed(keys, [q, ...batch.map((i) => i.id)])) as number[];
      outcome.done += retried;
      skip(outcome, 'no longer in the failed set (retried or removed meanwhile)', notFailed);
      skip(outcome, 'job hash missing (dangling member dropped)', gone);
      skip(outcome, 'part of a flow (retry it with BullMQ Job.retry so its parent is updated)', inFlow);
      return;
    }
    // Style (b): add to each original queue, then mark the dead-letter items retried. A crash in
    // between is repaired by the rerun: the target's ledger answers "added before" (code 2).
    const byTarget = new Map<string, DlqItem[]>();
    for (const item of batch) byTarget.set(item.queue, [...(byTarget.get(item.queue) ?? []), item]);
    const toMark: string[] = [];
    for (const [target, group] of byTarget) {
      const q = k(prefix, target);
      const keys = [...['wait', 'meta', 'active', 'marker', 'events', 'id'].map((s) => q + s), `${q}queuectl:dlq-retried`, `${q}failed`];
      const data = await dlqItemData(client, prefix, group);
      const opts = jobOptsFor(topology.queues[target]);
      const args = group.flatMap((item, i) => [ledgerField(item, data[i].timestamp), item.id, item.name, data[i].jobData, opts]);
      const codes = (await scripts.retryAdd(keys, [q, Date.now(), ...args])) as number[];
      codes.forEach((code, i) => {
        if (code !== 3) toMark.push(group[i].holderId);
        if (code === 1 || code === 4) outcome.done += 1;
      });
      skip(outcome, `a job with that id already exists in its queue`, codes.filter((c) => c === 3).length);
      skip(outcome, 'retried before (completing its mark)', codes.filter((c) => c === 2).length);
    }
    if (toMark.length) await scripts.mark([k(prefix, holder) + 'meta'], [k(prefix, holder), 'retried', Date.now(), options.who, '', ...toMark]);
  });
}

/** Identifies one dead-letter item for good: its queue, id and creation time (ids may be reused). */
function ledgerField(item: DlqItem, timestamp: string): string {
  return `${item.ref}@${timestamp}`;
}

/** The original job data (as JSON text) and the item's timestamp, read just before re-adding. */
async function dlqItemData(client: Redis | Cluster, prefix: string, items: DlqItem[]): Promise<{ jobData: string; timestamp: string }[]> {
  const rows = await Promise.all(items.map((item) => client.hmget(k(prefix, item.holder) + item.holderId, 'data', 'timestamp')));
  return rows.map(([data, timestamp]) => {
    let jobData: unknown = {};
    try {
      jobData = (JSON.parse(data ?? '{}') as { jobData?: unknown }).jobData ?? {};
    } catch {
      // unreadable payload: re-added with empty data is worse than refusing, but parse failures were filtered at read
    }
    return { jobData: JSON.stringify(jobData), timestamp: timestamp ?? '0' };
  });
}

/** Discards items in batches: style (a) removed, style (b) marked; each recorded with the reason. */
export function applyDiscard(items: DlqItem[], reason: string, options: ApplyOptions): Promise<ApplyOutcome> {
  const { client, prefix } = options;
  const scripts = dlqScripts(client);
  return loop(items, options, async (batch, outcome) => {
    const q = k(prefix, batch[0].holder);
    const ids = batch.map((i) => i.holderId);
    const done = batch[0].style === 'failed'
      ? ((await scripts.discardFailed([q + 'failed', q + 'events', q + 'meta'], [q, ...ids])) as string[])
      : ((await scripts.mark([q + 'meta'], [q, 'discarded', Date.now(), options.who, reason, ...ids])) as string[]);
    outcome.done += done.length;
    skip(outcome, 'no longer a pending dead letter (retried, discarded or removed meanwhile)', batch.length - done.length);
    const byId = new Map(batch.map((i) => [i.holderId, i]));
    const pipeline = client.pipeline();
    const at = new Date().toISOString();
    for (const id of done) {
      const item = byId.get(id)!;
      pipeline.xadd(discardLogKey(prefix), 'MAXLEN', '~', DISCARD_LOG_MAXLEN, '*', 'ref', item.ref, 'queue', item.queue, 'id', item.id, 'name', item.name, 'reason', reason, 'by', options.who, 'at', at);
    }
    if (done.length) await pipeline.exec();
  });
}

