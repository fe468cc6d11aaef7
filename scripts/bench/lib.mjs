// Shared plumbing for the benchmarks in scripts/bench/: throwaway redis-server processes and
// clusters on free loopback ports (never 6379; the same approach as test/setup/redis-process.ts,
// copied here so scripts never import test code), RESP encoding for `redis-cli --pipe` seeding,
// running the built CLI with its wall time and peak RSS, and the standalone entry point.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const execFileAsync = promisify(execFile);

/** The repository root (scripts/bench/../..). */
export const root = fileURLToPath(new URL('../..', import.meta.url));
/** The built CLI entry, run with `process.execPath` so the measured process is plain Node. */
export const bin = join(root, 'bin/queuectl');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Throws unless `npm run build` has produced dist/main.js: the benches time the built CLI. */
export function requireBuild() {
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing — run `npm run build` first');
}

/** True when the module with this `import.meta.url` is the script Node was started with. */
export function isMain(metaUrl) {
  return Boolean(process.argv[1]) && metaUrl === pathToFileURL(process.argv[1]).href;
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free loopback port in 20000-39999 (never 6379); with `bus`, port + 10000 is free too (Redis Cluster's bus). */
export async function freePort({ bus = false } = {}) {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (!(await portIsFree(port))) continue;
    if (bus && !(await portIsFree(port + 10000))) continue;
    return port;
  }
  throw new Error('no free loopback port found');
}

/** One synchronous `redis-cli -p <port> …` call; returns its trimmed stdout. */
export function redisCli(port, ...args) {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout.trim();
}

async function waitForPing(port, child) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.spawnError) throw new Error(child.spawnError.code === 'ENOENT' ? 'redis-server is not on the PATH (install Redis ≥ 6.2, e.g. `apt-get install redis-server`)' : `redis-server: ${child.spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${child.exitCode}`);
    try {
      if ((await execFileAsync('redis-cli', ['-p', String(port), 'PING'])).stdout.trim() === 'PONG') return;
    } catch {
      // not up yet
    }
    await sleep(50);
  }
  throw new Error(`redis-server on ${port} did not answer PING within 10 s`);
}

/**
 * A private redis-server with no persistence on a free port; `args` add config. `stop()` always
 * kills it and removes its directory.
 * @param {{ args?: string[], bus?: boolean }} [options]
 */
export async function startServer({ args = [], bus = false } = {}) {
  const port = await freePort({ bus });
  const dir = mkdtempSync(join(tmpdir(), `queuectl-bench-${port}-`));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args], { stdio: 'ignore' });
  // A missing redis-server emits 'error' (ENOENT) instead of exiting: remember it, never throw from the event.
  child.on('error', (error) => { child.spawnError = error; });
  const stop = async () => {
    if (!child.spawnError && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(port, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: child.pid, url: `redis://127.0.0.1:${port}`, stop };
}

/** A Redis Cluster of `masters` nodes and no replicas, built with `redis-cli --cluster create`. */
export async function startCluster(masters = 3) {
  const nodes = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(await startServer({ bus: true, args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'] }));
    }
    await execFileAsync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      while (!(await execFileAsync('redis-cli', ['-p', String(node.port), 'CLUSTER', 'INFO'])).stdout.includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('cluster did not reach cluster_state:ok');
        await sleep(100);
      }
    }
    return { nodes, url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** RESP encoding of one command, as `redis-cli --pipe` expects (lengths in bytes, not characters). */
export function resp(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = String(a);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

/**
 * Streams RESP commands (an iterable of `resp()` strings, usually a generator) into
 * `redis-cli --pipe` in ~1 MB chunks, respecting back-pressure; resolves with redis-cli's report.
 */
export function pipeSeed(port, commands) {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let report = '';
    child.stdout.on('data', (d) => (report += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(report) : reject(new Error(`redis-cli --pipe exited ${code}: ${report}`))));
    const iterator = commands[Symbol.iterator]();
    const pump = () => {
      for (;;) {
        let chunk = '';
        let done = false;
        while (chunk.length < 1 << 20) {
          const next = iterator.next();
          if (next.done) { done = true; break; }
          chunk += next.value;
        }
        if (done) { child.stdin.end(chunk); return; }
        if (!child.stdin.write(chunk)) { child.stdin.once('drain', pump); return; }
      }
    };
    pump();
  });
}

/**
 * Runs `node bin/queuectl …args` and measures its wall time. With `peakRss`, runs it under
 * `/usr/bin/time -v` when present (its "Maximum resident set size"), else samples /proc VmHWM.
 * Never rejects on a non-zero exit: the caller decides what a failure means.
 * @param {string[]} args  CLI arguments after `bin/queuectl`
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, peakRss?: boolean }} [options]
 * @returns {Promise<{ ms: number, code: number | null, stdout: string, stderr: string, peakRssMb?: number }>}
 */
export function runCli(args, { env, cwd, peakRss = false } = {}) {
  const nodeArgs = [bin, ...args];
  const timed = peakRss && existsSync('/usr/bin/time');
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = timed
      ? spawn('/usr/bin/time', ['-v', process.execPath, ...nodeArgs], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, nodeArgs, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let hwmKb = 0;
    const sampler = peakRss && !timed ? setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
      } catch { /* exited */ }
    }, 50) : undefined;
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', (error) => { clearInterval(sampler); reject(error); });
    child.on('close', (code) => {
      clearInterval(sampler);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const stdout = Buffer.concat(out).toString('utf8');
      let stderr = Buffer.concat(err).toString('utf8');
      let exit = code;
      if (timed) {
        const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
        if (rss) hwmKb = Number(rss[1]);
        exit = Number(/Exit status: (\d+)/.exec(stderr)?.[1] ?? code);
        // Keep only the CLI's own lines: /usr/bin/time appends its report after a "Command being timed" line.
        stderr = stderr.split(/^\s*Command being timed:/m)[0];
      }
      resolve({ ms, code: exit, stdout, stderr, ...(peakRss ? { peakRssMb: hwmKb / 1024 } : {}) });
    });
  });
}

