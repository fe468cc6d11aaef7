import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A redis-server this test run started and owns; never the machine's own Redis. */
export interface RedisProcess {
  port: number;
  url: string;
  stop(): Promise<void>;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free loopback port in 20000-39999, far from Redis's default port; with `bus`, port+10000 is free too (Redis Cluster's bus). */
export async function freePort(bus = false): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (!(await portIsFree(port))) continue;
    if (bus && !(await portIsFree(port + 10000))) continue;
    return port;
  }
  throw new Error('no free loopback port found');
}

async function waitForPing(port: number, child: ChildProcess, log: () => string, password?: string): Promise<void> {
  const auth = password === undefined ? [] : ['-a', password, '--no-auth-warning'];
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited: ${log()}`);
    try {
      const { stdout } = await run('redis-cli', ['-p', String(port), ...auth, 'PING']);
      if (stdout.trim() === 'PONG') return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on ${port} did not answer PING within 10 s: ${log()}`);
}

const started = new Set<() => Promise<void>>();

/**
 * The stop() of a redis-server this process spawned with `dir` as its working directory: kills it,
 * waits for its exit, removes the directory; safe to call twice. Until stopped it is listed for
 * stopStarted(), so a setup that fails half-way (one of two servers up) leaves nothing running.
 */
export function ownServer(child: ChildProcess, dir: string): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // After SIGKILL exitCode stays null (signalCode is set): test both, or a second stop() waits forever.
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
      started.delete(stop);
    })());
  started.add(stop);
  return stop;
}

/** Stops every server this process started and did not stop yet (test/helpers register it in afterAll). */
export async function stopStarted(): Promise<void> {
  await Promise.all([...started].map((stop) => stop()));
}

/** Starts a private redis-server with no persistence on a free port; `args` add config (e.g. ['--maxmemory-policy', 'allkeys-lru']). */
export async function startRedis(args: string[] = [], options: { bus?: boolean; port?: number } = {}): Promise<RedisProcess> {
  const port = options.port ?? (await freePort(options.bus));
  const dir = mkdtempSync(join(tmpdir(), `queuectl-redis-${port}-`));
  let output = '';
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stop = ownServer(child, dir);
  child.stdout?.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
  const requirepass = args.indexOf('--requirepass');
  try {
    await waitForPing(port, child, () => output, requirepass >= 0 ? args[requirepass + 1] : undefined);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: `redis://127.0.0.1:${port}`, stop };
}

/** A Redis Cluster of `masters` nodes (no replicas unless asked), built with redis-cli --cluster create. */
export async function startCluster(masters = 3, replicas = 0): Promise<{ nodes: RedisProcess[]; url: string; stop(): Promise<void> }> {
  const nodes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      nodes.push(
        await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'], { bus: true }),
      );
    }
    await run('redis-cli', [
      '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas', String(replicas), '--cluster-yes',
    ]);
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      for (;;) {
        const { stdout } = await run('redis-cli', ['-p', String(node.port), 'CLUSTER', 'INFO']);
        if (stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster did not reach cluster_state:ok: ${stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { nodes, url: `redis+cluster://${nodes.slice(0, masters).map((n) => `127.0.0.1:${n.port}`).join(',')}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
