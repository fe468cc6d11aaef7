/**
 * ioredis answers a password sent to a server that needs none with a raw `console.warn("[WARN] …")`
 * on every client it opens (ours and BullMQ's). The connection works all the same, so queuectl
 * swallows those lines and says it once, in its own words, through the command's output.
 */
const IOREDIS_UNNEEDED_PASSWORD = /^\[WARN\] .*does not require a password, but a password was supplied/;

let installed = false;
let seen = false;

/** Wraps console.warn once per process; other warnings pass through untouched. */
export function muteUnneededPasswordWarning(): void {
  if (installed) return;
  installed = true;
  const original = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && IOREDIS_UNNEEDED_PASSWORD.test(args[0])) {
      seen = true;
      return;
    }
    original(...args);
  };
}

/** True once per process after ioredis said the password was not needed (then false again). */
export function takeUnneededPasswordNotice(): boolean {
  const was = seen;
  seen = false;
  return was;
}
