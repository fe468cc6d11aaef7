import { RedisError } from '../errors.js';

/** A key a migrate script would touch that does not hold what BullMQ keeps there. */
export interface BadKey {
  key: string;
  /** What it holds: a Redis type, or a type with the offending field/value. */
  found: string;
  /** What BullMQ keeps there. */
  want: string;
}

const PREFIX = 'QUEUECTL_BADKEY ';

/** The flat key, found, wanted list a script reports (dry runs) as BadKeys. */
export function badKeysOf(flat: (string | Buffer)[] | undefined): BadKey[] {
  const out: BadKey[] = [];
  for (let i = 0; flat && i + 2 < flat.length; i += 3) out.push({ key: String(flat[i]), found: String(flat[i + 1]), want: String(flat[i + 2]) });
  return out;
}

/** Adds keys to a list once each, keeping it short (the first few are what a person fixes first). */
export function addBadKeys(list: BadKey[], more: BadKey[], max = 20): void {
  for (const bad of more) if (list.length < max && !list.some((b) => b.key === bad.key && b.found === bad.found)) list.push(bad);
}

/** The error a script returns when it refused a batch (nothing written), or undefined for any other error. */
export function badKeysInError(error: unknown): BadKey[] | undefined {
  const message = error instanceof Error ? error.message : '';
  const at = message.indexOf(PREFIX);
  if (at < 0) return undefined;
  try {
    return badKeysOf(JSON.parse(message.slice(at + PREFIX.length)) as string[]);
  } catch {
    return undefined;
  }
}

/**
 * One line naming the key, what it holds and what to do (exit 3). `moved`: whether earlier batches
 * of this run moved jobs (each batch is all or nothing, so a rerun continues after the fix).
 */
export function badKeyError(bad: BadKey[], when: 'plan' | 'move'): RedisError {
  const [first] = bad;
  const more = bad.length > 1 ? ` (and ${bad.length - 1} more key(s): ${bad.slice(1, 4).map((b) => b.key).join(', ')}${bad.length > 4 ? ', …' : ''})` : '';
  const done = when === 'plan' ? 'migrate moved nothing' : 'migrate stopped at the batch that met it, which moved nothing';
  return new RedisError(`${first.key} is a ${first.found}, where BullMQ keeps a ${first.want}${more}: ${done}`, `repair or delete that key (redis-cli TYPE ${quoteArg(first.key)}), then rerun`);
}

function quoteArg(key: string): string {
  return /^[\w:{}.\-]+$/.test(key) ? key : JSON.stringify(key);
}

/** For a script call's catch: a batch refused whole (a key of the wrong type) becomes that one line. */
export function refusal(error: unknown): never {
  const bad = badKeysInError(error);
  throw bad ? badKeyError(bad, 'move') : error;
}
