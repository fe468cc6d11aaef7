import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorDocument } from '../src/commands/doctor.js';
import type { RedisProcess } from './setup/redis-process.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { redisUrl, uniqueName } from './helpers/redis.js';
import { startSecureCluster, type SecureCluster } from './helpers/secure-cluster.js';
import { makeCertificates, startTlsRedis, tlsUnsupported, type Certificates } from './helpers/tls.js';

// Decided before collection so a machine without TLS shows the reason instead of failing.
const unsupported = await tlsUnsupported();
const PASSWORD = 'Tls-S3cret-Pw-52';
const WRONG = 'wrong-guess-8831';

function expectClean(result: CliResult): void {
  for (const secret of [PASSWORD, WRONG]) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}

/** A failure is one line on stderr, no stack trace, nothing on stdout. */
function expectOneLine(result: CliResult): void {
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

const check = (doc: DoctorDocument, id: string) => doc.checks.find((c) => c.id === id);

describe.skipIf(unsupported !== undefined)(`rediss:// (TLS)${unsupported ? ` — skipped: ${unsupported}` : ''}`, () => {
  let certs: Certificates;
  let open: RedisProcess; // TLS, no password
  let locked: RedisProcess; // TLS and --requirepass
  let cluster: SecureCluster | undefined;
  const run = async (args: string[]) => {
    const result = await runCli(args, { cwd: certs.dir });
    expectClean(result);
    return result;
  };

  beforeAll(async () => {
    certs = await makeCertificates();
    [open, locked] = await Promise.all([startTlsRedis(certs), startTlsRedis(certs, ['--requirepass', PASSWORD])]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), locked?.stop(), cluster?.stop()]);
    certs?.remove();
  });

  it('doctor with --tls-ca: exit 0, connected over TLS, by IP and by host name', async () => {
    const result = await run(['doctor', '--redis', open.url, '--tls-ca', certs.ca, '--json']);
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as DoctorDocument;
    expect(doc.redis).toBe(open.url);
    expect(check(doc, 'connectivity')).toMatchObject({ status: 'ok', detail: `connected to ${open.url} (standalone)` });
    // The certificate names localhost too (subjectAltName DNS), so the name is verified as well.
    const byName = await run(['doctor', '--redis', `rediss://localhost:${open.port}`, '--tls-ca', certs.ca]);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toContain(`connected to rediss://localhost:${open.port}`);
  });

  it('without --tls-ca the throwaway CA is not trusted: exit 3, one line about the certificate and --tls-ca', async () => {
    const result = await run(['doctor', '--redis', open.url, '--timeout', '2000']);
    expect(result.code).toBe(3);
    expectOneLine(result);
    expect(result.stderr).toMatch(/^queuectl: TLS handshake with Redis at rediss:\/\/127\.0\.0\.1:\d+ failed \(.*certificate.*\) — .*pass --tls-ca/);
  });

  it('a --tls-ca from another CA is refused the same way', async () => {
    const other = await makeCertificates();
    try {
      const result = await run(['doctor', '--redis', open.url, '--tls-ca', other.ca, '--timeout', '2000']);
      expect(result.code).toBe(3);
      expectOneLine(result);
      expect(result.stderr).toMatch(/^queuectl: TLS handshake with Redis at .* failed \(.*certificate.*\) — .*--tls-ca/);
    } finally {
      other.remove();
    }
  });

  it('rediss:// to a plain server and redis:// to a TLS server: exit 3, one line each', async () => {
    const plainAsTls = await run(['doctor', '--redis', redisUrl().replace('redis://', 'rediss://'), '--tls-ca', certs.ca, '--timeout', '2000']);
    expect(plainAsTls.code).toBe(3);
    expectOneLine(plainAsTls);
    // A plain server waits for a line that a TLS hello never completes: the connect times out.
    expect(plainAsTls.stderr).toMatch(/^queuectl: cannot reach Redis at rediss:\/\/127\.0\.0\.1:\d+ \(no answer within 2000 ms\) — is it running, and does it speak TLS\? use redis:\/\/ for a server without TLS/);

    const tlsAsPlain = await run(['doctor', '--redis', open.url.replace('rediss://', 'redis://'), '--timeout', '2000']);
    expect(tlsAsPlain.code).toBe(3);
    expectOneLine(tlsAsPlain);
    expect(tlsAsPlain.stderr).toMatch(/^queuectl: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connection (reset|closed)\) — is it running\? if it only speaks TLS, use rediss:\/\//);
  });

  it('a password over TLS from --password-file or the URL works; a wrong or missing one is refused; it never shows', async () => {
    const file = join(certs.dir, 'redis-password');
    writeFileSync(file, `${PASSWORD}\n`);
    const fromFile = await run(['doctor', '--redis', locked.url, '--tls-ca', certs.ca, '--password-file', file]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain(`connected to ${locked.url}`);

    const fromUrl = await run(['doctor', '--redis', `rediss://:${PASSWORD}@127.0.0.1:${locked.port}`, '--tls-ca', certs.ca, '--json']);
    expect(fromUrl.code).toBe(0);
    expect(JSON.parse(fromUrl.stdout).redis).toBe(`rediss://:***@127.0.0.1:${locked.port}`);

    const wrong = await run(['doctor', '--redis', `rediss://:${WRONG}@127.0.0.1:${locked.port}`, '--tls-ca', certs.ca]);
    expect(wrong.code).toBe(3);
    expectOneLine(wrong);
    expect(wrong.stderr).toMatch(/^queuectl: authentication refused by Redis at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(wrong user name or password\)/);

    const none = await run(['doctor', '--redis', locked.url, '--tls-ca', certs.ca]);
    expect(none.code).toBe(3);
    expectOneLine(none);
    expect(none.stderr).toMatch(/authentication required .*\(no password given\)/);
  });

  it('inspect --json over TLS with a password counts a real BullMQ queue', async () => {
    const name = uniqueName('tls');
    const connection = new Redis({ host: '127.0.0.1', port: locked.port, password: PASSWORD, tls: { ca: readFileSync(certs.ca, 'utf8') }, maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection });
    try {
      await queue.add('a', { n: 1 });
      await queue.add('b', { n: 2 }, { delay: 60_000 });
      const file = join(certs.dir, 'redis-password');
      writeFileSync(file, PASSWORD);
      const result = await run(['inspect', '--all', '--json', '--redis', locked.url, '--tls-ca', certs.ca, '--password-file', file]);
      expect(result.code).toBe(0);
      const doc = JSON.parse(result.stdout);
      expect(doc.redis).toMatchObject({ mode: 'standalone' });
      expect(doc.queues).toHaveLength(1);
      expect(doc.queues[0]).toMatchObject({ name, counts: { waiting: 1, delayed: 1 } });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it('rediss+cluster:// with a password: doctor sees 3 masters, inspect counts a tagged queue', async () => {
    cluster = await startSecureCluster({ password: PASSWORD, certs });
    const seeds = cluster.seeds.split(',').slice(0, 2).join(',');
    const url = `rediss+cluster://:${PASSWORD}@${seeds}`;
    const doctor = await run(['doctor', '--redis', url, '--tls-ca', certs.ca, '--prefix', '{bull}', '--json']);
    expect(doctor.code).toBe(0);
    const doc = JSON.parse(doctor.stdout) as DoctorDocument;
    expect(doc.redis).toBe(`rediss+cluster://:***@${seeds}`);
    expect(check(doc, 'cluster-state')).toMatchObject({ status: 'ok', detail: 'cluster_state:ok on 3 masters' });
    expect(check(doc, 'cluster-slots')).toMatchObject({ status: 'ok', detail: '16384 of 16384 slots covered' });

    const untrusted = await run(['doctor', '--redis', url, '--timeout', '2000']);
    expect(untrusted.code).toBe(3);
    expectOneLine(untrusted);

    const name = uniqueName('tlsc');
    const nodes = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
    const connection = new Cluster(nodes, { redisOptions: { password: PASSWORD, tls: { ca: readFileSync(certs.ca, 'utf8') }, maxRetriesPerRequest: null } });
    const queue = new Queue(name, { connection, prefix: '{bull}' });
    try {
      await queue.add('a', {});
      const inspect = await run(['inspect', '--all', '--json', '--redis', url, '--tls-ca', certs.ca, '--prefix', '{bull}']);
      expect(inspect.code).toBe(0);
      const queues = JSON.parse(inspect.stdout).queues;
      expect(queues).toHaveLength(1);
      expect(queues[0]).toMatchObject({ name, counts: { waiting: 1 } });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});

describe.skipIf(unsupported !== undefined)(`client certificates: --tls-cert / --tls-key${unsupported ? ` — skipped: ${unsupported}` : ''}`, () => {
  let certs: Certificates;
  let other: Certificates; // another CA: its client certificate is not trusted by the server
  let mutual: RedisProcess; // TLS with --tls-auth-clients yes
  let cluster: SecureCluster | undefined;
  const run = (args: string[]) => runCli(args, { cwd: certs.dir });
  const tls = () => ['--tls-ca', certs.ca];
  const client = () => ['--tls-cert', certs.clientCert, '--tls-key', certs.clientKey];

  beforeAll(async () => {
    [certs, other] = await Promise.all([makeCertificates(), makeCertificates()]);
    mutual = await startTlsRedis(certs, [], { clientCerts: true });
  });
  afterAll(async () => {
    await Promise.all([mutual?.stop(), cluster?.stop()]);
    certs?.remove();
    other?.remove();
  });

  it('a server that asks for one: exit 3 naming --tls-cert without it, connected with it (doctor, inspect with a real queue)', async () => {
    const without = await run(['doctor', '--redis', mutual.url, ...tls(), '--timeout', '2000']);
    expect(without.code).toBe(3);
    expectOneLine(without);
    expect(without.stderr).toMatch(/^queuectl: TLS handshake with Redis at rediss:\/\/127\.0\.0\.1:\d+ failed \(.*certificate required.*\): the server requires a client certificate — pass --tls-cert and --tls-key\n$/);

    const doctor = await run(['doctor', '--redis', mutual.url, ...tls(), ...client(), '--json']);
    expect(doctor.code).toBe(0);
    expect(check(JSON.parse(doctor.stdout) as DoctorDocument, 'connectivity')).toMatchObject({ status: 'ok' });

    const name = uniqueName('mtls');
    const connection = new Redis({ host: '127.0.0.1', port: mutual.port, tls: { ca: readFileSync(certs.ca, 'utf8'), cert: readFileSync(certs.clientCert, 'utf8'), key: readFileSync(certs.clientKey, 'utf8') }, maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection });
    try {
      await queue.add('a', {});
      const inspect = await run(['inspect', '--all', '--json', '--redis', mutual.url, ...tls(), ...client()]);
      expect(inspect.code).toBe(0);
      expect(JSON.parse(inspect.stdout).queues).toEqual([expect.objectContaining({ name, counts: expect.objectContaining({ waiting: 1 }) })]);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it('a certificate from a CA the server does not trust: exit 3, one line saying so', async () => {
    const result = await run(['doctor', '--redis', mutual.url, ...tls(), '--tls-cert', other.clientCert, '--tls-key', other.clientKey, '--timeout', '2000']);
    expect(result.code).toBe(3);
    expectOneLine(result);
    expect(result.stderr).toMatch(/failed \(.*unknown ca.*\): the server does not trust --tls-cert — use a client certificate signed by a CA in the server's tls-ca-cert-file/);
  });

  it('bad flags are usage errors (exit 2, one line) before any connection: one without the other, a mismatched key, not PEM, a plain URL', async () => {
    const cases: [string[], RegExp][] = [
      [['--tls-cert', certs.clientCert], /--tls-cert and --tls-key go together \(got only --tls-cert\)/],
      [['--tls-key', certs.clientKey], /--tls-cert and --tls-key go together \(got only --tls-key\)/],
      [['--tls-cert', certs.clientCert, '--tls-key', other.clientKey], /--tls-key .* is not the key of --tls-cert/],
      [['--tls-cert', certs.clientKey, '--tls-key', certs.clientKey], /--tls-cert .* is not a PEM certificate/],
      [['--tls-cert', certs.clientCert, '--tls-key', certs.ca], /--tls-key .* is not a readable private key/],
      [['--tls-cert', join(certs.dir, 'missing.pem'), '--tls-key', certs.clientKey], /cannot read --tls-cert .*missing\.pem \(ENOENT\)/],
    ];
    for (const [flags, message] of cases) {
      const result = await run(['doctor', '--redis', mutual.url, ...tls(), ...flags]);
      expect(result.code, flags.join(' ')).toBe(2);
      expectOneLine(result);
      expect(result.stderr).toMatch(message);
    }
    const plain = await run(['doctor', '--redis', redisUrl(), ...client()]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/--tls-cert needs a TLS URL/);
  });

  it('rediss+cluster:// where every node asks for a client certificate: doctor sees 3 masters with --tls-cert', async () => {
    cluster = await startSecureCluster({ certs, clientCerts: true });
    const url = `rediss+cluster://${cluster.seeds.split(',')[0]}`;
    const doctor = await run(['doctor', '--redis', url, ...tls(), ...client(), '--prefix', '{bull}', '--json']);
    expect(doctor.code).toBe(0);
    expect(check(JSON.parse(doctor.stdout) as DoctorDocument, 'cluster-state')).toMatchObject({ status: 'ok', detail: 'cluster_state:ok on 3 masters' });
    const without = await run(['doctor', '--redis', url, ...tls(), '--prefix', '{bull}', '--timeout', '2000']);
    expect(without.code).toBe(3);
    expectOneLine(without);
  });
});
