import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The package root (this file is src/demo/child.ts or dist/demo/child.js). */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
export const binPath = fileURLToPath(new URL('../../bin/queuectl', import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ChildOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** Each line of stdout and stderr as it arrives, in arrival order (undefined: run silently). */
  onLine?: (line: string) => void;
}

/**
 * Runs `node bin/queuectl …` as a user would, without a terminal: output is captured (and, with
 * onLine, re-printed line by line as it comes), so the demo shows exactly what the command prints.
 * Ctrl-C forwards SIGINT, letting the command stop at its own consistent point.
 */
export function runQueuectl(args: string[], options: ChildOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const partial = { out: '', err: '' };
    const feed = (which: 'out' | 'err', chunk: string) => {
      if (!options.onLine) return;
      const lines = (partial[which] + chunk).split('\n');
      partial[which] = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      feed('out', d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      feed('err', d);
    });
    const onAbort = () => child.kill('SIGINT');
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      options.signal.removeEventListener('abort', onAbort);
      for (const rest of [partial.out, partial.err]) if (rest && options.onLine) options.onLine(rest);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A command line as a person would type it: arguments with spaces or shell characters quoted. */
export function shellLine(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
