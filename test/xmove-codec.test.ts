import { describe, expect, it } from 'vitest';
import { toRow, type WireJob } from '../src/migrate/xmove/codec.js';

/**
 * A Redis job hash as the PostgreSQL destination inserts it: jsonb columns travel as JSON text,
 * parsed once by the server, so nothing is lost on the way through JavaScript numbers.
 */
const wire = (fields: Record<string, string>, score = '0'): WireJob => ['7', score, '', -2, Object.entries(fields).flat(), [], []];

describe('toRow: a Redis job hash as a PostgreSQL row', () => {
  it('keeps JSON text as it is: integers past 2^53 keep every digit', () => {
    const row = toRow(wire({ name: 'a', data: '{"big":12345678901234567891,"f":0.1000000000000000055511}', opts: '{"attempts":4}', timestamp: '1700000000000' }), 'wait');
    expect(row.data).toBe('{"big":12345678901234567891,"f":0.1000000000000000055511}');
    expect(row.max_attempts).toBe(4);
    expect(row.added_at_ms).toBe('1700000000000');
    expect(row.state).toBe('waiting');
  });

  it('keeps a value that is not JSON as a JSON string, and reads a JSON null as SQL NULL where the column allows it', () => {
    const row = toRow(wire({ name: 'a', data: 'null', returnvalue: 'done by hand', progress: 'null', stacktrace: '["at x"]' }), 'failed');
    expect(row.data).toBe('null'); // data is NOT NULL: jsonb null, as BullMQ keeps it
    expect(row.return_value).toBe('"done by hand"');
    expect(row.progress).toBeNull();
    expect(row.stacktrace).toBe('["at x"]');
    expect(row.state).toBe('failed');
  });

  it('gives a job without data {} and translates opts to the names PostgreSQL keeps', () => {
    const row = toRow(wire({ name: 'a', opts: '{"de":{"id":"d1"},"kl":3}' }, String(1_700_000_000_000 * 4096 + 5)), 'delayed');
    expect(row.data).toBe('{}');
    expect(JSON.parse(row.opts)).toEqual({ deduplication: { id: 'd1' }, keepLogs: 3 });
    expect(row.process_at_ms).toBe('1700000000000');
    expect(row.state).toBe('delayed');
  });
});
