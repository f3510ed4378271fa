import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { watchProcess, type RunningProcess } from './processes.js';
import type { TestNetwork, VirtualHost } from './netns.js';

/**
 * Cluster DNS for pods that are network namespaces: `ip netns exec NS` bind-mounts
 * /etc/netns/NS/hosts over /etc/hosts, so each name a pod would resolve through the
 * cluster's DNS (a Service, a worker's <hostname>.<subdomain>) is written there with the
 * address of the namespace that plays its pod. Returns the cleanup.
 */
export function writeClusterHosts(network: TestNetwork, names: Map<string, VirtualHost>): () => void {
  const lines = ['127.0.0.1 localhost', ...[...names].map(([name, host]) => `${host.address} ${name}`)];
  const folders = network.hosts.map((host) => path.join('/etc/netns', host.ns));
  for (const folder of folders) {
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'hosts'), `${lines.join('\n')}\n`);
  }
  return () => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true }));
}

/**
 * Starts `argv` in `host`'s network namespace with exactly `env` (nothing of this test's
 * environment leaks in: a pod gets only what its image and manifest give it), killed
 * after `timeoutMs` so no test can hang on it.
 */
export function startInNamespace(network: TestNetwork, host: VirtualHost, argv: string[], options: { env: Record<string, string>; cwd: string; timeoutMs: number }): RunningProcess {
  const [program, ...args] = [...network.exec(host), ...argv] as [string, ...string[]];
  const child = spawn(program, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  return watchProcess(child, options.timeoutMs);
}
