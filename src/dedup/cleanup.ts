import type { RedisHandle } from '../redis/types.js';
import { escapeGlob, scanKeys, unlinkMatching } from '../redis/scan.js';

/**
 * Deletes every key under a scratch prefix on every master (SCAN MATCH + UNLINK; never KEYS).
 * Returns how many keys were removed. The prefix is random per run, so nothing else matches.
 */
export async function removeScratchKeys(handle: Pick<RedisHandle, 'masters'>, prefix: string): Promise<number> {
  return unlinkMatching(await handle.masters(), `${escapeGlob(prefix)}:*`);
}

/** Counts keys under a prefix on every master (tests and the post-cleanup check). */
export async function countScratchKeys(handle: Pick<RedisHandle, 'masters'>, prefix: string): Promise<number> {
  let count = 0;
  for await (const keys of scanKeys(await handle.masters(), `${escapeGlob(prefix)}:*`)) count += keys.length;
  return count;
}
