import type { LoadedTopology } from './types.js';

export interface LoadOptions {
  /** -c / --config, when given. */
  config?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** Finds the topology file as the contract says. Undefined when none was named and none exists. */
export async function findTopologyFile(options: LoadOptions): Promise<string | undefined> {
  throw new Error('not implemented yet');
}

/** Loads, parses and validates a topology file. Throws TopologyError / UsageError (exit 2). */
export async function loadTopologyFile(file: string): Promise<LoadedTopology> {
  throw new Error('not implemented yet');
}
