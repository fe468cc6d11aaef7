import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutput } from '../src/output.js';
import { escapeControls } from '../src/ui/escape.js';
import { renderTable } from '../src/ui/table.js';
import { deletePrefix, failJobs } from './dlq-helpers.js';
import { runCli } from './helpers/cli.js';
import { client, redisUrl, uniqueName } from './helpers/redis.js';
import { seedLegacy } from './migrate-seed.js';
import { PassThrough } from 'node:stream';

/**
 * Failure reasons, job names and payloads are user data: a job could write the operator's
 * clipboard (OSC 52), retitle the window or clear the screen when `dlq list` or a migrate plan
 * printed it raw. Human output shows control characters as visible `\x1b` text; --json is exact.
 */

const ESC = '\x1b';
const CLIPBOARD = `${ESC}]52;c;ZWNobyBwd25lZA==\x07`;
const CLEAR = `${ESC}[2J`;
const EVIL_NAME = `evil${CLEAR}.name`;
const EVIL_REASON = `boom ${CLIPBOARD} then ${CLEAR}${ESC}]0;title\x07`;

describe('escapeControls', () => {
  it('shows C0, DEL and C1 controls as visible text, keeps newlines and tabs', () => {
    expect(escapeControls(`a${CLIPBOARD}b\n\tc\x7f\u009b`)).toBe('a\\x1b]52;c;ZWNobyBwd25lZA==\\x07b\n\tc\\x7f\\x9b');
    expect(escapeControls('\r')).toBe('\\x0d');
  });

  it('keeps colour (SGR) sequences only when asked, and escapes everything else around them', () => {
    expect(escapeControls(`${ESC}[31mred${ESC}[39m ${CLEAR}`, true)).toBe(`${ESC}[31mred${ESC}[39m \\x1b[2J`);
    expect(escapeControls(`${ESC}[31mred`, false)).toBe('\\x1b[31mred');
  });

  it('is applied by the table renderer and the printer, not by printJson', () => {
    expect(renderTable(['reason'], [[EVIL_REASON]])).not.toContain(ESC);
    const stream = new PassThrough();
    let written = '';
    stream.on('data', (d) => (written += d));
    createOutput({ json: false, color: false, stdout: stream, stderr: stream }).print(EVIL_REASON);
    createOutput({ json: false, color: false, stdout: stream, stderr: stream }).warn(EVIL_NAME);
    expect(written).not.toContain(ESC);
    written = '';
    createOutput({ json: true, color: false, stdout: stream, stderr: stream }).printJson({ r: EVIL_REASON });
    expect(JSON.parse(written).r).toBe(EVIL_REASON);
  });
});

describe('user data with terminal escape sequences, end to end', () => {
  const prefix = uniqueName('esc');
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-esc-'));
  const config = join(dir, 'queuectl.yaml');
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli([...args, '-c', config, '--redis', redisUrl()], { cwd: dir, env });

  beforeAll(async () => {
    writeFileSync(config, `version: 1\nprefix: "${prefix}"\nqueues:\n  ocr: { jobs: [ocr.process] }\nlegacy:\n  shared: { note: before the split }\n`);
    await failJobs(prefix, 'ocr', [{ name: EVIL_NAME, id: 'evil-1', data: { note: CLIPBOARD }, reason: EVIL_REASON }]);
    await seedLegacy(client(), { prefix, queue: 'shared', jobs: 3, names: ['ocr.process', EVIL_NAME] });
  });
  afterAll(async () => {
    await deletePrefix(client(), prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  // [command, exit code, whether its output quotes the evil data]
  it.each([
    [['dlq', 'list'], 0, true],
    [['dlq', 'show', 'ocr/evil-1'], 0, true],
    [['dlq', 'stats'], 0, true],
    [['dlq', 'retry', 'ocr/evil-1', '--dry-run'], 0, false],
    [['migrate', '--from', 'shared', '--dry-run'], 1, true], // the evil name has no owner: its jobs stay (exit 1)
    [['inspect', 'job', 'ocr', 'evil-1'], 0, true],
  ])('%j prints no raw ESC, plain or in colour', async (args, code, quotes) => {
    for (const env of [{}, { NO_COLOR: undefined, FORCE_COLOR: '1' }]) {
      const result = await cli(args as string[], env);
      const all = result.stdout + result.stderr;
      expect(result.code, result.stderr).toBe(code);
      if (quotes) expect(all).toMatch(/\\x1b\[2J/); // the data is shown, visibly
      if (env.FORCE_COLOR) expect(all).not.toMatch(/\x1b(?!\[[0-9;]*m)/); // nothing but colour reaches the terminal
      else expect(all).not.toContain(ESC);
      expect(all).not.toContain('\x07');
    }
  });

  it('--json keeps the data exact', async () => {
    const list = await cli(['dlq', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const item = JSON.parse(list.stdout).items.find((i: { id: string }) => i.id === 'evil-1');
    expect(item).toMatchObject({ name: EVIL_NAME, failedReason: EVIL_REASON });
  });
});
