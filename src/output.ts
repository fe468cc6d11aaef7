import { Writable } from 'node:stream';
import { escapeControls } from './ui/escape.js';
import { layoutFor, setLayout, type OutputFormat } from './ui/layout.js';

/**
 * Where a command writes. Data goes to stdout, everything meant for the person (progress,
 * warnings, notes) to stderr; with --json only the one JSON document reaches stdout.
 */
export interface Output {
  readonly json: boolean;
  /** -o/--output (json when --json). */
  readonly format: OutputFormat;
  /** --verbose: detail() lines are shown. */
  readonly verbose: boolean;
  readonly color: boolean;
  /** True when stderr is a terminal: progress bars and in-place redraws are allowed. */
  readonly interactive: boolean;
  /** Human-readable data on stdout; silent in --json mode. Control characters are shown escaped. */
  print(text: string): void;
  /**
   * Like print, but writes terminal control sequences queuectl itself composes (a redraw in
   * place); whatever user data `text` holds must already have gone through escapeControls.
   */
  printRaw(text: string): void;
  /** The command's one JSON document (only written in --json mode). */
  printJson(document: unknown): void;
  /** A note, warning or progress line on stderr (control characters shown escaped). */
  note(text: string): void;
  /** Shown only with --verbose (what was used, extra detail). */
  detail(text: string): void;
  warn(text: string): void;
  /** Raw stderr stream for progress renderers that redraw in place. */
  readonly stderr: Writable;
}

export interface OutputOptions {
  json: boolean;
  color: boolean;
  /** Default human (json when `json`). */
  format?: OutputFormat;
  /** Notes and progress off (warnings and errors still reach stderr). */
  quiet?: boolean;
  verbose?: boolean;
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
}

export function createOutput(options: OutputOptions): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const format: OutputFormat = options.json ? 'json' : options.format ?? 'human';
  setLayout(layoutFor(format, stdout as { isTTY?: boolean; columns?: number }));
  const note = (text: string) => {
    if (!options.quiet) stderr.write(line(escapeControls(text, options.color)));
  };
  // Progress and redraws draw on stderr: never with --quiet, -o plain or json.
  const quietStderr = options.quiet ? new Writable({ write: (_chunk, _enc, done) => done() }) : stderr;
  const line = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  const printRaw = (text: string) => {
    if (!options.json) stdout.write(line(text));
  };
  return {
    json: options.json,
    format,
    verbose: Boolean(options.verbose),
    color: options.color,
    interactive: Boolean((stderr as { isTTY?: boolean }).isTTY) && !options.json && !options.quiet && format !== 'plain',
    stderr: quietStderr,
    print(text) {
      printRaw(escapeControls(text, options.color));
    },
    printRaw,
    printJson(document) {
      if (options.json) stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    },
    note,
    detail(text) {
      if (options.verbose) stderr.write(line(escapeControls(text, options.color)));
    },
    warn(text) {
      stderr.write(`warning: ${escapeControls(text, options.color)}\n`);
    },
  };
}

/** Colour is on only for a terminal, and never with --no-color, NO_COLOR or --json. */
export function shouldUseColor(flag: boolean | undefined, json: boolean, format: OutputFormat = 'human'): boolean {
  if (flag === false || json || format === 'plain') return false;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true;
  return Boolean(process.stdout.isTTY);
}
