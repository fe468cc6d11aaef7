import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { InterruptedError, UsageError } from '../errors.js';
import { sleep } from '../util/sleep.js';
import { holderIsGone, LEASE_MS } from './cross-slot-keys.js';
import { withCrossSlotScripts } from './cross-slot-scripts.js';

/**
 * One process per run, on every engine. Two processes moving the same run each see the other's
 * moves as jobs that "left the source another way" and both end unverified; so a real run first
 * takes this lease (the cross-slot lease script: SET PX if free, ours, or a holder known to be
 * gone) and renews it while it works. The holder is `host|pid|nonce|since`, so the one refused can
 * say who holds the run and since when. A holder killed -9 on this host is taken over at once; one
 * on another host, once its lease lapses (LEASE_MS without renewal).
 */
export interface RunLease {
  /** True when another process took the run over (this one stalled past LEASE_MS). */
  lost(): boolean;
  release(): Promise<void>;
}

export function runLeaseKey(prefix: string, runId: string): string {
  return `${prefix}:queuectl:migrate-lease:${runId}`;
}

export async function acquireRunLease(client: Redis | Cluster, prefix: string, runId: string, options: { signal?: AbortSignal; note?: (message: string) => void } = {}): Promise<RunLease> {
  const scripts = withCrossSlotScripts(client);
  const key = runLeaseKey(prefix, runId);
  const owner = `${hostname()}|${process.pid}|${randomBytes(4).toString('hex')}|${Date.now()}`;
  const deadline = Date.now() + LEASE_MS + 2_000;
  let takeover = '';
  let waiting = false;
  for (;;) {
    const holder = await scripts.queuectlXLease(1, key, owner, LEASE_MS, takeover);
    if (holder === '') break;
    const who = holderIsGone(holder);
    if (who.gone) {
      takeover = holder;
      continue;
    }
    const [host, pid, , since] = holder.split('|');
    const busy = new UsageError(
      `run ${runId} is in progress since ${since ? new Date(Number(since)).toISOString() : 'an unknown time'} by ${host}/pid ${pid}`,
      'wait for it to finish (`queuectl migrate status` shows its progress), or stop that process and rerun',
    );
    // A live process on this host: refuse now. On another host it may be gone without a trace:
    // its lease lapses within LEASE_MS if so.
    if (options.signal?.aborted) throw new InterruptedError(`stopped waiting for run ${runId}; nothing was changed`, 'rerun the same command');
    if (who.local || Date.now() > deadline) throw busy;
    if (!waiting) options.note?.(`${busy.message}; waiting up to ${Math.ceil(LEASE_MS / 1000)}s in case that process is gone`);
    waiting = true;
    await sleep(1_000, options.signal);
  }
  let lost = false;
  const renew = setInterval(() => {
    scripts.queuectlXLease(1, key, owner, LEASE_MS, '').then((holder) => (lost ||= holder !== ''), () => undefined);
  }, LEASE_MS / 3);
  renew.unref();
  return {
    lost: () => lost,
    async release() {
      clearInterval(renew);
      await scripts.queuectlXLease(1, key, owner, 0, '').catch(() => undefined);
    },
  };
}
