import type { Context } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import { buildProgram } from '../cli.js';
import { bashScript } from '../completion/bash.js';
import { completionTree } from '../completion/tree.js';
import { zshScript } from '../completion/zsh.js';

export const SHELLS = ['bash', 'zsh'] as const;

/**
 * `queuectl completion bash|zsh`: prints a completion script generated from the commander program
 * itself, so a command or option added to src/cli.ts is completed without touching this file.
 */
export async function run(_opts: Record<string, unknown>, ctx: Context, args: string[] = []): Promise<number> {
  const shell = args[0];
  if (shell !== 'bash' && shell !== 'zsh') {
    throw new UsageError(`no completion for shell "${shell ?? ''}"`, `use one of: ${SHELLS.join(', ')}`);
  }
  // The tree only needs the declarations: no action runs, so no context is ever made.
  const program = buildProgram('0.0.0', () => {
    throw new Error('completion builds the program for its declarations only');
  }, () => undefined);
  const tree = completionTree(program);
  ctx.out.print(shell === 'bash' ? bashScript(tree) : zshScript(tree));
  return ExitCode.ok;
}
