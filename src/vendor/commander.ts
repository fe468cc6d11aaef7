/**
 * The parts of commander queuectl uses, bundled by `npm run build` into one ES module like zod and
 * yaml (scripts/bundle-vendor.mjs): `queuectl --help` is a start-up cost paid on every run, and
 * commander loaded as CommonJS costs Node's CommonJS loader, its export scan and child_process
 * (only for executable subcommands, which queuectl has none of; the bundle loads it on first use).
 * Every module imports commander from here, never from 'commander': one copy of each class, so
 * `instanceof CommanderError` holds.
 */
export { Argument, Command, CommanderError, Help, Option } from 'commander';
export type { HelpConfiguration } from 'commander';
