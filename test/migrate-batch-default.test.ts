import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { parseMigrateOptions, REDIS_BATCH } from '../src/migrate/options.js';
import { POSTGRES_BATCH } from '../src/migrate/postgres-run.js';

describe('migrate --batch defaults per backend', () => {
  it('250 on Redis, 1000 within PostgreSQL; a given --batch wins on both', () => {
    expect(parseMigrateOptions({ from: 'legacy' }).batch).toBe(250);
    expect(parseMigrateOptions({ from: 'legacy' }, REDIS_BATCH).batch).toBe(250);
    expect(parseMigrateOptions({ from: 'legacy' }, POSTGRES_BATCH).batch).toBe(1000);
    expect(parseMigrateOptions({ from: 'legacy', batch: '40' }, POSTGRES_BATCH).batch).toBe(40);
  });

  it("a bad --batch names the backend's own default", () => {
    expect(() => parseMigrateOptions({ from: 'legacy', batch: '0' }, POSTGRES_BATCH)).toThrow(expect.objectContaining({ hint: expect.stringContaining('the default, 1000') }));
  });

  it('the command line leaves --batch unset when not given, so each source applies its own default (a table source: 500)', () => {
    let seen: Record<string, unknown> | undefined;
    const program = buildProgram('0.0.0-test', () => {
      throw new Error('no context');
    }, () => undefined);
    const migrate = program.commands.find((c) => c.name() === 'migrate')!;
    migrate.action((opts: Record<string, unknown>) => void (seen = opts));
    program.parse(['node', 'queuectl', 'migrate', '--from', 'legacy'], { from: 'node' });
    expect(seen).toBeDefined();
    expect(seen!.batch).toBeUndefined();
  });
});
