import { withCrossSlotScripts } from '../cross-slot-scripts.js';
import { countCrossSlot } from '../cross-slot-plan.js';
import { destinationKeys, hashTagOf, queuePrefix } from '../keys.js';
import { refusal } from '../bad-keys.js';
import type { DestWriter, Readiness } from './types.js';
import type { RedisSession } from './sessions.js';

/**
 * The Redis destination of a cross-server move: cross-slot-copy.lua adds one batch to one queue
 * exactly as BullMQ adds jobs (same state, score, events, marker, id counter raised past numeric
 * ids) and records its verdicts under the batch's token in the same script, so a repeat writes
 * nothing and a rerun can tell "delivered" (maybe already run and removed by a worker) from
 * "never delivered". The record lives in the destination queue's slot:
 *   <prefix>:queuectl:xmove:<run>:{<tag>}:copied:<queue>   token → verdicts
 */
export function redisDest(session: RedisSession, prefix: string, runId: () => string, label: string): DestWriter {
  const copied = (dest: string) => `${prefix}:queuectl:xmove:${runId()}:{${hashTagOf(queuePrefix(prefix, dest))}}:copied:${dest}`;
  const scripts = () => withCrossSlotScripts(session.client);
  const forgetting = new Map<string, string[]>();
  return {
    label,
    async readiness(dests): Promise<Readiness> {
      const out: Readiness = { problems: [], notes: [] };
      const policy = await session.handle.masters().then((nodes) => Promise.all(nodes.map((n) => n.config('GET', 'maxmemory-policy').then((r) => String((r as string[])[1] ?? ''), () => '')))).catch(() => ['']);
      const policies = [...new Set(policy)];
      if (policies.some((p) => p !== '' && p !== 'noeviction')) out.problems.push(`maxmemory-policy is ${policies.join(', ')} on ${label}: Redis may evict moved jobs (BullMQ needs noeviction)`);
      else if (policies.includes('')) out.notes.push(`eviction policy of ${label}: unknown (CONFIG GET refused); BullMQ needs noeviction`);
      else out.notes.push(`eviction policy of ${label}: noeviction`);
      if (session.handle.mode === 'cluster') {
        const untagged = dests.filter((d) => hashTagOf(queuePrefix(prefix, d)) === queuePrefix(prefix, d));
        if (untagged.length > 0) out.problems.push(`on the destination cluster, the keys of ${untagged.join(', ')} have no hash tag, so BullMQ cannot use them there (CROSSSLOT): use a prefix like "{bull}" or hash-tagged queue names`);
        else out.notes.push('destination cluster: every destination queue has a hash tag');
      }
      return out;
    },
    prepare: async () => undefined,
    async deliver(token, state, dest, blob, srcCounter) {
      const keys = [...destinationKeys(prefix, dest), copied(dest)];
      const old = forgetting.get(dest) ?? [];
      const verdicts = await scripts().queuectlXCopy(keys.length, ...keys, 'copy', state, queuePrefix(prefix, dest), token, old.length, ...old, blob, srcCounter).catch(refusal);
      forgetting.set(dest, []);
      return verdicts.map(String);
    },
    async delivered(token, dest) {
      const raw = await session.client.hget(copied(dest), token);
      if (!raw) return undefined;
      const flat = JSON.parse(raw) as string[] | Record<string, never>;
      return Array.isArray(flat) ? flat : [];
    },
    async forget(tokens) {
      for (const { token, dest } of tokens) {
        const list = forgetting.get(dest) ?? [];
        list.push(token);
        forgetting.set(dest, list);
      }
    },
    async count(dests, states) {
      return countCrossSlot(session.client, prefix, dests, states);
    },
    async tidy(dests: string[]) {
      for (const d of dests) await session.client.del(copied(d));
    },
    reconnect: () => session.reconnect(),
    close: () => session.handle.close(),
  } as DestWriter;
}
