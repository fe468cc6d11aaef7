// Smoke test of the benchmark plumbing only (no bench is run here: they take minutes).
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { argv, freePort, pipeSeed, redisCli, resp, startServer } from '../scripts/bench/lib.mjs';
import { summaryLines, summaryRows } from '../scripts/bench/summary.mjs';

describe('bench lib', () => {
  it('encodes RESP with byte lengths, as redis-cli --pipe expects', () => {
    expect(resp(['SET', 'k', 42])).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n');
    expect(resp(['SET', 'é', '→'])).toBe('*3\r\n$3\r\nSET\r\n$2\r\né\r\n$3\r\n→\r\n');
  });

  it("finds a free loopback port away from Redis's default port, with its cluster bus port free too", async () => {
    const port = await freePort({ bus: true });
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThan(40000);
    await new Promise<void>((resolve, reject) => {
      const server = createServer().once('error', reject);
      server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
    });
  });

  it('seeds a throwaway redis-server through redis-cli --pipe and stops it', async () => {
    const server = await startServer();
    try {
      function* commands() {
        yield resp(['HSET', 'bench:h', 'name', 'smartupload.process', 'data', '{"é":1}']);
        yield resp(['LPUSH', 'bench:l', 1, 2, 3]);
      }
      await pipeSeed(server.port, commands());
      expect(redisCli(server.port, 'HGET', 'bench:h', 'data')).toBe('{"é":1}');
      expect(redisCli(server.port, 'LLEN', 'bench:l')).toBe('3');
    } finally {
      await server.stop();
    }
    expect(existsSync(`/proc/${server.pid}`)).toBe(false);
  });

  it('reads --name values and flags', () => {
    const a = argv(['--jobs', '500', '--only', 'dlq', '--quick']);
    expect([a.num('jobs'), a.str('only'), a.flag('quick'), a.flag('json'), a.num('runs')]).toEqual([500, 'dlq', true, false, undefined]);
  });
});

describe('bench summary', () => {
  const results = {
    dlq: { bench: 'dlq', jobs: 100_000, ms: 3200, jobsPerSec: 31_250, goals: { ms: 5000 }, ok: true },
    cluster: { bench: 'cluster', error: 'cross-slot migrate: moved 99 of 100' },
  };

  it('marks goals met and missed, and a broken bench', () => {
    const rows = summaryRows(results);
    expect(rows.map((r) => [r.bench, r.shown, r.met])).toEqual([
      ['dlq', '3,200 ms', true],
      ['cluster', 'cross-slot migrate: moved 99 of 100', false],
    ]);
  });

  it('labels a quick run as not the official figures', () => {
    const doc = {
      quick: true, startedAt: '2026-01-01T00:00:00.000Z', git: { commit: 'abc', dirty: false }, node: 'v20', redis: '7.0.15',
      machine: { cpus: 2, memoryMb: 1024, loadavg: [0, 0, 0] }, summary: summaryRows(results), broken: ['cluster'],
    };
    const text = summaryLines(doc).join('\n');
    expect(text).toContain('NOT the official figures');
    expect(text).toContain('1 of 1 goals met; BROKEN: cluster');
    expect(text).toMatch(/cross-slot migrate: moved 99 of 100 +— +BROKE/);
  });
});
