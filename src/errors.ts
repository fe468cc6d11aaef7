/** Exit codes promised by the contract (shared/spec/contract.md, "Exit codes"). */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  redis: 3,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Every error a user may see. `message` says what went wrong, `hint` what to do;
 * main.ts prints them as one line, `queuectl: <message> — <hint>`, and exits with `exitCode`.
 */
export class QueuectlError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags, bad references, an invalid or unreadable topology file: exit 2. */
export class UsageError extends QueuectlError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

/**
 * The topology file has problems. `problems` holds one line each (path, line, message);
 * main.ts prints every one of them, not just the first.
 */
export class TopologyError extends QueuectlError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems[0] ?? 'invalid topology'}`, ExitCode.usage);
  }
}

/** Redis unreachable, authentication refused, timeout, or a Redis error: exit 3. */
export class RedisError extends QueuectlError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.redis, hint);
  }
}

/** Ctrl-C: whatever was done is consistent and a rerun continues it. */
export class InterruptedError extends QueuectlError {
  constructor(message = 'interrupted', hint = 'rerun the same command to continue') {
    super(message, ExitCode.interrupted, hint);
  }
}

/** One line for the user: `<message> — <hint>`. */
export function formatError(error: QueuectlError): string {
  return error.hint ? `${error.message} — ${error.hint}` : error.message;
}
