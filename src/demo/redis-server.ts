import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { UsageError } from '../errors.js';

/** A redis-server the demo started and owns: it alone may be killed and its directory removed. */
export interface ThrowawayRedis {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** Kills the server and removes its directory; safe to call twice. */
  stop(): Promise<void>;
  /** Last resort from a process 'exit' handler, where nothing async can run. */
  stopSync(): void;
}

/** The first executable `name` on PATH, or undefined. Pure apart from file-system checks. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function redisServerMissing(): UsageError {
  return new UsageError(
    'redis-server is not on the PATH, and the demo needs one to start a throwaway Redis',
    'install it (apt-get install redis-server, or brew install redis) or pass --redis <url> to use a Redis you already run',
  );
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free loopback port in 20000-39999: far from 6379, so the machine's own Redis is never touched. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (await portIsFree(port)) return port;
  }
  throw new UsageError('no free loopback port found for the throwaway redis-server', 'pass --redis <url> to use a Redis you already run');
}

/** True when something on 127.0.0.1:port answers PING with PONG (no redis-cli needed). */
export function pingOnce(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/**
 * Starts `binary` on a free loopback port with no persistence, its working directory in a fresh
 * temp dir, and waits until it answers PING. The server is not detached: if this process is killed
 * hard, a Ctrl-C at the terminal still reaches it too.
 */
export async function startThrowawayRedis(binary: string): Promise<ThrowawayRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-demo-'));
  let log = '';
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d) => (log = (log + d).slice(-2000)));
  child.stderr?.on('data', (d) => (log = (log + d).slice(-2000)));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const server: ThrowawayRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      if (stopped) return;
      const running = child.exitCode === null && child.signalCode === null;
      const exited = running ? new Promise((r) => child.once('exit', r)) : Promise.resolve();
      stopSync();
      await exited;
    },
    stopSync,
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    const failed = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(r, 50, undefined))]);
    if (failed || child.exitCode !== null) {
      stopSync();
      const why = failed ? failed.message : log.trim().split('\n').pop() ?? `exit ${child.exitCode}`;
      throw new UsageError(`redis-server (${binary}) did not start: ${why}`, 'pass --redis <url> to use a Redis you already run');
    }
    if (await pingOnce(port)) return server;
    if (Date.now() > deadline) {
      stopSync();
      throw new UsageError(`redis-server on 127.0.0.1:${port} did not answer PING within 10 s`, 'pass --redis <url> to use a Redis you already run');
    }
  }
}
