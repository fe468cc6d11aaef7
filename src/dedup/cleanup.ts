import type { RedisHandle } from '../redis/types.js';

/**
 * Deletes every key under a scratch prefix on every master (SCAN MATCH + UNLINK; never KEYS).
 * Returns how many keys were removed. The prefix is random per run, so nothing else matches.
 */
export async function removeScratchKeys(handle: Pick<RedisHandle, 'masters'>, prefix: string): Promise<number> {
  let removed = 0;
  const match = matchPattern(prefix);
  for (const node of await handle.masters()) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) {
        // One key per UNLINK: on a cluster a master may answer only for keys it owns, one slot each.
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        await pipeline.exec();
        removed += keys.length;
      }
    } while (cursor !== '0');
  }
  return removed;
}

/** Counts keys under a prefix on every master (tests and the post-cleanup check). */
export async function countScratchKeys(handle: Pick<RedisHandle, 'masters'>, prefix: string): Promise<number> {
  let count = 0;
  for (const node of await handle.masters()) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', matchPattern(prefix), 'COUNT', 500);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
  }
  return count;
}

/** `<prefix>:*` with glob specials escaped, so any prefix (a `{tag}` one too) matches literally. */
function matchPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}:*`;
}
