import { isScalar, visit, type Document, type LineCounter } from '../vendor/yaml.js';

/** A YAML problem in the shape of yaml's own errors, as load.ts words them. */
export interface YamlProblem {
  message: string;
  linePos?: [{ line: number; col: number }];
}

/**
 * "Map keys must be unique", found in one pass. yaml's own check compares each key with every
 * earlier key of its mapping, which is quadratic: 10,000 queues took seconds. The parse turns
 * it off (uniqueKeys: false) and this finds the same duplicates, at the same position (the
 * repeated key), with a set per mapping. Scalars are equal when their values are (1 and "1" are not).
 */
export function duplicateKeyProblems(doc: Document, counter: LineCounter): YamlProblem[] {
  const problems: YamlProblem[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue; // a collection key equals only itself
        if (!seen.has(pair.key.value)) {
          seen.add(pair.key.value);
          continue;
        }
        const offset = pair.key.range?.[0];
        const at = offset === undefined ? undefined : counter.linePos(offset);
        problems.push({ message: 'Map keys must be unique', ...(at ? { linePos: [{ line: at.line, col: at.col }] as [{ line: number; col: number }] } : {}) });
      }
    },
  });
  return problems;
}
