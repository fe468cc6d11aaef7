import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl, scrubSecrets } from '../src/redis/url.js';
import { bin, runCli, type CliResult } from './helpers/cli.js';
import { seedLegacy } from './migrate-seed.js';
import { startRedis } from './helpers/redis.js';
import type { RedisProcess } from './setup/redis-process.js';
import { tempDir } from './helpers/temp.js';

const SECRET = 'S3cret-Doctor-Pw-91';
// Characters that need percent-encoding in a URL, to check neither form leaks.
const ODD = 'we!rd@pa/ss:x';
const ODD_ENCODED = encodeURIComponent(ODD);
const LEAKS = [SECRET, ODD, ODD_ENCODED, 'wrong-guess-77'];

const dir = tempDir('redaction');

function expectNoSecret(result: CliResult): void {
  for (const secret of LEAKS) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}

describe('passwords never reach stdout or stderr', () => {
  let server: RedisProcess;
  let hostPort = '';
  const doctor = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const result = await runCli(['doctor', ...args], { cwd: dir, env });
    expectNoSecret(result);
    return result;
  };

  beforeAll(async () => {
    // The harness waits for an unauthenticated PING, so the password is set once the server is up.
    server = await startRedis();
    hostPort = `127.0.0.1:${server.port}`;
    const admin = new Redis(server.port, '127.0.0.1');
    await admin.config('SET', 'requirepass', SECRET);
    await admin.auth(SECRET);
    await admin.call('ACL', 'SETUSER', 'app', 'on', `>${ODD}`, '~*', '&*', '+@all');
    admin.disconnect();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('with the password in the URL: redacted as redis://:***@', async () => {
    const result = await doctor(['--redis', `redis://:${SECRET}@${hostPort}`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`redis://:***@${hostPort}`);
  });

  it('with user and an encoded password in the URL: redacted as redis://user:***@', async () => {
    const result = await doctor(['--redis', `redis://app:${ODD_ENCODED}@${hostPort}`, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).redis).toBe(`redis://app:***@${hostPort}`);
  });

  it('with --json', async () => {
    const result = await doctor(['--redis', `redis://:${SECRET}@${hostPort}`, '--json']);
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout);
    expect(doc.redis).toBe(`redis://:***@${hostPort}`);
    expect(result.stderr).toBe('');
  });

  it('with a wrong password: exit 3, one authentication line', async () => {
    const result = await doctor(['--redis', `redis://:wrong-guess-77@${hostPort}`]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`queuectl: authentication refused by Redis at redis://:***@${hostPort} (wrong user name or password) — check the password in the URL or --password-file\n`);
  });

  it('with a wrong password and QUEUECTL_DEBUG=1 (stack shown, still no secret)', async () => {
    const result = await doctor(['--redis', `redis://app:wrong-guess-77@${hostPort}`], { QUEUECTL_DEBUG: '1' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/authentication refused/);
  });

  it('with no password: exit 3, authentication required', async () => {
    const result = await doctor(['--redis', `redis://${hostPort}`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^queuectl: authentication required by Redis at redis:\/\/127\.0\.0\.1:\d+ \(no password given\)/);
  });

  it('with --password-file (trailing newline trimmed), winning over a wrong URL password', async () => {
    const file = join(dir, 'redis-password');
    writeFileSync(file, `${SECRET}\n`);
    expect((await doctor(['--redis', `redis://${hostPort}`, '--password-file', file])).code).toBe(0);
    expect((await doctor(['--redis', `redis://:wrong-guess-77@${hostPort}`, '--password-file', file])).code).toBe(0);
    const missing = await doctor(['--redis', `redis://${hostPort}`, '--password-file', join(dir, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^queuectl: cannot read --password-file .*nope \(ENOENT\)/);
  });

  it('with the password in REDIS_URL', async () => {
    const result = await doctor(['--json'], { REDIS_URL: `redis://:${SECRET}@${hostPort}` });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).redis).toBe(`redis://:***@${hostPort}`);
  });

  it('typed without its colon (redis://SECRET@x@host): exit 2, and the secret is not shown as a user name', async () => {
    const result = await doctor(['--redis', `redis://${SECRET}@x@${hostPort}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^queuectl: invalid Redis URL "redis:\/\/\*\*\*@127\.0\.0\.1:\d+": an unencoded "@" /);
  });

  it('in a malformed URL and an unreachable one', async () => {
    const bad = await doctor(['--redis', `redis://:${SECRET}@127.0.0.1:99999`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('redis://:***@127.0.0.1:99999');
    const cluster = await doctor(['--redis', `redis+cluster://app:${ODD_ENCODED}@${hostPort}`, '--timeout', '1000']);
    expect(cluster.code).toBe(3);
  });
});

describe('redactUrl', () => {
  it.each([
    ['redis://:pw@h:1', 'redis://:***@h:1'],
    ['redis://user:pw@h:1/2', 'redis://user:***@h:1/2'],
    ['rediss://user:p@ss/w@h:1', 'rediss://user:***@h:1'],
    ['redis+cluster://u:pw@a:1,b:2', 'redis+cluster://u:***@a:1,b:2'],
    ['redis://user@h:1', 'redis://user@h:1'],
    ['redis://h:1', 'redis://h:1'],
    ['user:pw@h:1', 'user:***@h:1'],
    // A password typed without its ':' is not a user name to show.
    ['redis://SECRET@x@h:1', 'redis://***@h:1'],
  ])('%s → %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  it('scrubs secrets and URLs out of free text', () => {
    expect(scrubSecrets('failed for redis://u:topsecret@h:1 with topsecret', 'topsecret')).toBe('failed for redis://u:***@h:1 with ***');
  });
});

describe('a password on the command line', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    silent = createServer((socket) => sockets.push(socket)); // accepts, never answers: queuectl waits
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('is gone from /proc/<pid>/cmdline while queuectl runs', async () => {
    const port = (silent.address() as AddressInfo).port;
    const connected = new Promise<void>((resolve) => silent.once('connection', () => resolve()));
    const child = spawn(process.execPath, [bin, 'doctor', '--timeout', '60000', `--redis=redis://app:${SECRET}@127.0.0.1:${port}`], {
      env: { ...process.env, REDIS_URL: undefined, QUEUECTL_CONFIG: undefined },
      stdio: 'ignore',
    });
    try {
      await connected; // the arguments are read (and hidden) before the first connection
      const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
      expect(cmdline).not.toContain(SECRET);
      expect(cmdline).toContain(`redis://app:***@127.0.0.1:${port}`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('--help says to prefer --password-file or REDIS_URL', async () => {
    const result = await runCli(['--help']);
    expect(result.stdout.replace(/\s+/g, ' ')).toMatch(/prefer --password-file or REDIS_URL/);
  });
});

describe('an out-of-memory Redis', () => {
  it('says to free memory or raise maxmemory, not to rerun with QUEUECTL_DEBUG', async () => {
    const server = await startRedis(['--maxmemory-policy', 'noeviction']);
    try {
      const admin = new Redis(server.port, '127.0.0.1');
      const prefix = 'oom';
      const config = join(dir, 'oom.yaml');
      writeFileSync(config, `version: 1\nprefix: ${prefix}\nqueues:\n  ocr: { jobs: [ocr.process] }\nlegacy:\n  shared: { note: before the split }\n`);
      await seedLegacy(admin, { prefix, queue: 'shared', jobs: 10, names: ['ocr.process'] });
      await admin.config('SET', 'maxmemory', '1'); // far below what is used: every write is refused
      admin.disconnect();
      const result = await runCli(['migrate', '--from', 'shared', '--yes', '-c', config, '--redis', `redis://127.0.0.1:${server.port}`]);
      expect(result.code, result.stderr).toBe(3);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines.filter((line) => line.startsWith('queuectl: '))).toHaveLength(1); // the plan comes first
      expect(result.stderr).toMatch(/out of memory .* — free memory on the server .* or raise its maxmemory/);
      expect(result.stderr).not.toMatch(/QUEUECTL_DEBUG/);
    } finally {
      await server.stop();
    }
  });
});
