/**
 * Resolves after `ms` (at once when ms <= 0), or early when the signal aborts: every wait in a
 * long-running command (throttling, polling, --watch, --follow) ends at Ctrl-C, and the caller
 * then checks `signal.aborted` and stops at a consistent point.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
