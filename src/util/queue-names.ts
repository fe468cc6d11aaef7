import { UsageError } from '../errors.js';
import { didYouMean } from '../topology/problems.js';

/**
 * The one answer every command gives to a queue name on the command line that names nothing
 * (neither declared, legacy nor live): exit 2 with the closest known name, never a row of zeros
 * or an empty result that exits 0. `inspect`, `inspect job`, `migrate --from/--to`, `dlq --queue`,
 * `dlq` references and `dedup-check --queue` all go through here.
 */

/** How many known names the hint lists when none is close. */
const LISTED = 8;

export interface UnknownQueue {
  /** The name as typed. */
  name: string;
  /** Every name that would have been accepted here. */
  known: Iterable<string>;
  /** What the name was given as, e.g. `--from`, `--queue`; undefined for a plain argument. */
  flag?: string;
  /** What the name is not, as a predicate (default "is not a declared, legacy or live queue"). */
  isNot?: string;
  /** The hint when no known name is close (default: the known names). */
  otherwise?: string;
}

/** The exit-2 error for a queue name that names nothing, with a did-you-mean when one is close. */
export function unknownQueueError({ name, known, flag, isNot, otherwise }: UnknownQueue): UsageError {
  const names = [...new Set(known)].sort();
  const guess = didYouMean(name, names);
  const hint = guess
    ? `did you mean "${guess}"?`
    : otherwise !== undefined
      ? otherwise
      : names.length > 0
      ? `known: ${names.slice(0, LISTED).join(', ')}${names.length > LISTED ? `, … (${names.length - LISTED} more)` : ''}`
      : 'check the name and --prefix; `queuectl inspect --all` lists the live queues';
  return new UsageError(`${flag ? `${flag} ` : ''}"${name}" ${isNot ?? 'is not a declared, legacy or live queue'}`, hint);
}

/** Throws unknownQueueError for the first of `names` that `known` does not hold. */
export function assertKnownQueues(names: Iterable<string>, known: Iterable<string>, context: Omit<UnknownQueue, 'name' | 'known'> = {}): void {
  const accepted = new Set(known);
  for (const name of names) {
    if (!accepted.has(name)) throw unknownQueueError({ name, known: accepted, ...context });
  }
}
