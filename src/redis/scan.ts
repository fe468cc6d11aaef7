import type { Redis } from 'ioredis';

/** Escapes SCAN MATCH's glob specials so a prefix (a `{tag}` one too) matches literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Every key matching `pattern` on every given master, a SCAN page at a time (never KEYS). */
export async function* scanKeys(nodes: Redis[], pattern: string, count = 1000): AsyncGenerator<string[]> {
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/** UNLINKs every key matching `pattern` on every master; returns how many were deleted. */
export async function unlinkMatching(nodes: Redis[], pattern: string): Promise<number> {
  let deleted = 0;
  for (const node of nodes) {
    for await (const keys of scanKeys([node], pattern)) {
      // One key per UNLINK, pipelined: on a cluster node the keys of one page may sit in different slots.
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.unlink(key);
      for (const [error, n] of (await pipeline.exec()) ?? []) if (!error) deleted += Number(n);
    }
  }
  return deleted;
}
