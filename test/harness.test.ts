import { describe, expect, it } from 'vitest';
import { client, clusterClient, clusterUrl, redisUrl, uniqueName } from './helpers/redis.js';

describe('test harness', () => {
  it('gives a private single node that is not the machine Redis', async () => {
    expect(Number(new URL(redisUrl()).port)).toBeGreaterThanOrEqual(20000);
    const key = uniqueName('harness');
    await client().set(key, '1');
    expect(await client().get(key)).toBe('1');
  });

  it('gives a 3-master cluster', async () => {
    expect(clusterUrl().split(',')).toHaveLength(3);
    const c = clusterClient();
    await c.set(`{${uniqueName()}}:k`, 'v');
    expect(c.nodes('master')).toHaveLength(3);
  });
});
