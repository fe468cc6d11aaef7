import { randomBytes } from 'node:crypto';
import { QueuectlError, RedisError } from '../errors.js';
import type { RedisHandle } from '../redis/types.js';
import type { QueueSpec } from '../topology/types.js';
import { removeScratchKeys } from './cleanup.js';
import { observeLive } from './live.js';
import { randomSession } from './payload.js';
import { planQueue, type QueuePlan } from './plan.js';
import { observeOnScratch } from './scratch.js';
import type { DedupReport, DedupResult } from './types.js';
import { liveVerdict, scratchVerdict } from './verdict.js';
import { throwIfAborted } from './wait.js';

export interface DedupCheckSettings {
  copies: number;
  live: boolean;
  /** The real key prefix (used only with live). */
  prefix: string;
  /** Bound for the canary to settle, ms (default 10 s). */
  settleMs?: number;
  signal: AbortSignal;
  /** Progress: called before each queue is checked. */
  onQueue?: (queue: string) => void;
}

/** A scratch prefix nobody else uses; hash-tagged on a cluster so every BullMQ script stays in one slot. */
export function scratchPrefix(mode: RedisHandle['mode']): string {
  const name = `queuectl-dedup-${randomBytes(6).toString('hex')}`;
  return mode === 'cluster' ? `{${name}}` : name;
}

/** Pure: every queue's plan, with one synthetic session shared by all copies of the run. */
export function planAll(specs: QueueSpec[], copies: number, live: boolean): QueuePlan[] {
  const session = randomSession(live ? 'canary' : 'dedup');
  return specs.map((spec) => planQueue(spec, copies, session));
}

const CONNECTION_TROUBLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|Connection is closed|timed out|max retries|NOAUTH|WRONGPASS|CLUSTERDOWN/i;

/** A BullMQ refusal fails that one queue; a dead connection fails the whole command (exit 3). */
function asResult(plan: QueuePlan, error: unknown): DedupResult {
  if (error instanceof QueuectlError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  if (CONNECTION_TROUBLE.test(message)) throw new RedisError(`Redis failed during dedup-check of ${plan.queue}: ${message}`, 'check --redis and that the server is up');
  return { queue: plan.queue, jobs: 0, executions: 0, ok: false, detail: `BullMQ refused the check: ${message.split('\n')[0]}`, warnings: [] };
}

/**
 * Runs the check over the plans. Scratch keys are removed in a finally, also when interrupted
 * (the waits stop on ctx.signal, then InterruptedError is thrown after cleanup).
 */
export async function runPlans(handle: RedisHandle, plans: QueuePlan[], settings: DedupCheckSettings): Promise<DedupReport> {
  const results: DedupResult[] = [];
  const scratch = scratchPrefix(handle.mode);
  const settleMs = settings.settleMs ?? 10_000;
  try {
    for (const plan of plans) {
      throwIfAborted(settings.signal);
      if (plan.kind !== 'check') {
        results.push({ queue: plan.queue, jobs: 0, executions: 0, ok: plan.kind === 'skip', detail: plan.detail, warnings: [] });
        continue;
      }
      settings.onQueue?.(plan.queue);
      try {
        if (settings.live) {
          results.push(liveVerdict(plan, await observeLive(handle, plan, settings.prefix, settings.signal)));
        } else {
          results.push(scratchVerdict(plan, await observeOnScratch(handle, plan, { prefix: scratch, settleMs, signal: settings.signal })));
          // Per queue too, so a long run does not pile scratch keys up.
          await removeScratchKeys(handle, scratch);
        }
      } catch (error) {
        throwIfAborted(settings.signal);
        results.push(asResult(plan, error));
      }
      throwIfAborted(settings.signal);
    }
  } finally {
    if (!settings.live) {
      await removeScratchKeys(handle, scratch).catch((error: unknown) => {
        throw new RedisError(`could not remove the scratch keys ${scratch}:* (${error instanceof Error ? error.message : String(error)})`, 'delete them with SCAN MATCH + UNLINK');
      });
    }
  }
  return { schema: 'queuectl/dedup-check@1', live: settings.live, copies: settings.copies, results };
}
