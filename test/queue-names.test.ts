import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyPrefixVerdict, prefixOfMarker, probePrefixes } from '../src/redis/prefixes.js';
import { assertKnownQueues, unknownQueueError } from '../src/util/queue-names.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { startRedis } from './helpers/redis.js';
import type { RedisProcess } from './setup/redis-process.js';

/**
 * A queue name on the command line that is neither declared, legacy nor live is exit 2 with a
 * did-you-mean in every command; a --prefix under which no BullMQ queue exists is said plainly.
 * Before, `inspect eccb-smart-uplaod` printed a row of zeros and `--prefix bul` showed every queue
 * "absent", both exit 0. A private redis-server, so the prefixes it holds are known.
 */

describe('unknownQueueError', () => {
  it('suggests the closest known name, else lists the known ones', () => {
    const close = unknownQueueError({ name: 'eccb-smart-uplaod', known: ['eccb-ocr', 'eccb-smart-upload'] });
    expect(close.exitCode).toBe(2);
    expect(close.message).toBe('"eccb-smart-uplaod" is not a declared, legacy or live queue');
    expect(close.hint).toBe('did you mean "eccb-smart-upload"?');
    expect(unknownQueueError({ name: 'zzz', known: ['b', 'a'] }).hint).toBe('known: a, b');
    expect(() => assertKnownQueues(['a', 'x'], ['a'], { flag: '--queue' })).toThrow('--queue "x" is not');
  });
});

describe('prefixes', () => {
  it('reads the prefix of a meta or id key, nothing else', () => {
    expect(prefixOfMarker('bull:q:meta')).toBe('bull');
    expect(prefixOfMarker('{app}:bull:q:id')).toBe('{app}:bull');
    expect(prefixOfMarker('bull:q:mend')).toBeUndefined();
    expect(prefixOfMarker('bull::id')).toBeUndefined();
    expect(prefixOfMarker('q:meta')).toBeUndefined();
  });

  it('a typed --prefix under which nothing exists is an error; the file\'s own only a warning', () => {
    const probe = { found: false, complete: true, others: ['bull', 'other'] };
    expect(emptyPrefixVerdict('bul', probe, true).error?.hint).toBe('did you mean --prefix bull?');
    expect(emptyPrefixVerdict('bul', probe, false).warning).toMatch(/no BullMQ queue exists under prefix "bul"; BullMQ queues exist under "bull", "other"/);
    expect(emptyPrefixVerdict('bul', { ...probe, others: [] }, true).warning).toMatch(/holds no BullMQ queue at all/);
    expect(emptyPrefixVerdict('bul', { ...probe, complete: false }, true)).toEqual({});
    expect(emptyPrefixVerdict('bull', { ...probe, found: true }, true)).toEqual({});
  });
});

