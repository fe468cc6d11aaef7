import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Pair, type YAMLMap } from '../vendor/yaml.js';

/**
 * Maps a path in the parsed file (`['queues', 'eccb-ocr', 'backoff', 'delay']`) to the 1-based
 * line it is written on. A key's own line is used (not its value's), so `delay:` is found even
 * when its value is empty; a path that does not exist (a missing key) falls back to the line of
 * the deepest part that does, which is where the user has to add it.
 */
export function createLineLocator(doc: Document, counter: LineCounter): (path: (string | number)[]) => number | undefined {
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : counter.linePos(offset).line);
  // Each mapping's pairs by key, built on first use: one lookup per finding must not scan a
  // mapping of 10,000 queues (that made validate quadratic in the number of queues).
  const indexes = new WeakMap<YAMLMap, Map<string, Pair>>();
  const pairOf = (map: YAMLMap, key: string): Pair | undefined => {
    let index = indexes.get(map);
    if (!index) {
      index = new Map();
      for (const item of map.items) {
        const text = isPair(item) ? keyText(item.key) : undefined;
        if (text !== undefined && !index.has(text)) index.set(text, item); // the first one, as find() would
      }
      indexes.set(map, index);
    }
    return index.get(key);
  };

  return (path) => {
    let node: unknown = doc.contents;
    let line = lineAt(rangeStart(node));
    for (const segment of path) {
      if (isMap(node)) {
        const pair = pairOf(node, String(segment));
        if (!pair) break;
        line = lineAt(rangeStart(pair.key)) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) break;
        line = lineAt(rangeStart(item)) ?? line;
        node = item;
      } else {
        break;
      }
    }
    return line;
  };
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}
