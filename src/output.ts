import type { Writable } from 'node:stream';

/**
 * Where a command writes. Data goes to stdout, everything meant for the person (progress,
 * warnings, notes) to stderr; with --json only the one JSON document reaches stdout.
 */
export interface Output {
  readonly json: boolean;
  readonly color: boolean;
  /** True when stderr is a terminal: progress bars and in-place redraws are allowed. */
  readonly interactive: boolean;
  /** Human-readable data on stdout; silent in --json mode. */
  print(text: string): void;
  /** The command's one JSON document (only written in --json mode). */
  printJson(document: unknown): void;
  /** A note, warning or progress line on stderr. */
  note(text: string): void;
  warn(text: string): void;
  /** Raw stderr stream for progress renderers that redraw in place. */
  readonly stderr: Writable;
}

export interface OutputOptions {
  json: boolean;
  color: boolean;
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
}

export function createOutput(options: OutputOptions): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  return {
    json: options.json,
    color: options.color,
    interactive: Boolean((stderr as { isTTY?: boolean }).isTTY) && !options.json,
    stderr,
    print(text) {
      if (!options.json) stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    printJson(document) {
      if (options.json) stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    },
    note(text) {
      stderr.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    warn(text) {
      stderr.write(`warning: ${text}\n`);
    },
  };
}

/** Colour is on only for a terminal, and never with --no-color, NO_COLOR or --json. */
export function shouldUseColor(flag: boolean | undefined, json: boolean): boolean {
  if (flag === false || json) return false;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(process.stdout.isTTY);
}
