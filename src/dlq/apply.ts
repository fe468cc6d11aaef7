import type { Cluster, Redis } from 'ioredis';
import type { DeadLetterFields, Topology } from '../topology/types.js';
import { dlqScripts } from './scripts.js';
import { jobOptsFor } from './job-opts.js';
import { blockedError, blockingOf, keysAndTypes, scriptKeys, type Blocking, type ScriptKey } from './preflight.js';
import { readCarried, type CarriedJob } from './shape.js';
import { shapeOf } from './sources.js';
import type { DlqItem } from './types.js';
import { sleep } from '../util/sleep.js';
import { retryBullFailed } from './bull-retry.js';

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
  /** Items done with a difference worth saying, counted per note. */
  notes: Record<string, number>;
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

/**
 * Runs `step` over the items' batches with --rate, --batch, interruption and progress (shared by
 * both backends). `depth` > 1 keeps that many steps in flight, so Redis runs the next script
 * while the reply of the last one travels back (each step is still one atomic call); a failed
 * step waits for those in flight, so its error counts everything done.
 */
export async function loop(items: DlqItem[], options: Pick<ApplyOptions, 'batch' | 'rate' | 'signal' | 'onProgress'>, step: (batch: DlqItem[], outcome: ApplyOutcome) => Promise<void>, depth = 1): Promise<ApplyOutcome> {
  const size = options.rate ? Math.max(1, Math.min(options.batch ?? DEFAULT_BATCH, Math.ceil(options.rate / 10))) : options.batch ?? DEFAULT_BATCH;
  const outcome: ApplyOutcome = { done: 0, skipped: {}, interrupted: false, notes: {} };
  const started = Date.now();
  let processed = 0;
  const inFlight: Promise<void>[] = [];
  const settle = async () => {
    const results = await Promise.allSettled(inFlight.splice(0));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason instanceof ScriptRefusal ? blockedError(failed.reason.blocking, failed.reason.verb, outcome.done) : failed.reason;
  };
  for (const batch of batches(items, size)) {
    if (options.signal?.aborted) {
      await settle();
      return { ...outcome, interrupted: true };
    }
    const running = step(batch, outcome).then(() => {
      processed += batch.length;
      options.onProgress?.(processed, items.length);
    });
    running.catch(() => undefined); // settled (and thrown) by settle()
    inFlight.push(running);
    if (inFlight.length >= depth) {
      try {
        await inFlight[0];
        inFlight.shift();
      } catch {
        await settle();
      }
    }
    if (options.rate) await sleep((processed / options.rate) * 1000 - (Date.now() - started), options.signal);
  }
  await settle();
  return outcome;
}

/** A script's preflight refusal, made into the one-line error once every call in flight is back. */
class ScriptRefusal extends Error {
  constructor(readonly blocking: Blocking, readonly verb: 'retry' | 'discard') {
    super(`${blocking.key} blocked`);
  }
}

export function skip(outcome: ApplyOutcome, reason: string, count: number): void {
  if (count > 0) outcome.skipped[reason] = (outcome.skipped[reason] ?? 0) + count;
}

/** One script call; a refusal of its preflight becomes one line naming the key (exit 3). */
async function call(script: (keys: string[], args: (string | number)[]) => Promise<unknown>, keys: ScriptKey[], args: (string | number)[], verb: 'retry' | 'discard'): Promise<unknown> {
  const { keys: names, types } = keysAndTypes(keys);
  try {
    return await script(names, [types, ...args]);
  } catch (error) {
    const blocking = blockingOf(error);
    throw blocking ? new ScriptRefusal(blocking, verb) : error;
  }
}

/**
 * Retries items in batches, oldest first as given. Every batch is one script call per queue, so
 * an interrupted run leaves each item either retried or untouched, and a rerun finishes the rest.
 * Each script checks every key it touches before its first write and refuses the call whole.
 */
