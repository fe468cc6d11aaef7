import type { Context } from '../context.js';
import type { BackendKind } from './target.js';

/**
 * One capability, one implementation per backend, side by side: a command lists both and this
 * picks the one for the URL in force. Commands never test URL schemes themselves.
 */
export type PerBackend<T> = Record<BackendKind, T>;

export function forBackend<T>(ctx: Context, implementations: PerBackend<T>): T {
  return implementations[ctx.target().kind];
}
