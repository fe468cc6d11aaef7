import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { ConnectionSpec } from './types.js';
import { CA_BUNDLE_MAX_BYTES, readFlagFile } from '../util/read-regular-file.js';

export interface SpecInput {
  url?: string;
  passwordFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const SCHEMES: Record<string, { mode: ConnectionSpec['mode']; tls: boolean }> = {
  'redis:': { mode: 'standalone', tls: false },
  'rediss:': { mode: 'standalone', tls: true },
  'redis+cluster:': { mode: 'cluster', tls: false },
  'rediss+cluster:': { mode: 'cluster', tls: true },
};

const URL_HINT = 'use redis://[user[:pass]@]host:port[/db], rediss://… or redis+cluster://host:port[,host:port…]';

/** Parses --redis / REDIS_URL (default redis://127.0.0.1:6379) into a ConnectionSpec; bad input is a UsageError. */
export function parseConnectionSpec(input: SpecInput): ConnectionSpec {
  const url = chooseUrl(input);
  const redacted = redactUrl(url);
  const parsed = parseRedisUrl(url, redacted);
  const spec: ConnectionSpec = { ...parsed, timeoutMs: input.timeoutMs, redacted };
  if (input.passwordFile !== undefined) spec.password = readPasswordFile(input.passwordFile);
  if (input.tlsCa !== undefined) spec.tlsCa = readFlagFile(input.tlsCa, '--tls-ca', CA_BUNDLE_MAX_BYTES);
  if ((input.tlsCert === undefined) !== (input.tlsKey === undefined)) {
    throw new UsageError(`--tls-cert and --tls-key go together (got only ${input.tlsCert === undefined ? '--tls-key' : '--tls-cert'})`, 'pass the client certificate and its private key, both PEM files');
  }
  if (input.tlsCert !== undefined && input.tlsKey !== undefined) {
    if (!parsed.tls) throw new UsageError(`--tls-cert needs a TLS URL, got "${redacted}"`, 'use rediss://… (or rediss+cluster://…)');
    spec.tlsCert = readFlagFile(input.tlsCert, '--tls-cert');
    spec.tlsKey = readFlagFile(input.tlsKey, '--tls-key');
    checkKeyPair(spec.tlsCert, spec.tlsKey, input.tlsCert, input.tlsKey);
  }
  return spec;
}

type ParsedUrl = Omit<ConnectionSpec, 'timeoutMs' | 'redacted' | 'tlsCa' | 'tlsCert' | 'tlsKey'>;

/**
 * Parsed by hand rather than with WHATWG URL: cluster URLs list several hosts, which URL rejects,
 * and a password containing `@` or `/` should still parse the way the user meant it.
 */
export function parseRedisUrl(url: string, redacted = redactUrl(url)): ParsedUrl {
  const bad = (why: string) => new UsageError(`invalid Redis URL "${redacted}": ${why}`, URL_HINT);
  const schemeEnd = url.indexOf('://');
  if (schemeEnd < 0) throw bad('missing scheme');
  const scheme = `${url.slice(0, schemeEnd).toLowerCase()}:`;
  const kind = SCHEMES[scheme];
  if (!kind) throw bad(`unsupported scheme "${scheme}"`);

  const rest = url.slice(schemeEnd + 3);
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  const afterUser = at >= 0 ? rest.slice(at + 1) : rest;
  const pathStart = afterUser.search(/[/?#]/);
  const hostList = pathStart >= 0 ? afterUser.slice(0, pathStart) : afterUser;
  const tail = pathStart >= 0 ? afterUser.slice(pathStart) : '';

  if (/[?#]/.test(tail)) throw bad('query parameters are not supported');
  const nodes = hostList.split(',').map((hp) => parseHostPort(hp, bad));
  if (kind.mode === 'standalone' && nodes.length > 1) throw bad('several hosts need redis+cluster://');

  const parsed: ParsedUrl = { mode: kind.mode, nodes, tls: kind.tls };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    // Most likely a password whose `:` was forgotten; as a user name it would fail AUTH anyway.
    if (colon < 0 && userinfo.includes('@')) throw bad('an unencoded "@" before the host (write a password as redis://:pass@host, and "@" inside it as %40)');
    const user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, bad);
    if (user) parsed.username = user;
    if (colon >= 0) parsed.password = decode(userinfo.slice(colon + 1), bad);
  }
  const dbText = tail.replace(/^\//, '');
  if (dbText !== '') {
    if (!/^\d+$/.test(dbText)) throw bad(`database "${dbText}" is not a number`);
    const db = Number(dbText);
    if (kind.mode === 'cluster' && db !== 0) throw bad('Redis Cluster only has database 0');
    if (db !== 0) parsed.db = db;
  }
  return parsed;
}

function parseHostPort(text: string, bad: (why: string) => UsageError): { host: string; port: number } {
  // [::1]:6379 for IPv6, host:port otherwise; the port defaults to 6379.
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::([^:]*))?$/.exec(text);
  if (!match) throw bad(text === '' ? 'missing host' : `bad host "${text}"`);
  const host = match[1] ?? match[2];
  const portText = match[3];
  if (portText === undefined) return { host, port: 6379 };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw bad(`bad port "${portText}"`);
  return { host, port };
}

function decode(text: string, bad: (why: string) => UsageError): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw bad('bad percent-encoding in user or password');
  }
}

/**
 * Replaces any password in a URL by `***`. Everything between the first `:` of the user part and
 * the last `@` is hidden, so even a malformed URL with an unencoded `@` or `/` in it never leaks.
 * A user part with no `:` but an `@` of its own (`redis://SECRET@x@host`) is a password typed
 * without its `:`, not a user name: all of it is hidden.
 */
export function redactUrl(url: string): string {
  // libpq also takes the password as a query parameter (postgres://h/db?password=…).
  return redactUserinfo(url).replace(/([?&]password=)[^&#\s]*/gi, '$1***');
}

function redactUserinfo(url: string): string {
  const schemeEnd = url.indexOf('://');
  const start = schemeEnd >= 0 ? schemeEnd + 3 : 0;
  const rest = url.slice(start);
  const at = rest.lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return userinfo.includes('@') ? `${url.slice(0, start)}***${rest.slice(at)}` : url;
  return `${url.slice(0, start)}${rest.slice(0, colon)}:***${rest.slice(at)}`;
}

/** Removes `secret` and any URL password from text that may reach the user (e.g. a client library's error). */
export function scrubSecrets(text: string, secret?: string): string {
  let out = text.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, (u) => redactUrl(u));
  if (secret) out = out.split(secret).join('***');
  return out;
}

function readPasswordFile(file: string): string {
  const password = readFlagFile(file, '--password-file').replace(/\r?\n$/, '');
  if (password === '') throw new UsageError(`--password-file ${file} is empty`, 'write the Redis password into it');
  return password;
}

/** A wrong file here would otherwise surface as an OpenSSL message at connect time (exit 3). */
function checkKeyPair(cert: string, key: string, certFile: string, keyFile: string): void {
  let certificate: X509Certificate;
  let privateKey: KeyObject;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new UsageError(`--tls-cert ${certFile} is not a PEM certificate`, 'give the client certificate (-----BEGIN CERTIFICATE-----)');
  }
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new UsageError(`--tls-key ${keyFile} is not a readable private key`, 'give the unencrypted PEM key of --tls-cert');
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new UsageError(`--tls-key ${keyFile} is not the key of --tls-cert ${certFile}`, 'give the private key the certificate was made for');
  }
}

/**
 * --redis, else REDIS_URL, else the default. A value that is set but blank is an error, not a
 * reason to fall back: an empty CI variable must not land the command on another server.
 */
function chooseUrl(input: SpecInput): string {
  if (input.url !== undefined) {
    if (input.url.trim() === '') throw new UsageError('--redis was given an empty value', 'give a URL such as redis://host:6379, or leave --redis out to use REDIS_URL');
    return input.url.trim();
  }
  const fromEnv = input.env.REDIS_URL;
  if (fromEnv !== undefined) {
    if (fromEnv.trim() === '') throw new UsageError('REDIS_URL is set but empty', 'give it a URL such as redis://host:6379, or unset it to use redis://127.0.0.1:6379');
    return fromEnv.trim();
  }
  return DEFAULT_REDIS_URL;
}
