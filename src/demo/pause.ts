import { createInterface } from 'node:readline';
import { demoStopped } from './interrupt.js';

/**
 * "Press Enter" between steps, on a terminal only. Cooked mode (terminal: false) on purpose: a
 * Ctrl-C at the prompt reaches the process as SIGINT, which main.ts turns into `signal`, so the
 * demo stops the same way wherever the person interrupts it. End of input (Ctrl-D) continues.
 */
export function pauser(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, signal: AbortSignal): () => Promise<void> {
  return () =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(demoStopped());
      const rl = createInterface({ input, terminal: false });
      output.write('Press Enter to run it (Ctrl-C stops the demo and cleans up) ');
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        rl.close();
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => finish(demoStopped());
      signal.addEventListener('abort', onAbort, { once: true });
      rl.once('line', () => finish());
      rl.once('close', () => finish());
    });
}
