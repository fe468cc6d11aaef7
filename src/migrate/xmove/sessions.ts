import type { PostgresHandle, PostgresSpec } from '../../backend/postgres/types.js';
import type { ConnectionSpec, RedisHandle } from '../../redis/types.js';
import { isRedisFailure } from '../../redis/errors.js';
import { sleep } from '../../util/sleep.js';

/**
 * The two ends of a cross-server move each keep one connection that can be made again: a lost
 * connection, a killed session or a restarted server is met by reconnecting (for up to
 * RECONNECT_MS) and re-sending the step, which every end answers idempotently by its token.
 */
export const RECONNECT_MS = 60_000;

/** A failure of the link or of a server that is (re)starting: worth reconnecting and re-sending. */
export function isTransient(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  if (/QUEUECTL_|NOPERM|WRONGTYPE|NOSCRIPT/.test(message)) return false;
  if (/\b(LOADING|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/.test(message)) return true;
  if (/\[(08\w{3}|57P0[123]|53300|40P01|40001)\]/.test(message)) return true;
  if (/ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|dropped the connection|refused the connection|did not answer|not queryable|Connection terminated|Connection is closed|Stream isn't writeable|connection error|terminating connection|the database system is (starting|shutting)|timed out|None of startup nodes|Failed to refresh slots/i.test(message)) return true;
  return isRedisFailure(error) && !(error instanceof Error && error.name === 'ReplyError');
}

/** Runs `step`, reconnecting `end` and running it again after a transient failure, until RECONNECT_MS has passed. */
export async function withReconnect<T>(end: { reconnect(): Promise<void> }, step: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + RECONNECT_MS;
  for (;;) {
    try {
      return await step();
    } catch (error) {
      if (!isTransient(error) || Date.now() > deadline) throw error;
      await sleep(200, signal).catch(() => undefined);
      await end.reconnect().catch(() => undefined);
    }
  }
}

export class RedisSession {
  constructor(
    public handle: RedisHandle,
    private readonly spec: ConnectionSpec,
  ) {}

  get client() {
    return this.handle.client;
  }

  async reconnect(): Promise<void> {
    const { connect } = await import('../../redis/connection.js');
    const fresh = await connect(this.spec);
    const old = this.handle;
    this.handle = fresh;
    await old.close().catch(() => undefined);
  }
}

export class PgSession {
  /** Called after each reconnect (e.g. to take the run's advisory lock again). */
  onReconnect?: (handle: PostgresHandle) => Promise<void>;

  constructor(
    public handle: PostgresHandle,
    private readonly spec: PostgresSpec,
  ) {}

  /** Set when a transaction failed on a transient error: the link is the one to make again. */
  stale = false;

  async reconnect(): Promise<void> {
    const { connectPostgres } = await import('../../backend/postgres/connection.js');
    const fresh = await connectPostgres(this.spec);
    const old = this.handle;
    this.handle = fresh;
    this.stale = false;
    await old.close().catch(() => undefined);
    await this.onReconnect?.(fresh);
  }

  /** Another session to the same server, so a step can commit beside this one's (its own transactions). */
  async fork(): Promise<PgSession> {
    const { connectPostgres } = await import('../../backend/postgres/connection.js');
    return new PgSession(await connectPostgres(this.spec), this.spec);
  }

  private queue: Promise<unknown> = Promise.resolve();

  /**
   * One transaction; rolled back on any error (a lost connection rolls it back on the server).
   * One at a time: a session has one transaction, so concurrent callers wait their turn.
   */
  tx<T>(work: (h: PostgresHandle) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.once(work));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async once<T>(work: (h: PostgresHandle) => Promise<T>): Promise<T> {
    const h = this.handle;
    try {
      await h.query('BEGIN');
      try {
        const value = await work(h);
        await h.query('COMMIT');
        return value;
      } catch (error) {
        await h.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } catch (error) {
      if (isTransient(error) && h === this.handle) this.stale = true;
      throw error;
    }
  }
}

/**
 * Several sessions to one server that reconnect as one end: after a transient failure only the
 * sessions whose transaction failed are made again (a step retrying on a healthy one is left be);
 * when none is marked, the first one is (a failure outside a transaction).
 */
export async function reconnectStale(sessions: PgSession[]): Promise<void> {
  const stale = sessions.filter((s) => s.stale);
  for (const s of stale.length > 0 ? stale : sessions.slice(0, 1)) await s.reconnect();
}

export { sleep };
