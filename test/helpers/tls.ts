import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';
import { freePort, ownServer, stopStarted, type RedisProcess } from '../setup/redis-process.js';
import { tempDir } from './temp.js';

afterAll(stopStarted);

const run = promisify(execFile);

/** A throwaway CA, a server certificate it signed for 127.0.0.1 and localhost, and a client one. */
export interface Certificates {
  dir: string;
  /** PEM of the CA: what --tls-ca must be given for queuectl to trust the server. */
  ca: string;
  cert: string;
  key: string;
  /** A client certificate and key the CA signed: what --tls-cert / --tls-key take. */
  clientCert: string;
  clientKey: string;
  remove(): void;
}

/**
 * Makes the CA and server certificate with openssl (EC P-256 keys: milliseconds, where RSA takes
 * seconds). The server certificate names 127.0.0.1 and localhost in subjectAltName, which is what
 * Node checks; nothing is trusted system-wide.
 */
export async function makeCertificates(): Promise<Certificates> {
  const dir = tempDir('tls'); // removed after the file's tests even if openssl fails half-way
  const at = (name: string) => join(dir, name);
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  writeFileSync(
    at('server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('ca.key')]);
  await openssl(['req', '-x509', '-new', '-key', at('ca.key'), '-sha256', '-days', '2', '-subj', '/CN=queuectl throwaway test CA', '-out', at('ca.pem')]);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('server.key')]);
  await openssl(['req', '-new', '-key', at('server.key'), '-subj', '/CN=localhost', '-out', at('server.csr')]);
  await openssl([
    'x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial',
    '-days', '2', '-sha256', '-extfile', at('server.ext'), '-out', at('server.pem'),
  ]);
  writeFileSync(at('client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('client.key')]);
  await openssl(['req', '-new', '-key', at('client.key'), '-subj', '/CN=queuectl test client', '-out', at('client.csr')]);
  await openssl(['x509', '-req', '-in', at('client.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '2', '-sha256', '-extfile', at('client.ext'), '-out', at('client.pem')]);
  return {
    dir, ca: at('ca.pem'), cert: at('server.pem'), key: at('server.key'), clientCert: at('client.pem'), clientKey: at('client.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Why TLS tests cannot run here, or undefined when they can. A redis-server built without TLS
 * rejects `tls-port` as a bad directive; one with TLS gets past the config and only then exits
 * because `--port 0 --tls-port 0` leaves it nothing to listen on.
 */
export async function tlsUnsupported(): Promise<string | undefined> {
  try {
    await run('openssl', ['version']);
  } catch {
    return 'openssl is not installed (needed to make test certificates)';
  }
  const probe = await run('redis-server', ['--port', '0', '--tls-port', '0', '--save', '', '--bind', '127.0.0.1']).then(
    (r) => r.stdout + r.stderr,
    (e: { stdout?: string; stderr?: string; code?: string }) => (e.code === 'ENOENT' ? 'ENOENT' : `${e.stdout ?? ''}${e.stderr ?? ''}`),
  );
  if (probe === 'ENOENT') return 'redis-server is not installed';
  if (/Bad directive|not supported/i.test(probe)) return 'this redis-server was built without TLS support (BUILD_TLS=no)';
  const cli = await run('redis-cli', ['--help']).then((r) => r.stdout + r.stderr, (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`);
  if (!cli.includes('--tls')) return 'this redis-cli was built without TLS support';
  return undefined;
}

/**
 * redis-cli arguments that reach a node started here: TLS with the throwaway CA (and its client
 * certificate when the node asks for one), and the password.
 */
export function cliAuthArgs(options: { certs?: Certificates; password?: string; clientCerts?: boolean }): string[] {
  const client = options.certs && options.clientCerts ? ['--cert', options.certs.clientCert, '--key', options.certs.clientKey] : [];
  const tls = options.certs ? ['--tls', '--cacert', options.certs.ca, ...client] : [];
  const auth = options.password === undefined ? [] : ['-a', options.password, '--no-auth-warning'];
  return [...tls, ...auth];
}

async function waitForPing(port: number, cliArgs: string[], child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited: ${log()}`);
    const answer = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...cliArgs, 'PING']).then((r) => r.stdout.trim(), () => '');
    if (answer === 'PONG') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on ${port} did not answer a TLS PING within 10 s: ${log()}`);
}

/**
 * A private redis-server that only speaks TLS (`--port 0`): `port` is its TLS port and `url` a
 * rediss:// URL. Clients are not asked for certificates (`--tls-auth-clients no`) unless
 * `clientCerts`. `args` add config; a `--requirepass` in them is used for the readiness PING.
 */
export async function startTlsRedis(certs: Certificates, args: string[] = [], options: { bus?: boolean; clientCerts?: boolean } = {}): Promise<RedisProcess> {
  const port = await freePort(options.bus);
  const dir = mkdtempSync(join(tmpdir(), `queuectl-tls-redis-${port}-`));
  let output = '';
  const child = spawn(
    'redis-server',
    [
      '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
      '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', options.clientCerts ? 'yes' : 'no',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
  const stop = ownServer(child, dir);
  const pass = args.indexOf('--requirepass');
  try {
    await waitForPing(port, cliAuthArgs({ certs, password: pass >= 0 ? args[pass + 1] : undefined, clientCerts: options.clientCerts }), child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: `rediss://127.0.0.1:${port}`, stop };
}