/** The `queuectl: …` line of a failed run, or the start of its stderr. */
export function cliError(run) {
  return run.stderr.split('\n').find((l) => l.startsWith('queuectl:')) ?? run.stderr.trim().slice(0, 500);
}

/**
 * The SLOWLOG of a server as findings: duration in ms and the command with its first arguments,
 * each cut to 60 characters (an EVAL carries its whole script). Newest first, as Redis keeps it.
 */
export async function slowlog(url) {
  const redis = new Redis(url, { lazyConnect: true });
  try {
    await redis.connect();
    const entries = await redis.slowlog('GET', 128);
    const short = (a) => (a.length > 60 ? `${a.slice(0, 57).replace(/\s+/g, ' ')}...` : a);
    return entries.map(([, , us, args]) => ({ ms: Math.round(us / 100) / 10, command: args.slice(0, 4).map(short).join(' ') }));
  } finally {
    redis.disconnect();
  }
}

/** Tiny argv reader: `--name value` numbers and strings, `--flag` booleans. */
export function argv(list = process.argv.slice(2)) {
  const value = (name) => {
    const i = list.indexOf(`--${name}`);
    return i === -1 ? undefined : list[i + 1];
  };
  return {
    num: (name) => (value(name) === undefined ? undefined : Number(value(name))),
    str: value,
    flag: (name) => list.includes(`--${name}`),
  };
}

/** Human number formatting for logs and the summary: 61234 → "61,234". */
export const int = (n) => Math.round(n).toLocaleString('en-US');

/** Log lines go to stderr so stdout can carry the JSON result. */
export const stderrLog = (line) => process.stderr.write(`${line}\n`);

/**
 * Entry point for `node scripts/bench/<name>.mjs`: runs the bench with `options`, prints the
 * result as JSON on stdout (one line with `--json`), exits 0, or `missedExit` when the result's
 * goals were missed, or 2 when the bench itself broke.
 */
export function standalone(name, run, options, { missedExit = 0 } = {}) {
  const oneLine = process.argv.includes('--json');
  run({ log: stderrLog, ...options }).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result, null, oneLine ? 0 : 2)}\n`);
      process.exitCode = result.ok ? 0 : missedExit;
    },
    (error) => {
      process.stderr.write(`bench ${name}: ${error.message}\n`);
      process.exitCode = 2;
    },
  );
}
