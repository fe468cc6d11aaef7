import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/**
 * Maps a path in the parsed file (`['queues', 'eccb-ocr', 'backoff', 'delay']`) to the 1-based
 * line it is written on. A key's own line is used (not its value's), so `delay:` is found even
 * when its value is empty; a path that does not exist (a missing key) falls back to the line of
 * the deepest part that does, which is where the user has to add it.
 */
export function createLineLocator(doc: Document, counter: LineCounter): (path: (string | number)[]) => number | undefined {
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : counter.linePos(offset).line);

  return (path) => {
    let node: unknown = doc.contents;
    let line = lineAt(rangeStart(node));
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && keyText(item.key) === String(segment));
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
