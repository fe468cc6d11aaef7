import type { Context } from '../context.js';
import { UsageError } from '../errors.js';

export async function run(_opts: Record<string, unknown>, _ctx: Context): Promise<number> {
  throw new UsageError('not implemented yet');
}
