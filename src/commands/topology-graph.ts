import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { renderDot, renderMermaid } from '../topology/graph.js';

export interface GraphOptions {
  format?: string;
}

/** `topology graph`: prints the topology as Mermaid (default) or Graphviz DOT on stdout. */
export async function run(opts: GraphOptions, ctx: Context): Promise<number> {
  const format = opts.format ?? 'mermaid';
  if (format !== 'mermaid' && format !== 'dot') {
    throw new UsageError(`unknown graph format "${format}"`, 'use --format mermaid or --format dot');
  }
  const { topology, source } = await ctx.topology();
  const text = format === 'dot' ? renderDot(topology) : renderMermaid(topology);
  if (ctx.out.json) {
    ctx.out.printJson({ schema: 'queuectl/topology-graph@1', file: source.file, format, graph: text });
  } else {
    ctx.out.print(text);
  }
  return 0;
}
