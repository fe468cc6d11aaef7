import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run } from '../src/commands/migrate.js';
import { createOutput } from '../src/output.js';
import { createProgress, progressLine } from '../src/ui/progress.js';
import { testContext } from './helpers/context.js';
import { client, uniqueName } from './helpers/redis.js';
import { yamlFor } from './migrate-fixture.js';
import { seedLegacy } from './migrate-seed.js';

async function legacyOf(jobs: number) {
  const legacy = uniqueName('legacy');
  const [a, b] = [uniqueName('qa'), uniqueName('qb')];
  await seedLegacy(client(), { queue: legacy, jobs, names: ['a.process', 'b.second'] });
  return { legacy, a, b, yaml: yamlFor(legacy, a, b) };
}

function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (d) => (text += d));
  return { out: createOutput({ json: false, color: false, stderr: stream, stdout: new PassThrough() }), text: () => text };
}

describe('migrate --rate and progress', () => {
  it('--rate 2000 spreads 2,000 jobs over about a second; plain progress lines on stderr off a terminal', async () => {
    const s = await legacyOf(2000);
    const t = testContext({ yaml: s.yaml, yes: true });
    const started = Date.now();
    expect(await run({ from: s.legacy, states: 'wait,prioritized,delayed,failed', rate: '2000' }, t.ctx)).toBe(0);
    const ms = Date.now() - started;
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(10_000);
    const redis = client();
    expect((await redis.llen(`bull:${s.a}:wait`)) + (await redis.llen(`bull:${s.b}:wait`))).toBe(1200);
    // Off a terminal: no carriage returns or escape codes, a plain final line with the rate.
    expect(t.stderr()).not.toMatch(/\r|\x1b\[/);
    expect(t.stderr()).toMatch(/^moved 2000\/2000 100% {2}[\d,]+ jobs\/s$/m);
    expect(t.stdout()).toMatch(/Verified/);
  });

  it('a run longer than the interval prints intermediate plain lines, every few seconds', async () => {
    const s = await legacyOf(2500);
    const t = testContext({ yaml: s.yaml, yes: true });
    expect(await run({ from: s.legacy, states: 'wait,prioritized,delayed,failed', rate: '1000' }, t.ctx)).toBe(0);
    const lines = t.stderr().split('\n').filter((l) => l.startsWith('moved '));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/^moved \d+\/2500 \d+% {2}[\d,]+ jobs\/s ETA \d+s$/);
    expect(lines.at(-1)).toMatch(/^moved 2500\/2500 100%/);
  });

  it('on a terminal: a bar redrawn in place with jobs/s and ETA, ended by a newline', () => {
    const { out, text } = capture(true);
    const progress = createProgress(out, 1000);
    progress.update({ moved: 250, elapsedMs: 1000 });
    progress.done();
    expect(text()).toMatch(/^\r\x1b\[2Kmoved \[#{7}\.{21}\] 250\/1000 25% {2}250 jobs\/s ETA 3s/);
    expect(text().endsWith('\n')).toBe(true);
    const plain = capture(false);
    const quiet = createProgress(plain.out, 1000, 60_000);
    quiet.update({ moved: 1, elapsedMs: 1 });
    quiet.update({ moved: 2, elapsedMs: 2 }); // within the interval: not printed
    quiet.done();
    expect(plain.text().split('\n').filter(Boolean)).toEqual(['moved 2/1000 0%']);
  });

  it('progressLine: percent, rate and ETA; never more than 100%', () => {
    expect(progressLine(500, 1000, 1000, false)).toBe('moved 500/1000 50%  500 jobs/s ETA 1s');
    expect(progressLine(1200, 1000, 1000, false)).toBe('moved 1200/1200 100%  1,200 jobs/s');
    expect(progressLine(0, 0, 0, true)).toMatch(/^moved \[#{28}\] 0\/0 100%/);
    expect(progressLine(40, 40, 3000, false, 'retried')).toBe('retried 40/40 100%  13 jobs/s');
  });

  it('no absurd first rate: under a second of elapsed time the line shows no rate (--rate 300 once read 15,000 jobs/s)', () => {
    expect(progressLine(250, 3000, 16, false)).toBe('moved 250/3000 8%');
    expect(progressLine(300, 3000, 1000, false)).toBe('moved 300/3000 10%  300 jobs/s ETA 9s');
  });

  it('nothing twice, nothing for nothing: a rerun with 0 to move prints no line; the last line is not repeated', () => {
    let clock = 0;
    const empty = capture(false);
    const none = createProgress(empty.out, 0, { now: () => clock });
    none.update({ moved: 0 });
    none.done();
    expect(empty.text()).toBe('');
    const some = capture(false);
    const reporter = createProgress(some.out, 40, { verb: 'retried', now: () => clock });
    for (let done = 4; done <= 40; done += 4) {
      clock += 300;
      reporter.update({ moved: done });
    }
    reporter.done();
    // 10 batches over 3 s: one line at 2 s and the final one, not one per batch or per tenth.
    expect(some.text().split('\n').filter(Boolean)).toEqual(['retried 28/40 70%  13 jobs/s ETA 1s', 'retried 40/40 100%  13 jobs/s']);
  });
});