describe('queue names and prefixes on the command line', () => {
  let server: RedisProcess;
  let url = '';
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-names-'));
  const config = join(dir, 'queuectl.yaml');
  const cli = (args: string[]) => runCli([...args, '-c', config, '--redis', url], { cwd: dir });

  beforeAll(async () => {
    server = await startRedis();
    url = server.url;
    writeFileSync(config, `version: 1
prefix: app
queues:
  eccb-ocr: { jobs: [ocr.process], deadLetter: failed }
  eccb-smart-upload-process: { jobs: [smartupload.process], jobId: "p-{sessionId}", payload: { type: object, properties: { sessionId: { type: string } }, required: [sessionId] } }
legacy:
  eccb-smart-upload: { note: shared queue before the split }
`);
    const redis = new Redis(server.port, '127.0.0.1');
    // One live queue under the topology's prefix, one under another prefix; with BullMQ's own keys.
    await redis.hset('app:eccb-smart-upload:meta', 'version', 'bullmq:6.7.0');
    await redis.set('app:eccb-smart-upload:id', '1');
    await redis.hset('app:eccb-smart-upload:1', 'name', 'ocr.process', 'data', '{}', 'timestamp', String(Date.now()));
    await redis.lpush('app:eccb-smart-upload:wait', '1');
    await redis.set('other:side-queue:id', '3');
    redis.disconnect();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function expectTypo(result: CliResult, what: RegExp, guess: string): void {
    expect(result.code, result.stderr + result.stdout).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(what);
    expect(result.stderr).toContain(`did you mean ${guess}?`);
  }

  it.each([
    [['inspect', 'eccb-smart-uplaod'], /^queuectl: "eccb-smart-uplaod" is not a declared, legacy or live queue — /, '"eccb-smart-upload"'],
    [['inspect', 'job', 'eccb-smart-uplaod', '1'], /"eccb-smart-uplaod" is not a declared, legacy or live queue/, '"eccb-smart-upload"'],
    [['migrate', '--from', 'eccb-smart-uplaod', '--dry-run'], /--from "eccb-smart-uplaod" is neither a legacy nor a declared queue/, '"eccb-smart-upload"'],
    [['migrate', '--from', 'eccb-smart-upload', '--to', 'eccb-ocrr', '--dry-run'], /--to "eccb-ocrr" is not a declared queue/, '"eccb-ocr"'],
    [['dlq', 'list', '--queue', 'eccb-ocrr'], /--queue "eccb-ocrr" is not a declared queue or dead-letter queue/, '"eccb-ocr"'],
    [['dlq', 'stats', '--queue', 'eccb-orc'], /--queue "eccb-orc" is not a declared queue/, '"eccb-ocr"'],
    [['dlq', 'show', 'eccb-ocrr/42'], /reference "eccb-ocrr\/42": "eccb-ocrr" is not a declared queue or dead-letter queue/, '"eccb-ocr"'],
    [['dlq', 'retry', 'eccb-ocrr/42', '--yes'], /reference "eccb-ocrr\/42": "eccb-ocrr" is not/, '"eccb-ocr"'],
    [['dedup-check', '--queue', 'eccb-smart-upload-proces'], /--queue "eccb-smart-upload-proces" is not a declared queue/, '"eccb-smart-upload-process"'],
    [['inspect', '--prefix', 'ap'], /^queuectl: no BullMQ queue exists under prefix "ap"; BullMQ queues exist under "app", "other" — /, '--prefix app'],
    [['topology', 'check', '--prefix', 'appp'], /no BullMQ queue exists under prefix "appp"/, '--prefix app'],
  ])('%j is exit 2 with a did-you-mean', async (args, what, guess) => {
    expectTypo(await cli(args), what, guess);
  });

  it('a live queue that is not declared is accepted by inspect, and a real one shows its jobs', async () => {
    const live = await runCli(['inspect', 'side-queue', '--prefix', 'other', '--redis', url], { cwd: dir });
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toMatch(/side-queue\s+undeclared/);
    const real = await cli(['inspect', 'eccb-smart-upload', '--json']);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stderr).toBe('');
  });

  it('the topology\'s own prefix holding nothing is a warning naming the prefixes that exist, exit unchanged', async () => {
    const fresh = join(dir, 'fresh.yaml');
    writeFileSync(fresh, 'version: 1\nprefix: fresh\nqueues:\n  q: { jobs: [a] }\n');
    const result = await runCli(['inspect', '-c', fresh, '--redis', url], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^warning: no BullMQ queue exists under prefix "fresh"; BullMQ queues exist under "app", "other" — check the prefix/);
    const check = await runCli(['topology', 'check', '-c', fresh, '--redis', url], { cwd: dir });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toMatch(/no BullMQ queue exists under prefix "fresh"/);
  });

  it('the probe is bounded: a walk cut short says nothing rather than guess', async () => {
    const redis = new Redis(server.port, '127.0.0.1');
    try {
      const cut = await probePrefixes([redis], 'nothing-here', { maxCalls: 1, count: 1 });
      expect(cut.found).toBe(false);
      expect(cut.complete).toBe(false);
      expect(emptyPrefixVerdict('nothing-here', cut, true)).toEqual({});
    } finally {
      redis.disconnect();
    }
  });
});
