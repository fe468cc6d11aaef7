import { readFileSync } from 'node:fs';
import { CommanderError } from './vendor/commander.js';
import { buildProgram } from './cli.js';
import type { GlobalOptions } from './context.js';
import { escapeControls } from './ui/escape.js';
import { ExitCode, InterruptedError, QueuectlError, TopologyError, formatError } from './errors.js';

/**
 * The entry point of bin/queuectl and the one place that calls process.exit: it maps typed errors
 * to the contract's exit codes and prints each as one line (stack traces only with QUEUECTL_DEBUG=1).
 */
export async function main(argv: string[]): Promise<void> {
  // Only a URL can carry a password; without one (`--help`, most runs) the URL parser is not even loaded.
  if (argv.some((arg) => arg.includes('://'))) (await import('./redis/argv.js')).hideSecretsInArgv(argv);
  // Node exits 0 when the event loop runs empty, even with the command still pending (a promise
  // nothing will settle). An unfinished run must never pass a CI gate: say so and exit 1. The first
  // time the loop empties, a more specific 'beforeExit' handler (the topology module loader) may
  // settle the command with its own error, so keep the loop alive one turn and only give up when
  // it empties again.
  let finished = false;
  let idle = 0;
  const onIdle = () => {
    if (finished) return;
    idle += 1;
    if (idle === 1) {
      setImmediate(() => {});
      return;
    }
    process.stderr.write('queuectl: unexpected error: the command stopped before it finished (it waited on something that never happened) — rerun with QUEUECTL_DEBUG=1 and report it\n');
    process.exit(ExitCode.checkFailed);
  };
  process.on('beforeExit', onIdle);
  const code = await runMain(argv);
  finished = true;
  process.off('beforeExit', onIdle);
  // Let stdout drain before exiting: a piped `--json` document must arrive whole.
  process.stdout.write('', () => process.exit(code));
}

export async function runMain(argv: string[]): Promise<number> {
  const interrupts = new AbortController();
  let interrupted = 0;
  const onSigint = () => {
    interrupted += 1;
    if (interrupted > 1) process.exit(ExitCode.interrupted); // a second Ctrl-C means "now"
    process.stderr.write('\nqueuectl: stopping at the next consistent point (Ctrl-C again to force)\n');
    interrupts.abort(new InterruptedError());
  };
  process.on('SIGINT', onSigint);

  let exitCode: number = ExitCode.ok;
  const makeContext = async (globals: GlobalOptions) => (await import('./runtime.js')).createContext(globals, { signal: interrupts.signal });
  const program = buildProgram(packageVersion(), makeContext, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return report(error);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function report(error: unknown): number {
  return reportTo((line) => process.stderr.write(escapeControls(line)), error);
}

/** One error as lines for `write`; a message quoting user input (a job id, a queue name) may hold control characters. */
function reportTo(write: (line: string) => void, error: unknown): number {
  const debug = process.env.QUEUECTL_DEBUG === '1';
  if (error instanceof CommanderError) {
    if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
    if (error.code === 'commander.help') return ExitCode.ok;
    const what = error.message.replace(/^error:\s*/, '').split('\n')[0];
    const suggestion = error.message.split('\n').find((l) => l.startsWith('(Did you mean'));
    const help = (error as CommanderError & { helpCommand?: string }).helpCommand ?? 'queuectl --help';
    write(`queuectl: ${what} — ${suggestion ? `${suggestion.slice(1, -1)}; ` : ''}see '${help}'\n`);
    return ExitCode.usage;
  }
  if (error instanceof TopologyError) {
    for (const problem of error.problems) write(`queuectl: ${error.file}: ${problem}\n`);
    if (debug) write(`${error.stack}\n`);
    return error.exitCode;
  }
  if (error instanceof QueuectlError) {
    write(`queuectl: ${formatError(error)}\n`);
    if (debug) write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  write(`queuectl: unexpected error: ${message.split('\n')[0]} — rerun with QUEUECTL_DEBUG=1 and report it\n`);
  if (debug && error instanceof Error) write(`${error.stack}\n`);
  return ExitCode.checkFailed;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
