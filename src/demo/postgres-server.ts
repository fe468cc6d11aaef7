import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from '../errors.js';
import { freePort } from './redis-server.js';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster queuectl created (initdb) and started (pg_ctl) in a temp folder of its own,
 * on a free loopback port: it alone may be stopped and its folder removed. Written with no demo
 * specifics so test/setup/postgres-process.ts can share it.
 */
export interface ThrowawayPostgres {
  readonly port: number;
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres (a secret: never print it). */
  readonly url: string;
  /** The same URL with the password hidden, for people. */
  readonly shownUrl: string;
  readonly dataDir: string;
  /** The postmaster's pid, from its postmaster.pid (undefined once stopped). */
  readonly pid: number | undefined;
  readonly binDir: string;
  /** pg_ctl stop -m fast, then removes the folder; safe to call twice. */
  stop(): Promise<void>;
  /** Last resort from a process 'exit' handler, where nothing async can run. */
  stopSync(): void;
}

/**
 * Where initdb and pg_ctl live: the PATH first, then `pg_config --bindir`, then the newest
 * /usr/lib/postgresql/<n>/bin (Debian's postgresql package does not put them on the PATH).
 */
export async function findPostgresBinDir(path = process.env.PATH ?? ''): Promise<string | undefined> {
  const hasBoth = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  for (const dir of path.split(delimiter)) if (dir && hasBoth(dir)) return dir;
  try {
    const { stdout } = await run('pg_config', ['--bindir']);
    if (hasBoth(stdout.trim())) return stdout.trim();
  } catch {
    // no pg_config (libpq-dev is not installed)
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (hasBoth(join(root, v, 'bin'))) return join(root, v, 'bin');
  return undefined;
}

export function postgresMissing(): UsageError {
  return new UsageError(
    'initdb and pg_ctl were found neither on the PATH, nor via pg_config --bindir, nor in /usr/lib/postgresql/*/bin, and the demo needs them to start a throwaway PostgreSQL',
    'install PostgreSQL (apt-get install postgresql, or brew install postgresql) or pass --url postgres://… to use one you already run',
  );
}

function readPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * initdb into a fresh folder under `base` (the OS temp dir by default), listening on 127.0.0.1 only
 * (password auth) and on a unix socket inside that folder, no fsync. As root the server must run as
 * the `postgres` OS user (PostgreSQL refuses root), so the folder is handed to it and every
 * PostgreSQL binary runs through `runuser -u postgres --`. A failed start cleans up too.
 */
export async function startThrowawayPostgres(binDir: string, options: { base?: string; prefix?: string } = {}): Promise<ThrowawayPostgres> {
  const asRoot = userInfo().uid === 0;
  const base = options.base ?? tmpdir();
  const dir = mkdtempSync(join(base, options.prefix ?? 'queuectl-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const command = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(binDir, cmd), ...args]] : [join(binDir, cmd), args];
  const as = (cmd: string, args: string[]) => run(...command(cmd, args));
  let started = false;
  let stopped = false;

  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    try {
      if (started) execFileSync(...command('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']), { stdio: 'ignore' });
    } catch {
      // already down; if pg_ctl itself failed, an immediate stop is the last word
      try {
        if (started) execFileSync(...command('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '10']), { stdio: 'ignore' });
      } catch {
        // nothing more to do
      }
    } finally {
      started = false;
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      if (started) await as('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']);
    } catch {
      await as('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '10']).catch(() => undefined);
    } finally {
      started = false;
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    if (asRoot) {
      // A private temp root (0700 root) must let the postgres user traverse it (not list it).
      chmodSync(base, statSync(base).mode | 0o011);
      const { stdout: uid } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(dir, Number(uid.trim()), Number(gid.trim()));
    }
    chmodSync(dir, 0o700);
    const owner = statSync(dir);
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (asRoot) chownSync(pwfile, owner.uid, owner.gid);
    await as('initdb', [
      '-D', data, '-U', 'postgres', '--pwfile', pwfile, '-E', 'UTF8', '--locale', 'C',
      '--auth-local', 'trust', '--auth-host', 'scram-sha-256', '--no-sync',
    ]);
    rmSync(pwfile, { force: true });
    const port = await freePort();
    const socketDir = join(dir, 'sock');
    mkdirSync(socketDir, { mode: 0o700 });
    if (asRoot) chownSync(socketDir, owner.uid, owner.gid);
    const serverOptions = [
      `-p ${port}`, '-c listen_addresses=127.0.0.1', `-c unix_socket_directories=${socketDir}`,
      '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off', '-c max_connections=200',
    ].join(' ');
    started = true; // from here on, stopping must try pg_ctl stop: a half-started server may be up
    await as('pg_ctl', ['start', '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', serverOptions]);
    const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    return {
      port,
      url,
      shownUrl: `postgres://postgres:***@127.0.0.1:${port}/postgres`,
      dataDir: data,
      get pid() {
        return stopped ? undefined : readPid(data);
      },
      binDir,
      stop,
      stopSync,
    };
  } catch (error) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'server.log'), 'utf8').trim().split('\n').pop() ?? '';
    } catch {
      // no log yet
    }
    await stop().catch(() => undefined);
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`PostgreSQL (${binDir}) did not start: ${log || message}`, 'pass --url postgres://… to use a PostgreSQL you already run');
  }
}
