import { UsageError } from '../errors.js';
import { escapeControls } from './escape.js';

/** The one place that asks the person anything. Off a terminal it refuses and asks for --yes. */
export interface Prompter {
  readonly interactive: boolean;
  /** `--yes`: every confirmation is answered yes, so a command may skip what only the question needed. */
  readonly yes: boolean;
  /** Resolves true when confirmed; `--yes` answers for the person. */
  confirm(message: string): Promise<boolean>;
  /** Asks the person to type `expected` (for the most dangerous actions); `--confirm=<x>` answers for them. */
  confirmByTyping(message: string, expected: string, given?: string): Promise<boolean>;
  /** Pick any number of items from a list. */
  pick<T>(message: string, choices: { name: string; value: T }[]): Promise<T[]>;
  /** Pick one item from a list. */
  select<T>(message: string, choices: { name: string; value: T }[]): Promise<T>;
}

export interface PrompterOptions {
  yes: boolean;
  interactive: boolean;
  /**
   * The server and database a confirmation is about (`redis://…:6379 (db 0, prefix bull)`,
   * `postgres://app:***@db/app (schema bullmq)`): the URL may have come silently from the
   * environment, so every question names it. Undefined for offline commands.
   */
  target?: () => Promise<string | undefined>;
}

/** "Move 40 jobs out of legacy?" → "Move 40 jobs out of legacy on redis://h:6379 (db 0, prefix bull)?" */
export function namingTarget(message: string, target: string | undefined): string {
  if (!target) return message;
  const url = target.split(' ')[0]!;
  if (message.includes(url)) return message;
  return message.endsWith('?') ? `${message.slice(0, -1)} on ${target}?` : `${message} (on ${target})`;
}

/** Prompts show queue names, job names and failure reasons: never raw control sequences. */
const safeChoices = <T>(choices: { name: string; value: T }[]) => choices.map((c) => ({ ...c, name: escapeControls(c.name) }));

export function createPrompter(options: PrompterOptions): Prompter {
  const named = async (message: string) => namingTarget(message, await options.target?.().catch(() => undefined));
  const needTerminal = (what: string) =>
    new UsageError(`${what} needs a confirmation and stdin is not a terminal`, 'rerun with --yes');
  return {
    interactive: options.interactive,
    yes: options.yes,
    async confirm(message) {
      if (options.yes) return true;
      if (!options.interactive) throw needTerminal(message);
      const { confirm } = await import('@inquirer/prompts');
      return confirm({ message: escapeControls(await named(message)), default: false });
    },
    async confirmByTyping(message, expected, given) {
      if (given !== undefined) {
        if (given === expected) return true;
        throw new UsageError(`--confirm=${given} does not match "${expected}"`, `pass --confirm=${expected}`);
      }
      if (!options.interactive) {
        throw new UsageError(`${message} needs a typed confirmation and stdin is not a terminal`, `pass --confirm=${expected}`);
      }
      const { input } = await import('@inquirer/prompts');
      const answer = await input({ message: escapeControls(`${await named(message)} Type "${expected}" to confirm:`) });
      return answer.trim() === expected;
    },
    async pick(message, choices) {
      if (!options.interactive) throw needTerminal(message);
      const { checkbox } = await import('@inquirer/prompts');
      return checkbox({ message: escapeControls(message), choices: safeChoices(choices) });
    },
    async select(message, choices) {
      if (!options.interactive) throw needTerminal(message);
      const { select } = await import('@inquirer/prompts');
      return select({ message: escapeControls(message), choices: safeChoices(choices) });
    },
  };
}
