import type { Topology } from './types.js';

/**
 * `topology graph`: job names → queues → workers, each queue's dead-letter path, and legacy
 * queues (dashed) pointing at the queues migrate would move their jobs to. Built once as a small
 * neutral graph, then rendered to Mermaid or Graphviz DOT; both renderers return strings.
 */
export type NodeKind = 'job' | 'queue' | 'worker' | 'failed' | 'legacy';

export interface GraphNode {
  id: string;
  kind: NodeKind;
  label: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  label?: string;
  dashed?: boolean;
}

export interface TopologyGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Node ids are generated (`q0`, `j1`…): names may hold characters neither format accepts bare. */
export function buildGraph(topology: Topology): TopologyGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const ids = new Map<string, string>();
  const node = (kind: NodeKind, name: string, label = name): string => {
    const key = `${kind}\u0000${name}`;
    let id = ids.get(key);
    if (!id) {
      id = `${kind[0]}${ids.size}`;
      ids.set(key, id);
      nodes.push({ id, kind, label });
    }
    return id;
  };

  const queues = Object.values(topology.queues);
  for (const q of queues) node('queue', q.name);
  for (const q of queues) {
    for (const job of q.jobs) edges.push({ from: node('job', job), to: node('queue', q.name) });
  }
  for (const w of Object.values(topology.workers)) {
    for (const name of w.queues) {
      if (topology.queues[name]) edges.push({ from: node('queue', name), to: node('worker', w.name) });
    }
  }
  for (const q of queues) {
    const dl = q.deadLetter;
    if (dl?.kind === 'failed') {
      edges.push({ from: node('queue', q.name), to: node('failed', q.name, `${q.name} (failed set)`), label: 'dead letter', dashed: true });
    } else if (dl?.kind === 'queue') {
      edges.push({ from: node('queue', q.name), to: node('queue', dl.queue), label: 'dead letter', dashed: true });
    }
  }
  // migrate routes a legacy job to the queue that owns its name, or everything to `to`.
  const destinations = queues.filter((q) => q.jobs.length > 0).map((q) => q.name);
  for (const legacy of Object.values(topology.legacy)) {
    const from = node('legacy', legacy.name, `${legacy.name} (legacy)`);
    for (const to of legacy.to ? [legacy.to] : destinations) {
      if (topology.queues[to]) edges.push({ from, to: node('queue', to), label: 'migrate', dashed: true });
    }
  }
  return { nodes, edges };
}

const MERMAID_SHAPES: Record<NodeKind, [string, string]> = {
  job: ['([', '])'],
  queue: ['[', ']'],
  worker: ['[[', ']]'],
  failed: ['[(', ')]'],
  legacy: ['[', ']'],
};

export function renderMermaid(topology: Topology): string {
  const graph = buildGraph(topology);
  const text = (s: string) => `"${s.replaceAll('"', '#quot;')}"`;
  const lines = ['flowchart LR'];
  for (const n of graph.nodes) {
    const [open, close] = MERMAID_SHAPES[n.kind];
    lines.push(`  ${n.id}${open}${text(n.label)}${close}`);
  }
  for (const e of graph.edges) {
    const arrow = e.dashed ? '-.->' : '-->';
    lines.push(`  ${e.from} ${arrow}${e.label ? `|${text(e.label)}|` : ''} ${e.to}`);
  }
  const legacy = graph.nodes.filter((n) => n.kind === 'legacy').map((n) => n.id);
  if (legacy.length > 0) {
    lines.push('  classDef legacy stroke-dasharray: 5 5,color:#888');
    lines.push(`  class ${legacy.join(',')} legacy`);
  }
  return `${lines.join('\n')}\n`;
}

const DOT_ATTRS: Record<NodeKind, string> = {
  job: 'shape=ellipse',
  queue: 'shape=box',
  worker: 'shape=component',
  failed: 'shape=cylinder',
  legacy: 'shape=box, style=dashed, fontcolor=gray40',
};

export function renderDot(topology: Topology): string {
  const graph = buildGraph(topology);
  const text = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  const lines = ['digraph topology {', '  rankdir=LR;', '  node [fontname="Helvetica"];'];
  for (const n of graph.nodes) lines.push(`  ${n.id} [label=${text(n.label)}, ${DOT_ATTRS[n.kind]}];`);
  for (const e of graph.edges) {
    const attrs = [e.label ? `label=${text(e.label)}` : '', e.dashed ? 'style=dashed' : ''].filter(Boolean);
    lines.push(`  ${e.from} -> ${e.to}${attrs.length ? ` [${attrs.join(', ')}]` : ''};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
