import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedis, type RedisProcess } from '../setup/redis-process.js';
import { cliAuthArgs, startTlsRedis, type Certificates } from './tls.js';

const run = promisify(execFile);

export interface SecureCluster {
  nodes: RedisProcess[];
  /** host:port of every master, comma-separated: the seed list of a redis(s)+cluster:// URL. */
  seeds: string;
  /** Runs redis-cli against one node with the cluster's password (and TLS), e.g. for ACL SETUSER. */
  cli(port: number, ...command: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A private 3-master Redis Cluster (no replicas) with a password on every node (`--requirepass`,
 * and `--masterauth` so replicas added later could sync) and, with `certs`, TLS only: clients and
 * the cluster bus both speak TLS (`--tls-cluster yes`); with `clientCerts` every node also asks
 * clients for a certificate. The shared startCluster() has none of this.
 */
export async function startSecureCluster(options: { password?: string; certs?: Certificates; clientCerts?: boolean; masters?: number } = {}): Promise<SecureCluster> {
  const { password, certs, clientCerts } = options;
  const cliArgs = cliAuthArgs({ certs, password, clientCerts });
  const nodeArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'];
  if (password !== undefined) nodeArgs.push('--requirepass', password, '--masterauth', password);
  if (certs) nodeArgs.push('--tls-cluster', 'yes', '--tls-replication', 'yes');
  const nodes: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  const cli = async (port: number, ...command: string[]) =>
    (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...cliArgs, ...command])).stdout;
  try {
    for (let i = 0; i < (options.masters ?? 3); i++) {
      nodes.push(certs ? await startTlsRedis(certs, nodeArgs, { bus: true, clientCerts }) : await startRedis(nodeArgs, { bus: true }));
    }
    await run('redis-cli', [...cliArgs, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 20_000, // it waits forever for nodes that cannot meet (e.g. a TLS bus refusing their certificates)
    });
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      for (;;) {
        const info = await cli(node.port, 'CLUSTER', 'INFO');
        if (info.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster did not reach cluster_state:ok: ${info}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { nodes, seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','), cli, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
