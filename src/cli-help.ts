import { Command, Help, type HelpConfiguration, type Option } from './vendor/commander.js';

/**
 * How every `--help` reads (README: "every --help leads with examples"): usage, the description,
 * then Examples, then arguments, options and the global options; notes (how it works, exit codes)
 * stay at the end. New commands: `.examples([...])`, never an "Examples:" in addHelpText.
 */
export class QueuectlCommand extends Command {
  private exampleLines: string[] = [];

  /** The examples shown right under the description; one command line each, `# why` allowed. */
  examples(lines: string[]): this {
    this.exampleLines = lines;
    return this;
  }

  exampleList(): readonly string[] {
    return this.exampleLines;
  }

  /** Subcommands made by .command() are QueuectlCommands too, so .examples() chains everywhere. */
  override createCommand(name?: string): QueuectlCommand {
    return new QueuectlCommand(name);
  }
}

/** The help layout; set on the program before any subcommand exists, so every one inherits it. */
export function helpLayout(): HelpConfiguration {
  return {
    showGlobalOptions: true,
    // The root's options (--url, -c, -o…), which every command takes; not a parent's own options
    // (`migrate status` does not take `migrate --from`).
    visibleGlobalOptions(cmd: Command): Option[] {
      let root = cmd;
      while (root.parent) root = root.parent;
      return root === cmd ? [] : root.options.filter((option) => !option.hidden);
    },
    formatHelp(cmd: Command, helper: Help): string {
      const text = globalOptionsLast(Help.prototype.formatHelp.call(helper, cmd, helper));
      const lines = cmd instanceof QueuectlCommand ? cmd.exampleList() : [];
      if (lines.length === 0) return text;
      const block = `${helper.styleTitle('Examples:')}\n${lines.map((line) => `  ${line}`).join('\n')}\n\n`;
      const firstSection = text.search(/^(Arguments|Options|Commands|Global Options):$/m);
      return firstSection === -1 ? `${text.trimEnd()}\n\n${block}` : text.slice(0, firstSection) + block + text.slice(firstSection);
    },
  };
}

/** The long Global Options block after a group's Commands, so `queuectl dlq --help` shows its subcommands first. */
function globalOptionsLast(text: string): string {
  const start = text.search(/^Global Options:$/m);
  if (start === -1) return text;
  const rest = text.slice(start);
  const next = rest.slice(1).search(/^[A-Z][A-Za-z ]*:$/m);
  if (next === -1) return text;
  const block = rest.slice(0, next + 1);
  return `${text.slice(0, start)}${rest.slice(next + 1).trimEnd()}\n\n${block.trimEnd()}\n`;
}

/**
 * A default shown as the user would type it, `(default: 250)`, never JSON-quoted `"250"`; the
 * value stays a string, as a value given on the command line would be.
 */
export function withDefault(option: Option, value: string): Option {
  return option.default(value, value);
}

/** `queuectl migrate --help`: the help of the command a usage error came from. */
export function helpCommandFor(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return `${names.join(' ')} --help`;
}
