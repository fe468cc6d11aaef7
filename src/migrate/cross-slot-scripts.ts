import { loadLua } from '../util/lua.js';
import type { Cluster, Redis } from 'ioredis';

type Arg = string | number | Buffer;
type Call<R> = (numKeys: number, ...args: Arg[]) => Promise<R>;

/** jobs: take → flat dest index, JSON blob of that destination's jobs (bytes passed on untouched); dry → flat id, dest, dedupId, hasLogs; then (dry) the bad keys, flat key, found, wanted. */
export type TakeReply = [taken: number, boundary: Buffer, exhausted: number, stays: Buffer[], jobs: (number | Buffer)[], badKeys?: Buffer[], srcCounter?: Buffer];
/** finished: flat dest queue name (an index for records older than names), count; returned: how many went back; stuck: ids left parked. */
export type SettleReply = [finished: (string | number)[], returned: number, stuck: string[], boundary: string];

export interface CrossSlotScripts {
  queuectlXTakeBuffer: Call<TakeReply>;
  queuectlXCopy: Call<string[]>;
  queuectlXSettle: Call<SettleReply>;
  queuectlXLease: Call<string>;
}

const FILES: Record<string, string> = {
  queuectlXTake: 'cross-slot-take.lua',
  queuectlXCopy: 'cross-slot-copy.lua',
  queuectlXSettle: 'cross-slot-settle.lua',
  queuectlXLease: 'cross-slot-lease.lua',
};

/** Loads the scripts once per client; ioredis sends EVALSHA to the slot's node, EVAL on NOSCRIPT. */
export function withCrossSlotScripts(client: Redis | Cluster): CrossSlotScripts {
  for (const [name, file] of Object.entries(FILES)) {
    if (!(name in client)) client.defineCommand(name, { lua: loadLua(new URL(`./lua/${file}`, import.meta.url)) });
  }
  return client as unknown as CrossSlotScripts;
}
