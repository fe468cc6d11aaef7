import { InterruptedError } from '../errors.js';

/** Resolves after ms, or at once when the signal aborts (callers then check `signal.aborted`). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Polls `test` every `every` ms until it holds (true) or `withinMs` passes (false); stops on abort. */
export async function waitFor(test: () => boolean | Promise<boolean>, withinMs: number, signal?: AbortSignal, every = 20): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await test()) return true;
    if (signal?.aborted || Date.now() >= deadline) return false;
    await pause(every, signal);
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError('dedup-check interrupted; its scratch keys and canary jobs were removed', 'rerun dedup-check');
}
