import { describe, expect, it } from 'vitest';
import type { Command } from '../src/vendor/commander.js';
import { buildProgram } from '../src/cli.js';
import { runCli } from './helpers/cli.js';

const program = buildProgram('0.0.0-test', () => {
  throw new Error('help never builds a context');
}, () => undefined);

function every(command: Command, path: string[] = []): [string, Command][] {
  const here: [string, Command][] = [[['queuectl', ...path].join(' '), command]];
  const visible = command.commands.filter((sub) => !(sub as unknown as { _hidden?: boolean })._hidden);
  return here.concat(visible.flatMap((sub) => every(sub, [...path, sub.name()])));
}

describe('every --help (issue 18.1)', () => {
  const commands = every(program);

  it('covers every command, groups included', () => {
    const names = commands.map(([name]) => name);
    for (const name of ['queuectl topology', 'queuectl migrate status', 'queuectl dlq list', 'queuectl dlq show', 'queuectl dlq retry', 'queuectl dlq discard', 'queuectl dlq stats']) {
      expect(names).toContain(name);
    }
  });

  it.each(commands)('%s: leads with examples, right under the description', (name, command) => {
    const help = command.helpInformation();
    const examples = help.indexOf('\nExamples:\n');
    expect(examples, `${name} has no Examples`).toBeGreaterThan(0);
    for (const section of ['\nArguments:\n', '\nOptions:\n', '\nCommands:\n', '\nGlobal Options:\n']) {
      const at = help.indexOf(section);
      if (at !== -1) expect(at, `${name}: ${section.trim()} before Examples`).toBeGreaterThan(examples);
    }
    expect(help.slice(examples).split('\n')[2]).toMatch(/^ {2}(queuectl|npm|source) /);
    // Defaults print as typed: (default: 250), never a JSON-quoted "250".
    expect(help).not.toMatch(/default: "/);
    if (command !== program) {
      expect(help, `${name} shows the global options`).toMatch(/\nGlobal Options:\n[\s\S]*--url <url>[\s\S]*-o, --output <format>/);
      // only the root's options count as global (migrate status does not take migrate's --from)
      if (name === 'queuectl migrate status') expect(help).not.toMatch(/--from/);
    }
  });

  it('a usage error points at the help of the command it came from', async () => {
    const sub = await runCli(['migrate', '--no-such-flag']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toBe("queuectl: unknown option '--no-such-flag' — see 'queuectl migrate --help'\n");
    const nested = await runCli(['dlq', 'retry', '--no-such-flag']);
    expect(nested.stderr).toMatch(/see 'queuectl dlq retry --help'\n$/);
    const root = await runCli(['--no-such-flag']);
    expect(root.stderr).toMatch(/see 'queuectl --help'\n$/);
  });
});
