import { execFileSync } from 'node:child_process';

/** A host of a test network: a network namespace with one interface on a shared bridge. */
export interface VirtualHost {
  /** The network namespace's name (for `ip netns exec`). */
  ns: string;
  address: string;
  /** The interface's name inside the namespace. */
  device: string;
}

export interface TestNetwork {
  hosts: VirtualHost[];
  /** Cuts a host off the network (its interface down), as a pulled cable would. */
  cut(host: VirtualHost): void;
  /**
   * Limits a host's link to `rate` (tc's units: `10mbit`, `1gbit`) in both directions, with a
   * token bucket filter on each end of its veth pair (the kernel here has tbf, not netem).
   */
  shape(host: VirtualHost, rate: string): void;
  /** Removes every namespace (and with them the interfaces). Idempotent. */
  destroy(): void;
  /** The command prefix that runs a program on `host`. */
  exec(host: VirtualHost): string[];
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tc(...args: string[]): void {
  execFileSync('tc', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * `count` hosts, each its own network namespace with address 10.77.0.<i>/24 on a bridge
 * that lives in a hub namespace: real separate network stacks on one machine, reachable
 * only from each other (nothing here touches the machine's own interfaces or routes).
 * Needs root and iproute2 (`.ci/run` installs it).
 */
export function createTestNetwork(count: number): TestNetwork {
  const tag = `tfd${process.pid % 100000}`;
  const hub = `${tag}-hub`;
  const hosts: VirtualHost[] = [];
  const namespaces = [hub];
  const destroy = (): void => {
    for (const ns of namespaces.splice(0)) {
      try {
        ip('netns', 'del', ns);
      } catch (error) {
        process.stderr.write(`could not delete network namespace ${ns}: ${(error as Error).message}\n`);
      }
    }
  };
  try {
    ip('netns', 'add', hub);
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
    for (let i = 1; i <= count; i++) {
      const ns = `${tag}-h${i}`;
      ip('netns', 'add', ns);
      namespaces.push(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      const inside = `${tag}h${i}`;
      const outside = `${tag}p${i}`;
      ip('link', 'add', inside, 'netns', ns, 'type', 'veth', 'peer', 'name', outside, 'netns', hub);
      ip('-n', hub, 'link', 'set', outside, 'master', 'br0');
      ip('-n', hub, 'link', 'set', outside, 'up');
      const address = `10.77.0.${i}`;
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', inside);
      ip('-n', ns, 'link', 'set', inside, 'up');
      hosts.push({ ns, address, device: inside });
    }
  } catch (error) {
    destroy();
    throw new Error(`could not build the test network (needs root and iproute2): ${(error as Error).message}`, { cause: error });
  }
  return {
    hosts,
    cut: (host) => ip('-n', host.ns, 'link', 'set', host.device, 'down'),
    shape: (host, rate) => {
      // Out of the host on its own end, into it on the hub's end of the pair.
      const outside = host.device.replace(/h(\d+)$/, 'p$1');
      for (const [ns, device] of [[host.ns, host.device], [hub, outside]] as const) {
        tc('-n', ns, 'qdisc', 'replace', 'dev', device, 'root', 'tbf', 'rate', rate, 'burst', '32kbit', 'latency', '400ms');
      }
    },
    destroy,
    exec: (host) => ['ip', 'netns', 'exec', host.ns],
  };
}
