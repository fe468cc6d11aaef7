import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { run } from '../src/commands/migrate.js';
import { testContext } from './helpers/context.js';
import { runCli } from './helpers/cli.js';
import { bullConnection, client, redisUrl, uniqueName } from './helpers/redis.js';

/** The version BullMQ's Queue writes into meta: `bullmq:<package version>`. */
const installed = `bullmq:${(JSON.parse(readFileSync(new URL('../node_modules/bullmq/package.json', import.meta.url), 'utf8')) as { version: string }).version}`;

function yaml(prefix: string, legacy: string, a: string, b: string): string {
  return `version: 1\nprefix: ${prefix}\nqueues:\n  ${a}: { jobs: [a.process], dedup: none }\n  ${b}: { jobs: [b.second], dedup: none }\nworkers:\n  w: { queues: [${a}, ${b}] }\nlegacy:\n  ${legacy}: { note: shared }\n`;
}

describe('migrate writes meta.version into the queues it creates', () => {
  it('fresh destinations get BullMQ 6.7.0\'s meta.version, an existing one is kept, and doctor sees no mixed versions', async () => {
    const prefix = uniqueName('pfx');
    const [legacy, a, b] = [uniqueName('legacy'), uniqueName('qa'), uniqueName('qb')];
    const old = new Queue(legacy, { connection: bullConnection(), prefix });
    for (let i = 0; i < 6; i++) await old.add(i % 2 ? 'a.process' : 'b.second', { i }, { delay: i % 3 === 0 ? 60_000 : 0, priority: i === 4 ? 3 : undefined });
    await old.close();
    const redis = client();
    expect(await redis.hget(`${prefix}:${legacy}:meta`, 'version')).toBe(installed);
    // b exists already with another producer's version: migrate must not overwrite it.
    await redis.hset(`${prefix}:${b}:meta`, 'version', 'bullmq:6.7.0-custom');

    const t = testContext({ yaml: yaml(prefix, legacy, a, b), json: true, yes: true });
    expect(await run({ from: legacy }, t.ctx)).toBe(0);
    expect(t.json().moved).toEqual({ [a]: 3, [b]: 3 });
    expect(await redis.hget(`${prefix}:${a}:meta`, 'version')).toBe(installed);
    expect(await redis.hget(`${prefix}:${a}:meta`, 'opts.maxLenEvents')).toBe('10000');
    expect(await redis.hget(`${prefix}:${b}:meta`, 'version')).toBe('bullmq:6.7.0-custom');
    await redis.hset(`${prefix}:${b}:meta`, 'version', installed);

    const cwd = mkdtempSync(join(tmpdir(), 'queuectl-meta-'));
    try {
      const doctor = await runCli(['doctor', '--json', '--redis', redisUrl(), '--prefix', prefix], { cwd });
      const versions = JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === 'bullmq-versions');
      expect(versions).toMatchObject({ status: 'ok', detail: `${installed} (3 queues: ${[a, b, legacy].sort().join(', ')})` });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('the version the scripts write is the installed BullMQ\'s', () => {
    const lua = readFileSync(new URL('../src/migrate/lua/includes/destination.lua', import.meta.url), 'utf8');
    expect(lua).toContain(`local bullmqVersion = '${installed}'`);
  });
});