export function applyRetry(items: DlqItem[], options: ApplyOptions): Promise<ApplyOutcome> {
  const { client, prefix, topology } = options;
  const scripts = dlqScripts(client);
  return loop(items, options, async (batch, outcome) => {
    const holder = batch[0].holder;
    // A Bull queue's failed jobs go into the BullMQ queue that owns them, translated (bull-retry.ts).
    if (batch[0].style === 'failed' && topology.legacy[holder]?.kind === 'bull') {
      for (const [target, group] of groupBy(batch, (i) => i.target ?? i.queue)) {
        const step = await retryBullFailed(client, prefix, group, target);
        outcome.done += step.retried;
        for (const [reason, n] of Object.entries(step.skipped)) skip(outcome, reason, n);
        if (step.renamed > 0) outcome.notes[BULL_RENAMED] = (outcome.notes[BULL_RENAMED] ?? 0) + step.renamed;
      }
      return;
    }
    if (batch[0].style === 'failed') {
      const q = k(prefix, holder);
      const [retried, notFailed, gone, inFlow] = (await call(scripts.retryFailed, scriptKeys.retryFailed(q), [q, ...batch.map((i) => i.id)], 'retry')) as number[];
      outcome.done += retried;
      skip(outcome, 'no longer in the failed set (retried or removed meanwhile)', notFailed);
      skip(outcome, 'job hash missing (dangling member dropped)', gone);
      skip(outcome, 'part of a flow (retry it with BullMQ Job.retry so its parent is updated)', inFlow);
      return;
    }
    // Style (b): add to each target queue, then mark the dead-letter items retried. A crash in
    // between is repaired by the rerun: the target's ledger answers "added before" (code 2).
    const carried = await reread(client, prefix, shapeOf(topology, holder), batch);
    const byTarget = new Map<string, { item: DlqItem; job: CarriedJob; timestamp: string }[]>();
    carried.forEach((entry, i) => {
      if (!entry) return;
      const target = batch[i].target ?? batch[i].queue;
      byTarget.set(target, [...(byTarget.get(target) ?? []), { item: batch[i], ...entry }]);
    });
    skip(outcome, 'changed since the plan: it no longer fits its item shape', carried.filter((c) => !c).length);
    const d = k(prefix, holder);
    for (const [target, group] of byTarget) {
      const toMark: string[] = [];
      const q = k(prefix, target);
      const declared = JSON.parse(jobOptsFor(topology.queues[target])) as Record<string, unknown>;
      const args = group.flatMap(({ item, job, timestamp }) => {
        const opts = { ...declared, ...(job.priority > 0 ? { priority: job.priority } : {}), ...(job.lifo ? { lifo: true } : {}) };
        return [ledgerField(item, timestamp), item.id, item.name, JSON.stringify(job.data), JSON.stringify(opts), job.priority, job.lifo ? '1' : '0'];
      });
      const codes = (await call(scripts.retryAdd, scriptKeys.retryAdd(q), [q, Date.now(), ...args], 'retry')) as number[];
      codes.forEach((code, i) => {
        if (code !== 3) toMark.push(group[i].item.holderId);
        if (code === 1 || code === 4) outcome.done += 1;
      });
      skip(outcome, `a job with that id already exists in its queue`, codes.filter((c) => c === 3).length);
      skip(outcome, 'retried before (completing its mark)', codes.filter((c) => c === 2).length);
      // Marked per target, so a later target's refusal leaves these items finished, not pending.
      if (toMark.length) await call(scripts.mark, scriptKeys.mark(d), [d, 'retried', Date.now(), options.who, '', ...toMark], 'retry');
    }
  }, depthFor(items));
}

/** The note of a Bull job retried under a new id: its numeric id was taken in the target queue. */
export const BULL_RENAMED = 'retried under a new id: its numeric id was taken in the target queue (the old id → new id is in the tally hash <prefix>:queuectl:dlq:bull-retried)';

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(keyOf(item), [...(out.get(keyOf(item)) ?? []), item]);
  return out;
}

/** Failed-set batches are one script call each: two in flight hide the round trip between them. */
function depthFor(items: DlqItem[]): number {
  return items.every((i) => i.style === 'failed') ? 2 : 1;
}

/** Identifies one dead-letter item for good: its queue, id and creation time (ids may be reused). */
function ledgerField(item: DlqItem, timestamp: string): string {
  return `${item.ref}@${timestamp}`;
}

/**
 * The carried job of each item and the item's timestamp, read again just before re-adding it
 * (the plan may be old); undefined for an item that no longer fits its shape.
 */
async function reread(client: Redis | Cluster, prefix: string, shape: DeadLetterFields, items: DlqItem[]): Promise<({ job: CarriedJob; timestamp: string } | undefined)[]> {
  const rows = await Promise.all(items.map((item) => client.hmget(k(prefix, item.holder) + item.holderId, 'data', 'timestamp')));
  return rows.map(([data, timestamp], i) => {
    const job = readCarried(data, shape);
    if ('problem' in job || job.queue !== items[i].queue || job.id !== items[i].id) return undefined;
    return { job, timestamp: timestamp ?? '0' };
  });
}

/**
 * Discards items in batches: style (a) removed, style (b) marked; each recorded with the reason.
 * A failed job whose id also lives in another state keeps its hash: only its failed entry goes.
 */
export function applyDiscard(items: DlqItem[], reason: string, options: ApplyOptions): Promise<ApplyOutcome> {
  const { client, prefix } = options;
  const scripts = dlqScripts(client);
  return loop(items, options, async (batch, outcome) => {
    const q = k(prefix, batch[0].holder);
    const ids = batch.map((i) => i.holderId);
    let done: string[];
    if (batch[0].style === 'failed') {
      const [removed, memberOnly] = (await call(scripts.discardFailed, scriptKeys.discardFailed(q), [q, ...ids], 'discard')) as [string[], string[]];
      done = [...removed, ...memberOnly];
      if (memberOnly.length) outcome.notes[MEMBER_ONLY] = (outcome.notes[MEMBER_ONLY] ?? 0) + memberOnly.length;
    } else {
      done = (await call(scripts.mark, scriptKeys.mark(q), [q, 'discarded', Date.now(), options.who, reason, ...ids], 'discard')) as string[];
    }
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

/** The note of a discard that removed a stale failed entry but kept the job living on under its id. */
export const MEMBER_ONLY = 'also in another state of its queue (e.g. completed): only the stale failed entry was removed, the job was kept';
