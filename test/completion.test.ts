import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { bashScript } from '../src/completion/bash.js';
import { completionTree } from '../src/completion/tree.js';
import { zshScript } from '../src/completion/zsh.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const run = promisify(execFile);
const program = () => buildProgram('0.0.0', () => undefined as never, () => undefined);

/** Every command name in the program, at every depth. */
function commandNames(command: Command): string[] {
  return command.commands.flatMap((c) => [c.name(), ...commandNames(c)]);
}

function hasShell(shell: string): boolean {
  try {
    execFileSync(shell, ['-c', 'true']);
    return true;
  } catch {
    return false;
  }
}

/** Asks the generated bash script what it would offer after `words` (the last one being typed). */
async function bashComplete(script: string, words: string[]): Promise<string[]> {
  const dir = tempDir('completion');
  const file = join(dir, 'queuectl.bash');
  writeFileSync(file, script);
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const { stdout } = await run('bash', ['-c', `source ${file}; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _queuectl; printf '%s\\n' "\${COMPREPLY[@]}"`]);
  return stdout.split('\n').filter(Boolean);
}

describe('queuectl completion', () => {
  const names = commandNames(program());

  it('walks the program: every command and its options, with no list kept by hand', () => {
    expect(names).toEqual(expect.arrayContaining(['topology', 'validate', 'inspect', 'migrate', 'status', 'dlq', 'retry', 'demo', 'completion']));
    // A command added later appears without touching the completion code.
    const p = program();
    p.command('brand-new').option('--shiny <file>', 'x');
    const bash = bashScript(completionTree(p));
    expect(bash).toContain("'brand-new'");
    expect(bash).toMatch(/'--shiny'\) printf '%s\\n' '@file'/);
  });

  for (const shell of ['bash', 'zsh']) {
    it(`${shell}: the built CLI prints a script naming every command`, async () => {
      const result = await runCli(['completion', shell]);
      expect(result.code, result.stderr).toBe(0);
      for (const name of names) expect(result.stdout).toContain(name);
      expect(result.stdout).toContain(shell === 'bash' ? 'source <(queuectl completion bash)' : '"${fpath[1]}/_queuectl"');
    });
  }

  it('bash -n accepts the bash script, and it completes commands, options and values', async () => {
    const script = bashScript(completionTree(program()));
    const dir = tempDir('completion');
    writeFileSync(join(dir, 'c.bash'), script);
    await run('bash', ['-n', join(dir, 'c.bash')]);
    expect(await bashComplete(script, ['queuectl', ''])).toEqual(program().commands.map((c) => c.name()));
    expect(await bashComplete(script, ['queuectl', 'dlq', 're'])).toEqual(['retry']);
    // The value of -c is not mistaken for a command; globals complete after a subcommand too.
    expect(await bashComplete(script, ['queuectl', '-c', 'dlq', 'topology', 'gr'])).toEqual(['graph']);
    expect(await bashComplete(script, ['queuectl', 'dlq', 'retry', '--can'])).toEqual(['--canary', '--canary-timeout']);
    expect(await bashComplete(script, ['queuectl', 'inspect', '--re'])).toEqual(['--redis']);
    expect(await bashComplete(script, ['queuectl', 'topology', 'graph', '--format', ''])).toEqual(['mermaid', 'dot']);
    expect(await bashComplete(script, ['queuectl', 'completion', ''])).toEqual(['bash', 'zsh']);
  });

  it.skipIf(!hasShell('zsh'))('zsh -n accepts the zsh script', async () => {
    const dir = tempDir('completion');
    writeFileSync(join(dir, '_queuectl'), zshScript(completionTree(program())));
    await run('zsh', ['-n', join(dir, '_queuectl')]);
  });

  it('an unknown shell is a usage error (exit 2, one line)', async () => {
    const result = await runCli(['completion', 'fish']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/bash, zsh/);
  });
});
