import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { Topology } from '../topology/types.js';
import { queuePrefix } from './keys.js';
import type { BullRepeatable } from './plan.js';

/**
 * Bull repeatable jobs never move: a job a Bull repeat made sits in `delayed` under the id
 * `repeat:<md5>:<millis>` and the next one is made when it is processed, so moving one would
 * either stop the series or run it twice. Each entry of Bull's `repeat` zset (bull 4.16.5
 * repeatable.js: key `name:jobId:endDate:tz:cron`, or `name:jobId:endDate:every` for `every`) is
 * reported with the BullMQ job scheduler to declare instead (README "Schedules as code"); its
 * data is read from the series' next job. Read commands only.
 */
const MAX_REPORTED = 200;

export async function readBullRepeatables(client: Redis | Cluster, prefix: string, from: string, topology: Topology, to?: string): Promise<BullRepeatable[]> {
  const src = queuePrefix(prefix, from);
  const entries = await client.zrange(src + 'repeat', 0, MAX_REPORTED - 1, 'WITHSCORES');
  const out: BullRepeatable[] = [];
  for (let i = 0; i < entries.length; i += 2) {
    const key = entries[i];
    const [name = '', id = '', endDate = '', tzOrEvery = '', cron] = key.split(':');
    const nextJob = `repeat:${md5(name + (id ? `${id}:` : ':') + md5(key))}:${entries[i + 1]}`;
    const data = await client.hget(src + nextJob, 'data');
    const queue = to ?? Object.values(topology.queues).find((q) => q.jobs.includes(name))?.name;
    const fields = [
      cron ? `pattern: ${JSON.stringify(cron)}` : `every: ${Number(tzOrEvery)}`,
      ...(cron && tzOrEvery ? [`tz: ${JSON.stringify(tzOrEvery)}`] : []),
      ...(endDate ? [`endDate: ${Number(endDate)}`] : []),
      `job: { name: ${JSON.stringify(name)}${data && data !== '{}' ? `, data: ${data}` : ''} }`,
    ];
    out.push({ key, name, ...(queue ? { queue } : {}), scheduler: `${JSON.stringify(id || name)}: { ${fields.join(', ')} }` });
  }
  return out;
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}
