import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from '../src/vendor/yaml.js';
import { readPlainYaml } from '../src/topology/fast-yaml.js';
import { repoRoot } from './helpers/cli.js';

/**
 * The topology loader reads plain files with js-yaml (about eight times quicker) and everything
 * else with yaml, the loader of record. The fast path must never read a file differently from
 * yaml: where it answers, the data is yaml's to the last value; where the two could disagree, it
 * steps aside.
 */
const yamlData = (text: string) => parseDocument(text, { merge: true, uniqueKeys: false }).toJS();

const AGREE = [
  'a: 1_000', 'a: 0o17', 'a: 017', 'a: 0x1F', 'a: -0x1', 'a: +12', 'a: 1e3', 'a: .5', 'a: 5.', 'a: .inf', 'a: -.Inf', 'a: .NaN',
  'a: yes', 'a: True', 'a: ~', 'a:', 'a: 2024-01-01', 'a: 0b101', 'a: 12:30', 'a: 9007199254740993', 'true: 1', '1: x',
  'a: "x"\nb: !!str 3', '<<: {x: 1}\nx: 2', 'x: 2\n<<: [{x: 1, y: 1}, {y: 2, z: 3}]', 'a: [1, 2,]', "a: 'it''s'", 'a: |\n  x\n  y\n',
  'a: >-\n  folded\n  text\n', '__proto__: {x: 1}', 'a:\tb', 'a: b #c', 'a: b#c', 'q:\n  - "*/5 * * * *"\n  - "&amp; *x"',
];
const STEP_ASIDE = [
  'a: b: c', 'a: {x: 1, x: 2}', 'a: 1\n---\nb: 2', 'a: !foo x', '? [a]\n: 1', 'null: 1', 'q:\n  - ~: 1', '{ NULL: 1 }',
  'x-d: &d {attempts: 3}\nq: *d', '%YAML 1.1\n---\na: yes', '', '1: a\n"1": b',
];

describe('the fast YAML path', () => {
  it.each(AGREE)('reads %j exactly as yaml does', (text) => {
    const fast = readPlainYaml(text);
    if (fast) expect(fast.data).toEqual(yamlData(text));
  });

  it('answers for the ordinary files: no special case makes it step aside from plain YAML', () => {
    expect(AGREE.filter((text) => readPlainYaml(text) === undefined)).toEqual([]);
  });

  it.each(STEP_ASIDE)('steps aside for %j (an error, alias, directive, null key or empty file: yaml reads it)', (text) => {
    expect(readPlainYaml(text)).toBeUndefined();
  });

  it('reads every shipped example exactly as yaml does', () => {
    const dir = join(repoRoot, 'examples');
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const text = readFileSync(join(dir, name), 'utf8');
      const fast = readPlainYaml(text);
      expect(fast, name).toBeDefined();
      expect(fast?.data, name).toEqual(yamlData(text));
    }
  });
});
