import { readJob } from '../inspect/read-job.js';
import type { RedisHandle } from '../redis/types.js';
import type { Topology } from '../topology/types.js';
import { readCarried } from './shape.js';
import { shapeOf } from './sources.js';
import type { ShowParts } from './store.js';
import type { DlqItem } from './types.js';

/** `dlq show` on Redis: the failed job as inspect reads it, or a dead-letter item's hash. */
export async function readShow(handle: RedisHandle, prefix: string, item: DlqItem, topology: Topology): Promise<ShowParts> {
  if (item.style === 'failed') return { job: await readJob(handle, prefix, item.queue, item.id) };
  const raw = await handle.client.hgetall(`${prefix}:${item.holder}:${item.holderId}`);
  const marks = Object.fromEntries(Object.entries(raw).filter(([k]) => k.startsWith('queuectl.')).map(([k, v]) => [k.slice('queuectl.'.length), v]));
  return showItem(raw.data, topology, item, marks);
}

/** A dead-letter item's payload as written and its carried job (absent when unreadable). Pure. */
export function showItem(data: string | null | undefined, topology: Topology, item: DlqItem, marks: Record<string, string>): ShowParts {
  let payload: unknown = data;
  try {
    payload = JSON.parse(data ?? 'null');
  } catch {
    // shown as written
  }
  const carried = readCarried(data, shapeOf(topology, item.holder));
  const job = 'problem' in carried ? undefined : { data: carried.data, stack: carried.stack ?? null };
  return { payload, carried: job, marks };
}
