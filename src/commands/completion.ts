import type { Context } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import { buildProgram } from '../cli.js';
import { bashScript } from '../completion/bash.js';
import { completionTree } from '../completion/tree.js';
import { zshScript } from '../completion/zsh.js';
import { fishScript } from '../completion/fish.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/**
 * `queuectl completion bash|zsh`: prints a completion script generated from the commander program
 * itself, so a command or option added to src/cli.ts is completed without touching this file.
 */
export async function run(_opts: Record<string, unknown>, ctx: Context, args: string[] = []): Promise<number> {
  const shell = args[0];
  if (shell !== 'bash' && shell !== 'zsh' && shell !== 'fish') {
    throw new UsageError(`no completion for shell "${shell ?? ''}"`, `use one of: ${SHELLS.join(', ')}`);
  }
  // The tree only needs the declarations: no action runs, so no context is ever made.
  const program = buildProgram('0.0.0', () => {
    throw new Error('completion builds the program for its declarations only');
  }, () => undefined);
  const tree = completionTree(program);
  ctx.out.print(shell === 'bash' ? bashScript(tree) : shell === 'zsh' ? zshScript(tree) : fishScript(tree));
  return ExitCode.ok;
}

/**
 * `queuectl __complete-queues` (hidden), called by the completion scripts: the declared and legacy
 * queue names of the topology found from here, one a line. Offline and silent: no topology, or one
 * that does not load, completes nothing.
 */
export async function runQueues(_opts: Record<string, unknown>, ctx: Context): Promise<number> {
  const loaded = await ctx.topologyIfAny().catch(() => undefined);
  if (!loaded) return ExitCode.ok;
  const names = new Set([...Object.keys(loaded.topology.queues), ...Object.keys(loaded.topology.legacy ?? {})]);
  ctx.out.print([...names].sort().join('\n'));
  return ExitCode.ok;
}
