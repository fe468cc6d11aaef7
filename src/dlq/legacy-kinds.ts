import type { Cluster, Redis } from 'ioredis';
import type { Topology } from '../topology/types.js';
import { detectLayout } from '../inspect/detect-layout.js';
import { undecidedLine } from '../inspect/layout.js';

/** The topology dlq works with: legacy kinds detected where none is declared, and what stays unknown. */
export interface DetectedKinds {
  topology: Topology;
  /** Legacy queues holding jobs that nothing tells apart (or with signs of both libraries): name → the refusal line. */
  undecided: Map<string, string>;
}

/**
 * Detects the library of each legacy queue in scope that declares no `kind:` (and no table), the
 * way migrate does (src/inspect/detect-layout.ts): a detected Bull queue is treated as if it
 * declared `kind: bull` (its failed set is a dlq source); an undecided one holding jobs is
 * recorded, so that dlq refuses to write to it instead of guessing.
 */
/** Legacy entries in scope whose library is to be told from their keys: no kind:, no table, not a declared queue. */
export function kindlessLegacy(topology: Topology, names: string[] | undefined): string[] {
  return Object.values(topology.legacy)
    .filter((e) => !e.kind && e.table === undefined && !topology.queues[e.name] && (!names || names.includes(e.name)))
    .map((e) => e.name);
}

export async function detectLegacyKinds(client: Redis | Cluster, prefix: string, topology: Topology, names: string[] | undefined): Promise<DetectedKinds> {
  const undecided = new Map<string, string>();
  const legacy = { ...topology.legacy };
  for (const entry of kindlessLegacy(topology, names).map((name) => topology.legacy[name])) {
    const { verdict, sampled } = await detectLayout(client, prefix, topology, entry.name);
    const line = verdict.conflict || (verdict.undecided && sampled > 0) ? undecidedLine(entry.name, verdict) : undefined;
    if (line) undecided.set(entry.name, line);
    else if (verdict.read === 'bull') legacy[entry.name] = { ...entry, kind: 'bull' };
  }
  return { topology: { ...topology, legacy }, undecided };
}
