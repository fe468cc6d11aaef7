import { CA_BUNDLE_MAX_BYTES, readFlagFile } from '../../util/read-regular-file.js';
import { UsageError } from '../../errors.js';
import type { GlobalOptions } from '../../context.js';
import type { PostgresSpec } from './types.js';

export interface PostgresSpecInput {
  url: string;
  redacted: string;
  schema: string;
  passwordFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  timeoutMs: number;
}

const URL_HINT = 'use postgres://[user[:pass]@]host[:port]/database[?sslmode=…] (postgresql:// works too)';
/** BullMQ's own rule for schema names (quoteSchemaName in bullmq/dist/esm/postgres/migrator.js). */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
/** libpq parameters that are safe to pass along; anything else is refused rather than silently ignored. */
const KNOWN_PARAMS = new Set(['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'application_name', 'connect_timeout', 'options', 'host', 'port', 'user', 'password', 'dbname']);

/**
 * A postgres:// URL plus --schema, --password-file and --tls-* as one PostgresSpec; bad input is a
 * UsageError (exit 2). Parsed here rather than by pg, whose connection-string values silently
 * override explicit options (a --tls-ca would lose to the URL's sslmode).
 */
/** The spec for `url` with the global file and timeout flags (--password-file, --tls-*, --timeout) applied. */
export function postgresSpecFromGlobals(url: string, redacted: string, schema: string, globals: GlobalOptions): PostgresSpec {
  return parsePostgresSpec({
    url,
    redacted,
    schema,
    passwordFile: globals.passwordFile,
    tlsCa: globals.tlsCa,
    tlsCert: globals.tlsCert,
    tlsKey: globals.tlsKey,
    timeoutMs: globals.timeout,
  });
}

export function parsePostgresSpec(input: PostgresSpecInput): PostgresSpec {
  const bad = (why: string) => new UsageError(`invalid PostgreSQL URL "${input.redacted}": ${why}`, URL_HINT);
  if (!SCHEMA_NAME.test(input.schema) || input.schema.length > 63) {
    throw new UsageError(`--schema "${input.schema}" is not a schema name BullMQ accepts`, 'use a simple identifier: a letter or _, then letters, digits, _ or $ (at most 63)');
  }
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw bad('not a URL');
  }
  const params = url.searchParams;
  for (const key of params.keys()) {
    if (!KNOWN_PARAMS.has(key)) throw bad(`unsupported parameter "${key}"`);
  }
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw bad('bad percent-encoding');
    }
  };
  const socketHost = params.get('host') ?? undefined; // ?host=/run/postgresql: a unix socket directory
  const host = socketHost ?? (decode(url.hostname).replace(/^\[|\]$/g, '') || undefined);
  if (!host) throw bad('missing host');
  const portText = params.get('port') ?? url.port;
  const port = portText === '' ? 5432 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`bad port "${portText}"`);
  const database = params.get('dbname') ?? (decode(url.pathname.replace(/^\//, '')) || undefined);
  if (database?.includes('/')) throw bad(`bad database name "${database}"`);

  const spec: PostgresSpec = {
    host,
    port,
    user: params.get('user') ?? (url.username ? decode(url.username) : undefined),
    database,
    schema: input.schema,
    redacted: input.redacted,
    timeoutMs: input.timeoutMs,
    sslMode: 'prefer',
  };
  const password = params.get('password') ?? (url.password ? decode(url.password) : undefined);
  if (password !== undefined) spec.password = password;
  if (input.passwordFile !== undefined) spec.password = readPasswordFile(input.passwordFile);
  const applicationName = params.get('application_name');
  if (applicationName) spec.applicationName = applicationName;
  const options = params.get('options');
  if (options) spec.options = options;

  const mode = params.get('sslmode');
  if (mode !== null) {
    if (!(SSL_MODES as readonly string[]).includes(mode)) throw bad(`unknown sslmode "${mode}" (one of ${SSL_MODES.join(', ')})`);
    spec.sslMode = mode as PostgresSpec['sslMode'];
  }
  const ca = input.tlsCa ?? params.get('sslrootcert') ?? undefined;
  const cert = input.tlsCert ?? params.get('sslcert') ?? undefined;
  const key = input.tlsKey ?? params.get('sslkey') ?? undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError(`--tls-cert and --tls-key go together (got only ${cert === undefined ? '--tls-key' : '--tls-cert'})`, 'pass the client certificate and its private key, both PEM files');
  }
  if (ca !== undefined) spec.tlsCa = readFlagFile(ca, '--tls-ca', CA_BUNDLE_MAX_BYTES);
  if (cert !== undefined && key !== undefined) {
    spec.tlsCert = readFlagFile(cert, '--tls-cert');
    spec.tlsKey = readFlagFile(key, '--tls-key');
  }
  // TLS files without an sslmode mean "use TLS and check the server", as for rediss://.
  if (mode === null && (ca !== undefined || cert !== undefined)) spec.sslMode = 'verify-full';
  if (spec.sslMode === 'disable' && (ca !== undefined || cert !== undefined)) {
    throw new UsageError(`--tls-* files given with sslmode=disable in "${input.redacted}"`, 'drop sslmode=disable, or the TLS files');
  }
  return spec;
}

function readPasswordFile(file: string): string {
  const password = readFlagFile(file, '--password-file').replace(/\r?\n$/, '');
  if (password === '') throw new UsageError(`--password-file ${file} is empty`, 'write the database password into it');
  return password;
}
