import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from '../src/vendor/commander.js';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { bashScript } from '../src/completion/bash.js';
import { completionTree } from '../src/completion/tree.js';
import { zshScript } from '../src/completion/zsh.js';
import { bin, repoRoot, runCli } from './helpers/cli.js';
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
    expect(await bashComplete(script, ['queuectl', ''])).toEqual(program().commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => c.name()));
    expect(await bashComplete(script, ['queuectl', 'dlq', 're'])).toEqual(['retry']);
    // The value of -c is not mistaken for a command; globals complete after a subcommand too.
    expect(await bashComplete(script, ['queuectl', '-c', 'dlq', 'topology', 'gr'])).toEqual(['graph']);
    expect(await bashComplete(script, ['queuectl', 'dlq', 'retry', '--can'])).toEqual(['--canary', '--canary-timeout']);
    expect(await bashComplete(script, ['queuectl', 'inspect', '--re'])).toEqual(['--redis']);
    expect(await bashComplete(script, ['queuectl', 'topology', 'graph', '--format', ''])).toEqual(['mermaid', 'dot']);
    expect(await bashComplete(script, ['queuectl', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  it.skipIf(!hasShell('zsh'))('zsh -n accepts the zsh script', async () => {
    const dir = tempDir('completion');
    writeFileSync(join(dir, '_queuectl'), zshScript(completionTree(program())));
    await run('zsh', ['-n', join(dir, '_queuectl')]);
  });

  it('an unknown shell is a usage error (exit 2, one line)', async () => {
    const result = await runCli(['completion', 'tcsh']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/bash, zsh, fish/);
  });
});

describe('completion: queue names from the topology, and fish (issue 18.12)', () => {
  /** A directory with the example topology and a `queuectl` on the PATH running this build. */
  function workspace(): { cwd: string; env: NodeJS.ProcessEnv } {
    const cwd = tempDir('completion');
    writeFileSync(join(cwd, 'queuectl.yaml'), readFileSync(join(repoRoot, 'examples/eccb-smart-upload.yaml')));
    const shims = tempDir('completion');
    writeFileSync(join(shims, 'queuectl'), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`, { mode: 0o755 });
    return { cwd, env: { ...process.env, PATH: `${shims}:${process.env.PATH}`, QUEUECTL_CONFIG: undefined as never } };
  }

  it('__complete-queues prints the declared and legacy queues of the topology found here, nothing without one', async () => {
    const { cwd } = workspace();
    const found = await runCli(['__complete-queues'], { cwd });
    expect(found.code).toBe(0);
    expect(found.stdout.split('\n').filter(Boolean)).toEqual(['eccb-ocr', 'eccb-smart-upload', 'eccb-smart-upload-autocommit', 'eccb-smart-upload-process', 'eccb-smart-upload-secondpass']);
    const none = await runCli(['__complete-queues'], { cwd: tempDir('completion') });
    expect(none).toMatchObject({ code: 0, stdout: '' });
  });

  it('bash offers queue names after migrate --from, inspect and --queue, and state names after --states', async () => {
    const { cwd, env } = workspace();
    const script = bashScript(completionTree(program()));
    const ask = async (words: string[]) => {
      const file = join(tempDir('completion'), 'queuectl.bash');
      writeFileSync(file, script);
      const quoted = words.map((w) => `'${w}'`).join(' ');
      const { stdout } = await run('bash', ['-c', `source ${file}; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _queuectl; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd, env });
      return stdout.split('\n').filter(Boolean);
    };
    expect(await ask(['queuectl', 'migrate', '--from', 'eccb-smart-upload-'])).toEqual(['eccb-smart-upload-autocommit', 'eccb-smart-upload-process', 'eccb-smart-upload-secondpass']);
    expect(await ask(['queuectl', 'inspect', 'eccb-o'])).toEqual(['eccb-ocr']);
    expect(await ask(['queuectl', 'dlq', 'list', '--queue', 'eccb-o'])).toEqual(['eccb-ocr']);
    expect(await ask(['queuectl', 'migrate', '--states', 'pri'])).toEqual(['prioritized']);
  });

  it('completion fish: commands, options and queue names per command path', async () => {
    const result = await runCli(['completion', 'fish']);
    expect(result.code).toBe(0);
    const script = result.stdout;
    expect(script).toContain("complete -c queuectl -n '__queuectl_at \\'\\'' -a 'migrate'");
    expect(script).toContain("complete -c queuectl -n '__queuectl_at \\'dlq\\'' -a 'retry'");
    expect(script).toMatch(/-n '__queuectl_at \\'migrate\\'' -l from -x -a '\(queuectl __complete-queues 2>\/dev\/null\)'/);
    expect(script).toMatch(/-n '__queuectl_at \\'inspect\\'' -a '\(queuectl __complete-queues 2>\/dev\/null\)'/);
    expect(script).not.toContain('__complete-queues\' -d'); // the hidden helper is not offered as a command
    if (hasShell('fish')) execFileSync('fish', ['--no-execute', '-c', script]);
  });
});
