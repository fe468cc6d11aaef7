import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TopologyError } from '../src/errors.js';
import { loadTopologyFile } from '../src/topology/load.js';
import { bullmqSigns, bullSigns, describeLayout, judgeLayout } from '../src/inspect/layout.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { topologyFile } from './bull-fixture.js';

// `legacy: { q: { kind: bull } }` in the topology file, and the pure layout judgement (issue 20).

async function load(yaml: string) {
  const file = join(tempDir('bull-topology'), 't.yaml');
  writeFileSync(file, yaml);
  try {
    return { topology: (await loadTopologyFile(file)).topology, problems: [] as string[] };
  } catch (error) {
    if (error instanceof TopologyError) return { topology: undefined, problems: error.problems };
    throw error;
  }
}

describe('kind: in a legacy entry', () => {
  it('is kept as written, and absent when not written', async () => {
    const { topology } = await load('queues: { a: { jobs: [a] } }\nlegacy:\n  old: { kind: bull }\n  older: { kind: bullmq }\n  oldest: {}\n');
    expect(topology!.legacy).toEqual({ old: { name: 'old', kind: 'bull' }, older: { name: 'older', kind: 'bullmq' }, oldest: { name: 'oldest' } });
  });

  it('names the two kinds when another is written', async () => {
    const { problems } = await load('queues: { a: { jobs: [a] } }\nlegacy:\n  old: { kind: bull3 }\n');
    expect(problems).toEqual(['legacy.old.kind (line 3): expected bullmq or bull, got "bull3" — the library that wrote this queue (kind: bull for Bull 3.x/4.x)']);
  });

  it('is refused beside table:, which has no keys to be Bull\'s', async () => {
    const { problems } = await load('queues: { a: { jobs: [a] } }\nlegacy:\n  old: { kind: bull, table: { name: jobs } }\n');
    expect(problems).toEqual(['legacy.old.kind (line 3): a table source is a database table, not a Bull or BullMQ queue — remove kind, or table']);
  });

  it('keeps topology validate clean', async () => {
    const result = await runCli(['topology', 'validate', '-c', topologyFile('bull', 'old-mail: { kind: bull, note: "Bull 3 queue" }')]);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout.trim()).toMatch(/ valid: 1 queue, 1 worker, 1 legacy queue$/);
  });
});

describe('judgeLayout', () => {
  const none = { bull: [], bullmq: [] };
  it('reads BullMQ when no key says otherwise, and Bull on Bull-only keys', () => {
    expect(judgeLayout(undefined, none)).toEqual({ read: 'bullmq', from: 'keys', signs: none, undecided: true });
    const bull = { bull: bullSigns([1, 3]), bullmq: bullmqSigns(null, null) };
    expect(bull).toEqual({ bull: ['meta-paused key', 'priority zset'], bullmq: [] });
    expect(judgeLayout(undefined, bull)).toEqual({ read: 'bull', from: 'keys', signs: bull });
    expect(describeLayout(judgeLayout(undefined, bull))).toBe('Bull queue (detected: meta-paused key, priority zset)');
    expect(describeLayout(judgeLayout('bull', none))).toBe('Bull queue (kind: bull in the topology)');
  });

  it('calls signs of both libraries a conflict, and a declared kind the keys deny', () => {
    const both = { bull: ['priority zset'], bullmq: bullmqSigns('bullmq:6.7.0', '10000') };
    expect(judgeLayout(undefined, both)).toMatchObject({ read: 'bullmq', conflict: 'keys of both Bull (priority zset) and BullMQ (meta.version bullmq:6.7.0, meta.opts.maxLenEvents): two libraries share this queue\'s keys' });
    expect(judgeLayout('bull', both)).toMatchObject({ read: 'bull', from: 'declared' });
    expect(judgeLayout('bull', { bull: [], bullmq: ['meta.opts.maxLenEvents'] }).conflict).toBe('declared kind: bull, but its keys are BullMQ\'s (meta.opts.maxLenEvents)');
    expect(judgeLayout('bullmq', { bull: ['priority zset'], bullmq: [] }).conflict).toBe('declared as a BullMQ queue, but its keys are Bull\'s (priority zset)');
    expect(judgeLayout('bull', { bull: ['priority zset'], bullmq: [] }).conflict).toBeUndefined();
  });
});
