/**
 * The package entry for topology modules (`queuectl.config.ts`): `defineTopology()` plus the
 * normalized types. Deliberately free of bullmq and ioredis so a config file loads instantly.
 */
import type { TopologyInput } from './topology/schema.js';

/** Returns its argument unchanged; it exists so editors type-check and autocomplete the object. */
export function defineTopology(topology: TopologyInput): TopologyInput {
  return topology;
}

export type { TopologyInput, DurationInput, BackoffInput, RetentionInput, DeadLetterInput } from './topology/schema.js';
export type * from './topology/types.js';
