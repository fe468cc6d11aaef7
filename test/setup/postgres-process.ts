import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './redis-process.js';

const run = promisify(execFile);

/** A PostgreSQL cluster this test run created (initdb) and owns; never the machine's own (5432). */
export interface PostgresProcess {
  port: number;
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres: the superuser, for creating test databases. */
  url: string;
  password: string;
  stop(): Promise<void>;
}

/**
 * Where initdb and pg_ctl live: the PATH first, then `pg_config --bindir`, then the newest
 * /usr/lib/postgresql/<n>/bin (Debian's postgresql package does not put them on the PATH).
 * Undefined when PostgreSQL is not installed.
 */
export async function findPostgresBinDir(): Promise<string | undefined> {
  const hasBoth = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && hasBoth(dir)) return dir;
  }
  try {
    const { stdout } = await run('pg_config', ['--bindir']);
    if (hasBoth(stdout.trim())) return stdout.trim();
  } catch {
    // no pg_config (libpq-dev is not installed)
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    if (hasBoth(join(root, v, 'bin'))) return join(root, v, 'bin');
  }
  return undefined;
}

/**
 * Starts a throwaway PostgreSQL: initdb into a fresh folder under the run's temp dir, listening on
 * 127.0.0.1 only (password auth) and on a unix socket inside that folder, no fsync. As root the
 * server must run as the `postgres` OS user (PostgreSQL refuses root), so the folder is handed to
 * it. stop() shuts it down (pg_ctl stop -m fast) and removes the folder; a failed start cleans up too.
 */
export async function startPostgres(binDir: string): Promise<PostgresProcess> {
  const asRoot = userInfo().uid === 0;
  const base = tmpdir();
  const dir = mkdtempSync(join(base, 'queuectl-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  let started = false;
  const as = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(binDir, cmd), ...args]) : run(join(binDir, cmd), args);

  const stop = async () => {
    try {
      if (started) await as('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']);
    } finally {
      started = false;
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    if (asRoot) {
      // The run's temp root is 0700 root: let the postgres user traverse it (not list it).
      chmodSync(base, statSync(base).mode | 0o011);
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    chmodSync(dir, 0o700);
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (asRoot) chownSync(pwfile, statSync(dir).uid, statSync(dir).gid);
    await as('initdb', [
      '-D', data, '-U', 'postgres', '--pwfile', pwfile, '-E', 'UTF8', '--locale', 'C',
      '--auth-local', 'trust', '--auth-host', 'scram-sha-256', '--no-sync',
    ]);
    rmSync(pwfile, { force: true });
    const port = await freePort();
    const socketDir = join(dir, 'sock');
    mkdirSync(socketDir, { mode: 0o700 });
    if (asRoot) chownSync(socketDir, statSync(dir).uid, statSync(dir).gid);
    const options = [
      `-p ${port}`, `-c listen_addresses=127.0.0.1`, `-c unix_socket_directories=${socketDir}`,
      '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off', '-c max_connections=200',
    ].join(' ');
    started = true; // from here on, stop() must try pg_ctl stop: a half-started server may be up
    await as('pg_ctl', ['start', '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', options]);
    return { port, password, url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, stop };
  } catch (error) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000);
    } catch {
      // no log yet
    }
    await stop().catch(() => undefined);
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`could not start PostgreSQL from ${binDir}: ${message}${log ? `\n${log}` : ''}`);
  }
}
