import type { Context } from '../context.js';
export async function run(_opts: Record<string, unknown>, ctx: Context): Promise<number> {
  await ctx.topology();
  ctx.out.print('ok');
  return 0;
}
