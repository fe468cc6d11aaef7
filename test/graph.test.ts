import { describe, expect, it } from 'vitest';
import { buildGraph, renderDot, renderMermaid } from '../src/topology/graph.js';
import type { QueueSpec, Topology } from '../src/topology/types.js';

const q = (name: string, jobs: string[], over: Partial<QueueSpec> = {}): QueueSpec => ({
  name,
  jobs,
  deadLetter: { kind: 'failed' },
  ...over,
});

const topology: Topology = {
  version: 1,
  prefix: 'bull',
  queues: {
    'up-process': q('up-process', ['smartupload.process']),
    'up-ocr': q('up-ocr', ['ocr.process'], { deadLetter: { kind: 'queue', queue: 'dlq' } }),
    dlq: q('dlq', [], { attempts: 1 }),
  },
  workers: {
    processor: { name: 'processor', queues: ['up-process'] },
    ocr: { name: 'ocr', queues: ['up-ocr', 'missing'] },
  },
  legacy: { 'eccb-smart-upload': { name: 'eccb-smart-upload', note: 'shared "old" queue' } },
};

describe('buildGraph', () => {
  it('links job names → queues → workers, dead-letter paths and legacy destinations', () => {
    const g = buildGraph(topology);
    const label = (id: string) => g.nodes.find((n) => n.id === id)!.label;
    const edges = g.edges.map((e) => `${label(e.from)} -> ${label(e.to)}${e.dashed ? ' (dashed)' : ''}`);
    expect(edges).toEqual([
      'smartupload.process -> up-process',
      'ocr.process -> up-ocr',
      'up-process -> processor',
      'up-ocr -> ocr', // "missing" is not declared: no edge, lint reports it
      'up-process -> up-process (failed set) (dashed)',
      'up-ocr -> dlq (dashed)',
      'dlq -> dlq (failed set) (dashed)',
      // legacy jobs go to whichever queue owns their name: every queue that owns jobs
      'eccb-smart-upload (legacy) -> up-process (dashed)',
      'eccb-smart-upload (legacy) -> up-ocr (dashed)',
    ]);
    expect(new Set(g.nodes.map((n) => n.id)).size).toBe(g.nodes.length);
  });

  it('draws a legacy queue with `to` only towards that queue', () => {
    const t = { ...topology, legacy: { old: { name: 'old', to: 'up-ocr' } } };
    const g = buildGraph(t);
    const legacy = g.nodes.find((n) => n.kind === 'legacy')!;
    expect(g.edges.filter((e) => e.from === legacy.id).map((e) => e.to)).toEqual([g.nodes.find((n) => n.label === 'up-ocr')!.id]);
  });
});

describe('renderMermaid', () => {
  it('renders a flowchart with shapes, dashed dead-letter and legacy edges', () => {
    const text = renderMermaid(topology);
    expect(text.startsWith('flowchart LR\n')).toBe(true);
    expect(text).toContain('(["smartupload.process"])');
    expect(text).toContain('[["processor"]]');
    expect(text).toContain('[("up-process (failed set)")]');
    expect(text).toMatch(/ -\.->\|"dead letter"\| /);
    expect(text).toMatch(/ -\.->\|"migrate"\| /);
    expect(text).toMatch(/classDef legacy stroke-dasharray/);
    expect(text).toMatch(/class l\d+ legacy/);
    // every edge line refers only to generated ids, never to raw names
    for (const line of text.split('\n').filter((l) => l.includes('->'))) {
      expect(line).toMatch(/^ {2}[a-z]\d+ -(->|\.->)(\|"[^"]*"\|)? [a-z]\d+$/);
    }
  });

  it('escapes quotes in labels', () => {
    const t = { ...topology, legacy: { 'a"b': { name: 'a"b' } } };
    expect(renderMermaid(t)).toContain('"a#quot;b (legacy)"');
  });
});

describe('renderDot', () => {
  it('renders a digraph with shapes and dashed edges', () => {
    const text = renderDot(topology);
    expect(text.startsWith('digraph topology {\n  rankdir=LR;')).toBe(true);
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(text).toMatch(/\[label="processor", shape=component\]/);
    expect(text).toMatch(/\[label="eccb-smart-upload \(legacy\)", shape=box, style=dashed/);
    expect(text).toMatch(/\[label="up-process \(failed set\)", shape=cylinder\]/);
    expect(text).toMatch(/ -> [a-z]\d+ \[label="dead letter", style=dashed\];/);
    expect(text).toMatch(/ -> [a-z]\d+ \[label="migrate", style=dashed\];/);
    expect(text.match(/ -> /g)).toHaveLength(buildGraph(topology).edges.length);
  });

  it('escapes quotes and backslashes in labels', () => {
    const t = { ...topology, legacy: { 'a"b\\c': { name: 'a"b\\c' } } };
    expect(renderDot(t)).toContain('label="a\\"b\\\\c (legacy)"');
  });
});
