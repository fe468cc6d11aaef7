import { scrubSecrets } from './url.js';

/**
 * A password typed in `--redis redis://:pass@host` is visible to every user of the machine in `ps`
 * and /proc/<pid>/cmdline for as long as queuectl runs. Once the arguments are read, the process
 * title (the memory /proc/<pid>/cmdline shows) is overwritten with the redacted command line.
 * The title can only be as long as the original arguments, and the redacted one is always
 * shorter: `queuectl` replaces the node and script paths, `***` the password.
 */
export function hideSecretsInArgv(argv: string[]): void {
  const args = argv.slice(2);
  const redacted = args.map((arg) => scrubSecrets(arg));
  if (redacted.every((arg, i) => arg === args[i])) return;
  // For anything in the process that reads process.argv later; the caller keeps its own copy.
  process.argv = [...process.argv.slice(0, 2), ...process.argv.slice(2).map((arg) => scrubSecrets(arg))];
  try {
    process.title = ['queuectl', ...redacted].join(' ');
  } catch {
    // Some platforms refuse a new title; the password then stays in ps, as --help warns.
  }
}
