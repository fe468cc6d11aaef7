import type { Command } from '../vendor/commander.js';

/** One option as completion needs it. */
export interface CompletionOption {
  /** Every spelling: ['-c', '--config']. */
  names: string[];
  description: string;
  /** True when the next word is the option's value (not a command). */
  takesValue: boolean;
  /** The value is a file path (`<file>`): complete file names. */
  file: boolean;
  /** The value is a queue name: completed from the topology (`queuectl __complete-queues`). */
  queue?: boolean;
  choices?: string[];
}

/** A command and what may follow it: the shape both shell scripts are generated from. */
export interface CompletionNode {
  /** Command names from the root: [] for the program, ['dlq', 'retry'] for `dlq retry`. */
  path: string[];
  description: string;
  options: CompletionOption[];
  commands: CompletionNode[];
  /** Choices of the first positional argument, when it has any. */
  argChoices?: string[];
  /** The positional arguments are queue names (inspect). */
  argQueues?: boolean;
}

/** Options whose value is a queue name, in every command. */
const QUEUE_OPTIONS = new Set(['--from', '--to', '--queue']);
/** --states takes a comma list of these; completion offers them one at a time. */
export const STATE_WORDS = ['wait', 'prioritized', 'delayed', 'failed', 'completed'];
/** The hidden command the scripts call for queue names: declared and legacy queues of the topology found here. */
export const QUEUES_COMMAND = '__complete-queues';

const HELP: CompletionOption = { names: ['-h', '--help'], description: 'display help for command', takesValue: false, file: false };

/**
 * Walks a commander program recursively, so every command and option declared in src/cli.ts
 * (including ones added later) is completed without a list kept here. Commander creates the
 * help option lazily, outside `options`, so it is added to every level.
 */
export function completionTree(command: Command, path: string[] = []): CompletionNode {
  const options: CompletionOption[] = command.options.map((o) => ({
    names: [o.short, o.long].filter((n): n is string => Boolean(n)),
    description: o.description,
    // Only a mandatory value: after `--watch [seconds]` the next word may as well be something else.
    takesValue: o.required,
    file: /<file>|\[file\]/.test(o.flags),
    ...(o.long && QUEUE_OPTIONS.has(o.long) ? { queue: true } : {}),
    ...(o.argChoices ? { choices: [...o.argChoices] } : o.long === '--states' ? { choices: STATE_WORDS } : {}),
  }));
  const first = command.registeredArguments[0];
  return {
    path,
    description: command.description(),
    options: [...options, HELP],
    commands: command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => completionTree(c, [...path, c.name()])),
    ...(first?.argChoices ? { argChoices: [...first.argChoices] } : {}),
    ...(first && /^queue/.test(first.name()) ? { argQueues: true } : {}),
  };
}

/** Every node, depth first (the root first). */
export function allNodes(node: CompletionNode): CompletionNode[] {
  return [node, ...node.commands.flatMap(allNodes)];
}

/** Options that take a value anywhere in the program: the word after them is never a command. */
export function valuedOptions(root: CompletionNode): CompletionOption[] {
  const seen = new Map<string, CompletionOption>();
  for (const node of allNodes(root)) for (const o of node.options) if (o.takesValue) for (const n of o.names) if (!seen.has(n)) seen.set(n, o);
  return [...seen.values()];
}

/** A word for a single-quoted shell string. */
export function sq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
