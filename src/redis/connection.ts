import type { ConnectionSpec, RedisHandle } from './types.js';

/** Opens a connection that fails within spec.timeoutMs (exit 3), never retrying forever. */
export async function connect(spec: ConnectionSpec): Promise<RedisHandle> {
  throw new Error('not implemented yet');
}
