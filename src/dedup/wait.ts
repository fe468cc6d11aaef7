import { InterruptedError } from '../errors.js';
import { sleep } from '../util/sleep.js';

/** Polls `test` every `every` ms until it holds (true) or `withinMs` passes (false); stops on abort. */
export async function waitFor(test: () => boolean | Promise<boolean>, withinMs: number, signal?: AbortSignal, every = 20): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await test()) return true;
    if (signal?.aborted || Date.now() >= deadline) return false;
    await sleep(every, signal);
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError('dedup-check interrupted; its scratch keys and canary jobs were removed', 'rerun dedup-check');
}
