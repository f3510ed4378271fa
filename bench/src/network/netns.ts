import { execFileSync } from 'node:child_process';

/**
 * The bench's network: hosts as network namespaces on a bridge, the links shaped with tc's
 * token bucket filter (the same construction as test/src/harness/netns.ts, which the bench
 * cannot import). Needs root, iproute2 and tc.
 */
export interface BenchHost {
  readonly ns: string;
  readonly address: string;
  readonly device: string;
}

export interface BenchNetwork {
  readonly hosts: BenchHost[];
  /** Limits a host's link to `rate` both ways (tc units: 10mbit, 1gbit); undefined removes the limit. */
  shape(host: BenchHost, rate: string | undefined): void;
  destroy(): void;
}

function run(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why the bench cannot run here (not root, no ip or tc, no tbf), or undefined when it can. */
export function cannotRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root: it builds network namespaces and shapes their links with tc (run it as root)';
  for (const [tool, args] of [['ip', ['netns', 'list']], ['tc', ['qdisc', 'show', 'dev', 'lo']]] as const) {
    try {
      run(tool, ...args);
    } catch (error) {
      return `needs ${tool} (iproute2) working: \`${tool} ${args.join(' ')}\` failed: ${(error as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}

export function createBenchNetwork(count: number): BenchNetwork {
  const tag = `tfb${process.pid % 100000}`;
  const hub = `${tag}-hub`;
  const namespaces: string[] = [];
  const hosts: BenchHost[] = [];
  const destroy = (): void => {
    for (const ns of namespaces.splice(0).reverse()) {
      try {
        run('ip', 'netns', 'del', ns);
      } catch (error) {
        process.stderr.write(`could not delete network namespace ${ns}: ${(error as Error).message}\n`);
      }
    }
  };
  try {
    run('ip', 'netns', 'add', hub);
    namespaces.push(hub);
    run('ip', '-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    run('ip', '-n', hub, 'link', 'set', 'br0', 'up');
    for (let i = 1; i <= count; i++) {
      const ns = `${tag}-h${i}`;
      run('ip', 'netns', 'add', ns);
      namespaces.push(ns);
      run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      const device = `${tag}h${i}`;
      const outside = `${tag}p${i}`;
      run('ip', 'link', 'add', device, 'netns', ns, 'type', 'veth', 'peer', 'name', outside, 'netns', hub);
      run('ip', '-n', hub, 'link', 'set', outside, 'master', 'br0');
      run('ip', '-n', hub, 'link', 'set', outside, 'up');
      const address = `10.78.0.${i}`;
      run('ip', '-n', ns, 'addr', 'add', `${address}/24`, 'dev', device);
      run('ip', '-n', ns, 'link', 'set', device, 'up');
      hosts.push({ ns, address, device });
    }
  } catch (error) {
    destroy();
    throw error;
  }
  return {
    hosts,
    shape: (host, rate) => {
      const outside = host.device.replace(/h(\d+)$/, 'p$1');
      for (const [ns, device] of [[host.ns, host.device], [hub, outside]] as const) {
        if (rate === undefined) run('tc', '-n', ns, 'qdisc', 'del', 'dev', device, 'root');
        // A bucket of 10 ms at the rate (at least 32 kbit): bursts stay short, so the rate holds over a step.
        else run('tc', '-n', ns, 'qdisc', 'replace', 'dev', device, 'root', 'tbf', 'rate', rate, 'burst', burstOf(rate), 'latency', '400ms');
      }
    },
    destroy,
  };
}

/** tbf's bucket for a rate: 10 ms worth of bytes, at least 4 KB. */
function burstOf(rate: string): string {
  const m = /^(\d+(?:\.\d+)?)(k|m|g)bit$/.exec(rate);
  if (m === null) return '32kbit';
  const bits = Number(m[1]) * { k: 1e3, m: 1e6, g: 1e9 }[m[2] as 'k' | 'm' | 'g'];
  return `${Math.max(4096, Math.round(bits / 8 / 100))}b`;
}
