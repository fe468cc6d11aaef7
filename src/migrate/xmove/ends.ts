import type { Context } from '../../context.js';
import { backendKindOf } from '../../backend/target.js';
import { UsageError } from '../../errors.js';
import { redactUrl } from '../../redis/url.js';
import type { Topology } from '../../topology/types.js';
import type { Routing } from '../routing.js';
import { PgSession, RedisSession } from './sessions.js';
import { postgresSource } from './postgres-source.js';
import { postgresDest } from './postgres-dest.js';
import { redisSource } from './redis-source.js';
import { redisDest } from './redis-dest.js';
import type { DestWriter, SourceHolder } from './types.js';

/**
 * Opens both ends of a cross-server move, each on its own backend: the source is the command's
 * --url (with --prefix / --schema, --password-file, --tls-*), the destination is --to-url (its
 * password in the URL; the topology's prefix or schema). Side by side: redis-*.ts, postgres-*.ts.
 */
export interface Ends {
  source: SourceHolder;
  dest: DestWriter & { tidy(dests: string[]): Promise<void> };
  sourceKind: 'redis' | 'postgres';
  destKind: 'redis' | 'postgres';
  /** Names the move's holding area and delivery records (per intent: a later run finishes an earlier one's flights). */
  setArea(intent: string): void;
}

export async function openEnds(ctx: Context, toUrl: string, topology: Topology, routing: Routing): Promise<Ends> {
  const target = ctx.target();
  const destKind = backendKindOf(toUrl);
  const destRedacted = redactUrl(toUrl);
  if (toUrl.trim() === target.url.trim()) throw new UsageError(`--to-url names the same server as the source (${destRedacted})`, 'to move between queues of one server, leave --to-url out');
  let runId = '';
  const run = () => runId;
  const prefix = await ctx.prefix();
  const destSchema = topology.schema ?? 'bullmq';

  let source: SourceHolder;
  if (target.kind === 'redis') {
    const handle = await ctx.redis();
    source = redisSource(new RedisSession(handle, handle.spec), prefix, routing, topology, `${handle.spec.redacted} (prefix ${prefix})`);
  } else {
    const handle = await ctx.postgres();
    const { requireCompatibleSchema } = await import('../../backend/postgres/schema.js');
    await requireCompatibleSchema(handle);
    source = postgresSource(new PgSession(handle, handle.spec), routing, topology, `${handle.spec.redacted} (schema ${handle.spec.schema})`);
  }

  let dest: Ends['dest'];
  if (destKind === 'redis') {
    const { parseConnectionSpec } = await import('../../redis/url.js');
    const { connect } = await import('../../redis/connection.js');
    const spec = parseConnectionSpec({ url: toUrl, timeoutMs: ctx.globals.timeout, env: {} });
    const handle = await connect(spec);
    dest = redisDest(new RedisSession(handle, spec), prefix, run, `${spec.redacted} (prefix ${prefix})`) as Ends['dest'];
  } else {
    const { parsePostgresSpec } = await import('../../backend/postgres/url.js');
    const { connectPostgres } = await import('../../backend/postgres/connection.js');
    const spec = parsePostgresSpec({ url: toUrl, redacted: destRedacted, schema: destSchema, timeoutMs: ctx.globals.timeout });
    const handle = await connectPostgres(spec);
    dest = postgresDest(new PgSession(handle, spec), run, `${spec.redacted} (schema ${destSchema})`) as Ends['dest'];
  }
  return {
    source,
    dest,
    sourceKind: target.kind,
    destKind,
    setArea(id) {
      runId = id;
      source.bind(id);
    },
  };
}
