import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorDocument } from '../src/commands/doctor.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { uniqueName } from './helpers/redis.js';
import { startSecureCluster, type SecureCluster } from './helpers/secure-cluster.js';
import { tempDir } from './helpers/temp.js';

// Characters that need percent-encoding in a URL, to check that neither form leaks.
const PASSWORD = 'Cl8ster-Adm!n-Pw';
const APP_PASSWORD = 'app@pa/ss:77';
const WRONG = 'wrong-guess-4417';
const LEAKS = [PASSWORD, APP_PASSWORD, encodeURIComponent(APP_PASSWORD), encodeURIComponent(PASSWORD), WRONG];

// An empty working directory: no topology file, prefix `bull`.
const cwd = tempDir('cluster-auth');

function expectNoSecret(result: CliResult): void {
  for (const secret of LEAKS) {
    expect(result.stdout).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}

/** One line on stderr, no stack trace. */
function expectOneLine(result: CliResult): void {
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('a Redis Cluster with a password and an ACL user', () => {
  let cluster: SecureCluster;
  let seeds = '';
  let twoSeeds = '';
  const run = async (args: string[]) => {
    const result = await runCli(args, { cwd });
    expectNoSecret(result);
    return result;
  };
  const check = (doc: DoctorDocument, id: string) => doc.checks.find((c) => c.id === id);

  beforeAll(async () => {
    cluster = await startSecureCluster({ password: PASSWORD });
    seeds = cluster.seeds;
    twoSeeds = seeds.split(',').slice(0, 2).join(',');
    // ACLs are per node in Redis Cluster: the user must exist on every master.
    for (const node of cluster.nodes) {
      await cluster.cli(node.port, 'ACL', 'SETUSER', 'app', 'on', `>${APP_PASSWORD}`, '~*', '&*', '+@all');
    }
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('doctor with the password in a two-seed URL: exit 0, 3 masters, all slots, URL redacted', async () => {
    const result = await run(['doctor', '--redis', `redis+cluster://:${PASSWORD}@${twoSeeds}`, '--json']);
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as DoctorDocument;
    expect(doc.redis).toBe(`redis+cluster://:***@${twoSeeds}`);
    expect(check(doc, 'cluster-state')).toMatchObject({ status: 'ok', detail: 'cluster_state:ok on 3 masters' });
    expect(check(doc, 'masters')).toMatchObject({ status: 'ok', detail: '3 masters' });
    expect(check(doc, 'cluster-slots')).toMatchObject({ status: 'ok', detail: '16384 of 16384 slots covered' });

    const text = await run(['doctor', '--redis', `redis+cluster://:${PASSWORD}@${twoSeeds}`]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`redis+cluster://:***@${twoSeeds}`);
    expect(text.stdout).toMatch(/cluster_state:ok on 3 masters/);
  });

  it('a wrong password: exit 3, one line saying authentication was refused', async () => {
    const result = await run(['doctor', '--redis', `redis+cluster://:${WRONG}@${twoSeeds}`, '--timeout', '2000']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expectOneLine(result);
    expect(result.stderr).toBe(
      `queuectl: authentication refused by Redis at redis+cluster://:***@${twoSeeds} (wrong user name or password) — check the password in the URL or --password-file\n`,
    );
  });

  it('no password: exit 3, one line saying one is required', async () => {
    const result = await run(['doctor', '--redis', `redis+cluster://${twoSeeds}`, '--timeout', '2000']);
    expect(result.code).toBe(3);
    expectOneLine(result);
    expect(result.stderr).toMatch(/^queuectl: authentication required by Redis at redis\+cluster:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ \(no password given\)/);
  });

  it('the ACL user with an encoded password in the URL: exit 0, 3 masters', async () => {
    const url = `redis+cluster://app:${encodeURIComponent(APP_PASSWORD)}@${twoSeeds}`;
    const result = await run(['doctor', '--redis', url, '--json']);
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as DoctorDocument;
    expect(doc.redis).toBe(`redis+cluster://app:***@${twoSeeds}`);
    expect(check(doc, 'cluster-state')).toMatchObject({ status: 'ok', detail: 'cluster_state:ok on 3 masters' });

    const wrongUser = await run(['doctor', '--redis', `redis+cluster://app:${WRONG}@${twoSeeds}`, '--timeout', '2000']);
    expect(wrongUser.code).toBe(3);
    expectOneLine(wrongUser);
    expect(wrongUser.stderr).toMatch(/^queuectl: authentication refused by Redis at redis\+cluster:\/\/app:\*\*\*@/);
  });

  it('the ACL user with --password-file, winning over a wrong URL password', async () => {
    const file = join(cwd, 'app-password');
    writeFileSync(file, `${APP_PASSWORD}\n`);
    const result = await run(['doctor', '--redis', `redis+cluster://app:${WRONG}@${seeds}`, '--password-file', file, '--json']);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as DoctorDocument).checks.find((c) => c.id === 'masters')?.detail).toBe('3 masters');
  });

  it('inspect --json as the ACL user counts a real BullMQ queue on the authenticated cluster', async () => {
    const name = uniqueName('auth');
    const nodes = cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
    const connection = new Cluster(nodes, { redisOptions: { username: 'app', password: APP_PASSWORD, maxRetriesPerRequest: null } });
    const queue = new Queue(name, { connection, prefix: '{bull}' });
    try {
      await queue.add('a', {});
      await queue.add('b', {}, { delay: 60_000 });
      const result = await run(['inspect', '--all', '--json', '--redis', `redis+cluster://app:${encodeURIComponent(APP_PASSWORD)}@${twoSeeds}`, '--prefix', '{bull}']);
      expect(result.code).toBe(0);
      const doc = JSON.parse(result.stdout);
      expect(doc.redis).toMatchObject({ mode: 'cluster', nodes: 3 });
      expect(doc.queues).toHaveLength(1);
      expect(doc.queues[0]).toMatchObject({ name, counts: { waiting: 1, delayed: 1 } });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
