/**
 * The parts of zod the topology schema uses, from one module: `npm run build` bundles this file
 * with them (scripts/bundle-vendor.mjs), so `topology validate` loads one file instead of zod's
 * ninety-odd (its every locale, JSON Schema tooling…): a CI and pre-commit step, paid per run.
 */
export { array, boolean, custom, enum, int, literal, NEVER, number, record, strictObject, string, tuple, union, unknown, ZodType } from 'zod';
export type { core, input, output, RefinementCtx, ZodOptional, ZodString } from 'zod';
